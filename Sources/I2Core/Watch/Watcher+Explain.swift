// Why a unit is not handed over now, said once per unit: every unit --once finds at its start (at the
// default log level, so a run that hands nothing over says why), and, without --once, at debug level.
import Foundation
import I2Model

extension Watcher {
    /// --once, first scan: the empty units, the ones not quiet yet (left for the next run), or that the
    /// root holds nothing at all. Units that are quiet are explained by `explainIdle` or their run.
    func explainOnceStart(_ snapshots: [UnitSnapshot], now: Double) {
        let unit = options.group == .study ? "study" : "series"
        for dir in scanner.emptyUnits { log(.info, "\(dir): empty (no files yet); nothing to hand over") }
        if snapshots.isEmpty && scanner.emptyUnits.isEmpty {
            log(.info, "\(scanner.root): no \(unit) directories (expected ROOT/PATIENT/STUDY/SERIES/ holding files); nothing to hand over")
        }
        for s in snapshots {
            guard let t = tracked[s.directory], !isQuiet(t, now) else { continue }
            let ago = max(now - t.lastActivity, 0)
            log(.info, String(format: "%@: not quiet yet: newest file %.1f s ago, --quiet is %g s (%.1f s left); --once does not wait, a later run hands it over",
                              s.directory, ago, options.quiet, options.quiet - ago))
        }
    }

    /// A quiet unit whose durable state says there is nothing to do now.
    func explainIdle(_ dir: String, _ st: SeriesState, _ why: Idle, now: Double) {
        let level: LogLevel = options.once ? .info : .debug
        let exit = st.lastExitStatus.map { ", exit status \($0)" } ?? ""
        switch why {
        case .settled:
            if st.status == .failed {
                log(level, "\(dir): already failed with this command (run \(st.run), \(st.attempts) attempt\(st.attempts == 1 ? "" : "s")\(exit), \(st.updated)); not retried until new files arrive; log: \(st.log)")
            } else {
                let what = options.command == nil ? "already printed by an earlier i2 watch (without --exec)" : "already done by this command"
                log(level, "\(dir): \(what) (run \(st.run), \(st.updated)); new files would start a follow-up run")
            }
        case .retryAt(let at):
            log(level, String(format: "%@: attempt %d failed%@; waiting %.0f s for the retry (--retry-delay)", dir, st.attempts, exit, max(at - now, 0)))
        }
    }
}
