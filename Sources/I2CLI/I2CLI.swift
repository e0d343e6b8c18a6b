// Entry point of the command line: dispatch argv to a subcommand, map every outcome to an exit status.
import I2Core
import I2Model

public enum I2CLI {
    public static let version = "0.1.0"

    public static func main(_ argv: [String]) -> Int32 {
        StandardOutput.installPipeHandling()
        TempFiles.installSignalCleanup()
        var args = Array(argv.dropFirst())
        guard let first = args.first else {
            Diagnostics.write(Help.top())
            return ExitStatus.usage.rawValue
        }
        if first.hasPrefix("-") {
            do {
                let parsed = try Parser.parse(args, flags: CommandTable.topFlags)
                if parsed.has("version") { StandardOutput.write("i2 \(version)\n"); return 0 }
                if let what = parsed.value("generate") { StandardOutput.write(Generate.file(what)); return 0 }
                if parsed.has("help") { StandardOutput.write(Help.top()); return 0 }
                if let p = parsed.positionals.first { return usageError("'\(p)' after options: put the subcommand first") }
                return usageError("no subcommand given")
            } catch let e as UsageError {
                return usageError(e.message)
            } catch {
                return usageError("\(error)")
            }
        }
        args.removeFirst()
        if first == "help" {
            guard let sub = args.first else { StandardOutput.write(Help.top()); return 0 }
            guard let cmd = CommandTable.named(sub) else { return unknownCommand(sub) }
            StandardOutput.write(Help.command(cmd))
            return 0
        }
        guard let cmd = CommandTable.named(first) else { return unknownCommand(first) }
        return run(cmd, args)
    }

    static func run(_ cmd: Command, _ args: [String]) -> Int32 {
        let parsed: ParsedArguments
        do {
            parsed = try Parser.parse(args, flags: cmd.flags)
        } catch let e as UsageError {
            return usageError("\(cmd.name): \(e.message)")
        } catch {
            return usageError("\(cmd.name): \(error)")
        }
        if parsed.has("help") { StandardOutput.write(Help.command(cmd)); return 0 }
        do {
            return try cmd.run(parsed).rawValue
        } catch let e as UsageError {
            return usageError("\(cmd.name): \(e.message)")
        } catch let e as I2Error where e.kind == .usage {
            return usageError("\(cmd.name): \(e)")
        } catch {
            Diagnostics.error("\(error)")
            return ExitStatus.partialFailure.rawValue
        }
    }

    static func unknownCommand(_ word: String) -> Int32 {
        var msg = "unknown subcommand '\(word)'"
        if let s = Suggest.nearest(word, in: CommandTable.all.map(\.name)) { msg += "; did you mean '\(s)'?" }
        return usageError(msg + " (see 'i2 --help')")
    }

    static func usageError(_ message: String) -> Int32 {
        Diagnostics.error(message)
        return ExitStatus.usage.rawValue
    }
}
