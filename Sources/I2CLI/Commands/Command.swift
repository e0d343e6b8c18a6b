// The one shape every subcommand has: its name, what it does, its flags and positionals, and a run
// function that builds the command's options from ParsedArguments and calls into I2Core.

public struct Command: Sendable {
    public var name: String
    public var summary: String              // one line
    public var description: String          // paragraphs for --help and the man page
    public var flags: [Flag]
    public var positionals: [Positional]
    public var examples: [(command: String, meaning: String)]
    public var extraManSections: [(title: String, body: String)]
    public var exitStatuses: [ExitStatus]
    public var run: @Sendable (ParsedArguments) throws -> ExitStatus

    public init(name: String, summary: String, description: String, flags: [Flag], positionals: [Positional],
                examples: [(command: String, meaning: String)] = [], extraManSections: [(title: String, body: String)] = [],
                exitStatuses: [ExitStatus] = ExitStatus.general,
                run: @escaping @Sendable (ParsedArguments) throws -> ExitStatus) {
        self.name = name
        self.summary = summary
        self.description = description
        self.flags = flags + [CommonFlags.help]
        self.positionals = positionals
        self.examples = examples
        self.extraManSections = extraManSections
        self.exitStatuses = exitStatuses
        self.run = run
    }

    public var synopsis: String {
        (["i2", name, "[OPTIONS]"] + positionals.map(\.usage)).joined(separator: " ")
    }
}

/// Flags shared by several commands, declared once.
public enum CommonFlags {
    public static let help = Flag("help", short: "h", summary: "Print help and exit")
    public static let null = Flag("null", short: "0", summary: "Separate output paths with NUL instead of newline",
                                  details: "For `xargs -0` and file names with newlines.")
}
