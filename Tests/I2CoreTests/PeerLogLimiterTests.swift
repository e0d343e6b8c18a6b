// receive's per-peer log bound: `limit` lines per peer in a window, then a note; a summary of what was
// suppressed once the window ends (at the next line from anyone, or at flush); other peers unaffected.
import Foundation
import XCTest
@testable import I2Core

final class PeerLogLimiterTests: XCTestCase {
    func testLinesPastTheLimitAreCountedAndSummarisedWhenTheWindowEnds() {
        let l = PeerLogLimiter(limit: 3, window: 60)
        let t0 = Date(timeIntervalSince1970: 1000)
        var shown: [String] = []
        for i in 0..<10 { shown += l.admit(.warning, peer: "10.0.0.1", "bad \(i)", now: t0 + Double(i)).map(\.1) }
        XCTAssertEqual(shown, ["bad 0", "bad 1", "bad 2",
                               "10.0.0.1: 3 log lines in 60 s; further lines from this peer are counted, not logged, until then"])
        XCTAssertEqual(l.admit(.info, peer: "10.0.0.2", "other", now: t0 + 11).map(\.1), ["other"])
        XCTAssertEqual(l.admit(.info, peer: nil, "global", now: t0 + 12).map(\.1), ["global"])
        // The window of 10.0.0.1 ends at t0 + 60: the next line (from anyone) carries the summary first.
        XCTAssertEqual(l.admit(.info, peer: "10.0.0.1", "again", now: t0 + 61).map(\.1),
                       ["10.0.0.1: suppressed 7 more log lines from this peer (over 3 in 60 s)", "again"])
        XCTAssertEqual(l.flush().map(\.1), [])
    }

    func testFlushSummarisesAtStop() {
        let l = PeerLogLimiter(limit: 1, window: 60)
        for _ in 0..<5 { _ = l.admit(.warning, peer: "::1", "x") }
        XCTAssertEqual(l.flush().map(\.1), ["::1: suppressed 4 more log lines from this peer (over 1 in 60 s)"])
        XCTAssertEqual(l.flush().map(\.1), [])
    }
}
