// Output names for one file per volume (--name PATTERN) and the orientation label --list shows.
import Foundation
import I2Model

enum Naming {
    /// Expands {protocol}, {number}, {description}, {modality}, {patient}, {series}, {study}; adds the
    /// stack's split suffix (dcm2niix's _e2, _ph, ...), then sanitizes the whole name as dcm2niix does.
    static func name(_ pattern: String, stack: SliceStack, info: SeriesInfo) -> String {
        let f = stack.first
        // SeriesNumber as dcm2niix's %s prints it (an integer; GE epi_pepolar reversed halves + 1000).
        let number = Int(f.seriesNumber.trimmingCharacters(in: .whitespaces)).map { String($0 + f.seriesNumberOffset) }
            ?? (f.seriesNumber.isEmpty ? "0" : f.seriesNumber)
        let values: [String: String] = [
            "protocol": f.protocolName,
            "number": number,
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
        return sanitize(out + stack.suffix)
    }

    /// dcm2niix's ProtocolName (nii_dicom.cpp, once a header is read): the ProtocolName; when empty, the
    /// SeriesDescription (longer than one character); when still empty and not Siemens, the SequenceName
    /// (Siemens' varies per volume); "_MoCo" added for motion-corrected images (ImageType ..._MOCO_...).
    /// The one rule behind the output name's {protocol} (dcm2niix's %p) and the sidecar's ProtocolName.
    /// `imageType`: the ImageType values joined by "_", upper case; the closures are read only when needed.
    static func protocolName(_ protocolName: String, seriesDescription: String, imageType: String,
                             sequenceName: () -> String, manufacturer: () -> String) -> String {
        var p = protocolName
        if p.isEmpty && seriesDescription.count > 1 { p = seriesDescription }
        if p.count > 1 && imageType.contains("_MOCO_") { p += "_MoCo" }
        if p.isEmpty && !manufacturer().uppercased().hasPrefix("SI") {
            let s = sequenceName()
            if s.count > 1 { p = s }
        }
        return p
    }

    /// dcm2niix's nii_createFilename rules (v1.0.20220720, checked character by character against it):
    /// \ / space < > : ; " * | ? $ ` and control characters become '_', Latin-1 accented letters lose
    /// their accent (cleanISO8859), a leading '.' becomes '_', runs of '_' collapse to one. Every other
    /// printable ASCII character is kept. i2 also replaces any other non-ASCII character by '_', keeps the
    /// name within 200 characters, and never returns an empty name.
    static func sanitize(_ s: String) -> String {
        let replaced: Set<Character> = ["\\", "/", " ", "<", ">", ":", ";", "\"", "*", "|", "?", "$", "`"]
        var out = ""
        for c in s.unicodeScalars {
            let ch: Character
            if c.value < 32 || c.value == 127 { ch = "_" }
            else if c.isASCII { ch = replaced.contains(Character(c)) ? "_" : Character(c) }
            else if let plain = latin1Plain(c.value) { ch = plain }
            else { ch = "_" }
            if ch == "_" && out.last == "_" { continue }
            out.append(ch)
        }
        if out.hasPrefix(".") { out = "_" + out.dropFirst() }
        if out.count > 200 { out = String(out.prefix(200)) }
        return out.isEmpty ? "series" : out
    }

    /// cleanISO8859 in dcm2niix: the accented Latin-1 letters as their plain letter.
    static func latin1Plain(_ v: UInt32) -> Character? {
        switch v {
        case 192...198: return "A"
        case 199: return "C"
        case 200...203: return "E"
        case 204...207: return "I"
        case 208: return "D"
        case 209: return "N"
        case 210...214, 216...220: return "O"
        case 215: return "x"
        case 221: return "Y"
        case 224...230: return "a"
        case 231: return "c"
        case 232...235: return "e"
        case 236...239: return "i"
        case 240, 242...246, 248: return "o"
        case 241: return "n"
        case 249...252: return "u"
        case 253, 255: return "y"
        default: return nil
        }
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
