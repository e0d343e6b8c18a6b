// The durable state of one watched unit (a series, or a study with --group study), kept next to the
// data as UNIT/.i2-watch-<key>.json and written atomically, so a restarted watcher neither reprocesses
// what is done nor forgets what is half done. The key is a hash of the --exec command: a different
// command has its own state (and log, and lock), so it processes the same series again.
import Foundation
import I2Model

public struct SeriesState: Codable, Equatable, Sendable {
    public enum Status: String, Codable, Sendable {
        case received       // files seen, not quiet yet
        case complete       // quiet; waiting for a run (first, retry after backoff, or rolled back on stop)
        case processing     // claimed (lock held) and the command is running
        case submitted      // handed to a scheduler (Slurm) as job `job`; its accounting decides done/failed
        case done
        case failed         // retries exhausted; a later instance in the unit starts a follow-up run
    }

    /// One attempt, kept in a short history (the last `historyLimit`).
    public struct Attempt: Codable, Equatable, Sendable {
        public var run: Int
        public var attempt: Int
        public var followUp: Bool
        public var status: String          // done, failed, interrupted, stopped
        public var exitStatus: Int32?
        public var files: Int
        public var started: String
        public var finished: String?
        /// The Slurm job id of the attempt (--dispatch slurm).
        public var job: String?
        enum CodingKeys: String, CodingKey {
            case run, attempt, status, files, started, finished, job
            case followUp = "follow_up", exitStatus = "exit_status"
        }
    }

    public var version = 1
    public var status: Status
    public var command: String             // the --exec command this state is keyed by ("" without --exec)
    public var key: String
    public var directory: String
    /// Runs: 1 for the first hand-over, +1 for each follow-up (instances that arrived after a hand-over).
    public var run = 0
    /// Attempts within the current run (reset by a follow-up).
    public var attempts = 0
    public var lastExitStatus: Int32?
    public var log: String
    /// What was handed over: file count and newest change time (ns since 1970). A newer file means a follow-up.
    public var handedFiles = 0
    public var handedNewest: Int64 = 0
    public var nextAttemptAt: Double?      // seconds since 1970; set while a retry waits for its backoff
    /// --dispatch slurm: the current (or last) attempt's Slurm job id, recorded after sbatch answered.
    public var job: String?
    /// --dispatch slurm: the job name of the current attempt, recorded before sbatch runs (the intent a
    /// restarted watcher looks up in squeue/sacct when it finds no job id: submitted or not?).
    public var jobName: String?
    public var created: String
    public var updated: String
    public var history: [Attempt] = []
    /// The job's last known state in Slurm (PENDING, RUNNING…; once ended, how: COMPLETED, FAILED…).
    public var jobState: String?

    static let historyLimit = 20

    enum CodingKeys: String, CodingKey {
        case version, status, command, key, directory, run, attempts, log, created, updated, history
        case lastExitStatus = "last_exit_status", handedFiles = "handed_files", handedNewest = "handed_newest_ns"
        case nextAttemptAt = "next_attempt_at", jobName = "job_name"
        case job, jobState = "job_state"
    }

    public init(directory: String, command: String) {
        let key = WatchKey.of(command)
        self.status = .received
        self.command = command
        self.key = key
        self.directory = directory
        self.log = WatchKey.logPath(directory, key)
        self.created = WatchClock.timestamp()
        self.updated = self.created
    }

    mutating func record(_ a: Attempt) {
        history.append(a)
        if history.count > Self.historyLimit { history.removeFirst(history.count - Self.historyLimit) }
    }

    // MARK: storage

    /// Reads the state file; nil when there is none. A damaged file reads as nil too (with a warning by
    /// the caller): the data is still there, so the worst case is one extra run, never a lost series.
    public static func load(_ path: String) throws -> SeriesState? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try JSONDecoder().decode(SeriesState.self, from: data)
        } catch {
            throw I2Error(.badInput, path: path, "unreadable watch state: \(error)")
        }
    }

    /// Writes atomically and durably (AtomicFile: temporary file, fsync, rename, fsync of the directory).
    public func save(_ path: String) throws {
        var copy = self
        copy.updated = WatchClock.timestamp()
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let bytes = [UInt8](try enc.encode(copy)) + [10]
        try AtomicFile.write(bytes, to: path, durable: true)
    }
}

/// File names derived from the command key. All start with a dot so that nothing (the watcher's own
/// scan, `i2 convert`, `i2 send` on the directory) takes them for an instance.
public enum WatchKey {
    /// 16 hex digits of the one hash over the command's UTF-8: stable across runs and machines, unlike
    /// Swift's per-process Hasher.
    public static func of(_ command: String) -> String { String(Hash.hex(command).prefix(16)) }
    public static func statePath(_ dir: String, _ key: String) -> String { dir + "/.i2-watch-\(key).json" }
    public static func logPath(_ dir: String, _ key: String) -> String { dir + "/.i2-watch-\(key).log" }
    public static func lockPath(_ dir: String, _ key: String) -> String { dir + "/.i2-watch-\(key).lock" }
    /// Where the command's supervising shell records "RUN ATTEMPT EXIT-STATUS" when the command ends,
    /// whether or not the watcher that started it is still alive (see WatchCommand.supervised).
    public static func exitPath(_ dir: String, _ key: String) -> String { dir + "/.i2-watch-\(key).exit" }

    /// A state this command left under another key (i2 before 0.2 keyed by FNV-1a): found by the
    /// command it records, moved with its log to this key's names, so an upgrade neither reruns what
    /// was done nor forgets what failed. nil when there is none.
    static func adopt(_ dir: String, command: String, key: String) throws -> SeriesState? {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return nil }
        for name in names where name.hasPrefix(".i2-watch-") && name.hasSuffix(".json") {
            let path = dir + "/" + name
            guard path != statePath(dir, key), var s = try? SeriesState.load(path), s.command == command else { continue }
            let oldLog = s.log
            s.key = key
            s.log = logPath(dir, key)
            if FileManager.default.fileExists(atPath: oldLog) { try AtomicFile.move(oldLog, to: s.log) }
            try s.save(statePath(dir, key))
            unlink(path)
            return s
        }
        return nil
    }
}

/// Wall-clock helpers (state files hold ISO 8601 times for people and epoch seconds for arithmetic).
public enum WatchClock {
    public static func now() -> Double { Date().timeIntervalSince1970 }

    /// "2026-12-03T11:02:52.704Z" (UTC, milliseconds), as ISO8601DateFormatter with fractional seconds
    /// writes it, but formatted here: Foundation's formatter goes through ICU and clones a formatter per
    /// call, which made i2 status spend most of its time on timestamps (2,000 series: 1 s).
    public static func timestamp(_ t: Double = now()) -> String {
        let total = Int64((t * 1000).rounded())   // to the millisecond, as the formatter does
        var whole = time_t(total / 1000)
        let ms = Int(total % 1000)
        var parts = tm()
        gmtime_r(&whole, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), ms)
    }

    /// The inverse of `timestamp` (up to 9 fraction digits, or none); nil for anything else. Only i2
    /// writes these (older versions through ISO8601DateFormatter, in the same form), so nothing else is
    /// parsed: Foundation's parser even dies of SIGFPE (inside ICU) on a fraction of 40 digits, which a
    /// damaged state file could hold.
    public static func seconds(_ timestamp: String) -> Double? {
        let u = Array(timestamp.utf8)
        func digits(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= u.count else { return nil }
            var v = 0
            for c in u[from..<from + count] { guard c >= 48 && c <= 57 else { return nil }; v = v * 10 + Int(c - 48) }
            return v
        }
        if u.count >= 20, u[4] == 45, u[7] == 45, u[10] == 84, u[13] == 58, u[16] == 58, u.last == 90,
           let y = digits(0, 4), let mo = digits(5, 2), let d = digits(8, 2), let h = digits(11, 2), let mi = digits(14, 2), let sec = digits(17, 2) {
            var fraction = 0.0
            if u.count > 20 {
                guard u[19] == 46, u.count > 21, u.count <= 30, let f = digits(20, u.count - 21) else { return nil }
                fraction = Double(f) / pow(10, Double(u.count - 21))
            }
            var parts = tm()
            parts.tm_year = Int32(y - 1900); parts.tm_mon = Int32(mo - 1); parts.tm_mday = Int32(d)
            parts.tm_hour = Int32(h); parts.tm_min = Int32(mi); parts.tm_sec = Int32(sec)
            return Double(timegm(&parts)) + fraction
        }
        return nil
    }
}
