// The work on one quiet unit: claim it (lock), decide from its durable state whether this is a first
// run, a retry, a follow-up or nothing to do, start the command (or print the directory), and record
// the outcome when it ends. Every state write happens with the lock held.
import Foundation

extension Watcher {
    /// A quiet unit, not in hand: run it if its state says there is work.
    func consider(_ t: Tracked, now: Double) {
        let dir = t.snapshot.directory
        guard now >= t.notBefore else { return }
        if let st = t.settled, !t.isNewer(than: st) { return dropCandidate(dir) }
        if let st = loadState(dir), let why = nothingToDo(st, t, now) { explainIdle(dir, st, why, now: now); return defer_(t, why) }

        switch SeriesLock.tryAcquire(WatchKey.lockPath(dir, key)) {
        case .failed(let reason):
            log(.error, "\(dir): \(reason)")
            t.notBefore = now + 60
            dropCandidate(dir)
        case .busy(let holder):
            // Another watcher (or a command orphaned by a killed watcher) has it: look again later.
            if t.notBefore == 0 {
                let later = options.once ? "a later run records its outcome" : "waiting for it to end, its outcome will be recorded"
                let orphan = Self.orphanedChild(holder).map { "; its command (pid \($0)) outlived the watcher that started it: \(later)" } ?? "; skipping"
                log(.info, "\(dir): claimed elsewhere (\(holder.isEmpty ? "lock held" : holder))\(orphan)")
            }
            t.notBefore = now + max(options.poll, 1)
            dropCandidate(dir)
        case .acquired(let lock):
            // Re-read under the lock: another watcher may have finished it since the first read.
            var old = loadState(dir)
            // 'processing' with the lock free: the watcher that started the command is gone, and so is
            // the command (it holds the lock while it runs). Take its recorded outcome, or count the attempt.
            // With a Slurm job recorded (or its intent), Slurm knows: adopt the job, or take its end.
            if let st = old, st.status == .processing || st.status == .submitted {
                if st.job != nil || st.jobName != nil {
                    guard let s = adoptSlurmJob(st, t, lock, now: now) else { return }
                    old = s
                } else {
                    old = settleOrphan(st, t, now: now)
                }
            }
            if let st = old, let why = nothingToDo(st, t, now) { lock.release(); explainIdle(dir, st, why, now: now); return defer_(t, why) }
            start(t, lock, old)
        }
    }

    /// The command pid of a lock holder line ("pid=… host=… child=…") whose watcher, on this host, is
    /// gone while the lock is still held: an orphaned command still running. nil otherwise.
    static func orphanedChild(_ holder: String) -> Int32? {
        var fields: [String: String] = [:]
        for f in holder.split(separator: " ") { if let eq = f.firstIndex(of: "=") { fields[String(f[..<eq])] = String(f[f.index(after: eq)...]) } }
        guard fields["host"] == SeriesLock.hostname(), let pid = fields["pid"].flatMap({ Int32($0) }),
              let child = fields["child"].flatMap({ Int32($0) }), pid != getpid() else { return nil }
        return kill(pid, 0) != 0 && errno == ESRCH ? child : nil
    }

    enum Idle { case settled(Int, Int64), retryAt(Double) }

    /// Why a unit with this state needs nothing now, or nil when it needs a run.
    func nothingToDo(_ st: SeriesState, _ t: Tracked, _ now: Double) -> Idle? {
        switch st.status {
        case .done, .failed:
            if !t.isNewer(than: (st.handedFiles, st.handedNewest)) { return .settled(st.handedFiles, st.handedNewest) }
        case .complete:
            if let at = st.nextAttemptAt, at > now { return .retryAt(at) }
        case .received, .processing, .submitted:   // submitted: only --dispatch slurm writes it
            break
        }
        return nil
    }

    func defer_(_ t: Tracked, _ why: Idle) {
        switch why {
        case .settled(let files, let newest):
            t.settled = (files, newest)
            dropCandidate(t.snapshot.directory)
        case .retryAt(let at):
            t.notBefore = at
        }
    }

    func dropCandidate(_ dir: String) { onceCandidates?.remove(dir) }

    /// Starts a run or attempt with the lock held.
    func start(_ t: Tracked, _ lock: SeriesLock, _ old: SeriesState?) {
        let dir = t.snapshot.directory
        var s = old ?? SeriesState(directory: dir, command: options.command ?? "")
        // Paths come from where the state file is now, not from what it says (a tree may have been moved or copied).
        s.command = options.command ?? ""
        s.directory = dir
        s.key = key
        s.log = WatchKey.logPath(dir, key)
        let newRun: Bool
        switch s.status {
        case .received, .done, .failed: newRun = true
        case .complete, .processing, .submitted: newRun = s.run == 0   // processing: settleOrphan has counted that attempt
        }
        if newRun { s.run += 1; s.attempts = 0 }
        s.attempts += 1
        s.status = .processing
        s.nextAttemptAt = nil
        s.lastExitStatus = nil
        s.handedFiles = t.snapshot.files
        s.handedNewest = t.snapshot.newest
        // The intent goes to disk before sbatch runs (see SlurmDispatcher).
        s.job = nil
        s.jobName = options.dispatch == .slurm && options.command != nil ? slurm.newJobName() : nil
        let followUp = s.run > 1
        guard save(s) else { lock.release(); t.notBefore = WatchClock.now() + 60; dropCandidate(dir); return }
        t.markedReceived = true

        // Lag from turning complete, or from this watcher's start for what was complete before it.
        if newRun { metrics?.started(lag: WatchClock.now() - max(Double(t.snapshot.newest) / 1e9 + options.quiet, startedAt)) }
        guard let template = options.command else {
            // Pipeline mode: handing over is printing the directory.
            handOver(dir)
            metrics?.outcome(.done)
            s.status = .done
            s.lastExitStatus = 0
            s.record(.init(run: s.run, attempt: s.attempts, followUp: followUp, status: "done", exitStatus: 0,
                           files: s.handedFiles, started: WatchClock.timestamp(), finished: WatchClock.timestamp()))
            _ = save(s)
            lock.release()
            t.settled = (s.handedFiles, s.handedNewest)
            dropCandidate(dir)
            return
        }
        let cmd = WatchCommand.expand(template, unit: t.snapshot, root: scanner.root, log: s.log)
        let header = "\n=== i2 watch \(WatchClock.timestamp()): \(dir) run \(s.run)\(followUp ? " (follow-up)" : "") attempt \(s.attempts), \(t.snapshot.files) files\n=== \(cmd)\n"
        RunningCommand.appendLog(s.log, header)
        if options.dispatch == .slurm { return submit(t, lock, s, cmd, followUp: followUp) }
        let exitFile = WatchKey.exitPath(dir, key)
        unlink(exitFile)   // an earlier attempt's record must not pass for this one's
        do {
            let p = try RunningCommand(argv: WatchCommand.supervised(cmd, exitFile: exitFile, run: s.run, attempt: s.attempts),
                                       environment: environment(t, s, followUp: followUp), logPath: s.log, lockFD: lock.fd)
            lock.note(child: p.pid)
            jobs[dir] = Job(t, lock, s, LocalAttempt(p))
            metrics?.processing(jobs.count)
            log(.info, "\(dir): run \(s.run)\(followUp ? " (follow-up)" : "") attempt \(s.attempts) started (pid \(p.pid))")
        } catch {
            RunningCommand.appendLog(s.log, "=== \(error)\n")
            finish(Job(t, lock, s, nil), exitStatus: 127)
        }
    }

    /// Records the outcome of every command (or Slurm job) that ended.
    func reap() {
        let onSlurm = jobs.values.filter { $0.attempt is SlurmAttempt }
        if !onSlurm.isEmpty {
            slurm.refresh(onSlurm.compactMap { $0.attempt as? SlurmAttempt })
            for job in onSlurm { noteJobState(job) }
        }
        for (_, job) in jobs where job.attempt?.ended ?? true {
            finish(job, exitStatus: job.attempt.map { $0.exitStatus } ?? 127, why: job.attempt?.why)
        }
    }

    /// `exitStatus` nil: the attempt ended without a known status (a job Slurm lost).
    func finish(_ job: Job, exitStatus: Int32?, why: String? = nil) {
        let t = job.tracked, dir = t.snapshot.directory
        var s = job.state
        if let a = job.attempt as? SlurmAttempt, let final = a.state { s.jobState = final }
        RunningCommand.appendLog(s.log, "=== exit status \(exitStatus.map(String.init) ?? "unknown")\(why.map { " (\($0))" } ?? "")\n")
        if let e = exitStatus, job.attempt != nil { metrics?.attempt(seconds: WatchClock.now() - (WatchClock.seconds(job.started) ?? WatchClock.now()), exitStatus: e) }
        recordOutcome(&s, t, exitStatus: exitStatus, started: job.started, retryFrom: WatchClock.now(), why: why)
        _ = save(s)
        unlink(WatchKey.exitPath(dir, key))   // the state holds the outcome now
        job.lock.release()
        jobs[dir] = nil
        metrics?.processing(jobs.count)
        if s.status != .complete {
            t.settled = (s.handedFiles, s.handedNewest)
            dropCandidate(dir)
        }
    }

    /// Records an attempt's end in `s`: done; or, on a non-zero or unknown (nil) exit status, a retry
    /// after the backoff counted from `retryFrom`, or failed for good once --retries are spent.
    func recordOutcome(_ s: inout SeriesState, _ t: Tracked, exitStatus: Int32?, started: String, retryFrom: Double,
                       why: String? = nil) {
        let dir = t.snapshot.directory
        s.lastExitStatus = exitStatus
        s.record(.init(run: s.run, attempt: s.attempts, followUp: s.run > 1,
                       status: exitStatus == 0 ? "done" : exitStatus == nil ? "interrupted" : "failed", exitStatus: exitStatus,
                       files: s.handedFiles, started: started, finished: WatchClock.timestamp(), job: s.job))
        let what = why ?? "exit status \(exitStatus.map(String.init) ?? "unknown")"
        if exitStatus == 0 {
            s.status = .done
            s.nextAttemptAt = nil
            log(.info, "\(dir): done (run \(s.run), attempt \(s.attempts))")
        } else if s.attempts <= options.retries {
            // Backoff doubles per attempt; the lock is released meanwhile, so this or another watcher
            // serves other units and whichever comes first after the delay takes the retry.
            let delay = min(options.retryDelay * pow(2, Double(s.attempts - 1)), 3600)
            let at = max(retryFrom + delay, WatchClock.now())
            s.status = .complete
            s.nextAttemptAt = at
            t.notBefore = at
            log(.warning, "\(dir): attempt \(s.attempts) failed (\(what)); retrying \(at - WatchClock.now() < 0.05 ? "now" : "in \(format(at - WatchClock.now())) s"); log: \(s.log)")
        } else {
            s.status = .failed
            s.nextAttemptAt = nil
            reporter.failed(I2Error(.toolFailed, path: dir, "failed after \(s.attempts) attempt\(s.attempts == 1 ? "" : "s") (\(what)); log: \(s.log)"))
        }
        metrics?.outcome(s.status)
    }

    func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.1f", seconds)
    }

    /// On SIGINT/SIGTERM: let commands in flight finish for up to --stop-grace seconds; then kill their
    /// process groups and roll the unit back to 'complete' (the attempt is not counted), so the next
    /// start runs it again instead of recording an outcome nobody saw.
    func stopJobs() {
        stopSlurmJobs()
        let end = WatchClock.now() + options.stopGrace
        if !jobs.isEmpty { log(.info, "stopping: waiting up to \(options.stopGrace) s for \(jobs.count) command(s)") }
        while !jobs.isEmpty && WatchClock.now() < end {
            reap()
            usleep(50_000)
        }
        for (dir, job) in jobs {
            guard let p = (job.attempt as? LocalAttempt)?.command else { continue }
            p.terminate(grace: 2)
            var s = job.state
            s.record(.init(run: s.run, attempt: s.attempts, followUp: s.run > 1, status: "stopped", exitStatus: p.exitStatus,
                           files: s.handedFiles, started: job.started, finished: WatchClock.timestamp()))
            s.attempts -= 1
            s.status = .complete
            s.nextAttemptAt = nil
            RunningCommand.appendLog(s.log, "=== stopped by the watcher's shutdown; will run again\n")
            _ = save(s)
            unlink(WatchKey.exitPath(dir, key))   // the rolled-back attempt's number is used again
            job.lock.release()
            log(.warning, "\(dir): command stopped at shutdown; left 'complete' to run again")
        }
        jobs.removeAll()
        metrics?.processing(0)
    }

    /// Notes "received" on disk for a unit seen with files but not quiet yet (first time, or new files
    /// after a hand-over), if nobody holds it. Best effort: the files themselves are the real record.
    func markReceived(_ t: Tracked) {
        guard !t.markedReceived else { return }
        t.markedReceived = true
        let dir = t.snapshot.directory
        guard case .acquired(let lock) = SeriesLock.tryAcquire(WatchKey.lockPath(dir, key)) else { return }
        defer { lock.release() }
        var s = loadState(dir) ?? SeriesState(directory: dir, command: options.command ?? "")
        switch s.status {
        case .done, .failed:
            guard t.isNewer(than: (s.handedFiles, s.handedNewest)) else { return }
        case .received:
            if s.run > 0 || FileManager.default.fileExists(atPath: statePath(dir)) { return }
        default: return
        }
        s.status = .received
        _ = save(s)
    }
}
