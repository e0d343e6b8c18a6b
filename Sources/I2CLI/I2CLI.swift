// Entry point of the command line: dispatch argv to a subcommand, run it with a context wired to the
// terminal and the one signal installer, and map its report to an exit status (ExitStatus.of).
import Foundation
import I2Core

public enum I2CLI {
    public static let version = "0.1.0"

    public static func main(_ argv: [String]) -> Int32 {
        ProcessSetUp.run()   // before any thread starts
        let stop = StopToken()
        Signals.install(stopping: stop)
        var args = Array(argv.dropFirst())
        guard let first = args.first else {
            Diagnostics.write(Help.top())
            return ExitStatus.usage.rawValue
        }
        if first.hasPrefix("-") {
            do {
                let parsed = try Parser.parse(args, flags: CommandTable.topFlags)
                if parsed.has(CommandTable.versionFlag) { StandardOutput.write("i2 \(version)\n"); return 0 }
                if let what = parsed.given(CommandTable.generateFlag) { StandardOutput.write(Generate.file(what)); return 0 }
                if parsed.has(CommonFlags.help) { StandardOutput.write(Help.top()); return 0 }
                if let p = parsed.positionals.first { return usageError("'\(p)' after options: put the subcommand first") }
                return usageError("no subcommand given")
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
        return run(cmd, args, stop: stop)
    }

    static func run(_ cmd: Command, _ args: [String], stop: StopToken) -> Int32 {
        let parsed: ParsedArguments
        do {
            parsed = try Parser.parse(args, flags: cmd.flags)
        } catch {
            return usageError("\(cmd.name): \(error)")
        }
        if parsed.has(CommonFlags.help) { StandardOutput.write(Help.command(cmd)); return 0 }
        if cmd.stop == .immediate && !(cmd.gracefulWith.map(parsed.has) ?? false) {
            // Roll back the item in hand (temporaries, a tool's process group), then exit as shells expect.
            stop.onStop { TempFiles.removeAll(); _exit(128 + (stop.signal == 0 ? SIGTERM : stop.signal)) }
        }
        let terminal = TerminalOutput()
        let invocation = Invocation(context: EngineContext(events: terminal.sink, stop: stop), terminal: terminal)
        let report: Report
        do {
            report = try cmd.run(parsed, invocation)
        } catch let e as I2Error {
            report = Report(fatal: e)
        } catch {
            report = Report(fatal: I2Error(.internal, "\(error)"))
        }
        terminal.clearProgress()
        if let e = report.fatal {
            Diagnostics.log(.error, e.kind == .usage ? "\(cmd.name): \(e)" : e.description)
        }
        return ExitStatus.of(report)
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
