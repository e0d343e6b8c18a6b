// Stage one of parsing: raw words → ParsedArguments, checked against a command's flags.
// Syntax and declared choices only: no file system, no semantics (each command does that).

public struct ParsedArguments: Sendable {
    public var values: [String: [String]] = [:]     // long name → values in order (switches: [""])
    public var positionals: [String] = []

    public func has(_ long: String) -> Bool { values[long] != nil }
    /// The last value given (last one wins for non-repeatable options).
    public func value(_ long: String) -> String? { values[long]?.last }
    public func all(_ long: String) -> [String] { values[long] ?? [] }
}

public struct UsageError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public enum Parser {
    /// Parses `words` (without the command name) against `flags`.
    public static func parse(_ words: [String], flags: [Flag]) throws -> ParsedArguments {
        var out = ParsedArguments()
        var i = 0
        var optionsEnded = false

        func record(_ flag: Flag, _ value: String?) throws {
            if let v = value {
                if !flag.choices.isEmpty && !flag.choices.contains(v) {
                    var msg = "invalid value '\(v)' for --\(flag.long) (expected one of: \(flag.choices.joined(separator: ", ")))"
                    if let s = Suggest.nearest(v, in: flag.choices) { msg += "; did you mean '\(s)'?" }
                    throw UsageError(msg)
                }
                out.values[flag.long, default: []].append(v)
            } else {
                out.values[flag.long, default: []].append("")
            }
            if !flag.repeatable, let n = out.values[flag.long], n.count > 1 {
                out.values[flag.long] = [n.last!]   // last one wins
            }
        }
        func takeValue(for flag: Flag, shown: String) throws -> String {
            i += 1
            guard i < words.count else { throw UsageError("option '\(shown)' needs a value (\(flag.valueName!))") }
            return words[i]
        }

        while i < words.count {
            let w = words[i]
            if optionsEnded || w == "-" || !w.hasPrefix("-") {
                out.positionals.append(w)
            } else if w == "--" {
                optionsEnded = true
            } else if w.hasPrefix("--") {
                let body = w.dropFirst(2)
                let name: String
                var inline: String?
                if let eq = body.firstIndex(of: "=") {
                    name = String(body[..<eq])
                    inline = String(body[body.index(after: eq)...])
                } else {
                    name = String(body)
                }
                guard let flag = flags.first(where: { $0.long == name }) else {
                    var msg = "unknown option '--\(name)'"
                    if let s = Suggest.nearest(name, in: flags.map(\.long)) { msg += "; did you mean '--\(s)'?" }
                    throw UsageError(msg)
                }
                if flag.takesValue {
                    try record(flag, try inline ?? takeValue(for: flag, shown: "--" + name))
                } else {
                    if inline != nil { throw UsageError("option '--\(name)' takes no value") }
                    try record(flag, nil)
                }
            } else {
                // Short flags, possibly bundled: -abc, -ovalue, -o value.
                var chars = Array(w.dropFirst())
                while !chars.isEmpty {
                    let c = chars.removeFirst()
                    guard let flag = flags.first(where: { $0.short == c }) else {
                        throw UsageError("unknown option '-\(c)'" + (w.count > 2 ? " in '\(w)'" : ""))
                    }
                    if flag.takesValue {
                        let v = chars.isEmpty ? try takeValue(for: flag, shown: "-\(c)") : String(chars)
                        try record(flag, v)
                        chars = []
                    } else {
                        try record(flag, nil)
                    }
                }
            }
            i += 1
        }
        return out
    }
}
