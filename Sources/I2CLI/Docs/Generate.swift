// `i2 --generate WHAT`: the one way man/ and completions/ are produced.

enum Generate {
    static func file(_ what: String) -> String {
        switch what {
        case "man": return ManPage.top()
        case "complete-bash": return Completion.bash()
        case "complete-zsh": return Completion.zsh()
        case "complete-fish": return Completion.fish()
        default:
            let name = String(what.dropFirst(4))
            return CommandTable.named(name).map(ManPage.command) ?? ""
        }
    }
}
