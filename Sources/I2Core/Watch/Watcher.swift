// The watch loop: scan, keep one quiet timer per unit, claim quiet units with the lock, run (or print)
// them, reap finished commands, retry failures with backoff, start follow-up runs for late instances.
// One thread: commands run as child processes polled with waitpid, so a long command never holds
// up the scan or the hand-over of another unit (up to --jobs commands at once).
import Foundation

public struct WatchOptions: Sendable {
    public var root: String
    public var group: WatchGroup = .series
    public var quiet: Double = 10
    public var poll: Double = 1
    /// nil: print each completed unit's directory instead of running a command.
    public var command: String?
    public var retries = 2
    public var retryDelay: Double = 10
    public var jobs = 1
    public var once = false
    /// On SIGINT/SIGTERM, wait this long for commands in flight before killing them.
    public var stopGrace: Double = 30
    /// ROOT as the user wrote it: printed paths start with it (the pipeline contract: paths as given),
    /// while {series} and the state use the absolute `root`.
    public var shownRoot: String?
    /// Where --exec runs: here as a child process, or as a Slurm job (`slurm`).
    public var dispatch: WatchDispatch = .local
    public var slurm = SlurmOptions()
    /// Prometheus text exposition rewritten every `metricsInterval` seconds (nil: none).
    public var metricsFile: String?
    public var metricsInterval: Double = 5
    public init(root: String) { self.root = root }
}

public enum WatchDispatch: String, CaseIterable, Sendable { case local, slurm }

/// The watch service: runs a Watcher until the stop token is set (or, with `once`, until what was
/// complete at the start is handled). Units that failed for good are the report's failures with
/// --once; a service stopped by a signal is not interrupted, it has ended.
public enum WatchService: Engine {
    public static func run(_ o: WatchOptions, _ context: EngineContext) -> Report {
        let reporter = Reporter(context)
        let watcher = Watcher(options: o, reporter: reporter)
        var writer: MetricsWriter?
        if let path = o.metricsFile {
            let m = WatchMetrics()
            watcher.metrics = m
            let root = o.root, key = watcher.key, cache = StatusCache()
            writer = MetricsWriter(path: path, metrics: m.metrics, interval: o.metricsInterval, events: context.events) {
                m.refresh(SeriesStatus.scan(root, key: key, ages: false, cache: cache).entries, free: freeBytes(root))
            }
            writer?.start()
        }
        defer { writer?.stop() }
        context.events.info("watching \(o.root): \(o.group == .study ? "studies" : "series") quiet for \(o.quiet) s \(o.command == nil ? "are printed" : "are handed to the command")\(o.once ? " (once)" : "")")
        watcher.run()
        context.events.info("stopped")
        var report = reporter.finish(interruptible: false)
        if !o.once { report.failures = [] }   // a long-running watcher's failures live in the series' state
        return report
    }
}


public final class Watcher {
    public let options: WatchOptions
    let scanner: SeriesScanner
    let key: String
    let reporter: Reporter
    var stop: StopToken { reporter.stop }
    func log(_ level: LogLevel, _ message: String) { reporter.events.send(.log(level, message)) }

    /// A unit's directory, printed as the user named ROOT.
    func handOver(_ dir: String) {
        guard let shown = options.shownRoot, dir.hasPrefix(options.root) else { return reporter.output(dir) }
        reporter.output((shown.hasSuffix("/") ? String(shown.dropLast()) : shown) + dir.dropFirst(options.root.count))
    }

    /// What the loop remembers about a unit between scans (the disk state is the truth; this saves reads).
    final class Tracked {
        var snapshot: UnitSnapshot
        var lastActivity: Double          // wall seconds of the last observed change
        var settled: (files: Int, newest: Int64)?   // done/failed for this content: nothing to do unless newer
        var notBefore: Double = 0         // retry backoff, or re-check of a unit another watcher holds
        var markedReceived = false
        init(_ s: UnitSnapshot, lastActivity: Double) { snapshot = s; self.lastActivity = lastActivity }
        func isNewer(than s: (files: Int, newest: Int64)) -> Bool { snapshot.newest > s.newest || snapshot.files > s.files }
    }

    final class Job {
        let tracked: Tracked
        let lock: SeriesLock
        var state: SeriesState
        let attempt: RunningAttempt?      // nil: the command could not even be started (or submitted)
        let started: String
        init(_ t: Tracked, _ l: SeriesLock, _ s: SeriesState, _ a: RunningAttempt?, started: String = WatchClock.timestamp()) {
            tracked = t; lock = l; state = s; attempt = a; self.started = started
        }
    }

    var tracked: [String: Tracked] = [:]
    var jobs: [String: Job] = [:]
    var onceCandidates: Set<String>?
    /// Submits and polls Slurm jobs: with --dispatch slurm, or made on first need to settle a job an
    /// earlier watcher (with --dispatch slurm) left behind.
    lazy var slurm: SlurmDispatcher = SlurmDispatcher(options.slurm, key: key, interval: max(options.poll, 0.5)) { [unowned self] in self.log($0, $1) }
    var metrics: WatchMetrics?
    let startedAt = WatchClock.now()

    public init(options: WatchOptions, reporter: Reporter) {
        self.options = options
        self.scanner = SeriesScanner(root: options.root, group: options.group)
        self.key = WatchKey.of(options.command ?? "")
        self.reporter = reporter
    }

    /// Runs until stopped (or, with `once`, until what was complete at the start is handled).
    public func run() {
        while !stop.isStopped {
            reap()
            let now = WatchClock.now()
            let snapshots = scanner.scan()
            observe(snapshots, now: now)
            if options.once, onceCandidates == nil {
                onceCandidates = Set(snapshots.map(\.directory).filter { tracked[$0].map { isQuiet($0, now) } ?? false })
                explainOnceStart(snapshots, now: now)
            }
            for s in snapshots {
                guard let t = tracked[s.directory], jobs[s.directory] == nil else { continue }
                if let c = onceCandidates, !c.contains(s.directory) { continue }
                if isQuiet(t, now) {
                    if jobs.count < max(options.jobs, 1) || options.command == nil { consider(t, now: now) }
                } else if !options.once {
                    markReceived(t)
                }
            }
            if let c = onceCandidates, c.isEmpty, jobs.isEmpty { return }
            // Wake when the next series turns quiet rather than up to a poll interval later.
            let due = tracked.values.lazy.filter { self.jobs[$0.snapshot.directory] == nil && !self.isQuiet($0, now) }
                .map { $0.lastActivity + self.options.quiet }.min()
            sleep(min(options.poll, max((due ?? .infinity) - WatchClock.now(), 0.01)))
        }
        stopJobs()
    }

    func isQuiet(_ t: Tracked, _ now: Double) -> Bool { now - t.lastActivity >= options.quiet }

    /// Updates the quiet timers. A unit seen for the first time is dated by its newest file's change
    /// time (so old data is complete at once, and --once measures quiet from the files); a change seen
    /// later restarts its timer from now.
    func observe(_ snapshots: [UnitSnapshot], now: Double) {
        var present = Set<String>()
        for s in snapshots {
            present.insert(s.directory)
            if let t = tracked[s.directory] {
                if t.snapshot != s {
                    t.snapshot = s
                    // Dated by the newest file's change time when that is plausible (this poll interval),
                    // so the quiet period is not lengthened by the poll; else (clock skew on a network
                    // filesystem) by when we saw it.
                    let newest = Double(s.newest) / 1e9
                    t.lastActivity = newest <= now && newest >= now - options.poll - 0.5 ? max(newest, t.lastActivity) : now
                    if let st = t.settled, t.isNewer(than: st) { t.markedReceived = false }
                }
            } else {
                tracked[s.directory] = Tracked(s, lastActivity: min(now, Double(s.newest) / 1e9))
            }
        }
        for d in tracked.keys where !present.contains(d) && jobs[d] == nil { tracked[d] = nil }
    }

    func sleep(_ seconds: Double) {
        let end = WatchClock.now() + seconds
        while !stop.isStopped {
            let left = end - WatchClock.now()
            if left <= 0 { return }
            usleep(UInt32(min(left, 0.05) * 1e6))
        }
    }

    func statePath(_ dir: String) -> String { WatchKey.statePath(dir, key) }

    /// Reads a unit's state; a damaged file is reported and treated as missing (one extra run at worst).
    func loadState(_ dir: String) -> SeriesState? {
        do {
            if let s = try SeriesState.load(statePath(dir)) { return s }
            return try WatchKey.adopt(dir, command: options.command ?? "", key: key)
        } catch {
            log(.warning, "\(error); treating \(dir) as new")
            return nil
        }
    }

    func save(_ state: SeriesState) -> Bool {
        do { try state.save(statePath(state.directory)); return true } catch {
            log(.error, "\(state.directory): cannot record the watch state: \(error)")
            return false
        }
    }

    func environment(_ t: Tracked, _ s: SeriesState, followUp: Bool) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["I2_SERIES_DIR"] = t.snapshot.directory
        env["I2_STUDY_DIR"] = t.snapshot.studyDirectory
        env["I2_PATIENT_DIR"] = t.snapshot.patientDirectory
        env["I2_ROOT"] = scanner.root
        env["I2_WATCH_GROUP"] = options.group.rawValue
        env["I2_WATCH_RUN"] = String(s.run)
        env["I2_WATCH_ATTEMPT"] = String(s.attempts)
        env["I2_WATCH_FOLLOW_UP"] = followUp ? "1" : "0"
        env["I2_WATCH_FILES"] = String(t.snapshot.files)
        env["I2_WATCH_LOG"] = s.log
        env["I2_WATCH_STATE"] = statePath(s.directory)
        return env
    }
}
