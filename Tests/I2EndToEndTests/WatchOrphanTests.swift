// `i2 watch` killed with SIGKILL while its commands run: the orphaned commands finish on their own, and
// the restarted watcher adopts the exit status each one recorded (through its supervising shell)
// instead of running the series again. Uses WatchTests' helpers (series layout, background watchers,
// state files).
import Foundation
import XCTest
import I2TestSupport

extension WatchTests {
    /// 10 series, all commands running when the watcher is killed: the 8 that succeed run exactly once
    /// (done, exit status 0, one attempt); the 2 that exit 3 have that recorded as a failed attempt, then
    /// get exactly the one retry --retries 1 allows (never a blind rerun of the orphan).
    func testKill9WhileTenCommandsRunEachSeriesRunsOnceAndOutcomesAreAdopted() throws {
        let names = (0..<8).map { "OK\($0)" } + ["FAIL0", "FAIL1"]
        for n in names { add("P/ST/\(n)", "1") }
        // Each run appends a line to OUT/<series name>, then works for 1.5 s; FAIL* series exit 3.
        let cmd = #"n=$(basename {series}); echo "$I2_WATCH_ATTEMPT" >> '\#(out)'/$n; sleep 1.5; case $n in FAIL*) exit 3;; esac"#
        let args = ["--quiet", "0.2", "--jobs", "10", "--retries", "1", "--retry-delay", "0.2", "--exec", cmd]
        let w = try watcher(args)
        waitFor("every command started") { names.allSatisfy { !self.lines(self.out + "/" + $0).isEmpty } }
        kill(w.pid, SIGKILL)
        XCTAssertNotNil(w.waitForExit(timeout: guardTimeout))
        XCTAssertTrue(names.allSatisfy { state("P/ST/\($0)", cmd)?["status"] as? String == "processing" },
                      "the commands ended before the kill: the test proves nothing")
        let again = try watcher(args)
        waitFor("every series settled") {
            names.allSatisfy { ["done", "failed"].contains(self.state("P/ST/\($0)", cmd)?["status"] as? String ?? "") }
        }
        // A sentinel added last: once it is done, the watcher has looked at every older series again.
        add("P/ST/ZZ", "1")
        waitForLog(again, done("P/ST/ZZ"))
        XCTAssertEqual(again.stop(), 0)
        for n in names where n.hasPrefix("OK") {
            XCTAssertEqual(lines(out + "/" + n), ["1"], "\(n) ran more than once; watcher log:\n\(again.stderr)")
            let s = state("P/ST/\(n)", cmd)
            XCTAssertEqual(s?["status"] as? String, "done", n)
            XCTAssertEqual(s?["attempts"] as? Int, 1, n)
            XCTAssertEqual(s?["last_exit_status"] as? Int, 0, n)
            XCTAssertEqual(history(s).map { $0["status"] as? String }, ["done"], n)
            XCTAssertEqual(history(s).map { $0["exit_status"] as? Int }, [0], n)
        }
        for n in names where n.hasPrefix("FAIL") {
            XCTAssertEqual(lines(out + "/" + n), ["1", "2"], "\(n): the orphan's failure plus one retry, nothing more")
            let s = state("P/ST/\(n)", cmd)
            XCTAssertEqual(s?["status"] as? String, "failed", n)
            XCTAssertEqual(history(s).map { $0["status"] as? String }, ["failed", "failed"], n)
            XCTAssertEqual(history(s).map { $0["exit_status"] as? Int }, [3, 3], "the orphan's exit status was not recorded: \(n)")
        }
        XCTAssertTrue(again.stderr.contains("ended with exit status 0 after its watcher was gone"), again.stderr)
    }

    /// A command killed together with its watcher leaves no record: that attempt counts as interrupted,
    /// a warning says why, and the retry policy runs it again.
    func testCommandKilledWithItsWatcherIsRetriedWithAReason() throws {
        let go = out + "/go", count = out + "/count"
        addTeardownBlock { _ = FileManager.default.createFile(atPath: go, contents: Data()) }
        let cmd = "echo x >> '\(count)'; while [ ! -e '\(go)' ]; do sleep 0.05; done"
        add("P/ST/A", "1")
        let args = ["--quiet", "0.2", "--retries", "1", "--retry-delay", "0.2", "--exec", cmd]
        let w = try watcher(args)
        waitFor("the command") { !self.lines(count).isEmpty }
        // The watcher and the command's whole process group (the command runs in its own group).
        let lockName = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: "\(root)/P/ST/A").first { $0.hasSuffix(".lock") })
        let holder = try String(contentsOfFile: "\(root)/P/ST/A/\(lockName)", encoding: .utf8)
        let child = try XCTUnwrap(holder.split(separator: " ").first { $0.hasPrefix("child=") }.flatMap { Int32($0.dropFirst(6)) })
        kill(w.pid, SIGKILL)
        XCTAssertNotNil(w.waitForExit(timeout: guardTimeout))
        XCTAssertEqual(kill(-child, SIGKILL), 0)
        XCTAssertTrue(FileManager.default.createFile(atPath: go, contents: Data()))
        let again = try watcher(args)
        waitForLog(again, "P/ST/A: attempt 1 of run 1 has no recorded outcome", done("P/ST/A"))
        XCTAssertEqual(again.stop(), 0)
        XCTAssertEqual(lines(count).count, 2)
        let s = state("P/ST/A", cmd)
        XCTAssertEqual(history(s).map { $0["status"] as? String }, ["interrupted", "done"])
        XCTAssertEqual(s?["attempts"] as? Int, 2)
    }
}
