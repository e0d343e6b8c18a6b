// Output names for one file per volume (--name PATTERN) and the orientation label --list shows.
import I2Model

enum Naming {
    /// Expands {number}, {description}, {modality}, {patient}, {series}, {study}; adds the stack's split suffix.
    static func name(_ pattern: String, stack: SliceStack, info: SeriesInfo) -> String {
        let f = stack.first
        let values: [String: String] = [
            "number": f.seriesNumber.isEmpty ? "0" : f.seriesNumber,
            "description": f.seriesDescription.isEmpty ? "series" : f.seriesDescription,
            "modality": f.modality,
            "patient": info.values["PatientID"] ?? "",
            "series": f.seriesInstanceUID,
            "study": info.values["StudyInstanceUID"] ?? "",
        ]
        // One left-to-right pass, so text a value brings in is never expanded again.
        var out = ""
        var rest = Substring(pattern)
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            if let close = rest[open...].firstIndex(of: "}"), let v = values[String(rest[rest.index(after: open)..<close])] {
                out += v
                rest = rest[rest.index(after: close)...]
            } else {
                out += "{"
                rest = rest[rest.index(after: open)...]
            }
        }
        out += rest
        return sanitize(out) + stack.suffix
    }

    /// Keeps letters, digits, '.', '-', '_'; everything else becomes '_'; never empty, never a dot-name.
    static func sanitize(_ s: String) -> String {
        var out = String(s.unicodeScalars.map { c -> Character in
            (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "." || c == "-" || c == "_") && c.isASCII ? Character(c) : "_"
        })
        while out.hasPrefix(".") { out.removeFirst() }
        if out.count > 200 { out = String(out.prefix(200)) }
        return out.isEmpty ? "series" : out
    }
}

enum Orientation {
    /// "axial", "coronal", "sagittal" or "oblique", from the slice normal.
    static func label(_ s: SliceHeader) -> String {
        let n = s.normal
        let a = [abs(n.x), abs(n.y), abs(n.z)]
        guard let m = a.max(), m > 0.99 else { return "oblique" }
        return ["sagittal", "coronal", "axial"][a.firstIndex(of: m)!]
    }
}


import Foundation
