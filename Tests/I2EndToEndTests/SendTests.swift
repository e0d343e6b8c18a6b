// i2 send against real peers on 127.0.0.1 (DCMTK's storescp, Orthanc): what arrives is what was
// sent (UIDs, data set dumps), one association per batch, and every failure mode ends the way the
// man page says (exit status, plain-words message, retries or none, time taken).
import Foundation
import XCTest
import I2TestSupport

final class SendTests: E2ECase {
    /// ct-3slice (implicit LE CT), pydicom-ct2 (explicit LE CT, plus its LICENSE: not DICOM) and a
    /// Legacy Converted Enhanced CT multi-frame: three SOP classes, two transfer syntaxes.
    func inputs() throws -> (dir: String, dicom: [String]) {
        let d = try mkdir("inputs")
        try E2E.copy(TestSupport.fixture("dcmqi/ct-3slice"), d + "/ct-3slice")
        try E2E.copy(TestSupport.fixture("pydicom-ct2"), d + "/pydicom-ct2")
        try E2E.copy(TestSupport.fixture("dcmqi/23x38x3/multiframe/mf.dcm"), d + "/mf.dcm")
        let dicom = ["ct-3slice/01.dcm", "ct-3slice/02.dcm", "ct-3slice/03.dcm", "mf.dcm",
                     "pydicom-ct2/17106", "pydicom-ct2/17136", "pydicom-ct2/17166", "pydicom-ct2/17196"].map { d + "/" + $0 }
        return (d, dicom)
    }

    /// Runs i2 with extra environment; returns the result and the seconds it took.
    @discardableResult
    func send(_ args: [String], stdin: String? = nil, env: [String: String] = [:], expect: Int32? = nil,
              file: StaticString = #filePath, line: UInt = #line) throws -> (r: TestSupport.Result, seconds: Double) {
        let start = Date()
        let r = try TestSupport.run(TestSupport.i2Path, args, stdin: stdin, environment: env)
        let t = Date().timeIntervalSince(start)
        if let expect { XCTAssertEqual(r.status, expect, "i2 \(args.joined(separator: " ")) → \(r.stdout)\(r.stderr)", file: file, line: line) }
        return (r, t)
    }

    func uid(_ file: String) throws -> String {
        let r = try TestSupport.run(try Peers.tool("dcmdump", package: "dcmtk"), ["-q", "+P", "0008,0018", file])
        guard let open = r.stdout.firstIndex(of: "["), let close = r.stdout.firstIndex(of: "]") else { throw PeerError("no SOP Instance UID in \(file)") }
        return String(r.stdout[r.stdout.index(after: open)..<close])
    }

    /// dcmdump of the data set only (file meta information and comment lines left out), all values in full.
    func dataSet(_ file: String) throws -> [String] {
        let r = try TestSupport.run(try Peers.tool("dcmdump", package: "dcmtk"), ["-q", "+L", file])
        return r.stdout.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("(0002,") && !$0.hasPrefix("#") && !$0.isEmpty }
    }

    func associations(_ stderr: String) -> Int { E2E.lines(stderr).filter { $0.contains("i2: association ") }.count }

    func testSendsMixedSeriesToStoreSCPOverOneAssociation() throws {
        let (dir, dicom) = try inputs()
        let scp = try StoreSCPPeer(directory: path("received"))
        let (r, _) = try send(["send", "--to", scp.address, dir], expect: 0)
        let lines = E2E.lines(r.stdout)
        XCTAssertEqual(Set(lines), Set(dicom), "stdout is the stored files' paths, nothing else")
        XCTAssertTrue(r.stderr.contains("warning") && r.stderr.contains("LICENSE"), "no warning for the non-DICOM file: \(r.stderr)")
        XCTAssertEqual(associations(r.stderr), 1, r.stderr)
        let received = scp.files
        XCTAssertEqual(Set(try received.map(uid)), Set(try dicom.map(uid)))
        let byUID = Dictionary(uniqueKeysWithValues: try received.map { (try uid($0), $0) })
        for original in dicom {
            XCTAssertEqual(try dataSet(byUID[try uid(original)]!), try dataSet(original), "\(original) arrived changed")
        }
    }

    func testSendsToOrthancAndEchoesBothPeers() throws {
        let (dir, dicom) = try inputs()
        let orthanc = try OrthancPeer()
        try send(["send", "--to", orthanc.address, dir], expect: 0)
        XCTAssertEqual(try orthanc.instances(), try dicom.map(uid).sorted())
        let scp = try StoreSCPPeer(directory: path("received"))
        for address in [orthanc.address, scp.address] {
            let (r, _) = try send(["send", "--echo", "--to", address], expect: 0)
            XCTAssertEqual(r.stdout, "")
            XCTAssertTrue(r.stderr.contains("answered C-ECHO"), r.stderr)
        }
        try send(["send", "--echo", "--retries", "0", "--to", "X@127.0.0.1:\(try Peers.freePort())"], expect: 3)
    }

    func testNodeNameFromTheNodeFileNamedByI2_NODES() throws {
        let scp = try StoreSCPPeer(directory: path("received"))
        let nodes = path("nodes.json")
        try """
            { "pacs": { "aet": "\(scp.aeTitle)", "host": "127.0.0.1", "port": \(scp.port), "calling_aet": "LAB_AE" },
              "short": "\(scp.address)" }
            """.write(toFile: nodes, atomically: true, encoding: .utf8)
        let file = TestSupport.fixture("pydicom-ct2/17106")
        let (r, _) = try send(["send", "--to", "pacs", file], env: ["I2_NODES": nodes], expect: 0)
        XCTAssertTrue(r.stderr.contains("as LAB_AE"), "calling_aet not used: \(r.stderr)")
        try send(["send", "--to", "short", "--aet", "OTHER", file], env: ["I2_NODES": nodes], expect: 0)
        XCTAssertEqual(scp.files.count, 1)
        let (bad, _) = try send(["send", "--to", "nope", file], env: ["I2_NODES": nodes], expect: 2)
        XCTAssertTrue(bad.stderr.contains("no node named 'nope'") && bad.stderr.contains("pacs, short"), bad.stderr)
    }

    func testWrongCalledAETitleIsRejectedInPlainWordsWithoutRetries() throws {
        let orthanc = try OrthancPeer(aeTitle: "ORTHANC")
        let (r, seconds) = try send(["send", "--retries", "3", "--report", path("report.json"),
                                     "--to", "orthanc@127.0.0.1:\(orthanc.dicomPort)", TestSupport.fixture("pydicom-ct2/17106")], expect: 4)
        XCTAssertTrue(r.stderr.contains("does not know the called AE title 'orthanc'") && r.stderr.contains("case-sensitive"), r.stderr)
        XCTAssertFalse(r.stderr.contains("retry"), "a permanent rejection was retried: \(r.stderr)")
        XCTAssertLessThan(seconds, 2)
        XCTAssertEqual(try orthanc.instances(), [])
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("report.json")))) as! [String: Any]
        XCTAssertEqual(report["result"] as? String, "rejected")
    }

    func testNothingListeningIsUnreachableAfterBackedOffRetries() throws {
        let port = try Peers.freePort()
        let (r, seconds) = try send(["send", "--retries", "2", "--retry-delay", "0.3", "--to", "X@127.0.0.1:\(port)",
                                     TestSupport.fixture("pydicom-ct2/17106")], expect: 3)
        XCTAssertEqual(E2E.lines(r.stderr).filter { $0.contains("connection refused") && $0.contains("retry") }.count, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("nothing is listening on that port"), r.stderr)
        XCTAssertGreaterThanOrEqual(seconds, 0.9, "backoff 0.3 s + 0.6 s")
        XCTAssertLessThan(seconds, 4)
        XCTAssertEqual(r.stdout, "", "nothing was stored, so nothing is printed")
        XCTAssertTrue(r.stderr.contains("nothing stored"), r.stderr)
    }

    func testPeerThatNeverAnswersFailsWithinTheACSETimeoutPlusASecond() throws {
        let silent = try SilentPeer()
        let (r, seconds) = try send(["send", "--acse-timeout", "2", "--retries", "0", "--to", "X@127.0.0.1:\(silent.port)",
                                     TestSupport.fixture("pydicom-ct2/17106")], expect: 3)
        XCTAssertTrue(r.stderr.contains("ACSE timeout"), r.stderr)
        XCTAssertGreaterThanOrEqual(seconds, 1.9)
        XCTAssertLessThan(seconds, 3)
        let (echo, echoSeconds) = try send(["send", "--echo", "--acse-timeout", "1", "--retries", "0", "--to", "X@127.0.0.1:\(silent.port)"], expect: 3)
        XCTAssertTrue(echo.stderr.contains("ACSE timeout"), echo.stderr)
        XCTAssertLessThan(echoSeconds, 2)
    }

    func testJSONLinesReportAndPathsFromStdin() throws {
        let (_, dicom) = try inputs()
        let scp = try StoreSCPPeer(directory: path("received"))
        let report = path("out/report.json")
        try FileManager.default.createDirectory(atPath: path("out"), withIntermediateDirectories: true)
        let (r, _) = try send(["send", "--json", "--report", report, "--to", scp.address, "-"],
                              stdin: dicom.joined(separator: "\n") + "\n" + path("missing.dcm") + "\n", expect: 1)
        let objects = try E2E.lines(r.stdout).map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(objects.count, dicom.count, "one object per stored file; the missing one is on stderr")
        let stored = objects.filter { $0["status"] as? String == "stored" }
        XCTAssertEqual(Set(stored.compactMap { $0["path"] as? String }), Set(dicom))
        XCTAssertEqual(Set(stored.compactMap { $0["sop_instance_uid"] as? String }), Set(try dicom.map(uid)))
        XCTAssertTrue(stored.allSatisfy { $0["dimse_status"] as? String == "0x0000" })
        XCTAssertTrue(r.stderr.contains("missing.dcm"), "the failed file is not listed: \(r.stderr)")
        XCTAssertEqual(try E2E.list(path("out")), ["report.json"], "the report was not written atomically")
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        XCTAssertEqual(doc["result"] as? String, "completed")
        XCTAssertEqual((doc["counts"] as? [String: Int])?["stored"], dicom.count)
        XCTAssertEqual((doc["counts"] as? [String: Int])?["failed"], 1)
        let files = doc["files"] as! [[String: Any]]
        let missing = files.first { ($0["file"] as? String)?.hasSuffix("missing.dcm") == true }
        XCTAssertEqual(missing?["status"] as? String, "failed")
        XCTAssertTrue((missing?["error_comment"] as? String)?.contains("No such file") == true, "\(String(describing: missing))")
        for key in ["file", "sop_instance_uid", "status", "error_comment", "dimse_status"] {
            XCTAssertTrue(files.allSatisfy { $0[key] != nil }, "a report entry lacks \(key)")
        }
    }

    /// `-` takes paths as they arrive: the first file is stored while stdin is still open, and an
    /// association left idle longer than --idle-timeout is released (a new one carries the next file).
    func testStdinPathsAreSentAsTheyArriveAndIdleAssociationsReleased() throws {
        let scp = try StoreSCPPeer(directory: path("received"))
        let p = Foundation.Process(), input = Pipe(), err = Pipe()
        p.executableURL = URL(fileURLWithPath: TestSupport.i2Path)
        p.arguments = ["send", "--idle-timeout", "1", "--to", scp.address, "-"]
        p.standardInput = input
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        input.fileHandleForWriting.write(Data((TestSupport.fixture("pydicom-ct2/17106") + "\n").utf8))
        try Peers.wait("the first file at storescp while stdin is open", timeout: 10) { scp.files.count == 1 }
        usleep(1_600_000)
        input.fileHandleForWriting.write(Data((TestSupport.fixture("pydicom-ct2/17136") + "\n").utf8))
        try input.fileHandleForWriting.close()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, stderr)
        XCTAssertEqual(scp.files.count, 2)
        XCTAssertTrue(stderr.contains("releasing the association"), stderr)
        XCTAssertEqual(associations(stderr), 2, stderr)
    }

    /// The peer dies with a C-STORE in flight and comes back on the same port: the file in flight and
    /// the rest go over a new association after a backed-off reconnect.
    func testAssociationIsReestablishedWhenThePeerDrops() throws {
        let first = try StoreSCPPeer(directory: path("first"), options: ["--sleep-after", "3"])
        let p = Foundation.Process(), out = Pipe(), err = Pipe()
        p.executableURL = URL(fileURLWithPath: TestSupport.i2Path)
        p.arguments = ["send", "--retries", "5", "--retry-delay", "0.5", "--to", first.address]
            + (0..<10).map { _ in TestSupport.fixture("dcmqi/ct-3slice/01.dcm") }
        p.standardOutput = out
        p.standardError = err
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        try Peers.wait("the first file at storescp", timeout: 10) { first.files.count == 1 }
        first.stop()   // mid-C-STORE: it sleeps before answering
        let second = try StoreSCPPeer(directory: path("second"), port: first.port)
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, stderr)
        XCTAssertEqual(E2E.lines(stdout).count, 10, stdout)
        XCTAssertTrue(stderr.contains("re-establishing the association"), stderr)
        XCTAssertGreaterThanOrEqual(associations(stderr), 2, stderr)
        // The first file was answered before the peer died; the second was in flight: it goes again.
        XCTAssertEqual(first.files.count, 1)
        XCTAssertEqual(second.log.components(separatedBy: "Received Store Request").count - 1, 9, "the file in flight was not re-sent")
    }

    /// A peer that takes longer than --dimse-timeout to answer: that file fails after the timeout, and
    /// with nothing stored the peer counts as unreachable (exit 3: no DICOM answer within the timeouts).
    func testSlowAnswerFailsTheFileAfterTheDIMSETimeout() throws {
        let scp = try StoreSCPPeer(directory: path("received"), options: ["--sleep-during", "5"])
        let (r, seconds) = try send(["send", "--dimse-timeout", "1", "--retries", "0", "--to", scp.address,
                                     TestSupport.fixture("pydicom-ct2/17106")], expect: 3)
        XCTAssertTrue(r.stderr.contains("no C-STORE response within the DIMSE timeout"), r.stderr)
        XCTAssertLessThan(seconds, 2.5, "the DIMSE timeout is 1 s, and aborting must not wait for the peer")
    }

    func testJPEGLSFileIsDecompressedForAPeerThatOnlyTakesImplicitLittleEndian() throws {
        let original = TestSupport.fixture("dcmqi/ct-3slice/01.dcm")
        let jls = path("ct-jls.dcm")
        let cjpls = try TestSupport.run(try Peers.tool("dcmcjpls", package: "dcmtk"), [original, jls])
        XCTAssertEqual(cjpls.status, 0, cjpls.stderr)
        let scp = try StoreSCPPeer(directory: path("received"), options: ["+xi"])
        let (r, _) = try send(["send", "--json", "--to", scp.address, jls], expect: 0)
        let o = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(o["decompressed"] as? Bool, true)
        XCTAssertEqual(o["transfer_syntax"] as? String, "1.2.840.10008.1.2")
        XCTAssertEqual(scp.files.count, 1)
        XCTAssertEqual(try dataSet(scp.files[0]), try dataSet(original), "decoded pixels or attributes differ from the uncompressed original")
    }

    /// 70 SOP classes × (own syntax + fallback) = 140 presentation contexts: two associations.
    func testMoreThan128PresentationContextsAreSplitOverAssociations() throws {
        let header = "/usr/include/dcmtk/dcmdata/dcuid.h"
        guard let text = try? String(contentsOfFile: header, encoding: .utf8) else {
            throw TestSupport.Missing("\(header) (the storage SOP class list) is missing: apt-get install -y libdcmtk-dev")
        }
        let pattern = try NSRegularExpression(pattern: #"#define UID_\w+Storage\s+"(1\.2\.840\.10008\.5\.1\.4\.1\.1\.[0-9.]+)""#)
        let classes = pattern.matches(in: text, range: NSRange(text.startIndex..., in: text))
            .map { String(text[Range($0.range(at: 1), in: text)!]) }
        XCTAssertGreaterThanOrEqual(classes.count, 70)
        let dir = try mkdir("classes"), modify = try Peers.tool("dcmodify", package: "dcmtk")
        for (i, cls) in classes.prefix(70).enumerated() {
            let f = dir + "/\(i).dcm"
            try E2E.copy(TestSupport.fixture("pydicom-ct2/17106"), f)
            chmod(f, 0o644)
            let r = try TestSupport.run(modify, ["-nb", "-m", "(0008,0016)=\(cls)", "-m", "(0008,0018)=2.25.\(UInt32.random(in: 1...UInt32.max))\(i)", f])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let scp = try StoreSCPPeer(directory: path("received"), options: ["-pm"])
        let (r, _) = try send(["send", "--to", scp.address, dir], expect: 0)
        XCTAssertEqual(associations(r.stderr), 2, r.stderr)
        XCTAssertEqual(scp.log.components(separatedBy: "Association Acknowledged").count - 1, 2, scp.log)
        XCTAssertEqual(scp.files.count, 70)
    }

    /// storescp without TCP_NODELAY (as installed) writes each response in two pieces with Nagle on:
    /// without acknowledging at once, each C-STORE would wait ~40 ms for our delayed ACK.
    func testPeerWithNagleOnCostsNoDelayedACKPerFile() throws {
        let scp = try StoreSCPPeer(directory: path("received"), nodelay: false)
        let file = TestSupport.fixture("dcmqi/ct-3slice/01.dcm")
        let (_, seconds) = try send(["send", "--to", scp.address] + Array(repeating: file, count: 25), expect: 0)
        XCTAssertLessThan(seconds, 0.7, "25 C-STOREs took \(seconds) s: delayed ACKs (25 × 40 ms = 1 s)?")
    }
}
