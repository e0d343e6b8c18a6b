// The one flag definition: everything help, man pages, completions and the parser need to know.

/// What a value completes to in the shells.
public enum CompletionKind: Equatable, Sendable {
    case none
    case file(extensions: [String])   // empty: any file
    case directory
    case choices([String])
    case choicesOrFiles([String], extensions: [String])   // fixed names, and files (e.g. built-in tools or TOOL.json)
}

/// One command-line option of one subcommand (or of `i2` itself).
public struct Flag: Sendable {
    public var long: String             // without "--"
    public var short: Character?        // without "-"
    public var valueName: String?       // nil: a switch that takes no value
    public var summary: String          // one line, for --help
    public var details: String          // longer text for the man page ("" when the summary says it all)
    public var choices: [String]        // allowed values, checked by the parser
    public var repeatable: Bool         // may be given more than once (values accumulate)
    public var completion: CompletionKind
    public var defaultValue: String?    // shown in help

    public init(_ long: String, short: Character? = nil, value: String? = nil, summary: String,
                details: String = "", choices: [String] = [], repeatable: Bool = false,
                completion: CompletionKind? = nil, defaultValue: String? = nil) {
        self.long = long
        self.short = short
        self.valueName = value
        self.summary = summary
        self.details = details
        self.choices = choices
        self.repeatable = repeatable
        self.completion = completion ?? (choices.isEmpty ? .none : .choices(choices))
        self.defaultValue = defaultValue
    }

    public var takesValue: Bool { valueName != nil }

    /// "-o, --output PATH" as help and man pages show it.
    public var displayName: String {
        var s = short.map { "-\($0), " } ?? ""
        s += "--" + long
        if let v = valueName { s += " " + v }
        return s
    }
}

/// A positional argument, documented like a flag.
public struct Positional: Sendable {
    public var name: String             // e.g. "INPUT"
    public var summary: String
    public var variadic: Bool
    public var optional: Bool
    public var completion: CompletionKind
    public init(_ name: String, summary: String, variadic: Bool = false, optional: Bool = false,
                completion: CompletionKind = .file(extensions: [])) {
        self.name = name
        self.summary = summary
        self.variadic = variadic
        self.optional = optional
        self.completion = completion
    }

    public var usage: String {
        var s = name + (variadic ? "..." : "")
        if optional { s = "[" + s + "]" }
        return s
    }
}
