// The one stop mechanism, in-process: the flag C code polls, actions run once and in order, late
// registrations run at once. (Signals feeding it are exercised end to end by ExitStatusTests.)
import XCTest
@testable import I2Core

final class StopTokenTests: XCTestCase {
    func testStopSetsTheFlagRecordsTheSignalAndRunsActionsOnceInOrder() {
        let t = StopToken()
        var ran: [Int] = []
        t.onStop { ran.append(1) }
        t.onStop { ran.append(2) }
        XCTAssertFalse(t.isStopped)
        XCTAssertEqual(t.flag.pointee, 0)
        t.stop(signal: SIGTERM)
        t.stop(signal: SIGINT)
        XCTAssertTrue(t.isStopped)
        XCTAssertNotEqual(t.flag.pointee, 0)
        XCTAssertEqual(t.signal, SIGTERM, "the first stop counts")
        XCTAssertEqual(ran, [1, 2])
        t.onStop { ran.append(3) }
        XCTAssertEqual(ran, [1, 2, 3], "registered after the stop: runs at once")
    }

    func testReporterMarksAnInterruptedRunUnlessTheServiceEndedNormally() {
        let t = StopToken()
        let r = Reporter(EngineContext(stop: t))
        r.output("a")
        r.failed(I2Error(.badInput, path: "b", "bad"))
        t.stop(signal: SIGINT)
        let report = r.finish()
        XCTAssertEqual(report.produced, 1)
        XCTAssertEqual(report.failures.map(\.path), ["b"])
        XCTAssertEqual(report.interruptedBy, SIGINT)
        XCTAssertEqual(Reporter(EngineContext(stop: t)).finish(interruptible: false).interruptedBy, 0)
    }
}
