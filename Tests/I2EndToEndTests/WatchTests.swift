// `i2 watch` run for real: background watchers (stopped by PID), series laid out as
// ROOT/P/STUDY/SERIES/x.dcm from the ct-3slice fixture, commands that append to a count file.
import Foundation
import XCTest
import I2TestSupport

final class WatchTests: XCTestCase {
    var root = "", out = ""

    override func setUp() {
        root = TestSupport.tempDirectory()
        out = TestSupport.tempDirectory()
    }
    override func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
        try? FileManager.default.removeItem(atPath: out)
    }

    // MARK: helpers

    /// Copies a fixture slice into ROOT/REL/NAME.dcm the way i2 receive does: hidden temporary, then rename.
    func add(_ rel: String, _ name: String) {
        let dir = root + "/" + rel
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = root + "/.tmp-\(UUID().uuidString)"
        try! FileManager.default.copyItem(atPath: TestSupport.fixture("dcmqi/ct-3slice/01.dcm"), toPath: tmp)
        XCTAssertEqual(rename(tmp, dir + "/" + name + ".dcm"), 0)
    }

    func watcher(_ args: [String]) throws -> RXProcess {
        guard FileManager.default.isExecutableFile(atPath: TestSupport.i2Path) else {
            throw TestSupport.Missing("the i2 binary at \(TestSupport.i2Path): build it first")
        }
        return try background(TestSupport.i2Path, ["watch", "--poll", "0.05"] + args + [root])
    }

    /// Lines of a file the commands append to (empty when missing).
    func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func waitFor(_ timeout: TimeInterval, _ what: String, _ condition: () -> Bool) {
        let end = Date().addingTimeInterval(timeout)
        while !condition() {
            if Date() > end { return XCTFail("timed out waiting for \(what)") }
            usleep(50_000)
        }
    }

    /// The state file of DIR for the command text (key: FNV-1a 64 of the text).
    func state(_ dir: String, _ command: String) -> [String: Any]? {
        var h: UInt64 = 0xcbf29ce484222325
        for b in command.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        let hex = String(h, radix: 16)
        let path = "\(root)/\(dir)/.i2-watch-\(String(repeating: "0", count: 16 - hex.count) + hex).json"
        guard let d = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONSerialization.jsonObject(with: d) as? [String: Any]
    }
    func history(_ s: [String: Any]?) -> [[String: Any]] { s?["history"] as? [[String: Any]] ?? [] }

    // MARK: tests

    func testPerSeriesQuietTimersAndStdout() throws {
        add("P/ST/BUSY", "0")
        add("P/ST/CALM", "0")
        let w = try watcher(["--quiet", "0.5"])
        let start = Date()
        var calmSeenAt: TimeInterval?, busyAtCalm = true
        var fed = 0
        while Date().timeIntervalSince(start) < 2 {
            usleep(300_000)
            fed += 1
            add("P/ST/BUSY", String(fed))
            if calmSeenAt == nil, w.stdout.contains(root + "/P/ST/CALM") {
                calmSeenAt = Date().timeIntervalSince(start)
                busyAtCalm = w.stdout.contains(root + "/P/ST/BUSY")
            }
        }
        let lastFeed = Date()
        XCTAssertNotNil(calmSeenAt, "the calm series was not handed over while the other kept receiving")
        XCTAssertLessThan(calmSeenAt ?? 99, 1.6)
        XCTAssertFalse(busyAtCalm, "the busy series was handed over while still receiving")
        XCTAssertTrue(w.wait(timeout: 10) { out, _, _ in out.contains(self.root + "/P/ST/BUSY") })
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(lastFeed), 0.4)
        usleep(800_000)
        XCTAssertEqual(w.stdout.sorted(), [root + "/P/ST/BUSY", root + "/P/ST/CALM"])
        XCTAssertEqual(w.stop(), 0)
        XCTAssertEqual(state("P/ST/BUSY", "")?["handed_files"] as? Int, fed + 1)
    }

    func testExecRunsOncePerSeriesAndRestartDoesNotRerun() throws {
        let count = out + "/count"
        let cmd = "echo {series} >> \(count)"
        add("P/ST/A", "1"); add("P/ST/A", "2"); add("P/ST/B", "1")
        let w = try watcher(["--quiet", "0.3", "--exec", cmd])
        waitFor(10, "two runs") { lines(count).count >= 2 }
        XCTAssertEqual(w.stop(), 0)
        XCTAssertEqual(lines(count).sorted(), [root + "/P/ST/A", root + "/P/ST/B"])
        XCTAssertEqual(w.stdout, [], "with --exec stdout stays empty")
        let s = state("P/ST/A", cmd)
        XCTAssertEqual(s?["status"] as? String, "done")
        XCTAssertEqual(s?["run"] as? Int, 1)
        XCTAssertEqual(s?["handed_files"] as? Int, 2)
        XCTAssertEqual(s?["command"] as? String, cmd)
        XCTAssertTrue(FileManager.default.fileExists(atPath: s?["log"] as? String ?? "/nonexistent"))

        let again = try watcher(["--quiet", "0.3", "--exec", cmd])
        usleep(1_500_000)
        XCTAssertEqual(again.stop(), 0)
        XCTAssertEqual(lines(count).count, 2, "a restarted watcher reran done series")
        // A different command is a different key: it processes the series again.
        let other = try watcher(["--quiet", "0.3", "--exec", cmd + " # v2"])
        waitFor(10, "the new command's runs") { lines(count).count >= 4 }
        XCTAssertEqual(other.stop(), 0)
    }

    func testLateInstanceTriggersExactlyOneFollowUp() throws {
        let count = out + "/count"
        let cmd = "echo \"$I2_WATCH_RUN $I2_WATCH_FOLLOW_UP $I2_WATCH_FILES\" >> \(count)"
        add("P/ST/A", "1")
        let w = try watcher(["--quiet", "0.3", "--exec", cmd])
        waitFor(10, "the first run") { lines(count).count >= 1 }
        add("P/ST/A", "late")
        waitFor(10, "the follow-up") { lines(count).count >= 2 }
        usleep(1_500_000)
        XCTAssertEqual(w.stop(), 0)
        XCTAssertEqual(lines(count), ["1 0 1", "2 1 2"])
        let s = state("P/ST/A", cmd)
        XCTAssertEqual(s?["run"] as? Int, 2)
        XCTAssertEqual(history(s).map { $0["follow_up"] as? Bool }, [false, true])
    }

    func testFailingCommandIsRetriedThenFailedAndOthersServed() throws {
        let count = out + "/count"
        // A pipeline whose first part fails, as `i2 process … | i2 send -` does when the tool fails: pipefail.
        let cmd = "(echo {series} >> \(count); case {series} in *BAD) echo broken >&2; exit 3;; esac) | cat"
        add("P/ST/BAD", "1"); add("P/ST/GOOD", "1")
        let w = try watcher(["--quiet", "0.3", "--retries", "2", "--retry-delay", "0.2", "--exec", cmd])
        waitFor(15, "the failure") { w.stderr.contains("failed after 3 attempts") }
        let log = root + "/P/ST/BAD/.i2-watch-"
        XCTAssertTrue(w.stderr.contains("P/ST/BAD: failed after 3 attempts (exit status 3); log: \(log)"), w.stderr)
        add("P/Q/LATER", "1")
        waitFor(10, "a later series") { lines(count).contains(root + "/P/Q/LATER") }
        XCTAssertEqual(w.stop(), 0)
        XCTAssertEqual(lines(count).filter { $0.hasSuffix("BAD") }.count, 3)
        XCTAssertEqual(lines(count).filter { $0.hasSuffix("GOOD") }.count, 1)
        let s = state("P/ST/BAD", cmd)
        XCTAssertEqual(s?["status"] as? String, "failed")
        XCTAssertEqual(s?["attempts"] as? Int, 3)
        XCTAssertEqual(s?["last_exit_status"] as? Int, 3)
        let logText = (try? String(contentsOfFile: s?["log"] as? String ?? "", encoding: .utf8)) ?? ""
        XCTAssertEqual(logText.split(separator: "\n").filter { $0 == "broken" }.count, 3)
        XCTAssertEqual(state("P/ST/GOOD", cmd)?["status"] as? String, "done")
    }

    func testTwoWatchersProcessEachSeriesOnce() throws {
        let count = out + "/count"
        let cmd = "echo {series} >> \(count); sleep 0.2"
        let names = (1...8).map { "S\($0)" }
        for n in names { add("P/ST/\(n)", "1") }
        let a = try watcher(["--quiet", "0.3", "--jobs", "2", "--exec", cmd])
        let b = try watcher(["--quiet", "0.3", "--jobs", "2", "--exec", cmd])
        waitFor(20, "all series") { lines(count).count >= names.count }
        usleep(1_000_000)
        XCTAssertEqual(a.stop(), 0)
        XCTAssertEqual(b.stop(), 0)
        XCTAssertEqual(lines(count).sorted(), names.map { root + "/P/ST/" + $0 }.sorted())
        for n in names { XCTAssertEqual(history(state("P/ST/\(n)", cmd)).count, 1, n) }
    }

    func testOnceHandlesWhatIsCompleteAndExits() throws {
        let count = out + "/count"
        add("P/ST/OLD1", "1"); add("P/ST/OLD2", "1")
        usleep(700_000)
        add("P/ST/FRESH", "1")
        let cmd = "echo {series} >> \(count); case {series} in *OLD2) exit 1;; esac"
        let w = try watcher(["--once", "--quiet", "0.5", "--retries", "1", "--retry-delay", "0.1", "--exec", cmd])
        XCTAssertEqual(w.waitForExit(timeout: 20), 1, "--once: 1 when a series failed")
        XCTAssertEqual(lines(count).sorted(), [root + "/P/ST/OLD1", root + "/P/ST/OLD2", root + "/P/ST/OLD2"])
        XCTAssertNil(state("P/ST/FRESH", cmd)?["run"].flatMap { $0 as? Int }.flatMap { $0 > 0 ? $0 : nil })
        usleep(600_000)
        let print = try watcher(["--once", "--quiet", "0.5"])
        XCTAssertEqual(print.waitForExit(timeout: 20), 0)
        XCTAssertEqual(print.stdout.sorted(), ["FRESH", "OLD1", "OLD2"].map { root + "/P/ST/" + $0 })
        let again = try watcher(["--once", "--quiet", "0.5"])
        XCTAssertEqual(again.waitForExit(timeout: 20), 0)
        XCTAssertEqual(again.stdout, [], "a second --once printed done series again")
    }

    func testGroupStudyHandsOverWholeStudies() throws {
        let count = out + "/count"
        let cmd = "echo {series} $(basename {study}) >> \(count)"
        add("P/ST1/A", "1"); add("P/ST1/B", "1"); add("P/ST2/C", "1")
        let w = try watcher(["--group", "study", "--quiet", "0.6", "--exec", cmd])
        for i in 0..<4 { usleep(300_000); add("P/ST1/B", "more\(i)") }
        waitFor(10, "both studies") { lines(count).count >= 2 }
        usleep(1_000_000)
        XCTAssertEqual(w.stop(), 0)
        XCTAssertEqual(lines(count).sorted(), [root + "/P/ST1 ST1", root + "/P/ST2 ST2"])
        XCTAssertEqual(state("P/ST1", cmd)?["handed_files"] as? Int, 6)
    }

    func testStaleAndLiveLocks() throws {
        let count = out + "/count"
        let cmd = "echo {series} >> \(count)"
        add("P/ST/STALE", "1"); add("P/ST/HELD", "1")
        var h: UInt64 = 0xcbf29ce484222325
        for b in cmd.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        let key = String(h, radix: 16).leftPad16
        // A dead watcher's leftovers: its lock file and a 'processing' state.
        try "pid=999999 host=\(ProcessInfo.processInfo.hostName)\n".write(toFile: "\(root)/P/ST/STALE/.i2-watch-\(key).lock", atomically: false, encoding: .utf8)
        let dead = #"{"version":1,"status":"processing","command":"x","key":"k","directory":"d","run":1,"attempts":1,"log":"l","handed_files":1,"handed_newest_ns":1,"created":"c","updated":"u","history":[]}"#
        try dead.write(toFile: "\(root)/P/ST/STALE/.i2-watch-\(key).json", atomically: false, encoding: .utf8)
        // A live holder: flock(1) keeps the other series claimed for 2 s.
        let flockTool = try TestSupport.tool("flock", package: "util-linux")
        let holder = try background(flockTool, ["\(root)/P/ST/HELD/.i2-watch-\(key).lock", "sleep", "2"])
        usleep(200_000)
        let w = try watcher(["--quiet", "0.2", "--exec", cmd])
        waitFor(10, "the stale series") { lines(count).contains(root + "/P/ST/STALE") }
        XCTAssertFalse(lines(count).contains(root + "/P/ST/HELD"), "ran a series another process holds")
        XCTAssertEqual(holder.waitForExit(timeout: 10), 0)
        waitFor(10, "the held series after release") { lines(count).contains(root + "/P/ST/HELD") }
        XCTAssertEqual(w.stop(), 0)
        let s = state("P/ST/STALE", cmd)
        XCTAssertEqual(history(s).map { $0["status"] as? String }, ["interrupted", "done"])
        XCTAssertEqual(s?["attempts"] as? Int, 2)
    }

    func testKill9DuringLongCommandThenRestart() throws {
        let count = out + "/count"
        let cmd = "sleep 2; echo {series} >> \(count)"
        add("P/ST/A", "1")
        let w = try watcher(["--quiet", "0.2", "--exec", cmd])
        XCTAssertTrue(w.wait(timeout: 10) { _, err, _ in err.contains { $0.contains("attempt 1 started") } })
        kill(w.pid, SIGKILL)
        _ = w.waitForExit(timeout: 10)
        let again = try watcher(["--quiet", "0.2", "--exec", cmd])
        waitFor(20, "the rerun") { self.state("P/ST/A", cmd)?["status"] as? String == "done" }
        XCTAssertEqual(again.stop(), 0)
        XCTAssertTrue(again.stderr.contains("claimed elsewhere"), "the orphaned command should have kept its claim: \(again.stderr)")
        let statuses = history(state("P/ST/A", cmd)).map { $0["status"] as? String }
        XCTAssertEqual(statuses, ["interrupted", "done"])
    }

    func testSigtermRollsBackTheCommandInFlight() throws {
        let count = out + "/count", flag = out + "/slow"
        XCTAssertTrue(FileManager.default.createFile(atPath: flag, contents: Data()))
        let cmd = "if [ -e \(flag) ]; then sleep 30; fi; echo {series} >> \(count)"
        add("P/ST/A", "1")
        let w = try watcher(["--quiet", "0.2", "--stop-grace", "0.5", "--exec", cmd])
        XCTAssertTrue(w.wait(timeout: 10) { _, err, _ in err.contains { $0.contains("attempt 1 started") } })
        let t0 = Date()
        XCTAssertEqual(w.stop(SIGTERM, grace: 10), 0)
        XCTAssertLessThan(Date().timeIntervalSince(t0), 6)
        let s = state("P/ST/A", cmd)
        XCTAssertEqual(s?["status"] as? String, "complete")
        XCTAssertEqual(s?["attempts"] as? Int, 0)
        try FileManager.default.removeItem(atPath: flag)
        let again = try watcher(["--quiet", "0.2", "--exec", cmd])
        waitFor(10, "the rerun") { lines(count).count == 1 }
        XCTAssertEqual(again.stop(), 0)
        XCTAssertEqual(state("P/ST/A", cmd)?["status"] as? String, "done")
    }
}

private extension String {
    var leftPad16: String { String(repeating: "0", count: max(0, 16 - count)) + self }
}
