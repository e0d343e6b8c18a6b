// Every subcommand, in the order dispatch, help, man pages and completions list them.

public enum CommandTable {
    /// Each subcommand by name, built when asked for: a run builds only its own command and flags
    /// (all ten with their help texts cost ~0.3 ms at every start). CommandTableTests checks the names.
    static let builders: [(name: String, build: () -> Command)] = [
        ("receive", { Receive.command }), ("watch", { Watch.command }), ("process", { Process.command }),
        ("convert", { Convert.command }), ("send", { Send.command }), ("seg2nifti", { Seg2Nifti.command }),
        ("nifti2seg", { Nifti2Seg.command }), ("query", { Query.command }),
        ("retrieve", { Retrieve.command }), ("status", { Status.command }),
    ]

    public static var all: [Command] { builders.map { $0.build() } }

    public static func named(_ name: String) -> Command? { builders.first { $0.name == name }?.build() }

    /// Flags of `i2` itself. `--generate`'s choices take the names alone: `i2 --version` builds no command.
    public static let versionFlag = Flag("version", short: "V", summary: "Print the version and exit")
    public static let generateFlag = Flag("generate", value: "WHAT", summary: "Print a generated file: the man pages or a shell completion script",
             details: "`man` prints man/i2.1; `man-SUB` prints man/i2-SUB.1; `complete-bash`, `complete-zsh` and `complete-fish` print the completion scripts. This is how man/ and completions/ are regenerated.",
             choices: ["man", "complete-bash", "complete-zsh", "complete-fish", "readme-exit-status"] + builders.map { "man-" + $0.name })
    public static let topFlags: [Flag] = [CommonFlags.help, versionFlag, generateFlag]
}
