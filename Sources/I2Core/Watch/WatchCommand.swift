// The --exec command for a unit: placeholders replaced by shell-quoted paths, run by the shell (RunningCommand.shell) as a
// RunningCommand (Batch/RunningCommand.swift), under a small supervising shell that records its exit
// status durably next to the data: a watcher killed outright (SIGKILL, OOM, power) leaves the command
// running as an orphan, and the next watcher must learn how it ended instead of running it again.
import Foundation

public enum WatchCommand {
    /// 'it'\''s' — POSIX single quoting, safe for any path.
    public static func shellQuote(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// POSIX sh run as `sh -c SCRIPT i2-watch EXITFILE "RUN ATTEMPT" SHELL... COMMAND`: runs the command
    /// as its child, then writes "RUN ATTEMPT STATUS" to EXITFILE atomically (temporary file, fsync through
    /// coreutils sync(1) where it takes file arguments, rename, fsync of the directory) and exits with
    /// the command's status. It holds the unit's lock descriptor like the command, so the lock is free
    /// only once the record is on disk. Killed itself (the watcher's stop, or SIGKILL), it records nothing.
    static let supervisor = """
        f=$1; tag=$2; shift 2
        "$@"
        s=$?
        printf '%s %s\\n' "$tag" "$s" >"$f.tmp" && { sync "$f.tmp" 2>/dev/null || :; } && mv -f "$f.tmp" "$f" && { sync "${f%/*}" 2>/dev/null || :; }
        exit $s
        """

    /// argv that runs `command` through RunningCommand.shell under the supervisor.
    public static func supervised(_ command: String, exitFile: String, run: Int, attempt: Int) -> [String] {
        ["/bin/sh", "-c", supervisor, "i2-watch", exitFile, "\(run) \(attempt)"] + RunningCommand.shell + [command]
    }

    /// The exit status a supervisor recorded for this run and attempt; nil when there is none (the
    /// command, or its supervisor, was killed; or the record is from another attempt).
    public static func recordedExit(_ exitFile: String, run: Int, attempt: Int) -> Int32? {
        guard let text = try? String(contentsOfFile: exitFile, encoding: .utf8) else { return nil }
        let f = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard f.count == 3, Int(f[0]) == run, Int(f[1]) == attempt, let s = Int32(f[2]), (0...255).contains(s) else { return nil }
        return s
    }

    /// Replaces {series}, {study}, {patient}, {root} and {log} with shell-quoted paths.
    public static func expand(_ template: String, unit: UnitSnapshot, root: String, log: String) -> String {
        var s = template
        for (k, v) in [("{series}", unit.directory), ("{study}", unit.studyDirectory),
                       ("{patient}", unit.patientDirectory), ("{root}", root), ("{log}", log)] {
            s = s.replacingOccurrences(of: k, with: shellQuote(v))
        }
        return s
    }
}
