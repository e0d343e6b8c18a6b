// What i2 status (and watch's metrics) read: every unit under ROOT with the state watch recorded next
// to it, or, without a state, as merely received. Read-only: state files are replaced atomically by the
// watchers, so a read sees the old or the new state, never half of one.
import Foundation

/// The states i2 status shows. `received`: files on disk and no watch state yet; `waiting`: a watcher
/// has seen it and waits for it to be quiet (SeriesState.received); the others as SeriesState.
public enum StatusState: String, CaseIterable, Sendable {
    case received, waiting, complete, processing, submitted, done, failed

    init(_ s: SeriesState.Status) {
        switch s {
        case .received: self = .waiting
        case .complete: self = .complete
        case .processing: self = .processing
        case .submitted: self = .submitted
        case .done: self = .done
        case .failed: self = .failed
        }
    }
}

public struct SeriesStatusEntry: Sendable {
    public var directory: String
    public var state: StatusState
    /// When the unit entered this state (the state's last write; the newest file without a state), seconds since 1970.
    public var since: Double
    public var files: Int
    public var run = 0, attempts = 0
    public var log: String?
    public var job: String?
    public var jobState: String?
    public var command: String?
    public var lastExitStatus: Int32?
    /// A retry's time while complete after a failed attempt.
    public var retryAt: Double?

    /// One JSON object's fields (i2 status --json).
    public func fields(now: Double) -> [String: JSONValue] {
        func opt(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        return ["directory": .string(directory), "state": .string(state.rawValue), "age_seconds": .double((max(now - since, 0) * 10).rounded() / 10),
                "since": .string(WatchClock.timestamp(since)), "files": .int(files), "run": .int(run), "attempts": .int(attempts),
                "log": opt(log), "job": opt(job), "job_state": opt(jobState), "command": opt(command),
                "last_exit_status": lastExitStatus.map { .int(Int($0)) } ?? .null,
                "retry_at": retryAt.map { .string(WatchClock.timestamp($0)) } ?? .null]
    }
}

public enum SeriesStatus {
    /// Every unit under ROOT/<patient>/<study>/<series> (and studies with a --group study state), sorted
    /// by directory. `key`: only the states of that watch command (WatchKey.of); nil: every command's,
    /// one entry per state file. Unreadable state files are returned as problems, not guessed at.
    /// `ages`: false skips the stat of every file of a series without a state (its age and file count
    /// are then unknown): the metrics thread needs only the states.
    /// `cache`: entries of state files unchanged since the last scan (same inode, size and mtime) are
    /// not decoded again (watch's metrics thread rescans every few seconds).
    public static func scan(_ root: String, key: String? = nil, ages: Bool = true, cache: StatusCache? = nil) -> (entries: [SeriesStatusEntry], problems: [I2Error]) {
        var entries: [SeriesStatusEntry] = [], problems: [I2Error] = []
        func states(_ dir: String, _ names: [String]) -> [SeriesStatusEntry] {
            names.filter { $0.hasPrefix(".i2-watch-") && $0.hasSuffix(".json") }.compactMap { name in
                if let key, name != ".i2-watch-\(key).json" { return nil }
                let path = dir + "/" + name
                var st = stat()
                let id = stat(path, &st) == 0 ? StatusCache.Identity(st) : nil
                if let cache, let id, let e = cache.entry(path, id) { return e }
                do {
                    guard let s = try SeriesState.load(path) else { return nil }   // replaced meanwhile
                    let e = SeriesStatusEntry(directory: dir, state: StatusState(s.status), since: WatchClock.seconds(s.updated) ?? 0,
                                             files: s.handedFiles, run: s.run, attempts: s.attempts, log: s.log, job: s.job,
                                             jobState: s.jobState, command: s.command, lastExitStatus: s.lastExitStatus,
                                             retryAt: s.status == .complete ? s.nextAttemptAt : nil)
                    if let cache, let id { cache.store(path, id, e) }
                    return e
                } catch {
                    problems.append(error as? I2Error ?? I2Error(.badInput, path: path, "\(error)"))
                    return nil
                }
            }
        }
        for patient in SeriesScanner.subdirectories(root) {
            for study in SeriesScanner.subdirectories(patient) {
                let studyStates = states(study, SeriesScanner.names(study))
                entries += studyStates
                for series in SeriesScanner.subdirectories(study) {
                    let names = SeriesScanner.names(series)
                    let own = states(series, names)
                    entries += own
                    // A series without a state of its own is 'received', unless its study is the unit.
                    guard own.isEmpty, studyStates.isEmpty else { continue }
                    var files = 0, newest: Int64 = 0
                    if !ages {
                        if names.contains(where: { !$0.hasPrefix(".") }) { entries.append(SeriesStatusEntry(directory: series, state: .received, since: 0, files: 0)) }
                        continue
                    }
                    for name in names where !name.hasPrefix(".") {
                        var st = stat()
                        guard stat(series + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
                        files += 1
                        newest = max(newest, SeriesScanner.ns(st.st_ctim))
                    }
                    if files > 0 { entries.append(SeriesStatusEntry(directory: series, state: .received, since: Double(newest) / 1e9, files: files)) }
                }
            }
        }
        cache?.endScan()
        return (entries.sorted { $0.directory < $1.directory }, problems)
    }

    /// "45s", "3m12s", "2h05m", "3d04h": an age for people.
    public static func age(_ seconds: Double) -> String {
        let s = max(Int(seconds), 0)
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        if s < 86400 { return "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m" }
        return "\(s / 86400)d\(String(format: "%02d", s % 86400 / 3600))h"
    }
}

/// State files' entries from the previous scan, by path, with what identifies the file's content.
public final class StatusCache: @unchecked Sendable {
    struct Identity: Equatable {
        var inode: UInt64, size: Int64, mtime: Int64
        init(_ st: stat) { inode = UInt64(st.st_ino); size = Int64(st.st_size); mtime = SeriesScanner.ns(st.st_mtim) }
    }
    private var entries: [String: (Identity, SeriesStatusEntry)] = [:]
    private var seen = Set<String>()
    public init() {}

    func entry(_ path: String, _ id: Identity) -> SeriesStatusEntry? {
        guard let (known, e) = entries[path], known == id else { return nil }
        seen.insert(path)
        return e
    }
    func store(_ path: String, _ id: Identity, _ e: SeriesStatusEntry) { entries[path] = (id, e); seen.insert(path) }
    /// Forgets the files this scan did not see (deleted series).
    func endScan() { entries = entries.filter { seen.contains($0.key) }; seen = [] }
}
