// Lists of enum case names, as flags (--as seg,sr) and tool descriptions ("as": ["seg", "sr"]) give
// them: each a known name, each once, at least one. `fail` makes the caller's error from the reason, so
// the message names the flag or the field.

public enum CaseNames {
    public static func parse<T: RawRepresentable & CaseIterable & Equatable>(_ names: [String], as: T.Type,
                                                                             fail: (String) -> Error) throws -> [T]
    where T.RawValue == String {
        var out: [T] = []
        for n in names {
            guard let v = T(rawValue: n) else {
                throw fail("\"\(n)\" is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard !out.contains(v) else { throw fail("\"\(n)\" is listed twice") }
            out.append(v)
        }
        guard !out.isEmpty else { throw fail("lists nothing") }
        return out
    }
}
