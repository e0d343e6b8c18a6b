// Stage one of parsing: raw words → ParsedArguments, checked against a command's flags.
// Syntax and declared choices only: no file system, no semantics (each command does that).
import I2Core

public struct ParsedArguments: Sendable {
    /// Long name → values in order (switches: [""]). Read through the typed accessors
    /// (ParsedArguments+Values.swift), which take the Flag itself, so a flag name cannot be misspelt.
    var values: [String: [String]] = [:]
    public var positionals: [String] = []
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
                    throw I2Error(.usage, msg)
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
            guard i < words.count else { throw I2Error(.usage, "option '\(shown)' needs a value (\(flag.valueName!))") }
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
                    throw I2Error(.usage, msg)
                }
                if flag.takesValue {
                    try record(flag, try inline ?? takeValue(for: flag, shown: "--" + name))
                } else {
                    if inline != nil { throw I2Error(.usage, "option '--\(name)' takes no value") }
                    try record(flag, nil)
                }
            } else {
                // Short flags, possibly bundled: -abc, -ovalue, -o value.
                var chars = Array(w.dropFirst())
                while !chars.isEmpty {
                    let c = chars.removeFirst()
                    guard let flag = flags.first(where: { $0.short == c }) else {
                        throw I2Error(.usage, "unknown option '-\(c)'" + (w.count > 2 ? " in '\(w)'" : ""))
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
