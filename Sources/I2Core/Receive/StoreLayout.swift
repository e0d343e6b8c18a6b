// Where a received instance lives: ROOT/<PatientID>/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm,
// with every component made safe to use as a path (DESIGN.md, data safety).

public enum StoreLayout {
    /// The incoming directory for data sets still in transfer: hidden, on the store's filesystem.
    public static func incoming(_ root: String) -> String { root + "/.i2-incoming" }

    /// Where acknowledged instances that cannot be stored are kept for a person to look at (hidden: a
    /// PatientID component never starts with a dot).
    public static func quarantine(_ root: String) -> String { root + "/.i2-quarantine" }

    /// A PatientID as one safe path component: no '/', NUL or control characters, no leading dot (so
    /// no '.', '..' or hidden names), at most 64 bytes; empty becomes "UNKNOWN".
    public static func patientComponent(_ id: String) -> String {
        var s = String(id.unicodeScalars.map { c -> Character in
            c == "/" || c == "\\" || c.value < 0x20 || c.value == 0x7f ? "_" : Character(c)
        })
        s = s.trimmingSpaces
        while s.hasPrefix(".") { s = "_" + s.dropFirst() }
        while s.utf8.count > 64 { s.removeLast() }
        return s.isEmpty ? "UNKNOWN" : s
    }

    /// True for a DICOM UID: digits and dots, no empty component, at most 64 characters (PS3.5 9.1).
    public static func isUID(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64 && s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber }
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
