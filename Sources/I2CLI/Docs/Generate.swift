// `i2 --generate WHAT`: the one way man/ and completions/ are produced.

enum Generate {
    static func file(_ what: String) -> String {
        switch what {
        case "man": return ManPage.top()
        case "complete-bash": return Completion.bash()
        case "complete-zsh": return Completion.zsh()
        case "complete-fish": return Completion.fish()
        case "readme-exit-status": return readmeExitStatus()
        default:
            let name = String(what.dropFirst(4))
            return CommandTable.named(name).map(ManPage.command) ?? ""
        }
    }
}

extension Generate {
    /// The README's exit-status table (between its generated-table markers), from ExitStatus: which
    /// commands return each status comes from each command's exitStatuses.
    static func readmeExitStatus() -> String {
        var s = "| status | meaning | returned by |\n| --- | --- | --- |\n"
        for status in ExitStatus.allCases {
            let users = CommandTable.all.filter { $0.exitStatuses.contains(status) }.map(\.name)
            let who = users.count == CommandTable.all.count ? "every subcommand" : users.joined(separator: ", ")
            s += "| \(status.code) | \(status.meaning) | \(who) |\n"
        }
        return s
    }
}
