// A unit left 'processing' by a watcher that died (SIGKILL, OOM killer, power loss). Its command kept
// running as an orphan and kept the unit's lock (it inherits the lock descriptor), so a restarted watcher
// waits while it runs ("claimed elsewhere") and gets here only once it has ended. The command's
// supervising shell (WatchCommand.supervisor) wrote its exit status next to the data: that outcome is
// recorded as if the dead watcher had seen it, so a command that succeeded is never run again and one
// that failed counts as a failed attempt. Without a record (the command was killed too, or the watcher
// died before the command started) the attempt counts as interrupted and the retry policy applies.
import Foundation

extension Watcher {
    /// Settles `st` (status processing, lock held by us) from the orphan's recorded exit status; returns
    /// the new state (done, failed, or complete with the retry's time), saved.
    func settleOrphan(_ st: SeriesState, _ t: Tracked, now: Double) -> SeriesState {
        let dir = t.snapshot.directory
        var s = st
        // Paths come from where the state file is now, not from what it says (as in start).
        s.command = options.command ?? ""
        s.directory = dir
        s.key = key
        s.log = WatchKey.logPath(dir, key)
        let exitFile = WatchKey.exitPath(dir, key)
        let started = s.updated   // saved when the attempt started
        // The backoff of a retry counts from the attempt's start when its end is unknown (the orphan may
        // have died long ago); from now when it just ended (its record is what we see).
        if let status = WatchCommand.recordedExit(exitFile, run: s.run, attempt: s.attempts) {
            log(.info, "\(dir): attempt \(s.attempts) of run \(s.run) ended with exit status \(status) after its watcher was gone; recording that outcome")
            RunningCommand.appendLog(s.log, "=== exit status \(status) (recorded by the command's supervisor; the watcher that started it was gone)\n")
            recordOutcome(&s, t, exitStatus: status, started: started, retryFrom: now)
        } else {
            let why = "no recorded outcome: its watcher died and the command did not finish normally (killed with it, or never started)"
            log(.warning, "\(dir): attempt \(s.attempts) of run \(s.run) has \(why)")
            RunningCommand.appendLog(s.log, "=== attempt \(s.attempts) interrupted: \(why)\n")
            recordOutcome(&s, t, exitStatus: nil, started: started, retryFrom: WatchClock.seconds(started) ?? 0,
                          why: "interrupted, \(why)")
        }
        _ = save(s)
        unlink(exitFile)
        return s
    }
}
