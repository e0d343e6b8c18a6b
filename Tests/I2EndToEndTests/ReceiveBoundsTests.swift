// i2 receive's bounds against hostile peers (issue 11): a DIMSE command set nested 20,000 sequences
// deep (DCMTK parses command sets in memory, recursively: it crashed the node) and a flood of malformed
// connections (one log line each: now at most 20 per peer a minute, then one summary). Peers are
// Tests/Tools/hostile_peer.py on 127.0.0.1.
import Foundation
import XCTest
import I2TestSupport

extension ReceiveHardeningTests {
    func testDeeplyNestedCommandSetIsRefusedAndTheNodeStaysUp() throws {
        let r = try startReceiver(path("root"))
        // Split over 16 kB PDVs (20,000 levels), and in one PDV (1,500 levels, 48 kB): aborted either way
        // (the peer may see the abort, or a reset while it is still sending).
        for args in [["20000"], ["1500", "one"]] {
            let answer = try hostile(["deepcommand", String(r.port)] + args)
            XCTAssertTrue(["abort", "closed"].contains(answer), "\(args): \(answer)")
        }
        try assertAlive(r)
        XCTAssertEqual(r.process.stop(), 0, r.process.stderr)
        XCTAssertTrue(r.process.stderr.contains("DEEPCMD@127.0.0.1: element (0040,A730) in a command set"), r.process.stderr)
        XCTAssertTrue(r.process.stderr.contains("DEEPCMD@127.0.0.1: a command set split over several PDVs"), r.process.stderr)
    }

    func testMalformedConnectionFloodIsRateLimitedPerPeer() throws {
        let r = try startReceiver(path("root"))
        _ = try hostile(["garbage", String(r.port), "200"])
        try assertAlive(r)
        XCTAssertEqual(r.process.stop(), 0, r.process.stderr)
        let lines = r.process.stderr.split(separator: "\n")
        let dropped = lines.filter { $0.contains("connection from 127.0.0.1 dropped: not a DICOM association request") }
        XCTAssertEqual(dropped.count, 20, r.process.stderr)
        XCTAssertLessThan(lines.count, 40, r.process.stderr)
        XCTAssertTrue(lines.contains { $0.contains("127.0.0.1: 20 log lines in 60 s; further lines from this peer are counted") }, r.process.stderr)
        // 180 dropped connections, and the legitimate association's two lines (same address).
        XCTAssertTrue(lines.contains { $0.contains("127.0.0.1: suppressed 182 more log lines from this peer") }, r.process.stderr)
    }
}
