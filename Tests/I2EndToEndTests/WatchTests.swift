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

    /// Overall limit of every wait below: only a guard against a hang, never what a test measures.
    let guardTimeout: TimeInterval = 60

    /// Polls `condition` (a file or a process's output, checked every 20 ms) until it holds.
    func waitFor(_ what: String, file: StaticString = #filePath, line: UInt = #line, _ condition: () -> Bool) {
        let end = Date().addingTimeInterval(guardTimeout)
        while !condition() {
            if Date() > end { return XCTFail("timed out waiting for \(what)", file: file, line: line) }
            usleep(20_000)
        }
    }

    /// Waits until the watcher's stderr has a line containing each of `events` (its own log lines),
    /// or it exits.
    func waitForLog(_ w: RXProcess, _ events: String..., file: StaticString = #filePath, line: UInt = #line) {
        let seen = w.wait(timeout: guardTimeout) { _, err, exited in
            exited || events.allSatisfy { e in err.contains { $0.contains(e) } }
        }
        let err = w.stderr
        for e in events where !err.contains(e) {
            XCTFail("\(seen ? "the watcher exited" : "timed out") without logging '\(e)'; stderr:\n\(err)", file: file, line: line)
        }
    }

    /// The watcher's log line when the command for ROOT/REL succeeded.
    func done(_ rel: String) -> String { root + "/" + rel + ": done (" }

    /// Seconds since the newest visible file of ROOT/REL last changed (its ctime: what the watcher's quiet timer uses).
    func quietFor(_ rel: String) -> TimeInterval {
        let dir = root + "/" + rel
        var newest = 0.0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where !name.hasPrefix(".") {
            var st = stat()
            if stat(dir + "/" + name, &st) == 0 {
                newest = max(newest, Double(st.st_ctim.tv_sec) + Double(st.st_ctim.tv_nsec) / 1e9)
            }
        }
        return Date().timeIntervalSince1970 - newest
    }

    /// The watch state of a series directory for a command: the .i2-watch-*.json that records it.
    func state(_ dir: String, _ command: String) -> [String: Any]? {
        let d = "\(root)/\(dir)"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: d)) ?? [] where name.hasPrefix(".i2-watch-") && name.hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: d + "/" + name),
                  let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any], o["command"] as? String == command else { continue }
            return o
        }
        return nil
    }
    func history(_ s: [String: Any]?) -> [[String: Any]] { s?["history"] as? [[String: Any]] ?? [] }

    /// The key i2 watch names a command's files with, learnt from a run of that command on a scratch
    /// root (the caller removes what the command wrote for it).
    func watchKey(_ command: String) throws -> String {
        let scratch = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: scratch + "/P/ST/K", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: scratch + "/P/ST/K/1.dcm"))
        try TestSupport.i2(["watch", "--once", "--quiet", "0", "--exec", command, scratch])
        let name = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: scratch + "/P/ST/K")
            .first { $0.hasPrefix(".i2-watch-") && $0.hasSuffix(".json") })
        return String(name.dropFirst(10).dropLast(5))
    }

    // MARK: tests
    // Every wait is for an event: a line the watcher prints, a state file changing, a process exiting.
    // "Nothing else happened" is checked with a sentinel: a series added last, which the watcher can
    // only finish after it has looked again at everything older (older series are quiet first).

    func testPerSeriesQuietTimersAndStdout() throws {
        add("P/ST/BUSY", "0")
        add("P/ST/CALM", "0")
        let busy = root + "/P/ST/BUSY", calm = root + "/P/ST/CALM"
        let w = try watcher(["--quiet", "1"])
        // BUSY receives a file every 0.1 s (ten per quiet period) until CALM has been handed over.
        var fed = 0
        let end = Date().addingTimeInterval(guardTimeout)
        while !w.wait(timeout: 0.1, until: { out, _, exited in exited || out.contains(calm) }) && Date() < end {
            fed += 1
            add("P/ST/BUSY", String(fed))
        }
        XCTAssertTrue(w.stdout.contains(calm), "the calm series was not handed over while the other kept receiving")
        XCTAssertFalse(w.stdout.contains(busy), "the busy series was handed over while still receiving")
        for _ in 0..<5 {
            XCTAssertFalse(w.wait(timeout: 0.1) { out, _, _ in out.contains(busy) }, "handed over while still receiving")
            fed += 1
            add("P/ST/BUSY", String(fed))
        }
        let lastFeed = Date()
        XCTAssertTrue(w.wait(timeout: guardTimeout) { out, _, _ in out.contains(busy) }, "the busy series was never handed over")
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(lastFeed), 0.9, "handed over before it was quiet for --quiet")
        add("P/ST/LAST", "0")
        XCTAssertTrue(w.wait(timeout: guardTimeout) { out, _, _ in out.contains(self.root + "/P/ST/LAST") })
        XCTAssertEqual(w.stop(), 0)
        XCTAssertEqual(w.stdout.sorted(), [busy, calm, root + "/P/ST/LAST"], "each series printed once")
        XCTAssertEqual(state("P/ST/BUSY", "")?["handed_files"] as? Int, fed + 1)
    }

    func testExecRunsOncePerSeriesAndRestartDoesNotRerun() throws {
        let count = out + "/count"
        let cmd = "echo {series} >> \(count)"
        add("P/ST/A", "1"); add("P/ST/A", "2"); add("P/ST/B", "1")
        let w = try watcher(["--quiet", "0.3", "--exec", cmd])
        waitForLog(w, done("P/ST/A"), done("P/ST/B"))
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
        add("P/ST/C", "1")   // sentinel
        waitForLog(again, done("P/ST/C"))
        XCTAssertEqual(again.stop(), 0)
        XCTAssertEqual(lines(count).sorted(), ["A", "B", "C"].map { root + "/P/ST/" + $0 }, "a restarted watcher reran done series")
        // A different command is a different key: it processes the series again.
        let other = try watcher(["--quiet", "0.3", "--exec", cmd + " # v2"])
        waitForLog(other, done("P/ST/A"), done("P/ST/B"), done("P/ST/C"))
        XCTAssertEqual(other.stop(), 0)
        XCTAssertEqual(lines(count).sorted(), ["A", "A", "B", "B", "C", "C"].map { root + "/P/ST/" + $0 })
    }

    func testLateInstanceTriggersExactlyOneFollowUp() throws {
        let count = out + "/count"
        let cmd = "echo \"$(basename {series}) $I2_WATCH_RUN $I2_WATCH_FOLLOW_UP $I2_WATCH_FILES\" >> \(count)"
        add("P/ST/A", "1")
        let w = try watcher(["--quiet", "0.3", "--exec", cmd])
        waitForLog(w, root + "/P/ST/A: done (run 1,")
        add("P/ST/A", "late")
        waitForLog(w, root + "/P/ST/A: done (run 2,")
        add("P/ST/B", "1")   // sentinel: a third run of A would come before it
        waitForLog(w, done("P/ST/B"))
        XCTAssertEqual(w.stop(), 0)
        XCTAssertEqual(lines(count), ["A 1 0 1", "A 2 1 2", "B 1 0 1"])
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
        waitForLog(w, "P/ST/BAD: failed after 3 attempts", done("P/ST/GOOD"))
        let log = root + "/P/ST/BAD/.i2-watch-"
        XCTAssertTrue(w.stderr.contains("P/ST/BAD: failed after 3 attempts (exit status 3); log: \(log)"), w.stderr)
        add("P/Q/LATER", "1")
        waitForLog(w, done("P/Q/LATER"))
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
        func runs(_ w: RXProcess) -> Int { w.stderr.components(separatedBy: ": done (").count - 1 }
        waitFor("all series") { runs(a) + runs(b) >= names.count }
        add("P/ST/Z", "1")   // sentinel
        waitFor("the sentinel") { a.stderr.contains(done("P/ST/Z")) || b.stderr.contains(done("P/ST/Z")) }
        XCTAssertEqual(a.stop(), 0)
        XCTAssertEqual(b.stop(), 0)
        XCTAssertEqual(lines(count).sorted(), (names + ["Z"]).map { root + "/P/ST/" + $0 }.sorted())
        for n in names { XCTAssertEqual(history(state("P/ST/\(n)", cmd)).count, 1, n) }
    }

    func testOnceHandlesWhatIsCompleteAndExits() throws {
        let count = out + "/count"
        add("P/ST/OLD1", "1"); add("P/ST/OLD2", "1")
        // OLD* complete (quiet for more than --quiet 2) when the watcher starts, FRESH not.
        waitFor("OLD1 and OLD2 to be quiet") { quietFor("P/ST/OLD1") > 2.2 && quietFor("P/ST/OLD2") > 2.2 }
        add("P/ST/FRESH", "1")
        let cmd = "echo {series} >> \(count); case {series} in *OLD2) exit 1;; esac"
        let w = try watcher(["--once", "--quiet", "2", "--retries", "1", "--retry-delay", "0.1", "--exec", cmd])
        XCTAssertEqual(w.waitForExit(timeout: guardTimeout), 1, "--once: 1 when a series failed")
        XCTAssertEqual(lines(count).sorted(), [root + "/P/ST/OLD1", root + "/P/ST/OLD2", root + "/P/ST/OLD2"])
        XCTAssertNil(state("P/ST/FRESH", cmd)?["run"].flatMap { $0 as? Int }.flatMap { $0 > 0 ? $0 : nil })
        waitFor("FRESH to be quiet") { quietFor("P/ST/FRESH") > 0.6 }
        let print = try watcher(["--once", "--quiet", "0.5"])
        XCTAssertEqual(print.waitForExit(timeout: guardTimeout), 0)
        XCTAssertEqual(print.stdout.sorted(), ["FRESH", "OLD1", "OLD2"].map { root + "/P/ST/" + $0 })
        let again = try watcher(["--once", "--quiet", "0.5"])
        XCTAssertEqual(again.waitForExit(timeout: guardTimeout), 0)
        XCTAssertEqual(again.stdout, [], "a second --once printed done series again")
    }

    func testGroupStudyHandsOverWholeStudies() throws {
        let count = out + "/count"
        let cmd = "echo {series} $(basename {study}) >> \(count)"
        add("P/ST1/A", "1"); add("P/ST1/B", "1"); add("P/ST2/C", "1")
        let w = try watcher(["--group", "study", "--quiet", "1", "--exec", cmd])
        // One series of ST1 keeps receiving (a file every 0.1 s) until ST2 is done: ST1 as a whole is not quiet.
        var fed = 0
        let end = Date().addingTimeInterval(guardTimeout)
        let st2 = done("P/ST2")
        while !w.wait(timeout: 0.1, until: { _, err, exited in exited || err.contains { $0.contains(st2) } }) && Date() < end {
            fed += 1
            add("P/ST1/B", "more\(fed)")
        }
        XCTAssertTrue(w.stderr.contains(st2), w.stderr)
        XCTAssertFalse(w.stderr.contains(root + "/P/ST1:"), "ST1 was handed over while one of its series was receiving")
        waitForLog(w, done("P/ST1"))
        add("P/ST3/D", "1")   // sentinel
        waitForLog(w, done("P/ST3"))
        XCTAssertEqual(w.stop(), 0)
        XCTAssertEqual(lines(count).sorted(), [root + "/P/ST1 ST1", root + "/P/ST2 ST2", root + "/P/ST3 ST3"])
        XCTAssertEqual(state("P/ST1", cmd)?["handed_files"] as? Int, 2 + fed)
    }

    func testStaleAndLiveLocks() throws {
        let count = out + "/count", release = out + "/release"
        let cmd = "echo {series} >> \(count)"
        add("P/ST/STALE", "1"); add("P/ST/HELD", "1")
        let key = try watchKey(cmd)
        try? FileManager.default.removeItem(atPath: count)   // the scratch run's line
        // A dead watcher's leftovers: its lock file and a 'processing' state.
        try "pid=999999 host=\(ProcessInfo.processInfo.hostName)\n".write(toFile: "\(root)/P/ST/STALE/.i2-watch-\(key).lock", atomically: false, encoding: .utf8)
        let dead = #"{"version":1,"status":"processing","command":"x","key":"k","directory":"d","run":1,"attempts":1,"log":"l","handed_files":1,"handed_newest_ns":1,"created":"c","updated":"u","history":[]}"#
        try dead.write(toFile: "\(root)/P/ST/STALE/.i2-watch-\(key).json", atomically: false, encoding: .utf8)
        // A live holder: flock(1) keeps the other series claimed until the test releases it.
        let flockTool = try TestSupport.tool("flock", package: "util-linux")
        let holder = try background(flockTool, ["\(root)/P/ST/HELD/.i2-watch-\(key).lock", "/bin/sh", "-c",
                                                "echo held; while [ ! -e '\(release)' ]; do sleep 0.05; done"])
        addTeardownBlock { _ = FileManager.default.createFile(atPath: release, contents: Data()) }
        XCTAssertTrue(holder.wait(timeout: guardTimeout) { out, _, _ in out.contains("held") }, "flock did not take the lock")
        let w = try watcher(["--quiet", "0.2", "--exec", cmd])
        waitForLog(w, done("P/ST/STALE"), root + "/P/ST/HELD: claimed elsewhere")
        XCTAssertFalse(lines(count).contains(root + "/P/ST/HELD"), "ran a series another process holds")
        XCTAssertTrue(FileManager.default.createFile(atPath: release, contents: Data()))
        XCTAssertEqual(holder.waitForExit(timeout: guardTimeout), 0)
        waitForLog(w, done("P/ST/HELD"))
        XCTAssertEqual(w.stop(), 0)
        XCTAssertEqual(lines(count).sorted(), [root + "/P/ST/HELD", root + "/P/ST/STALE"])
        let s = state("P/ST/STALE", cmd)
        XCTAssertEqual(history(s).map { $0["status"] as? String }, ["interrupted", "done"])
        XCTAssertEqual(s?["attempts"] as? Int, 2)
    }

    func testKill9DuringLongCommandThenRestart() throws {
        let count = out + "/count", go = out + "/go"
        // The command runs until the test lets it finish (the file `go`), so the kill lands while it runs.
        let cmd = "while [ ! -e '\(go)' ]; do sleep 0.05; done; echo {series} >> \(count)"
        addTeardownBlock { _ = FileManager.default.createFile(atPath: go, contents: Data()) }   // no orphan outlives a failure
        add("P/ST/A", "1")
        let w = try watcher(["--quiet", "0.2", "--exec", cmd])
        waitForLog(w, "attempt 1 started")
        kill(w.pid, SIGKILL)
        XCTAssertNotNil(w.waitForExit(timeout: guardTimeout))
        let again = try watcher(["--quiet", "0.2", "--exec", cmd])
        // The orphaned command still holds the claim: the new watcher must wait for it.
        waitForLog(again, root + "/P/ST/A: claimed elsewhere", "outlived the watcher that started it: waiting for it to end")
        XCTAssertEqual(state("P/ST/A", cmd)?["status"] as? String, "processing")
        XCTAssertTrue(FileManager.default.createFile(atPath: go, contents: Data()))
        waitFor("the orphan's outcome") { self.state("P/ST/A", cmd)?["status"] as? String == "done" }
        XCTAssertEqual(again.stop(), 0)
        // The orphan's exit status 0 is adopted: not run a second time.
        let statuses = history(state("P/ST/A", cmd)).map { $0["status"] as? String }
        XCTAssertEqual(statuses, ["done"])
        XCTAssertEqual(lines(count), [root + "/P/ST/A"])
    }

    func testSigtermRollsBackTheCommandInFlight() throws {
        let count = out + "/count", flag = out + "/slow"
        XCTAssertTrue(FileManager.default.createFile(atPath: flag, contents: Data()))
        let cmd = "if [ -e \(flag) ]; then sleep 30; fi; echo {series} >> \(count)"
        add("P/ST/A", "1")
        let w = try watcher(["--quiet", "0.2", "--stop-grace", "0.5", "--exec", cmd])
        waitForLog(w, "attempt 1 started")
        let t0 = Date()
        XCTAssertEqual(w.stop(SIGTERM, grace: 10), 0)
        XCTAssertLessThan(Date().timeIntervalSince(t0), 6, "did not stop the command after --stop-grace")
        let s = state("P/ST/A", cmd)
        XCTAssertEqual(s?["status"] as? String, "complete")
        XCTAssertEqual(s?["attempts"] as? Int, 0)
        try FileManager.default.removeItem(atPath: flag)
        let again = try watcher(["--quiet", "0.2", "--exec", cmd])
        waitForLog(again, done("P/ST/A"))
        XCTAssertEqual(again.stop(), 0)
        XCTAssertEqual(lines(count), [root + "/P/ST/A"])
        XCTAssertEqual(state("P/ST/A", cmd)?["status"] as? String, "done")
    }
}

private extension String {
}
