// Decimal String (DS, PS3.5 6.2) formatting shared by every writer of DICOM numbers.
import Foundation
import I2Model

/// Decimal String (DS) values: at most 16 characters of digits, sign, '.', 'E'.
public enum DS {
    /// The shortest text that reads back as `x` when it fits; otherwise the most significant digits
    /// that fit (at least 10 significant digits for any finite double).
    public static func format(_ x: Double) throws -> String {
        guard x.isFinite else { throw I2Error(.badInput, "\(x) cannot be written as a DICOM decimal string") }
        if x == 0 { return "0" }
        var s = "\(x)"
        if s.hasSuffix(".0") { s.removeLast(2) }
        if s.count <= 16 { return s }
        for p in stride(from: 16, through: 1, by: -1) {
            let t = String(format: "%.\(p)g", x)
            if t.count <= 16 { return t }
        }
        return String(format: "%.1g", x)
    }

    public static func join(_ values: [Double]) throws -> String {
        try values.map(format).joined(separator: "\\")
    }
}
