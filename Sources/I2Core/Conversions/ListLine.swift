// The line format of `i2 convert --list`.
import Foundation

extension Conversion {
    /// One --list line: tab-separated fields, tabs and line breaks inside a field become spaces, and an
    /// empty field is "-" (so there is never a trailing or doubled tab).
    static func listLine(_ fields: [String]) -> String {
        fields.map { f -> String in
            let clean = f.map { $0 == "\t" || $0.isNewline ? " " : String($0) }.joined().trimmingCharacters(in: .whitespaces)
            return clean.isEmpty ? "-" : clean
        }.joined(separator: "\t")
    }
}
