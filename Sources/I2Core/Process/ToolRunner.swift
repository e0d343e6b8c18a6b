// Running an external tool: placeholders expanded, in its work directory, output to its log, in its
// own process group so a timeout or a stop stops everything it started (TERM, then KILL after 5 s).
import Foundation
import I2Model

enum ToolRunner {
    struct Places {
        var input: String, output: String, series: String, work: String
    }

    static func run(_ tool: ToolSpec, places: Places, parameters: [String: String], log: String, timeout: Double?,
                    stop: StopToken) throws {
        let argv: [String]
        switch tool.command {
        case .argv(let a): argv = try a.map { try expand($0, places, parameters, quote: false) }
        case .shell(let s): argv = RunningCommand.shell + [try expand(s, places, parameters, quote: true)]
        case .builtin: return
        }
        RunningCommand.appendLog(log, "=== i2 process: \(tool.name) \(tool.version)\n=== " + argv.map(WatchCommand.shellQuote).joined(separator: " ") + "\n")
        var env = ProcessInfo.processInfo.environment
        env["I2_INPUT"] = places.input
        env["I2_OUTPUT"] = places.output
        env["I2_SERIES_DIR"] = places.series
        env["I2_WORK"] = places.work
        let p: RunningCommand
        do {
            p = try RunningCommand(argv: argv, environment: env, logPath: log, directory: places.work)
        } catch let e as I2Error {
            throw I2Error(.toolFailed, e.detail)
        }
        let end = Date().addingTimeInterval(timeout ?? 1e9)
        while !p.wait(seconds: 0.05) {
            if stop.isStopped {
                p.terminate(grace: 5)
                throw I2Error(.interrupted, "stopped by a signal (the tool's process group was stopped)")
            }
            if Date() >= end {
                p.terminate(grace: 5)
                throw I2Error(.toolFailed, String(format: "timed out after %g s and was stopped", timeout!))
            }
        }
        // Anything the tool left running in its group would write on after we read its outputs.
        kill(-p.pid, SIGKILL)
        let status = p.exitStatus ?? 127
        if status == 127 { throw I2Error(.toolFailed, "exited with status 127 (command not found?)") }
        if status > 128 { throw I2Error(.toolFailed, "killed by signal \(status - 128)") }
        if status != 0 { throw I2Error(.toolFailed, "exited with status \(status)") }
    }

    /// {input}, {output}, {series}, {work} and {param:NAME}; shell-quoted for a shell command line.
    static func expand(_ template: String, _ p: Places, _ parameters: [String: String], quote: Bool) throws -> String {
        var s = template
        let q: (String) -> String = quote ? WatchCommand.shellQuote : { $0 }
        for (k, v) in [("{input}", p.input), ("{output}", p.output), ("{series}", p.series), ("{work}", p.work)] {
            s = s.replacingOccurrences(of: k, with: q(v))
        }
        var from = s.startIndex   // past each replacement, so a value is never expanded again
        while let r = s.range(of: #"\{param:[^}]*\}"#, options: .regularExpression, range: from..<s.endIndex) {
            let name = String(s[r].dropFirst(7).dropLast())
            guard let v = parameters[name] else {
                throw I2Error(.usage, "the command names {param:\(name)}, which is not in the tool's parameters")
            }
            let at = s.distance(from: s.startIndex, to: r.lowerBound) + q(v).count
            s.replaceSubrange(r, with: q(v))
            from = s.index(s.startIndex, offsetBy: at)
        }
        return s
    }
}
