// Every subcommand, in the order dispatch, help, man pages and completions list them.

public enum CommandTable {
    public static let all: [Command] = [
        Receive.command, Watch.command, Process.command, Convert.command, Send.command,
        Seg2Nifti.command, Nifti2Seg.command,
    ]

    public static func named(_ name: String) -> Command? { all.first { $0.name == name } }

    /// Flags of `i2` itself.
    public static let versionFlag = Flag("version", short: "V", summary: "Print the version and exit")
    public static let generateFlag = Flag("generate", value: "WHAT", summary: "Print a generated file: the man pages or a shell completion script",
             details: "`man` prints man/i2.1; `man-SUB` prints man/i2-SUB.1; `complete-bash`, `complete-zsh` and `complete-fish` print the completion scripts. This is how man/ and completions/ are regenerated.",
             choices: ["man", "complete-bash", "complete-zsh", "complete-fish", "readme-exit-status"] + all.map { "man-" + $0.name })
    public static let topFlags: [Flag] = [CommonFlags.help, versionFlag, generateFlag]
}
