// `i2 watch --dispatch slurm` against a real one-node Slurm cluster (SlurmCluster: munged, MariaDB,
// slurmdbd, slurmctld, slurmd on 127.0.0.1), one for the whole class. The jobs' commands append the
// series to a count file, so "processed exactly once" is one line per series, and sacct's list of
// jobs says how many were submitted.
import Foundation
import XCTest
import I2TestSupport

final class WatchSlurmTests: XCTestCase {
    nonisolated(unsafe) static var shared: SlurmCluster?
    var root = "", out = ""

    /// The class's cluster, started on first use (the usage tests need none).
    func cluster() throws -> SlurmCluster {
        if let c = Self.shared { return c }
        let c = try SlurmCluster()
        Self.shared = c
        return c
    }
    override class func tearDown() { shared?.stop(); shared = nil }

    override func setUp() {
        root = TestSupport.tempDirectory()
        out = TestSupport.tempDirectory()
    }
    override func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
        try? FileManager.default.removeItem(atPath: out)
    }

    // MARK: helpers

    /// `n` series ROOT/P/ST/S1…Sn of one fixture slice each; their relative paths.
    func addSeries(_ n: Int) throws -> [String] {
        try (1...n).map { i in
            let rel = "P/ST/S\(i)"
            try FileManager.default.createDirectory(atPath: root + "/" + rel, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: TestSupport.fixture("dcmqi/ct-3slice/01.dcm"), toPath: root + "/" + rel + "/01.dcm")
            return rel
        }
    }

    /// i2 watch --dispatch slurm in the background, with the cluster's client environment.
    func watcher(_ args: [String]) throws -> RXProcess {
        guard FileManager.default.isExecutableFile(atPath: TestSupport.i2Path) else {
            throw TestSupport.Missing("the i2 binary at \(TestSupport.i2Path): build it first")
        }
        let p = try RXProcess(TestSupport.i2Path, ["watch", "--poll", "0.05", "--quiet", "0", "--dispatch", "slurm"] + args + [root],
                              environment: try cluster().environment)
        addTeardownBlock { _ = p.stop(SIGKILL) }
        return p
    }

    /// i2 watch --once --dispatch slurm, run to its end.
    func once(_ args: [String]) throws -> TestSupport.Result {
        let c = try cluster()
        return try TestSupport.run(TestSupport.i2Path, ["watch", "--once", "--poll", "0.05", "--quiet", "0", "--dispatch", "slurm"] + args + [root],
                                   environment: c.environment)
    }

    func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// The unit's state file (there is one per command; these tests use one command per root).
    func state(_ rel: String) throws -> [String: Any] {
        try XCTUnwrap(try stateIfAny(rel), "no state in \(root)/\(rel)")
    }
    func stateIfAny(_ rel: String) throws -> [String: Any]? {
        let dir = root + "/" + rel
        guard let name = try FileManager.default.contentsOfDirectory(atPath: dir).first(where: { $0.hasPrefix(".i2-watch-") && $0.hasSuffix(".json") }) else {
            return nil
        }
        return try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))) as? [String: Any]
    }

    /// Polls until `condition` holds; the limit only guards against a hang.
    func waitFor(_ what: String, timeout: Double = 120, file: StaticString = #filePath, line: UInt = #line, _ condition: () throws -> Bool) {
        let end = Date().addingTimeInterval(timeout)
        while (try? condition()) != true {
            if Date() > end { return XCTFail("timed out waiting for \(what)", file: file, line: line) }
            usleep(50_000)
        }
    }

    /// Every job sacct has for this cluster, once squeue is empty and sacct has the end (and the name:
    /// its first record may say "allocation") of each job in `expected`: records reach sacct a moment late.
    func settledAccounting(expecting expected: Set<String>) throws -> [String: (name: String, state: String, exitCode: String)] {
        let c = try cluster()
        var jobs: [String: (name: String, state: String, exitCode: String)] = [:]
        waitFor("sacct to record the end of jobs \(expected.sorted())") {
            jobs = try c.accounting()
            return try c.client("squeue", ["-h"]).stdout.isEmpty
                && expected.allSatisfy { id in jobs[id].map { $0.name.hasPrefix("i2-") && !["PENDING", "RUNNING"].contains($0.state) } ?? false }
        }
        return jobs
    }

    /// The jobs i2 watch submitted for these units' command (their names start with i2-KEYPREFIX-), once
    /// every job their states name has reached sacct.
    func submitted(_ rels: [String]) throws -> [String: (name: String, state: String, exitCode: String)] {
        let states = try rels.map { try state($0) }
        let key = try XCTUnwrap(states.first?["key"] as? String)
        let ids = states.flatMap { (($0["history"] as? [[String: Any]]) ?? []).compactMap { $0["job"] as? String } }
        return try settledAccounting(expecting: Set(ids)).filter { $0.value.name.hasPrefix("i2-\(key.prefix(8))-") }
    }

    // MARK: tests

    func testTwentySeriesGiveExactlyTwentyResults() throws {
        let series = try addSeries(20)
        let count = out + "/count"
        let r = try once(["--exec", "echo {series} >> \(count)"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(lines(count).sorted(), series.map { root + "/" + $0 }.sorted())
        var ids = Set<String>()
        for rel in series {
            let s = try state(rel)
            XCTAssertEqual(s["status"] as? String, "done", rel)
            let job = try XCTUnwrap(s["job"] as? String, "\(rel): the job id is in the state")
            ids.insert(job)
            XCTAssertEqual((s["history"] as? [[String: Any]])?.first?["job"] as? String, job)
        }
        XCTAssertEqual(ids.count, 20)
        let jobs = try submitted(series)
        XCTAssertEqual(jobs.count, 20, "one job per series, no more: \(jobs)")
        for id in ids { XCTAssertEqual(jobs[id]?.state, "COMPLETED", "job \(id)") }
    }

    /// kill -9 of the watcher at 5 random points (seeded), each time restarted: every series is processed
    /// exactly once and submitted exactly once, whether the kill came before sbatch, between sbatch and
    /// recording the job id, while jobs ran, or after they ended unseen.
    func testKillNineFiveTimesEverySeriesProcessedOnce() throws {
        let series = try addSeries(20)
        let count = out + "/count"
        let exec = "echo {series} >> \(count); sleep 0.3"
        var random = SeededRandom(seed: 14)
        var stderrs: [String] = []
        for round in 1...5 {
            let w = try watcher(["--jobs", "4", "--exec", exec])
            let delay = 0.3 + Double(random.next() % 1500) / 1000   // 0.3 … 1.8 s
            usleep(UInt32(delay * 1e6))
            kill(w.pid, SIGKILL)
            XCTAssertNotNil(w.waitForExit(timeout: 10), "round \(round)")
            stderrs.append(w.stderr)
        }
        let r = try once(["--jobs", "4", "--exec", exec])
        XCTAssertEqual(r.status, 0, r.stderr)
        let all = stderrs.joined(separator: "\n---\n") + "\n---\n" + r.stderr
        XCTAssertEqual(lines(count).sorted(), series.map { root + "/" + $0 }.sorted(), all)
        for rel in series { XCTAssertEqual(try state(rel)["status"] as? String, "done", rel) }
        let jobs = try submitted(series)
        XCTAssertEqual(jobs.count, 20, "no series submitted twice:\n\(jobs)\n\(all)")
        XCTAssertTrue(all.contains("adopted Slurm job") || all.contains("ended after its watcher was gone"),
                      "some kill left jobs for the next watcher:\n\(all)")
        // What the kills hit, for the record (the seed makes it the same each run, up to timing).
        let seen = ["adopted Slurm job", "ended after its watcher was gone", "never reached Slurm", "cannot tell yet", "submitted as Slurm job"]
            .map { m in "\(m): \(E2E.lines(all).filter { $0.contains(m) }.count)" }
        print("kill -9 x5: " + seen.joined(separator: ", "))
    }

    /// The two windows of a watcher killed inside a submission, set up exactly: the state records the
    /// intent (job name) but no job id. S1: sbatch never ran, so the job is submitted now; S2: sbatch ran
    /// (here by hand, with that name) and its job is adopted, not submitted again.
    func testKilledBetweenIntentAndJobIDSubmitsOnlyWhatSlurmNeverGot() throws {
        let series = try addSeries(2)
        let count = out + "/count"
        let exec = "echo {series} >> \(count)"
        // Held jobs (never run) leave both series 'submitted' with a job id when the watcher stops.
        let w = try watcher(["--sbatch-arg=--hold", "--exec", exec])
        XCTAssertTrue(w.wait(timeout: 60) { _, err, _ in err.filter { $0.contains("submitted as Slurm job") }.count == 2 }, w.stderr)
        XCTAssertEqual(w.stop(SIGTERM), 0, w.stderr)
        let c = try cluster()
        var held: [String] = []
        for rel in series {
            let path = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: root + "/" + rel).first { $0.hasSuffix(".json") })
            let file = root + "/" + rel + "/" + path
            var s = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
            held.append(try XCTUnwrap(s["job"] as? String))
            let key = try XCTUnwrap(s["key"] as? String)
            let name = "i2-\(key.prefix(8))-crash\(rel.suffix(2))"
            s["job"] = nil
            s["job_name"] = name
            try JSONSerialization.data(withJSONObject: s).write(to: URL(fileURLWithPath: file))
            if rel == series[1] {
                let r = try c.client("sbatch", ["--parsable", "--job-name=" + name, "-o", "/dev/null", "--wrap", "echo \(root)/\(rel) >> \(count)"])
                XCTAssertEqual(r.status, 0, r.stderr)
            }
        }
        XCTAssertEqual(try c.client("scancel", held).status, 0)
        let r = try once(["--exec", exec])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("\(root)/\(series[0]): attempt 1 of run 1 never reached Slurm"), r.stderr)
        XCTAssertTrue(r.stderr.contains("\(root)/\(series[1]): adopted Slurm job") || r.stderr.contains("\(root)/\(series[1]): attempt 1 of run 1 (Slurm job"), r.stderr)
        XCTAssertEqual(lines(count).sorted(), series.map { root + "/" + $0 }.sorted())
        // Besides the held (cancelled) ones: the one submitted for S1 now and the one S2's "sbatch" made, no other.
        XCTAssertEqual(Set(try submitted(series).keys).subtracting(held).count, 2, r.stderr)
        for rel in series { XCTAssertEqual(try state(rel)["status"] as? String, "done", rel) }
    }

    func testFailingJobIsRetriedThenFailedWithJobIDAndLog() throws {
        let series = try addSeries(1)
        let r = try once(["--retries", "1", "--retry-delay", "0.1", "--exec", "echo failing-run >&2; exit 3"])
        XCTAssertEqual(r.status, 1, r.stderr)
        let s = try state(series[0])
        XCTAssertEqual(s["status"] as? String, "failed")
        XCTAssertEqual(s["attempts"] as? Int, 2)
        let history = try XCTUnwrap(s["history"] as? [[String: Any]])
        let ids = history.compactMap { $0["job"] as? String }
        XCTAssertEqual(ids.count, 2, "\(history)")
        XCTAssertNotEqual(ids.first, ids.last, "the retry is a new job")
        XCTAssertEqual(s["job"] as? String, ids.last)
        let log = try XCTUnwrap(s["log"] as? String)
        XCTAssertTrue(r.stderr.contains("failed after 2 attempts (Slurm job \(ids[1]) FAILED, exit code 3:0); log: \(log)"), r.stderr)
        // The job's own stderr went to the log, once per attempt.
        XCTAssertEqual(lines(log).filter { $0 == "failing-run" }.count, 2, lines(log).joined(separator: "\n"))
        XCTAssertEqual(try settledAccounting(expecting: [ids[1]])[ids[1]]?.exitCode, "3:0")
    }

    func testScancelIsSeenAsAFailure() throws {
        let series = try addSeries(1)
        let w = try watcher(["--retries", "0", "--exec", "sleep 60"])
        var id = ""
        waitFor("the job id in the state") { id = try stateIfAny(series[0])?["job"] as? String ?? ""; return !id.isEmpty }
        let c = try cluster()
        waitFor("job \(id) running") { try c.client("squeue", ["-h", "-j", id, "-o", "%T"]).stdout.contains("RUNNING") }
        XCTAssertEqual(try c.client("scancel", [id]).status, 0)
        XCTAssertTrue(w.wait(timeout: 60) { _, err, exited in exited || err.contains { $0.contains("failed after 1 attempt") } }, w.stderr)
        XCTAssertTrue(w.stderr.contains("Slurm job \(id) CANCELLED"), w.stderr)
        waitFor("the state 'failed'") { try stateIfAny(series[0])?["status"] as? String == "failed" }   // saved just after the message
        XCTAssertEqual(w.stop(), 0)
    }

    /// SIGTERM leaves the job running (state 'submitted' with its id); the next watcher adopts it and
    /// records its end; nothing is submitted twice.
    func testSigtermLeavesJobsRunningAndTheNextWatcherAdoptsThem() throws {
        let series = try addSeries(2)
        let count = out + "/count"
        let exec = "sleep 2; echo {series} >> \(count)"
        let w = try watcher(["--exec", exec])
        XCTAssertTrue(w.wait(timeout: 60) { _, err, _ in err.filter { $0.contains("submitted as Slurm job") }.count == 2 }, w.stderr)
        XCTAssertEqual(w.stop(SIGTERM), 0, w.stderr)
        XCTAssertTrue(w.stderr.contains("2 Slurm job(s) keep running; the next i2 watch adopts them"), w.stderr)
        for rel in series { XCTAssertEqual(try state(rel)["status"] as? String, "submitted", rel) }
        let r = try once(["--exec", exec])
        XCTAssertEqual(r.status, 0, r.stderr)
        let adopted = E2E.lines(r.stderr).filter { $0.contains("adopted Slurm job") || $0.contains("ended after its watcher was gone") }
        XCTAssertEqual(adopted.count, 2, r.stderr)
        XCTAssertEqual(lines(count).count, 2)
        for rel in series { XCTAssertEqual(try state(rel)["status"] as? String, "done", rel) }
        XCTAssertEqual(try submitted(series).count, 2)
    }

    func testCancelOnStopCancelsAndLeavesTheSeriesToRunAgain() throws {
        let series = try addSeries(1)
        let w = try watcher(["--cancel-on-stop", "--exec", "sleep 60"])
        var id = ""
        waitFor("the job id in the state") { id = try stateIfAny(series[0])?["job"] as? String ?? ""; return !id.isEmpty }
        XCTAssertEqual(w.stop(SIGTERM, grace: 30), 0, w.stderr)
        let s = try state(series[0])
        XCTAssertEqual(s["status"] as? String, "complete", w.stderr)
        XCTAssertEqual(s["attempts"] as? Int, 0, "the cancelled attempt is not counted")
        XCTAssertEqual(try settledAccounting(expecting: [id])[id]?.state, "CANCELLED")
    }

    func testSlurmOptionsNeedDispatchSlurm() throws {
        for args in [["--partition", "gpu", "--exec", "true"], ["--cancel-on-stop", "--exec", "true"], ["--dispatch", "slurm"]] {
            let r = try TestSupport.i2(["watch", "--once"] + args + [root])
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
        }
    }
}
