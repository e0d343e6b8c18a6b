// The Prometheus text exposition of Metrics (the format node_exporter's textfile collector parses),
// and MetricsWriter's rewrites: whole files only, counters never going down.
import Foundation
import XCTest
import I2TestSupport
@testable import I2Core

final class MetricsTests: XCTestCase {
    func testTextExpositionOfEachKind() {
        let m = Metrics()
        m.declare("i2_test_total", .counter, "Things\nseen \\ counted")
        m.declare("i2_test_open", .gauge, "Open now")
        m.declare("i2_test_seconds", .histogram, "Durations", buckets: [1, 0.5])
        m.add("i2_test_total", [("reason", "a \"quoted\"\nvalue")], 2)
        m.add("i2_test_total", [("reason", "plain")])
        m.add("i2_test_total", [("reason", "plain")], -5)   // a counter never goes down
        m.set("i2_test_open", [], 3)
        m.observe("i2_test_seconds", [("outcome", "done")], 0.25)
        m.observe("i2_test_seconds", [("outcome", "done")], 0.75)
        m.observe("i2_test_seconds", [("outcome", "done")], 9)
        XCTAssertEqual(m.text(), """
            # HELP i2_test_total Things\\nseen \\\\ counted
            # TYPE i2_test_total counter
            i2_test_total{reason="a \\"quoted\\"\\nvalue"} 2
            i2_test_total{reason="plain"} 1
            # HELP i2_test_open Open now
            # TYPE i2_test_open gauge
            i2_test_open 3
            # HELP i2_test_seconds Durations
            # TYPE i2_test_seconds histogram
            i2_test_seconds_bucket{outcome="done",le="0.5"} 1
            i2_test_seconds_bucket{outcome="done",le="1"} 2
            i2_test_seconds_bucket{outcome="done",le="+Inf"} 3
            i2_test_seconds_sum{outcome="done"} 10
            i2_test_seconds_count{outcome="done"} 3

            """)
    }

    func testNumbersAndClearedGauges() {
        XCTAssertEqual(Metrics.number(300), "300")
        XCTAssertEqual(Metrics.number(0.008), "0.008")
        XCTAssertEqual(Metrics.number(68_461_019_136), "68461019136")
        XCTAssertEqual(Metrics.number(.infinity), "+Inf")
        let m = Metrics()
        m.declare("g", .gauge, "g")
        m.set("g", [("state", "a")], 1)
        m.clear("g")
        m.set("g", [("state", "b")], 2)
        XCTAssertEqual(m.text(), "# HELP g g\n# TYPE g gauge\ng{state=\"b\"} 2\n")
    }

    func testWriterRewritesWholeFilesAndCountersOnlyGrow() throws {
        let dir = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/m.prom"
        let r = ReceiveMetrics()
        let w = MetricsWriter(path: path, metrics: r.metrics, interval: 0.02, events: .none) { r.storage(free: 5, minFree: 1, accepting: true) }
        w.start()
        var seen: [Double] = []
        for i in 0..<50 {
            r.stored(bytes: 10)
            if i == 10 { r.rejected("invalid_uid") }
            let text = try String(contentsOfFile: path, encoding: .utf8)
            XCTAssertTrue(text.hasSuffix("\n") && text.contains("# TYPE i2_receive_bytes_total counter"))
            let line = text.split(separator: "\n").first { $0.hasPrefix("i2_receive_instances_total{outcome=\"stored\"} ") }
            seen.append(Double(line?.split(separator: " ").last ?? "") ?? -1)
            usleep(2_000)
        }
        w.stop()
        XCTAssertEqual(seen, seen.sorted(), "a counter went down between rewrites")
        let final = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(final.contains("i2_receive_instances_total{outcome=\"stored\"} 50\n"), final)
        XCTAssertTrue(final.contains("i2_receive_bytes_total 500\n"))
        XCTAssertTrue(final.contains("i2_receive_instances_rejected_total{reason=\"invalid_uid\"} 1\n"))
        XCTAssertTrue(final.contains("i2_receive_accepting 1\n"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["m.prom"], "no temporary left")
    }

    func testAges() {
        XCTAssertEqual(SeriesStatus.age(45), "45s")
        XCTAssertEqual(SeriesStatus.age(192), "3m12s")
        XCTAssertEqual(SeriesStatus.age(7500), "2h05m")
        XCTAssertEqual(SeriesStatus.age(273_600), "3d04h")
        XCTAssertEqual(SeriesStatus.age(-3), "0s")
    }
}

/// WatchClock formats and parses the state files' timestamps itself (Foundation's ISO 8601 formatter
/// cost i2 status most of its time); the text must stay what that formatter wrote and read.
final class WatchClockTests: XCTestCase {
    func testTimestampsAsFoundationWritesThem() {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for t in [0.0, 1_796_295_772.704, 1_796_295_772.9999, 951_782_400.5, 4_102_444_799.001] {
            let mine = WatchClock.timestamp(t)
            XCTAssertEqual(mine.count, 24, mine)
            XCTAssertEqual(f.date(from: mine)!.timeIntervalSince1970, (t * 1000).rounded() / 1000, accuracy: 1e-6, mine)
            XCTAssertEqual(WatchClock.seconds(mine)!, (t * 1000).rounded() / 1000, accuracy: 1e-6, mine)
        }
        XCTAssertEqual(WatchClock.timestamp(1_796_295_772.704), "2026-12-03T11:02:52.704Z")
        XCTAssertEqual(WatchClock.seconds("2026-12-03T11:02:52Z"), 1_796_295_772)
        XCTAssertNil(WatchClock.seconds("2026-12-03T12:02:52.5+01:00"), "only the form i2 writes")
        XCTAssertEqual(WatchClock.seconds("2026-12-03T11:02:52.123456789Z")!, 1_796_295_772.123456789, accuracy: 1e-6)
        // A damaged state's 40-digit fraction: nil (Foundation's ICU parser dies of SIGFPE on it).
        XCTAssertNil(WatchClock.seconds("2026-12-03T11:02:52.\(String(repeating: "9", count: 40))Z"))
        XCTAssertNil(WatchClock.seconds("2026-12-03"))
        XCTAssertNil(WatchClock.seconds("not a time"))
    }
}
