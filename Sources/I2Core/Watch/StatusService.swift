// i2 status as an engine: lists the units under ROOT by state (one record each), or with `health` runs
// the health rule's checks (one record each). Failed series, and failed checks, are the report's
// failures, so the exit status is 1 when anything failed (cron alerts on it).
import Foundation

public struct StatusOptions: Sendable {
    public var root: String
    /// Shown states (empty: all). The exit status looks at every unit, whatever is shown.
    public var states: Set<StatusState> = []
    /// Only this watch command's states (its --exec text); nil: every command's.
    public var command: String?
    public var health = false
    /// Health: the free space ROOT's filesystem must have; nil: the largest --min-free a receiver reports.
    public var minFree: UInt64?
    /// Health: more failed units than this is unhealthy.
    public var maxFailed = 0
    public init(root: String) { self.root = root }
}

public enum StatusService: Engine {
    public static func run(_ o: StatusOptions, _ context: EngineContext) -> Report {
        let result = Reporter(context)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: o.root, isDirectory: &isDir), isDir.boolValue else {
            return result.fatal(I2Error(.notFound, path: o.root, "not a directory"))
        }
        let now = WatchClock.now()
        let (entries, problems) = SeriesStatus.scan(o.root, key: o.command.map(WatchKey.of))
        problems.forEach(result.failed)
        if o.health { return health(o, entries, result, now: now) }
        for e in entries where o.states.isEmpty || o.states.contains(e.state) {
            let line = [e.state.rawValue, SeriesStatus.age(now - e.since), String(e.attempts), e.job ?? "-", e.directory, e.log ?? "-"]
                .joined(separator: "\t")
            result.record(line, e.fields(now: now))
        }
        for e in entries where e.state == .failed {
            result.failed(I2Error(.toolFailed, path: e.directory, "failed after \(e.attempts) attempt\(e.attempts == 1 ? "" : "s")\(e.lastExitStatus.map { " (exit status \($0))" } ?? "")\(e.job.map { ", job \($0)" } ?? ""); log: \(e.log ?? "none")"))
        }
        return result.finish()
    }

    /// The health rule: free space at least the minimum; every receiver that keeps a heartbeat under
    /// ROOT accepting and heard from recently; at most `maxFailed` failed units. One record per check.
    static func health(_ o: StatusOptions, _ entries: [SeriesStatusEntry], _ result: Reporter, now: Double) -> Report {
        func check(_ name: String, _ ok: Bool, _ detail: String) {
            result.record("\(ok ? "ok" : "FAIL")\t\(name)\t\(detail)", ["check": .string(name), "ok": .bool(ok), "detail": .string(detail)])
            if !ok { result.failed(I2Error(.storage, path: o.root, "unhealthy: \(name): \(detail)")) }
        }
        let beats = ReceiveHeartbeat.all(o.root)
        let minFree = o.minFree ?? beats.compactMap { try? $0.heartbeat.get().minFreeBytes }.max() ?? 0
        if let free = freeBytes(o.root) {
            check("free_space", free >= minFree, "\(free) bytes free, minimum \(minFree)")
        } else {
            check("free_space", false, "cannot read the free space (statvfs failed: \(String(cString: strerror(errno))))")
        }
        for (path, beat) in beats {
            switch beat {
            case .failure(let e):
                check("receive", false, e.detail)
            case .success(let b):
                let name = "receive:\(b.port)"
                let age = now - b.updated
                if age > b.staleAfter {
                    check(name, false, "no heartbeat for \(Int(age)) s (pid \(b.pid) on \(b.host); stale after \(Int(b.staleAfter)) s): \(path)")
                } else if !b.accepting {
                    check(name, false, "not accepting (pid \(b.pid) on \(b.host) stopped, or not listening yet): \(path)")
                } else {
                    check(name, true, "accepting as \(b.aeTitle), pid \(b.pid) on \(b.host), heartbeat \(Int(age)) s ago")
                }
            }
        }
        let failed = entries.filter { $0.state == .failed }
        check("failed", failed.count <= o.maxFailed, "\(failed.count) failed, at most \(o.maxFailed)\(failed.first.map { " (first: \($0.directory))" } ?? "")")
        return result.finish()
    }
}
