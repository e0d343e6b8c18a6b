// --help text for i2 and each subcommand, from the command table and flag declarations.

enum Help {
    static func top() -> String {
        var s = "i2 \(I2CLI.version): connect image-processing tools to PACS over DICOM, and convert between their formats\n\n"
        s += "Usage: i2 <SUBCOMMAND> [OPTIONS] [ARGS]\n       i2 help <SUBCOMMAND>\n\nSubcommands:\n"
        let w = CommandTable.all.map(\.name.count).max()! + 2
        for c in CommandTable.all { s += "  " + c.name.padded(w) + c.summary + "\n" }
        s += "\nOptions:\n" + flagLines(CommandTable.topFlags)
        s += "\nRun 'i2 <SUBCOMMAND> --help' for the options of one subcommand; 'man i2-<SUBCOMMAND>' for more.\n"
        return s
    }

    static func command(_ c: Command) -> String {
        var s = "i2 \(c.name): \(c.summary)\n\nUsage: \(c.synopsis)\n\n"
        s += c.description.split(separator: "\n", omittingEmptySubsequences: false).map { wrap(String($0)) }.joined(separator: "\n") + "\n"
        if !c.positionals.isEmpty {
            s += "\nArguments:\n"
            let w = c.positionals.map { $0.usage.count }.max()! + 2
            for p in c.positionals { s += "  " + p.usage.padded(w) + p.summary + "\n" }
        }
        s += "\nOptions:\n" + flagLines(c.flags)
        if !c.examples.isEmpty {
            s += "\nExamples:\n"
            for e in c.examples { s += "  \(e.command)\n      \(e.meaning)\n" }
        }
        return s
    }

    static func flagLines(_ flags: [Flag]) -> String {
        let names = flags.map { ($0.short == nil ? "    " : "") + $0.displayName }
        let w = min(names.map(\.count).max() ?? 0, 34) + 2
        var s = ""
        for (f, n) in zip(flags, names) {
            var line = f.summary
            if let d = f.defaultValue { line += " [default: \(d)]" }
            if !f.choices.isEmpty && f.valueName != nil && f.choices.count <= 6 { line += " {\(f.choices.joined(separator: "|"))}" }
            if n.count + 2 > w { s += "  \(n)\n" + String(repeating: " ", count: w + 2) + line + "\n" }
            else { s += "  " + n.padded(w) + line + "\n" }
        }
        return s
    }

    /// Wraps prose at 100 columns for the terminal.
    static func wrap(_ text: String, width: Int = 100) -> String {
        var lines: [String] = []
        var cur = ""
        for word in text.split(separator: " ") {
            if !cur.isEmpty && cur.count + 1 + word.count > width { lines.append(cur); cur = "" }
            cur += (cur.isEmpty ? "" : " ") + word
        }
        lines.append(cur)
        return lines.joined(separator: "\n")
    }
}

extension String {
    func padded(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
