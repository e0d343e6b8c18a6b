// --metrics-file on a scripted run: a real i2 receive fed by DCMTK's storescu (300 instances in 3 series,
// plus 2 that receive refuses: StudyInstanceUID not a UID), then i2 watch whose command fails on one
// series. The files must pass `promtool check metrics` (Debian prometheus), the counters must equal the
// run's counts, and no counter may go down between rewrites.
import Foundation
import XCTest
import I2TestSupport

final class MetricsTests: XCTestCase {
    var dir = ""
    override func setUp() { dir = TestSupport.tempDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// A metrics file as sample → value ("name{labels}" as written).
    static func samples(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            out[String(line[..<space])] = Double(line[line.index(after: space)...].replacingOccurrences(of: "+Inf", with: "inf"))
        }
        return out
    }

    /// Reads `path` every few ms on its own thread until stopped, keeping every distinct content.
    final class Sampler: @unchecked Sendable {
        let path: String
        private let lock = NSLock()
        private var texts: [String] = []
        private var running = true
        private let done = DispatchSemaphore(value: 0)
        init(_ path: String) {
            self.path = path
            Thread {
                while self.lock.withLock({ self.running }) {
                    if let t = try? String(contentsOfFile: path, encoding: .utf8) {
                        self.lock.withLock { if self.texts.last != t { self.texts.append(t) } }
                    }
                    usleep(20_000)
                }
                self.done.signal()
            }.start()
        }
        func stop() -> [String] { lock.withLock { running = false }; done.wait(); return lock.withLock { texts } }
    }

    /// Every counter-like sample (_total, _count, _sum, _bucket) never decreases from one rewrite to the next.
    func assertMonotonic(_ texts: [String], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertGreaterThan(texts.count, 2, "\(what): too few rewrites seen to compare", file: file, line: line)
        var last: [String: Double] = [:]
        for t in texts {
            XCTAssertTrue(t.hasSuffix("\n"), "\(what): a partial file was visible:\n\(t)", file: file, line: line)
            for (k, v) in Self.samples(t) {
                let name = k.split(separator: "{").first.map(String.init) ?? k
                guard ["_total", "_count", "_sum", "_bucket"].contains(where: name.hasSuffix) else { continue }
                if let before = last[k] { XCTAssertGreaterThanOrEqual(v, before, "\(what): \(k) went down", file: file, line: line) }
                last[k] = v
            }
        }
    }

    func promtool(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let exe = try TestSupport.tool("promtool", package: "prometheus")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let r = try TestSupport.run(exe, ["check", "metrics"], stdin: text)
        XCTAssertEqual(r.status, 0, "promtool check metrics \(path): \(r.stdout)\(r.stderr)", file: file, line: line)
        XCTAssertEqual((r.stdout + r.stderr).trimmingCharacters(in: .whitespacesAndNewlines), "", "promtool's lint findings", file: file, line: line)
    }

    func testScriptedRunCountsMatchAndPassPromtool() throws {
        _ = try TestSupport.tool("promtool", package: "prometheus")
        let root = dir + "/root", src = dir + "/src"
        var files: [String] = []
        var seriesUIDs: [String] = []
        let dcmdump = try TestSupport.tool("dcmdump", package: "dcmtk")
        for seed in 1...3 {
            try RX.makeSeries(src + "\(seed)", slices: 100, size: 32, seed: seed)
            let names = try FileManager.default.contentsOfDirectory(atPath: src + "\(seed)").sorted()
            files += names.map { src + "\(seed)/" + $0 }
            let uid = try TestSupport.run(dcmdump, ["-q", "+P", "0020,000e", src + "\(seed)/" + names[0]]).stdout
            seriesUIDs.append(try XCTUnwrap(uid.components(separatedBy: "[").dropFirst().first?.components(separatedBy: "]").first))
        }
        XCTAssertEqual(files.count, 300)
        // Two that receive refuses by reason invalid_uid (each its own SOP Instance UID).
        let bad = [dir + "/bad1.dcm", dir + "/bad2.dcm"]
        for b in bad { try FileManager.default.copyItem(atPath: files[0], toPath: b) }
        try E2E.edit(bad, "ds.StudyInstanceUID = 'not-a-uid'\nds.SOPInstanceUID = generate_uid()\nds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID")

        let rprom = dir + "/receive.prom", wprom = dir + "/watch.prom"
        let r = try startReceiver(root, ["--metrics-file", rprom, "--metrics-interval", "0.1"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: rprom), "written before receive says it is ready")
        let rs = Sampler(rprom)
        let run = try RX.storescu(r.port, files + bad, ["-nh"])
        XCTAssertEqual(run.succeeded.count, 300, run.output)
        XCTAssertEqual(run.failed.count, 2, run.output)
        XCTAssertTrue(r.waitForPaths(300), r.process.stderr)

        // The watch: fails (twice: one retry) on the second series, done on the others.
        let failing = seriesUIDs[1]
        let ws = Sampler(wprom)
        let w = try TestSupport.i2(["watch", "--once", "--quiet", "0", "--retries", "1", "--retry-delay", "0.3", "--metrics-file", wprom,
                                    "--metrics-interval", "0.1", "--exec", "sleep 0.2; case {series} in */\(failing)) exit 3;; esac", root])
        XCTAssertEqual(w.status, 1, w.stderr)
        XCTAssertEqual(r.process.stop(), 0)
        let rTexts = rs.stop(), wTexts = ws.stop()

        try promtool(rprom)
        try promtool(wprom)
        assertMonotonic(rTexts, "receive")
        assertMonotonic(wTexts, "watch")

        let rm = Self.samples(try String(contentsOfFile: rprom, encoding: .utf8))
        let storedBytes = RX.files(root).filter { $0.hasSuffix(".dcm") && !$0.hasPrefix(".") }.reduce(0.0) { sum, f in
            var st = stat()
            return sum + (stat(root + "/" + f, &st) == 0 ? Double(st.st_size) : 0)
        }
        let expected: [String: Double] = [
            "i2_receive_instances_total{outcome=\"stored\"}": 300,
            "i2_receive_instances_total{outcome=\"identical\"}": 0,
            "i2_receive_instances_total{outcome=\"rejected\"}": 2,
            "i2_receive_instances_rejected_total{reason=\"invalid_uid\"}": 2,
            "i2_receive_instances_rejected_total{reason=\"low_space\"}": 0,
            "i2_receive_instances_rejected_total{reason=\"duplicate\"}": 0,
            "i2_receive_bytes_total": storedBytes,
            "i2_receive_associations_total": 1,
            "i2_receive_associations_open": 0,
            "i2_receive_associations_rejected_total{reason=\"called_ae\"}": 0,
            "i2_receive_accepting": 0,   // the last rewrite, after the stop
        ]
        for (k, v) in expected { XCTAssertEqual(rm[k], v, k) }
        XCTAssertGreaterThan(storedBytes, 0)
        XCTAssertGreaterThan(rm["i2_receive_storage_free_bytes"] ?? 0, 0)
        XCTAssertTrue(rTexts.contains { Self.samples($0)["i2_receive_accepting"] == 1 }, "accepting while it served")

        let wm = Self.samples(try String(contentsOfFile: wprom, encoding: .utf8))
        let wexpected: [String: Double] = [
            "i2_watch_series_completed_total": 3,
            "i2_watch_series_done_total": 2,
            "i2_watch_series_retried_total": 1,
            "i2_watch_series_failed_total": 1,
            "i2_watch_series_processing": 0,
            "i2_watch_series{state=\"done\"}": 2,
            "i2_watch_series{state=\"failed\"}": 1,
            "i2_watch_series{state=\"received\"}": 0,
            "i2_watch_slurm_jobs{state=\"pending\"}": 0,
            "i2_watch_slurm_jobs{state=\"running\"}": 0,
            "i2_watch_handover_lag_seconds_count": 3,
            "i2_watch_tool_duration_seconds_count{outcome=\"done\"}": 2,
            "i2_watch_tool_duration_seconds_count{outcome=\"failed\"}": 2,
            "i2_watch_tool_duration_seconds_bucket{outcome=\"done\",le=\"0.1\"}": 0,
            "i2_watch_tool_duration_seconds_bucket{outcome=\"done\",le=\"+Inf\"}": 2,
        ]
        for (k, v) in wexpected { XCTAssertEqual(wm[k], v, k) }
        XCTAssertGreaterThanOrEqual(wm["i2_watch_tool_duration_seconds_sum{outcome=\"done\"}"] ?? 0, 0.4, "two commands of at least 0.2 s")
        XCTAssertTrue(wTexts.contains { Self.samples($0)["i2_watch_series_processing"] == 1 }, "a rewrite while a command ran shows it")
    }

    func testMetricsFileInAMissingDirectoryIsAUsageError() throws {
        let r = try TestSupport.i2(["receive", "--port", "1", "--metrics-file", dir + "/no/such/dir/m.prom", dir])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--metrics-file: \(dir)/no/such/dir is not a directory"), r.stderr)
        XCTAssertEqual(try TestSupport.i2(["watch", "--once", "--metrics-file", dir + "/no/m.prom", dir]).status, 2)
    }
}
