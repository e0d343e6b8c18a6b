// The --exec command for a unit: placeholders replaced by shell-quoted paths, run by the shell (RunningCommand.shell) as a
// RunningCommand (Batch/RunningCommand.swift).
import Foundation

public enum WatchCommand {
    /// 'it'\''s' — POSIX single quoting, safe for any path.
    public static func shellQuote(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
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
