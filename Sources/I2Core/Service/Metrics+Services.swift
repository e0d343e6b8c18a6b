// Which metrics receive and watch expose, declared in one place each: names, help, labels and the one
// method per thing that happened. The engines call these where they already report the same event.
import Foundation

/// i2 receive's metrics (i2_receive_*).
public final class ReceiveMetrics: @unchecked Sendable {
    public let metrics: Metrics
    /// Why a C-STORE is answered with a failure: the store's refusals and the SCP's own (free space, spool).
    public static let rejectReasons = ["low_space", "write_error"] + InstanceStore.Refusal.allCases.map(\.rawValue)
    public static let associationRejectReasons = ["malformed", "called_ae", "calling_ae", "limit", "no_presentation_context"]
    private let lock = NSLock()
    private var open = 0

    public init(_ m: Metrics = Metrics()) {
        metrics = m
        m.declare("i2_receive_instances_total", .counter, "C-STORE data sets received, by outcome: stored, identical (a re-sent copy, nothing to do), rejected (answered with a failure status)")
        m.declare("i2_receive_instances_rejected_total", .counter, "C-STORE data sets answered with a failure status, by reason")
        m.declare("i2_receive_bytes_total", .counter, "Bytes of the instances stored (the Part 10 files as written)")
        m.declare("i2_receive_associations_total", .counter, "Associations accepted")
        m.declare("i2_receive_associations_open", .gauge, "Associations open now")
        m.declare("i2_receive_associations_rejected_total", .counter, "Association requests rejected, by reason")
        m.declare("i2_receive_accepting", .gauge, "1 while receive listens and accepts associations, 0 once it stops")
        m.declare("i2_receive_storage_free_bytes", .gauge, "Free bytes (for unprivileged users) on the store's filesystem")
        m.declare("i2_receive_min_free_bytes", .gauge, "--min-free: below this free space C-STORE is answered 0xA700")
        m.declare("i2_receive_start_time_seconds", .gauge, "When this receive started, seconds since 1970")
        // Every label value at 0 from the start, so a rate over the first event is right.
        for o in ["stored", "identical", "rejected"] { m.add("i2_receive_instances_total", [("outcome", o)], 0) }
        for r in Self.rejectReasons { m.add("i2_receive_instances_rejected_total", [("reason", r)], 0) }
        for r in Self.associationRejectReasons { m.add("i2_receive_associations_rejected_total", [("reason", r)], 0) }
        m.add("i2_receive_bytes_total", [], 0)
        m.add("i2_receive_associations_total", [], 0)
        m.set("i2_receive_associations_open", [], 0)
        m.set("i2_receive_accepting", [], 0)
        m.set("i2_receive_start_time_seconds", [], WatchClock.now().rounded())
    }

    public func stored(bytes: UInt64) {
        metrics.add("i2_receive_instances_total", [("outcome", "stored")])
        metrics.add("i2_receive_bytes_total", [], Double(bytes))
    }
    public func identical() { metrics.add("i2_receive_instances_total", [("outcome", "identical")]) }
    public func rejected(_ reason: String) {
        metrics.add("i2_receive_instances_total", [("outcome", "rejected")])
        metrics.add("i2_receive_instances_rejected_total", [("reason", reason)])
    }
    public func associationAccepted() {
        metrics.add("i2_receive_associations_total")
        lock.lock(); open += 1; let n = open; lock.unlock()
        metrics.set("i2_receive_associations_open", [], Double(n))
    }
    public func associationEnded() {
        lock.lock(); open = max(open - 1, 0); let n = open; lock.unlock()
        metrics.set("i2_receive_associations_open", [], Double(n))
    }
    public func associationRejected(_ reason: String) { metrics.add("i2_receive_associations_rejected_total", [("reason", reason)]) }
    public func storage(free: UInt64?, minFree: UInt64, accepting: Bool) {
        if let free { metrics.set("i2_receive_storage_free_bytes", [], Double(free)) }
        metrics.set("i2_receive_min_free_bytes", [], Double(minFree))
        metrics.set("i2_receive_accepting", [], accepting ? 1 : 0)
    }
}

/// i2 watch's metrics (i2_watch_*, and the Slurm job gauges read from the series' states).
public final class WatchMetrics: @unchecked Sendable {
    public let metrics: Metrics
    static let durationBuckets: [Double] = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]
    static let lagBuckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800]

    public init(_ m: Metrics = Metrics()) {
        metrics = m
        m.declare("i2_watch_series_completed_total", .counter, "Runs started: units found complete (quiet) and handed to the command, follow-ups included")
        m.declare("i2_watch_series_done_total", .counter, "Runs whose command ended with exit status 0")
        m.declare("i2_watch_series_failed_total", .counter, "Runs marked failed for good (retries spent)")
        m.declare("i2_watch_series_retried_total", .counter, "Failed attempts that are retried after the backoff")
        m.declare("i2_watch_series_processing", .gauge, "Commands this watcher runs now")
        m.declare("i2_watch_series", .gauge, "Units under ROOT by the state this watch command recorded (as i2 status shows them)")
        m.declare("i2_watch_slurm_jobs", .gauge, "Slurm jobs of this watch command by state (series in state submitted)")
        m.declare("i2_watch_handover_lag_seconds", .histogram, "Delay from a unit turning complete (newest file + --quiet, or the watcher's start if later) to its run's start", buckets: Self.lagBuckets)
        m.declare("i2_watch_tool_duration_seconds", .histogram, "Run time of each command attempt, by outcome (done, failed)", buckets: Self.durationBuckets)
        m.declare("i2_watch_storage_free_bytes", .gauge, "Free bytes (for unprivileged users) on ROOT's filesystem")
        for name in ["i2_watch_series_completed_total", "i2_watch_series_done_total", "i2_watch_series_failed_total", "i2_watch_series_retried_total"] {
            m.add(name, [], 0)
        }
        m.set("i2_watch_series_processing", [], 0)
    }

    public func started(lag: Double) {
        metrics.add("i2_watch_series_completed_total")
        metrics.observe("i2_watch_handover_lag_seconds", [], max(lag, 0))
    }
    /// A command this watcher ran ended after `seconds`.
    public func attempt(seconds: Double, exitStatus: Int32?) {
        metrics.observe("i2_watch_tool_duration_seconds", [("outcome", exitStatus == 0 ? "done" : "failed")], max(seconds, 0))
    }
    /// An attempt's outcome was recorded: done, complete (a retry follows) or failed for good.
    public func outcome(_ s: SeriesState.Status) {
        switch s {
        case .done: metrics.add("i2_watch_series_done_total")
        case .complete: metrics.add("i2_watch_series_retried_total")
        case .failed: metrics.add("i2_watch_series_failed_total")
        default: break
        }
    }
    public func processing(_ n: Int) { metrics.set("i2_watch_series_processing", [], Double(n)) }

    /// The read gauges: units by state, Slurm jobs by state, free space.
    public func refresh(_ entries: [SeriesStatusEntry], free: UInt64?) {
        metrics.clear("i2_watch_series")
        var by: [StatusState: Int] = [:]
        for e in entries { by[e.state, default: 0] += 1 }
        for s in StatusState.allCases { metrics.set("i2_watch_series", [("state", s.rawValue)], Double(by[s] ?? 0)) }
        let jobs = SlurmJobCount(entries)
        metrics.set("i2_watch_slurm_jobs", [("state", "pending")], Double(jobs.pending))
        metrics.set("i2_watch_slurm_jobs", [("state", "running")], Double(jobs.running))
        if let free { metrics.set("i2_watch_storage_free_bytes", [], Double(free)) }
    }
}

/// Series in state submitted, split by the Slurm job state the watcher last recorded (RUNNING, or
/// anything else: pending until Slurm says it runs).
public struct SlurmJobCount: Equatable, Sendable {
    public var pending = 0, running = 0
    public init(_ entries: [SeriesStatusEntry]) {
        for e in entries where e.state == .submitted {
            if e.jobState?.uppercased() == "RUNNING" { running += 1 } else { pending += 1 }
        }
    }
}
