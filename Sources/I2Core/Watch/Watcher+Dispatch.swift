// Where an attempt runs: a local child process (the default) or a Slurm job (--dispatch slurm). The
// watch loop starts, reaps and records both the same way through RunningAttempt; what differs is how
// a restarted watcher finds an attempt its predecessor left (a local orphan holds the claim and leaves
// an exit record, see Watcher+Orphans; a Slurm job is looked up in Slurm) and what stopping does to it.
import Foundation

/// An attempt in flight, polled by the watch loop.
protocol RunningAttempt: AnyObject {
    /// Whether it has ended (local: polled now; Slurm: as of the dispatcher's last refresh).
    var ended: Bool { get }
    /// Once ended: 0…255 (128+signal when killed), or nil when how it ended is unknown.
    var exitStatus: Int32? { get }
    /// Once ended: how, in words, when the exit status alone does not say it (Slurm's state).
    var why: String? { get }
}

final class LocalAttempt: RunningAttempt {
    let command: RunningCommand
    init(_ c: RunningCommand) { command = c }
    var ended: Bool { command.poll() }
    var exitStatus: Int32? { command.exitStatus }
    var why: String? { nil }
}

extension Watcher {
    /// sbatch for an attempt whose intent (job name) is on disk; the job id is recorded as soon as
    /// sbatch prints it. An sbatch that failed may still have submitted (a timeout): Slurm is asked
    /// by name before the attempt counts as failed.
    func submit(_ t: Tracked, _ lock: SeriesLock, _ st: SeriesState, _ cmd: String, followUp: Bool) {
        let dir = t.snapshot.directory
        var s = st
        do {
            s.job = try slurm.submit(command: cmd, unit: t.snapshot, root: scanner.root, state: s,
                                     environment: environment(t, s, followUp: followUp))
        } catch {
            RunningCommand.appendLog(s.log, "=== \(error)\n")
            switch slurm.lookup(s) {
            case .found(let a):
                s.job = a.jobID
            case .notSubmitted:
                return finish(Job(t, lock, s, nil), exitStatus: 127, why: "\(error)")
            case .unknown(let why):
                // Left 'processing' with the intent: the next look (this watcher's or another's) decides.
                log(.warning, "\(dir): \(error); cannot tell whether Slurm took the job (\(why)); will look again")
                lock.release()
                t.notBefore = WatchClock.now() + max(options.poll, 5)
                return
            }
        }
        let id = s.job ?? ""
        s.status = .submitted
        s.jobState = "PENDING"
        _ = save(s)   // if this fails, the job is still found by its recorded name
        RunningCommand.appendLog(s.log, "=== Slurm job \(id) (\(s.jobName ?? ""))\n")
        jobs[dir] = Job(t, lock, s, SlurmAttempt(jobID: id))
        log(.info, "\(dir): run \(s.run)\(followUp ? " (follow-up)" : "") attempt \(s.attempts) submitted as Slurm job \(id)")
    }

    /// Records the job's Slurm state (PENDING, RUNNING) in the unit's state when it changed, for i2 status and the metrics.
    func noteJobState(_ job: Job) {
        guard let a = job.attempt as? SlurmAttempt, !a.ended, let js = a.state, js != job.state.jobState else { return }
        job.state.jobState = js
        _ = save(job.state)
    }

    /// A unit left 'submitted' with a Slurm job (or 'processing' with the intent of one) by a watcher that is gone; the
    /// claim is ours. Returns the state to go on with: settled from Slurm's accounting, or ready to
    /// submit the same attempt again when it never reached Slurm. nil: the job runs on and is now
    /// ours to poll, or Slurm could not be asked (the claim is released, to look again later).
    func adoptSlurmJob(_ st: SeriesState, _ t: Tracked, _ lock: SeriesLock, now: Double) -> SeriesState? {
        let dir = t.snapshot.directory
        var s = st
        s.command = options.command ?? ""
        s.directory = dir
        s.key = key
        s.log = WatchKey.logPath(dir, key)
        let which = "attempt \(s.attempts) of run \(s.run)"
        switch slurm.lookup(s) {
        case .found(let a):
            s.job = a.jobID
            if a.ended {
                if let js = a.state { s.jobState = js }
                log(.info, "\(dir): \(which) (Slurm job \(a.jobID)) ended after its watcher was gone; recording that outcome")
                RunningCommand.appendLog(s.log, "=== exit status \(a.exitStatus.map(String.init) ?? "unknown") (\(a.why ?? "Slurm job \(a.jobID) COMPLETED"); seen by a later watcher)\n")
                recordOutcome(&s, t, exitStatus: a.exitStatus, started: st.updated, retryFrom: now, why: a.why)
                _ = save(s)
                return s
            }
            s.status = .submitted
            if let js = a.state { s.jobState = js }
            if s != st { _ = save(s) }   // e.g. the id was known only to Slurm until now
            jobs[dir] = Job(t, lock, s, a, started: st.updated)
            t.markedReceived = true
            log(.info, "\(dir): adopted Slurm job \(a.jobID) (\(which)), submitted by an earlier watcher")
            return nil
        case .notSubmitted:
            // The watcher died after recording the intent and before sbatch reached slurmctld.
            log(.info, "\(dir): \(which) never reached Slurm (its watcher died first); submitting it now")
            s.attempts -= 1   // start() counts it again: the same attempt
            s.jobName = nil
            return s
        case .unknown(let why):
            log(.warning, "\(dir): cannot tell yet whether Slurm has the job of \(which) (\(why)); will look again")
            lock.release()
            t.notBefore = now + max(options.poll, 5)
            return nil
        }
    }

    /// On SIGINT/SIGTERM: Slurm jobs run on without us (their state stays 'submitted' with the job id,
    /// and the next watcher adopts them), or with --cancel-on-stop are cancelled, waited for up to
    /// --stop-grace, and left 'complete' (that attempt not counted) to run again.
    func stopSlurmJobs() {
        let onSlurm = jobs.filter { $0.value.attempt is SlurmAttempt }
        guard !onSlurm.isEmpty else { return }
        let attempts = onSlurm.values.compactMap { $0.attempt as? SlurmAttempt }
        if options.slurm.cancelOnStop {
            log(.info, "stopping: cancelling \(attempts.count) Slurm job(s) (--cancel-on-stop)")
            do { try slurm.cancel(attempts.map(\.jobID)) } catch { log(.error, "\(error)") }
            let end = WatchClock.now() + options.stopGrace
            while attempts.contains(where: { !$0.ended }) && WatchClock.now() < end {
                usleep(200_000)
                slurm.refresh(attempts, force: true)
            }
        } else {
            log(.info, "stopping: \(attempts.count) Slurm job(s) keep running; the next i2 watch adopts them")
        }
        for (dir, job) in onSlurm {
            guard let a = job.attempt as? SlurmAttempt else { continue }
            var s = job.state
            if options.slurm.cancelOnStop && a.ended {
                s.record(.init(run: s.run, attempt: s.attempts, followUp: s.run > 1, status: "stopped", exitStatus: a.exitStatus,
                               files: s.handedFiles, started: job.started, finished: WatchClock.timestamp(), job: a.jobID))
                s.attempts -= 1
                s.status = .complete
                s.jobState = a.state
                s.nextAttemptAt = nil
                RunningCommand.appendLog(s.log, "=== Slurm job \(a.jobID) cancelled at the watcher's shutdown; will run again\n")
                _ = save(s)
                log(.warning, "\(dir): Slurm job \(a.jobID) cancelled at shutdown; left 'complete' to run again")
            } else {
                RunningCommand.appendLog(s.log, "=== the watcher stopped; Slurm job \(a.jobID) runs on, the next watcher adopts it\n")
                if options.slurm.cancelOnStop { log(.warning, "\(dir): Slurm job \(a.jobID) had not ended after scancel; the next watcher adopts it") }
            }
            job.lock.release()
            jobs[dir] = nil
        }
    }
}
