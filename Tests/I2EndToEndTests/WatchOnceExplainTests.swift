// `i2 watch --once` says, per series and at the default log level, why it hands a series over or not:
// empty, not quiet yet (with the seconds left), already done by this command, failed (and not retried
// until new files come), failed and waiting for a retry, or claimed by another watcher.
import Foundation
import XCTest
import I2TestSupport

final class WatchOnceExplainTests: XCTestCase {
    var root = ""
    override func setUp() { root = TestSupport.tempDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func add(_ rel: String) throws {
        let dir = root + "/" + rel
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestSupport.fixture("dcmqi/ct-3slice/01.dcm"), toPath: dir + "/01.dcm")
    }

    /// `i2 watch --once ... ROOT`; stderr's lines about `series` (its path followed by ':').
    func once(_ args: [String], expect status: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.Result {
        let r = try TestSupport.i2(["watch", "--once", "--poll", "0.05"] + args + [root])
        XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
        return r
    }
    func about(_ r: TestSupport.Result, _ series: String) -> [String] {
        r.stderr.split(separator: "\n").map(String.init).filter { $0.contains(root + "/" + series + ":") }
    }

    func testEachSeriesSaysWhyItIsNotHandedOver() throws {
        let cmd = "case {series} in *FAIL*) exit 3;; esac"
        try FileManager.default.createDirectory(atPath: root + "/P/ST/EMPTY", withIntermediateDirectories: true)
        try add("P/ST/FRESH")
        try add("P/ST/FAIL")

        // Nothing is quiet for 60 s yet: empty and not-quiet series are named, nothing runs.
        let a = try once(["--quiet", "60", "--exec", cmd])
        XCTAssertEqual(a.stdout, "")
        XCTAssertTrue(about(a, "P/ST/EMPTY").contains { $0.contains("empty") }, a.stderr)
        for s in ["P/ST/FRESH", "P/ST/FAIL"] {
            let l = about(a, s)
            XCTAssertTrue(l.contains { $0.contains("not quiet yet") && $0.contains("s left") }, "\(s): \(a.stderr)")
        }

        // Quiet at once: FRESH runs and is done, FAIL fails (no retries).
        let b = try once(["--quiet", "0", "--retries", "0", "--exec", cmd], expect: 1)
        XCTAssertTrue(about(b, "P/ST/FRESH").contains { $0.contains("done") }, b.stderr)
        XCTAssertTrue(about(b, "P/ST/FAIL").contains { $0.contains("failed") }, b.stderr)

        // Again: nothing to do, and each says why.
        let c = try once(["--quiet", "0", "--retries", "0", "--exec", cmd])
        XCTAssertTrue(about(c, "P/ST/FRESH").contains { $0.contains("already done by this command") }, c.stderr)
        XCTAssertTrue(about(c, "P/ST/FAIL").contains { $0.contains("already failed") && $0.contains("exit status 3") }, c.stderr)
        XCTAssertFalse(c.stderr.contains("started"), "nothing should run again: \(c.stderr)")

        // Without --exec (printing), FRESH has no state for that "command": printed; then already printed.
        let d = try once(["--quiet", "0"])
        XCTAssertTrue(d.stdout.contains(root + "/P/ST/FRESH"), d.stdout)
        let e = try once(["--quiet", "0"])
        XCTAssertEqual(e.stdout, "")
        XCTAssertTrue(about(e, "P/ST/FRESH").contains { $0.contains("already printed") }, e.stderr)

        // A root with no series at all says so.
        try FileManager.default.removeItem(atPath: root + "/P")
        let f = try once(["--quiet", "0"])
        XCTAssertTrue(f.stderr.contains("no series directories"), f.stderr)
    }

    /// A failed attempt waiting for its retry (the watcher that ran it was stopped) is named with the wait.
    func testFailedAttemptWaitingForItsRetry() throws {
        try add("P/ST/RETRY")
        let cmd = "exit 3"
        let first = """
            '\(TestSupport.i2Path)' watch --once --poll 0.05 --quiet 0 --retries 1 --retry-delay 3 --exec '\(cmd)' '\(root)' 2>'\(root)/first.log' &
            pid=$!
            for _ in $(seq 200); do grep -q 'retrying in' '\(root)/first.log' && break; sleep 0.05; done
            kill -TERM $pid; wait $pid; cat '\(root)/first.log' >&2
            """
        let r0 = try TestSupport.run("/bin/bash", ["-c", first])
        XCTAssertTrue(r0.stderr.contains("retrying in"), r0.stderr)
        let r = try once(["--quiet", "0", "--retries", "1", "--retry-delay", "3", "--exec", cmd], expect: 1)
        XCTAssertTrue(about(r, "P/ST/RETRY").contains { $0.contains("waiting") && $0.contains("for the retry") }, r.stderr)
    }

    /// A series another watcher holds is named as claimed elsewhere.
    func testSeriesClaimedByAnotherWatcher() throws {
        try add("P/ST/BUSY")
        let cmd = "sleep 3"
        let first = """
            '\(TestSupport.i2Path)' watch --once --poll 0.05 --quiet 0 --exec '\(cmd)' '\(root)' 2>'\(root)/first.log' &
            pid=$!
            for _ in $(seq 200); do grep -q 'started' '\(root)/first.log' && break; sleep 0.05; done
            '\(TestSupport.i2Path)' watch --once --poll 0.05 --quiet 0 --exec '\(cmd)' '\(root)' 2>&1 &
            second=$!
            sleep 1; kill -TERM $second; wait $second
            wait $pid
            """
        let r = try TestSupport.run("/bin/bash", ["-c", first])
        XCTAssertTrue(r.stdout.contains(root + "/P/ST/BUSY: claimed elsewhere"), r.stdout + r.stderr)
    }
}
