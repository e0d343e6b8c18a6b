// `i2 status` against a root holding every state, made by real watchers (done, failed, complete with a
// retry waiting, processing, waiting for quiet), plus one series never watched (received) and one in
// Slurm's 'submitted' state (written by hand from a real state file: only `watch --dispatch slurm`
// writes it). Then the health rule against a real receiver's heartbeat.
import Foundation
import XCTest
import I2TestSupport

final class StatusTests: XCTestCase {
    var root = "", out = ""
    var pids: [Int32] = []

    override func setUp() {
        root = TestSupport.tempDirectory()
        out = TestSupport.tempDirectory()
    }
    override func tearDown() {
        for p in pids { kill(p, SIGKILL) }
        try? FileManager.default.removeItem(atPath: root)
        try? FileManager.default.removeItem(atPath: out)
    }

    /// Copies the fixture slice into ROOT/P/ST/SERIES/NAME.dcm as receive would (hidden temporary, rename).
    func add(_ series: String, _ name: String = "1") {
        let dir = root + "/P/ST/" + series
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = root + "/.tmp-\(UUID().uuidString)"
        try! FileManager.default.copyItem(atPath: TestSupport.fixture("dcmqi/ct-3slice/01.dcm"), toPath: tmp)
        XCTAssertEqual(rename(tmp, dir + "/" + name + ".dcm"), 0)
    }

    func stateText(_ series: String) -> String {
        let dir = root + "/P/ST/" + series
        let name = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).first { $0.hasPrefix(".i2-watch-") && $0.hasSuffix(".json") }
        return name.flatMap { try? String(contentsOfFile: dir + "/" + $0, encoding: .utf8) } ?? ""
    }

    func waitFor(_ what: String, timeout: TimeInterval = 60, _ condition: () -> Bool) throws {
        let end = Date().addingTimeInterval(timeout)
        while !condition() {
            if Date() > end { throw RX.Failure("timed out waiting for \(what)") }
            usleep(20_000)
        }
    }

    /// A: done, F: failed, C: complete (retry in an hour), D: processing (its command outlives a killed
    /// watcher), W: waiting (files keep arriving), R: received (never watched), S: submitted (job 4242).
    func makeEveryState() throws -> String {
        let command = "case \"$I2_SERIES_DIR\" in */F|*/C) exit 3;; */D) echo $$ > \(out)/d.pid; exec sleep 300;; esac"
        add("A"); add("F")
        let once = try TestSupport.i2(["watch", "--once", "--quiet", "0", "--retries", "0", "--exec", command, root])
        XCTAssertEqual(once.status, 1, once.stderr)

        add("C"); add("D")
        let w = try background(TestSupport.i2Path, ["watch", "--poll", "0.05", "--quiet", "1", "--retries", "1", "--retry-delay", "3600",
                                                    "--exec", command, root])
        try waitFor("C's first attempt to fail and D's command to start") {
            stateText("C").contains("\"next_attempt_at\"") && FileManager.default.fileExists(atPath: out + "/d.pid")
        }
        // W keeps receiving until the watcher has recorded it as seen but not quiet.
        var n = 0
        try waitFor("W recorded as waiting") {
            n += 1
            if n % 10 == 1 { add("W", "w\(n)") }
            return stateText("W").contains("\"status\" : \"received\"")
        }
        kill(w.pid, SIGKILL)   // no shutdown: D stays processing, its command running as an orphan
        XCTAssertNotNil(w.waitForExit(timeout: 10))
        if let pid = Int32(try String(contentsOfFile: out + "/d.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)) { pids.append(pid) }

        add("R")
        add("S")
        // Slurm's state, as the dispatcher records it: A's real state with status submitted and a job id.
        let key = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: root + "/P/ST/A").first { $0.hasSuffix(".json") })
        var s = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/P/ST/A/" + key))) as? [String: Any])
        s["status"] = "submitted"; s["job"] = "4242"; s["job_state"] = "RUNNING"; s["directory"] = root + "/P/ST/S"
        try JSONSerialization.data(withJSONObject: s).write(to: URL(fileURLWithPath: root + "/P/ST/S/" + key))
        return command
    }

    func testEveryStateListedWithAgesAttemptsJobsAndLogs() throws {
        let command = try makeEveryState()
        let expected = ["A": "done", "C": "complete", "D": "processing", "F": "failed", "R": "received", "S": "submitted", "W": "waiting"]

        let r = try TestSupport.i2(["status", root])
        XCTAssertEqual(r.status, 1, "a failed series must make the exit status 1: \(r.stderr)")
        let rows = r.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(rows.count, 7, r.stdout)
        var seen: [String: String] = [:]
        for row in rows {
            XCTAssertEqual(row.count, 6, "\(row)")
            seen[(row[4] as NSString).lastPathComponent] = row[0]
            XCTAssertTrue(row[1].range(of: #"^\d+[smhd]"#, options: .regularExpression) != nil, "age column: \(row)")
        }
        XCTAssertEqual(seen, expected)
        let failedRow = try XCTUnwrap(rows.first { $0[0] == "failed" })
        XCTAssertEqual(failedRow[2], "1")
        XCTAssertTrue(failedRow[5].hasSuffix(".log") && FileManager.default.fileExists(atPath: failedRow[5]), "\(failedRow)")
        XCTAssertEqual(rows.first { $0[0] == "submitted" }?[3], "4242")
        XCTAssertTrue(r.stderr.contains(root + "/P/ST/F: failed after 1 attempt (exit status 3); log: "), r.stderr)

        // JSON: one object per series with state, attempts, log and job.
        let j = try TestSupport.i2(["status", "--json", root])
        XCTAssertEqual(j.status, 1)
        let objects = try j.stdout.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(objects.count, 7)
        var byName: [String: [String: Any]] = [:]
        for o in objects {
            for k in ["state", "attempts", "log", "job", "age_seconds", "directory"] { XCTAssertNotNil(o[k], "\(k) missing in \(o)") }
            byName[((o["directory"] as? String ?? "") as NSString).lastPathComponent] = o
        }
        XCTAssertEqual(byName.mapValues { $0["state"] as? String ?? "" }, expected)
        XCTAssertEqual(byName["S"]?["job"] as? String, "4242")
        XCTAssertTrue(byName["A"]?["job"] is NSNull)
        XCTAssertTrue(byName["R"]?["log"] is NSNull)
        XCTAssertEqual(byName["C"]?["attempts"] as? Int, 1)
        XCTAssertNotNil(byName["C"]?["retry_at"] as? String, "a complete series waiting for its retry says when")
        XCTAssertEqual(byName["F"]?["last_exit_status"] as? Int, 3)
        XCTAssertEqual(byName["D"]?["files"] as? Int, 1)

        // Filters show less, but the exit status still sees the failure.
        let done = try TestSupport.i2(["status", "--state", "done", "--state", "waiting", root])
        XCTAssertEqual(done.status, 1)
        XCTAssertEqual(done.stdout.split(separator: "\n").map { String($0.split(separator: "\t")[0]) }, ["done", "waiting"])
        // Another command has recorded nothing: every series is merely received, nothing failed.
        let other = try TestSupport.i2(["status", "--exec", "true", root])
        XCTAssertEqual(other.status, 0, other.stderr)
        XCTAssertEqual(Set(other.stdout.split(separator: "\n").map { String($0.split(separator: "\t")[0]) }), ["received"])
        let mine = try TestSupport.i2(["status", "--exec", command, "--state", "received", root])
        XCTAssertEqual(mine.stdout.split(separator: "\n").count, 1, "only R has no state of this command: \(mine.stdout)")

        // Deleting the failed series' state (how a retry is asked for) clears the alarm.
        for name in try FileManager.default.contentsOfDirectory(atPath: root + "/P/ST/F") where name.hasPrefix(".i2-watch-") { unlink(root + "/P/ST/F/" + name) }
        XCTAssertEqual(try TestSupport.i2(["status", root]).status, 0)
        XCTAssertEqual(try TestSupport.i2(["status", "--min-free", "1G", root]).status, 2, "--min-free without --health is a usage error")
    }

    func testHealthFollowsFreeSpaceReceiverHeartbeatAndFailures() throws {
        try FileManager.default.createDirectory(atPath: root + "/P/ST/A", withIntermediateDirectories: true)
        let r = try startReceiver(root, ["--metrics-interval", "0.2", "--min-free", "1K"])
        func health(_ extra: [String] = []) throws -> (status: Int32, lines: [String], stderr: String) {
            let h = try TestSupport.i2(["status", "--health"] + extra + [root])
            return (h.status, h.stdout.split(separator: "\n").map(String.init), h.stderr)
        }
        var h = try health()
        XCTAssertEqual(h.status, 0, h.stderr)
        XCTAssertEqual(h.lines.map { $0.split(separator: "\t").prefix(2).joined(separator: " ") }, ["ok free_space", "ok receive:\(r.port)", "ok failed"])
        XCTAssertTrue(h.lines[0].contains("minimum 1024"), "the receiver's --min-free is the default minimum: \(h.lines)")

        h = try health(["--min-free", "16000000T"])
        XCTAssertEqual(h.status, 1)
        XCTAssertTrue(h.lines[0].hasPrefix("FAIL\tfree_space"), "\(h.lines)")
        XCTAssertTrue(h.stderr.contains("unhealthy: free_space"), h.stderr)

        // A failed series: unhealthy unless the threshold allows it.
        add("F")
        let once = try TestSupport.i2(["watch", "--once", "--quiet", "0", "--retries", "0", "--exec", "exit 9", root])
        XCTAssertEqual(once.status, 1, once.stderr)
        h = try health()
        XCTAssertEqual(h.status, 1)
        XCTAssertTrue(h.lines.contains { $0.hasPrefix("FAIL\tfailed\t1 failed, at most 0") }, "\(h.lines)")
        XCTAssertEqual(try health(["--max-failed", "1"]).status, 0)

        // JSON: one object per check.
        let j = try TestSupport.i2(["status", "--health", "--json", "--max-failed", "1", root])
        let checks = try j.stdout.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(checks.map { $0["check"] as? String }, ["free_space", "receive:\(r.port)", "failed"])
        XCTAssertEqual(checks.map { $0["ok"] as? Bool }, [true, true, true])

        // A receiver that stopped says so in its heartbeat: not accepting.
        XCTAssertEqual(r.process.stop(), 0)
        h = try health(["--max-failed", "1"])
        XCTAssertEqual(h.status, 1)
        XCTAssertTrue(h.lines.contains { $0.hasPrefix("FAIL\treceive:\(r.port)\tnot accepting") }, "\(h.lines)")

        // One killed outright stops rewriting it: stale once older than max(3 x interval, 15 s). The
        // heartbeat is aged by hand (waiting 15 s would test only the clock).
        let k = try startReceiver(root, ["--metrics-interval", "0.2"])
        XCTAssertEqual(try health(["--max-failed", "1"]).lines.filter { $0.hasPrefix("ok\treceive:\(k.port)") }.count, 1)
        kill(k.process.pid, SIGKILL)
        XCTAssertNotNil(k.process.waitForExit(timeout: 10))
        let beat = root + "/.i2-receive-\(k.port).json"
        var o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: beat))) as? [String: Any])
        XCTAssertEqual(o["accepting"] as? Bool, true, "killed outright, it could not say it stopped")
        o["updated"] = Date().timeIntervalSince1970 - 16
        try JSONSerialization.data(withJSONObject: o).write(to: URL(fileURLWithPath: beat))
        h = try health(["--max-failed", "1"])
        XCTAssertEqual(h.status, 1)
        XCTAssertTrue(h.lines.contains { $0.hasPrefix("FAIL\treceive:\(k.port)\tno heartbeat for 16 s") }, "\(h.lines)")

        // Retired on purpose: deleting the heartbeats removes the receive checks.
        unlink(beat); unlink(root + "/.i2-receive-\(r.port).json")
        h = try health(["--max-failed", "1"])
        XCTAssertEqual(h.status, 0, "\(h.lines)")
        XCTAssertEqual(h.lines.count, 2)
    }
}
