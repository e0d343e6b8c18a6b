// i2 send against peers that stop answering or abort (Tests/Tools/faulty_scp.py, and a TCP listener
// that never speaks): the retries are counted per batch, not per file, so the time to give up is bounded
// whatever the number of files; every retry (a reconnection after an abort included) waits for the
// documented backoff; the report has every documented key for failed files too; one default per option.
import Foundation
import XCTest
import I2TestSupport

/// faulty_scp.py MODE: `abort` answers the first P-DATA with an A-ABORT, `silent` never answers.
/// `accepts` are the times (seconds since 1970) of the connections it accepted.
final class FaultySCP {
    let port: Int
    let process: PeerProcess
    private let work = TestSupport.tempDirectory()

    init(_ mode: String) throws {
        let portFile = work + "/port"
        process = try PeerProcess(try E2E.python(), [E2E.tools + "/faulty_scp.py", mode, portFile, work + "/accepts"],
                                  log: work + "/faulty_scp.log")
        let proc = process
        try Peers.wait("faulty_scp.py \(mode)", log: process.log) {
            proc.isRunning && FileManager.default.fileExists(atPath: portFile)
        }
        port = Int(try String(contentsOfFile: portFile, encoding: .utf8))!
    }

    var address: String { "SCP@127.0.0.1:\(port)" }
    var accepts: [Double] {
        ((try? String(contentsOfFile: work + "/accepts", encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Double($0) }
    }

    deinit {
        process.stop()
        try? FileManager.default.removeItem(atPath: work)
    }
}

final class SendRetryTests: E2ECase {
    /// `n` distinct small files (copies of one CT slice; the SCPs here never look at the UIDs).
    func files(_ n: Int) throws -> [String] {
        let d = try mkdir("in")
        return try (0..<n).map { i in
            let f = d + "/\(i).dcm"
            try E2E.copy(TestSupport.fixture("pydicom-ct2/17106"), f)
            return f
        }
    }

    func run(_ args: [String]) throws -> (r: TestSupport.Result, seconds: Double) {
        let start = Date()
        let r = try TestSupport.run(TestSupport.i2Path, args)
        return (r, Date().timeIntervalSince(start))
    }

    func report(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    /// The per-file keys i2-send(1) documents for --report, read from the man page itself.
    func documentedKeys() throws -> [String] {
        let man = try String(contentsOfFile: E2E.root + "/man/i2-send.1", encoding: .utf8)
        guard let r = man.range(of: "and per file: "), let end = man[r.upperBound...].firstIndex(of: ".") else {
            XCTFail("i2-send(1) no longer lists the report's per-file keys"); return []
        }
        return man[r.upperBound..<end].components(separatedBy: ", ").map { $0.replacingOccurrences(of: "\\", with: "") }
    }

    func assertEveryKey(_ entries: [[String: Any]], file: StaticString = #filePath, line: UInt = #line) throws {
        let keys = try documentedKeys()
        XCTAssertEqual(keys.count, 8, "\(keys)", file: file, line: line)
        for e in entries {
            let missing = keys.filter { e[$0] == nil }
            XCTAssertEqual(missing, [], "entry \(e) lacks documented keys", file: file, line: line)
        }
    }

    /// A peer that accepts the association and then never answers a C-STORE: 20 files fail together
    /// after (retries+1) DIMSE timeouts plus the backoff, not 20 × that (240 s per file by default before).
    func testPeerThatNeverAnswersFailsTheWholeBatchWithinTheRetryBound() throws {
        let inputs = try files(20)
        let scp = try FaultySCP("silent")
        let timeout = 2.0, rep = path("report.json")
        let (r, seconds) = try run(["send", "--dimse-timeout", "2", "--retries", "1", "--retry-delay", "0.2",
                                    "--report", rep, "--to", scp.address] + inputs)
        XCTAssertEqual(r.status, 3, "nothing stored, peer unresponsive: exit 3\n\(r.stderr)")
        XCTAssertLessThan(seconds, 3 * timeout, "(1+1) × 2 s + 0.2 s is the bound, whatever the number of files\n\(r.stderr)")
        XCTAssertGreaterThanOrEqual(seconds, 2 * timeout, "gave up before the retries were spent\n\(r.stderr)")
        XCTAssertEqual(scp.accepts.count, 2, "one association per attempt, not per file\n\(r.stderr)")
        XCTAssertEqual(r.stdout, "")
        let doc = try report(rep)
        XCTAssertEqual(doc["result"] as? String, "unreachable")
        XCTAssertEqual((doc["counts"] as? [String: Int])?["failed"], 20)
        let entries = doc["files"] as! [[String: Any]]
        XCTAssertEqual(Set(entries.compactMap { $0["file"] as? String }), Set(inputs))
        XCTAssertTrue(entries.allSatisfy { $0["status"] as? String == "failed" })
        XCTAssertTrue(entries.allSatisfy { ($0["error_comment"] as? String)?.contains("DIMSE timeout") == true }, "\(entries[0])")
        try assertEveryKey(entries)
        XCTAssertTrue(r.stderr.contains("20 files not sent"), r.stderr)
    }

    /// A TCP peer that accepts and never says a word (nor a DICOM association): the ACSE timeout, per batch.
    func testSilentTCPPeerFailsTheWholeBatchWithinTheRetryBound() throws {
        let inputs = try files(20)
        let silent = try SilentPeer()
        defer { silent.stop() }
        let (r, seconds) = try run(["send", "--acse-timeout", "2", "--retries", "1", "--retry-delay", "0.2",
                                    "--to", "X@127.0.0.1:\(silent.port)"] + inputs)
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertLessThan(seconds, 3 * 2, "(1+1) × 2 s + 0.2 s is the bound, whatever the number of files\n\(r.stderr)")
        XCTAssertTrue(r.stderr.contains("ACSE timeout") && r.stderr.contains("20 files not sent"), r.stderr)
    }

    /// A peer that aborts every association at the first P-DATA: the reconnections wait 0.3, 0.6, 1.2 s
    /// (not 12 associations in half a second), then the batch fails at once, with the report complete.
    func testAbortMidTransferIsRetriedWithTheDocumentedBackoff() throws {
        let inputs = try files(5)
        let missing = path("in/missing.dcm")
        let scp = try FaultySCP("abort")
        let rep = path("report.json")
        let (r, _) = try run(["send", "--retries", "3", "--retry-delay", "0.3", "--json", "--report", rep,
                              "--to", scp.address] + inputs + [missing])
        XCTAssertEqual(r.status, 3, r.stderr)
        let t = scp.accepts
        XCTAssertEqual(t.count, 4, "retries + 1 associations for the batch, not per file\n\(r.stderr)")
        let gaps = zip(t.dropFirst(), t).map { $0 - $1 }
        for (gap, expected) in zip(gaps, [0.3, 0.6, 1.2]) {
            XCTAssertGreaterThanOrEqual(gap, expected - 0.02, "reconnection after \(gap) s, the backoff says \(expected) s: \(gaps)")
            XCTAssertLessThan(gap, expected + 0.5, "\(gaps)")
        }
        XCTAssertTrue(r.stderr.contains("re-establishing the association in 0.3 s"), r.stderr)
        let entries = try report(rep)["files"] as! [[String: Any]]
        XCTAssertEqual(entries.count, 6)
        try assertEveryKey(entries)
        let gone = entries.first { $0["file"] as? String == missing }
        XCTAssertTrue(gone?["sop_instance_uid"] is NSNull && gone?["transfer_syntax"] is NSNull, "\(String(describing: gone))")
    }

    /// --json records of stored files carry the same keys (with "path" for "file").
    func testJSONRecordsOfStoredFilesHaveEveryDocumentedKey() throws {
        let scp = try StoreSCPPeer(directory: path("received"))
        let (r, _) = try run(["send", "--json", "--to", scp.address] + (try files(3)))
        XCTAssertEqual(r.status, 0, r.stderr)
        let objects = try E2E.lines(r.stdout).map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(objects.count, 3)
        let keys = try documentedKeys().filter { $0 != "file" } + ["path"]
        for o in objects { XCTAssertEqual(keys.filter { o[$0] == nil }, [], "--json record lacks keys: \(o)") }
    }

    /// Each option's man entry states at most one default (i2-send(1) showed two for -a).
    func testEveryOptionHasAtMostOneDefaultInTheManPages() throws {
        let manDir = E2E.root + "/man"
        for name in try FileManager.default.contentsOfDirectory(atPath: manDir) where name.hasSuffix(".1") {
            let text = try String(contentsOfFile: manDir + "/" + name, encoding: .utf8)
            for entry in text.components(separatedBy: "\n.TP\n").dropFirst() {
                let defaults = entry.components(separatedBy: "\n").filter { $0.hasPrefix("Default") }
                XCTAssertLessThanOrEqual(defaults.count, 1, "\(name): \(entry.prefix(80)) has \(defaults)")
            }
        }
        let send = try String(contentsOfFile: manDir + "/i2-send.1", encoding: .utf8)
        XCTAssertTrue(send.contains("\\fB\\-a\\fR, \\fB\\-\\-aet\\fR"), "no -a entry")
    }
}
