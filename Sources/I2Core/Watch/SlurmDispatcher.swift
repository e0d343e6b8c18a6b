// Everything Slurm-specific of `i2 watch --dispatch slurm`: each attempt becomes a batch job submitted
// with sbatch; squeue says whether it still runs and sacct (Slurm's accounting) how it ended. The
// clients run as child processes with argv arrays (no shell) and a timeout; their failures are plain errors.
//
// Exactly once across a watcher killed at any point: before sbatch, the state records the job name the
// attempt will have (an intent: i2-KEY-NONCE, unique per attempt); after sbatch, the job id. A restarted
// watcher that finds an intent without an id looks the name up in squeue and sacct before submitting
// again, and waits while an sbatch carrying that name (still talking to slurmctld) is alive on this host.
import Foundation

/// sbatch settings of --dispatch slurm.
public struct SlurmOptions: Sendable, Equatable {
    public var partition: String?
    public var account: String?
    public var gpus: String?
    public var timeLimit: String?
    /// More sbatch arguments, each one argv element (e.g. "--mem=4G").
    public var extraArguments: [String] = []
    /// A batch script template ({command} and the --exec placeholders replaced); nil: bash with pipefail.
    public var template: String?
    /// On SIGINT/SIGTERM, scancel the jobs in flight (else they run on and the next watcher adopts them).
    public var cancelOnStop = false
    /// Timeout of each sbatch, squeue, sacct or scancel call.
    public var clientTimeout: Double = 60
    public init() {}

    /// The default batch script: the command under bash with pipefail, as a local run has it.
    public static let defaultTemplate = "#!/bin/bash\nset -o pipefail\n{command}\n"
}

/// One Slurm job of an attempt, as the watch loop polls it (its state comes from SlurmDispatcher.refresh).
final class SlurmAttempt: RunningAttempt {
    let jobID: String
    /// Slurm's state of the job as last seen: squeue's while it runs, sacct's once it ended.
    var state: String?
    var ended = false
    var exitStatus: Int32?
    var why: String?
    /// When neither squeue nor sacct knew the job first (a job Slurm lost).
    var unknownSince: Double?
    init(jobID: String) { self.jobID = jobID }
}

public final class SlurmDispatcher {
    let options: SlurmOptions
    let key: String
    let log: (LogLevel, String) -> Void
    private var lastQuery = 0.0
    let interval: Double

    init(_ options: SlurmOptions, key: String, interval: Double, log: @escaping (LogLevel, String) -> Void) {
        self.options = options; self.key = key; self.interval = interval; self.log = log
    }

    /// A fresh job name for an attempt: deterministic from the key, unique by its nonce, recorded before sbatch.
    func newJobName() -> String {
        "i2-\(key.prefix(8))-" + String(format: "%08x%04x", UInt32.random(in: 0...UInt32.max), UInt16.random(in: 0...UInt16.max))
    }

    /// Path of the batch script submitted for a unit (hidden, next to the state; Slurm copies it at submission).
    static func scriptPath(_ dir: String, _ key: String) -> String { dir + "/.i2-watch-\(key).sbatch" }

    /// Submits the attempt: writes the batch script, runs sbatch; returns the job id.
    func submit(command: String, unit: UnitSnapshot, root: String, state s: SeriesState, environment: [String: String]) throws -> String {
        guard let name = s.jobName else { throw I2Error(.internal, path: s.directory, "no job name recorded before sbatch") }
        var script = WatchCommand.expand(options.template ?? SlurmOptions.defaultTemplate, unit: unit, root: root, log: s.log)
        script = script.replacingOccurrences(of: "{command}", with: command)
        let path = Self.scriptPath(s.directory, key)
        try AtomicFile.write(Array(script.utf8), to: path)
        var argv = ["sbatch", "--parsable", "--job-name=" + name, "--comment=i2 watch " + s.directory,
                    "--output=" + s.log, "--error=" + s.log, "--open-mode=append"]
        if let p = options.partition { argv.append("--partition=" + p) }
        if let a = options.account { argv.append("--account=" + a) }
        if let g = options.gpus { argv.append("--gpus=" + g) }
        if let t = options.timeLimit { argv.append("--time=" + t) }
        argv += options.extraArguments + [path]
        let r = try client(argv, environment: environment)
        // --parsable prints "ID" or "ID;CLUSTER".
        guard r.status == 0, let id = r.stdout.split(separator: "\n").last.map({ String($0.split(separator: ";")[0]) }),
              !id.isEmpty, id.allSatisfy(\.isNumber) else {
            throw I2Error(.toolFailed, path: s.directory, "sbatch failed (exit \(r.status)): \(Self.oneLine(r.stderr + r.stdout))")
        }
        return id
    }

    /// Brings every job's `ended`/`exitStatus` up to date: one squeue for what still runs, one sacct for
    /// how the others ended. At most once per `interval`; a failing client leaves the state as it was.
    func refresh(_ attempts: [SlurmAttempt], force: Bool = false) {
        let open = attempts.filter { !$0.ended }
        guard !open.isEmpty, force || WatchClock.now() - lastQuery >= interval else { return }
        lastQuery = WatchClock.now()
        let live: [String: String]
        do { live = try queue() } catch { return log(.warning, "\(error); will ask again") }
        for a in open { if let l = live[a.jobID] { a.state = String(l.split(separator: "|")[0]) } }
        let gone = open.filter { live[$0.jobID].map { !Self.isTerminal($0) } != true }
        guard !gone.isEmpty else { return }
        let records: [String: (state: String, exit: String)]
        do { records = try accounting(jobs: gone.map(\.jobID)) } catch { return log(.warning, "\(error); will ask again") }
        for a in gone {
            if let r = records[a.jobID], Self.isTerminal(r.state) {
                a.ended = true
                a.state = r.state
                a.exitStatus = Self.exitStatus(state: r.state, exitCode: r.exit)
                a.why = a.exitStatus == 0 ? nil : "Slurm job \(a.jobID) \(r.state), exit code \(r.exit)"
            } else if live[a.jobID] == nil && records[a.jobID] == nil {
                // Not in squeue and no record in sacct: a moment's lag, or a job Slurm lost. Give it a minute.
                let since = a.unknownSince ?? WatchClock.now()
                a.unknownSince = since
                if WatchClock.now() - since > 60 {
                    a.ended = true
                    a.exitStatus = nil
                    a.why = "Slurm job \(a.jobID) is unknown to squeue and sacct"
                }
            }
            // Else squeue says it ended and sacct has not caught up yet: ask again next time.
        }
    }

    enum Lookup { case found(SlurmAttempt), notSubmitted, unknown(String) }

    /// For a restarted watcher: the job of a recorded attempt, by id, or by its name when the watcher
    /// died between recording the name and recording the id. `found` may already have ended.
    func lookup(_ s: SeriesState) -> Lookup {
        do {
            if let id = s.job {
                let a = SlurmAttempt(jobID: id)
                refresh([a], force: true)
                return .found(a)
            }
            guard let name = s.jobName else { return .notSubmitted }
            if let id = try queue().first(where: { $0.value.hasSuffix("|" + name) })?.key ?? accounting(name: name) {
                let a = SlurmAttempt(jobID: id)
                refresh([a], force: true)
                return .found(a)
            }
            // An sbatch with this name may still be talking to slurmctld (its watcher died meanwhile).
            if Self.processAlive(withArgument: "--job-name=" + name) { return .unknown("its sbatch is still running") }
            return .notSubmitted
        } catch {
            return .unknown("\(error)")
        }
    }

    /// Before the first series: sbatch, squeue and sacct answer (sacct needs Slurm's accounting, without
    /// which no job's end could ever be learnt). A plain error naming the client and what it said.
    public static func preflight(_ options: SlurmOptions) throws {
        let d = SlurmDispatcher(options, key: "", interval: 0) { _, _ in }
        for argv in [["sbatch", "--version"], ["squeue", "--noheader", "--me"],
                     ["sacct", "--noheader", "--allocations", "--starttime=now", "--format=JobID"]] {
            let r = try d.client(argv)
            guard r.status == 0 else {
                let hint = argv[0] == "sacct" ? " (--dispatch slurm learns how jobs ended from Slurm's accounting: slurmdbd must be set up)" : ""
                throw I2Error(.unreachable, "\(argv.joined(separator: " ")) failed (exit \(r.status)): \(oneLine(r.stderr + r.stdout))\(hint)")
            }
        }
    }

    /// scancel of these jobs.
    func cancel(_ ids: [String]) throws {
        guard !ids.isEmpty else { return }
        let r = try client(["scancel"] + ids)
        if r.status != 0 { throw I2Error(.toolFailed, "scancel \(ids.joined(separator: " ")) failed (exit \(r.status)): \(Self.oneLine(r.stderr))") }
    }

    // MARK: queries

    /// This user's jobs of this watcher's command in slurmctld (pending, running, or ended within MinJobAge):
    /// job id → "STATE|NAME".
    func queue() throws -> [String: String] {
        let r = try client(["squeue", "--noheader", "--me", "--states=all", "--format=%i|%T|%j"])
        guard r.status == 0 else { throw I2Error(.unreachable, "squeue failed (exit \(r.status)): \(Self.oneLine(r.stderr))") }
        var jobs: [String: String] = [:]
        for line in r.stdout.split(separator: "\n") {
            let f = line.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            if f.count == 3, f[2].hasPrefix("i2-\(key.prefix(8))-") { jobs[f[0]] = f[1] + "|" + f[2] }
        }
        return jobs
    }

    /// sacct's allocation records of these jobs: id → (state, exit code "N:SIG").
    func accounting(jobs: [String]) throws -> [String: (state: String, exit: String)] {
        let r = try client(["sacct", "--noheader", "--parsable2", "--allocations", "--jobs=" + jobs.joined(separator: ","),
                            "--format=JobID,State,ExitCode"])
        guard r.status == 0 else { throw I2Error(.unreachable, "sacct failed (exit \(r.status)): \(Self.oneLine(r.stderr))") }
        var records: [String: (state: String, exit: String)] = [:]
        for line in r.stdout.split(separator: "\n") {
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            if f.count == 3 { records[f[0]] = (String(f[1].split(separator: " ").first ?? ""), f[2]) }
        }
        return records
    }

    /// The id of the job named `name` in sacct (the last one, should there be several), or nil.
    func accounting(name: String) throws -> String? {
        let r = try client(["sacct", "--noheader", "--parsable2", "--allocations", "--starttime=now-30days", "--name=" + name,
                            "--format=JobID"])
        guard r.status == 0 else { throw I2Error(.unreachable, "sacct failed (exit \(r.status)): \(Self.oneLine(r.stderr))") }
        return r.stdout.split(separator: "\n").last.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    static func isTerminal(_ state: String) -> Bool {
        !["PENDING", "RUNNING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING", "SUSPENDED", "CONFIGURING",
          "COMPLETING", "STAGE_OUT", "SIGNALING", "STOPPED", "RESV_DEL_HOLD", "SPECIAL_EXIT", ""].contains(state.split(separator: "|")[0])
    }

    /// COMPLETED is 0; anything else a failure: the job's exit code, 128+signal when killed by one, else 1.
    static func exitStatus(state: String, exitCode: String) -> Int32 {
        if state == "COMPLETED" { return 0 }
        let f = exitCode.split(separator: ":").compactMap { Int32($0) }
        if f.count == 2, f[1] > 0 { return 128 + f[1] }
        if let c = f.first, c > 0, c < 256 { return c }
        return 1
    }

    // MARK: running the clients

    struct ClientResult { var status: Int32; var stdout: String; var stderr: String }

    /// Runs a Slurm client (found in PATH) with a timeout; its stdout and stderr are read from temporary files.
    func client(_ argv: [String], environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ClientResult {
        let tmp = NSTemporaryDirectory() + "/i2-slurm-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(tmp + ".out"); unlink(tmp + ".err") }
        let p: RunningCommand
        do {
            p = try RunningCommand(argv: argv, environment: environment, logPath: tmp + ".err", output: tmp + ".out")
        } catch {
            throw I2Error(.notFound, "cannot run \(argv[0]) (is slurm-client installed and on PATH?): \(error)")
        }
        if !p.wait(seconds: options.clientTimeout) {
            p.terminate(grace: 2)
            throw I2Error(.unreachable, "\(argv[0]) did not answer within \(Int(options.clientTimeout)) s")
        }
        let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        return ClientResult(status: p.exitStatus ?? 127, stdout: read(tmp + ".out"), stderr: read(tmp + ".err"))
    }

    static func oneLine(_ s: String) -> String {
        s.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: "; ")
    }

    /// Whether a process on this host has `argument` in its argv (Linux /proc).
    static func processAlive(withArgument argument: String) -> Bool {
        guard let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return false }
        let needle = Array(argument.utf8)
        for pid in pids where pid.first?.isNumber == true {
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
            if data.split(separator: 0).contains(where: { Array($0) == needle }) { return true }
        }
        return false
    }
}
