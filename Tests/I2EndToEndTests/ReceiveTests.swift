// i2 receive with real senders: DCMTK storescu/echoscu (every fixture, several transfer syntaxes,
// stored as received) and Orthanc pushing a study; --json events; duplicates; clean stop on signals.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest
import I2TestSupport

final class ReceiveTests: E2ECase {
    /// Every DICOM file of Tests/Fixtures (non-DICOM files skipped): the test data's images, SEGs and the
    /// RT Structure Set. The
    /// scanner corpora (dcm_qa*, for convert) are left out (several hold the same instance under two names), and
    /// so is the JPEG 2000 SEG: storescu, without a J2K codec, cannot send it as stored (transfer syntaxes: see below).
    func fixtureFiles() throws -> [String] {
        let root = TestSupport.packageRoot.appendingPathComponent("Tests/Fixtures").path
        let dcmftest = try TestSupport.tool("dcmftest", package: "dcmtk")
        return try RX.files(root).filter { !$0.hasPrefix("dcm_qa") && !$0.hasSuffix("_j2k.dcm") }.map { root + "/" + $0 }.filter { try TestSupport.run(dcmftest, [$0]).status == 0 }
    }

    func testEveryFixtureFromStorescuArrivesUnchanged() throws {
        let fixtures = try fixtureFiles()
        XCTAssertEqual(fixtures.count, 27, "images 15 (ct-3slice 3, pydicom-ct2 4, 23x38x3 3+1, 24x38x3 3, dicompyler 1), dcmqi SEGs 5, highdicom 6, dicompyler's RTSTRUCT 1: \(fixtures)")
        // DCMTK 3.6.7's storescu does not know Label Map Segmentation Storage (DICOM 2024): that one goes with i2 send.
        let labelMapClass = Data("1.2.840.10008.5.1.4.1.1.66.7".utf8)
        let (newer, known) = try fixtures.reduce(into: ([String](), [String]())) { acc, f in
            if try Data(contentsOf: URL(fileURLWithPath: f)).prefix(1024).range(of: labelMapClass) != nil { acc.0.append(f) } else { acc.1.append(f) }
        }
        XCTAssertEqual(newer.count, 1, "the dcmqi sparse label map SEG")
        let r = try startReceiver(path("root"))
        let echo = try TestSupport.run(try TestSupport.tool("echoscu", package: "dcmtk"), ["-aec", "I2", "127.0.0.1", String(r.port)])
        XCTAssertEqual(echo.status, 0, "echoscu: \(echo.stderr)")
        let run = try RX.storescu(r.port, known, ["-R"])   // -R: propose the SOP classes in use (mf.dcm's too)
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertEqual(run.succeeded.count, known.count, run.output)
        let sent = try TestSupport.i2(["send", "--to", "I2@127.0.0.1:\(r.port)"] + newer)
        XCTAssertEqual(sent.status, 0, sent.stderr)
        XCTAssertTrue(r.waitForPaths(fixtures.count, timeout: 10), "stdout: \(r.paths)\nstderr: \(r.process.stderr)")
        let index = try RX.sopIndex(Array(Set(fixtures.map { ($0 as NSString).deletingLastPathComponent })))
        XCTAssertEqual(Set(r.paths).count, fixtures.count)
        for stored in r.paths {
            XCTAssertTrue(stored.hasPrefix(path("root") + "/"), stored)
            XCTAssertTrue(FileManager.default.fileExists(atPath: stored), stored)
            let sop = ((stored as NSString).lastPathComponent as NSString).deletingPathExtension
            guard let original = index[sop] else { XCTFail("\(stored): no fixture has this SOP Instance UID"); continue }
            try RX.assertSameDataSet(stored, original)
        }
        XCTAssertEqual(RX.files(path("root")).filter { $0.hasSuffix(".dcm") }.count, fixtures.count)
        XCTAssertEqual(RX.leftovers(path("root")), [])
        XCTAssertEqual(r.process.stop(), 0)
    }

    /// storescu proposes a transfer syntax per option (and converts to it where needed); i2 stores the
    /// data set in exactly the one used on the wire for each file.
    func testTransferSyntaxesAreStoredAsReceived() throws {
        let ct = E2E.ctSlice, mf = TestSupport.fixture("dcmqi/23x38x3/multiframe/mf.dcm")
        let jpeg = path("jpeg.dcm"), rle = path("rle.dcm")
        XCTAssertEqual(try TestSupport.run(try TestSupport.tool("dcmcjpeg", package: "dcmtk"), ["+e1", ct, jpeg]).status, 0)
        XCTAssertEqual(try TestSupport.run(try TestSupport.tool("dcmcrle", package: "dcmtk"), [ct, rle]).status, 0)
        let cases: [(name: String, args: [String], files: [String], ts: String)] = [
            ("implicit", ["-xi"], [ct, mf], "1.2.840.10008.1.2"),
            ("explicit", ["-xe"], [mf, ct], "1.2.840.10008.1.2.1"),
            ("big endian", ["-xb"], [ct, mf], "1.2.840.10008.1.2.2"),
            ("deflated", ["-xd"], [ct, mf], "1.2.840.10008.1.2.1.99"),
            ("JPEG lossless SV1", ["-xs"], [jpeg], "1.2.840.10008.1.2.4.70"),
            ("RLE", ["-xr"], [rle], "1.2.840.10008.1.2.5"),
        ]
        for c in cases {
            let root = path("root-\(c.name.replacingOccurrences(of: " ", with: "-"))")
            let r = try startReceiver(root)
            let run = try RX.storescu(r.port, c.files, ["-R"] + c.args)
            XCTAssertEqual(run.succeeded.count, c.files.count, "\(c.name): \(run.output)")
            XCTAssertTrue(r.waitForPaths(c.files.count, timeout: 10), "\(c.name): \(r.process.stderr)")
            let onWire = run.output.components(separatedBy: "\n").compactMap { $0.components(separatedBy: "Converting transfer syntax: ").dropFirst().first?
                .components(separatedBy: " -> ").last }
            XCTAssertEqual(onWire.count, c.files.count, run.output)
            var stored: Set<String> = []
            for (n, (path, original)) in zip(r.paths, c.files).enumerated() {
                stored.insert(try RX.transferSyntax(path))
                XCTAssertEqual(try RX.dataSetXferName(path), n < onWire.count ? onWire[n] : "?", "\(c.name): \(path)")
                try RX.assertSameDataSet(path, original)
            }
            XCTAssertTrue(stored.contains(c.ts), "\(c.name): stored as \(stored)")
            XCTAssertEqual(r.process.stop(), 0)
        }
    }

    func testOrthancPushesAStudy() throws {
        let r = try startReceiver(path("root"), ["--allow", "ORTHANC"])
        let orthanc = try OrthancPeer(modalities: ["i2": ("I2", "127.0.0.1", r.port)])
        defer { orthanc.stop() }
        let files = (1...3).map { TestSupport.fixture("dcmqi/ct-3slice/0\($0).dcm") }
        for f in files { try orthanc.upload(f) }
        try orthanc.store(toModality: "i2")
        XCTAssertTrue(r.waitForPaths(3, timeout: 10), r.process.stderr)
        let index = try RX.sopIndex([(files[0] as NSString).deletingLastPathComponent])
        for stored in r.paths {
            XCTAssertTrue(stored.hasPrefix(path("root") + "/99000/"), stored)
            try RX.assertSameDataSet(stored, index[((stored as NSString).lastPathComponent as NSString).deletingPathExtension] ?? "?")
        }
        XCTAssertEqual(RX.files(path("root")).filter { $0.hasSuffix(".dcm") }.count, 3)
        XCTAssertEqual(RX.leftovers(path("root")), [])
    }

    /// --json: one object per stored instance naming the caller by its AE title and the peer by address.
    func testJSONEventNamesCallerAndPeer() throws {
        let r = try startReceiver(path("root"), ["--json"])
        let run = try RX.storescu(r.port, [E2E.ctSlice], calling: "MYSCU")
        XCTAssertEqual(run.succeeded.count, 1, run.output)
        XCTAssertTrue(r.waitForPaths(1, timeout: 10))
        let event = try JSONSerialization.jsonObject(with: Data((r.paths.first ?? "{}").utf8)) as? [String: Any] ?? [:]
        XCTAssertEqual(event["event"] as? String, "stored")
        XCTAssertEqual(event["patient_id"] as? String, "99000")
        XCTAssertEqual(event["sop_class_uid"] as? String, "1.2.840.10008.5.1.4.1.1.2")
        XCTAssertEqual(event["peer"] as? String, "127.0.0.1")
        XCTAssertEqual(event["calling_ae"] as? String, "MYSCU", "calling_ae should be the AE title alone: \(event)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: event["path"] as? String ?? "?"))
    }

    /// Identical re-send: no-op. Same SOP Instance UID, other content: kept beside (_2) by default,
    /// a failure status with --on-duplicate reject.
    func testDuplicates() throws {
        let other = path("other.dcm")
        try FileManager.default.copyItem(atPath: E2E.ctSlice, toPath: other)
        let dcmodify = try TestSupport.tool("dcmodify", package: "dcmtk")
        XCTAssertEqual(try TestSupport.run(dcmodify, ["-nb", "-m", "(0008,103e)=changed", other]).status, 0)

        let r = try startReceiver(path("root"))
        XCTAssertEqual(try RX.storescu(r.port, [E2E.ctSlice]).succeeded.count, 1)
        XCTAssertEqual(try RX.storescu(r.port, [E2E.ctSlice]).succeeded.count, 1, "identical re-send must succeed")
        XCTAssertTrue(r.waitForPaths(1, timeout: 10))
        let first = r.paths[0]
        XCTAssertEqual(RX.files(path("root")).filter { $0.hasSuffix(".dcm") }.count, 1, "identical re-send stored twice")

        XCTAssertEqual(try RX.storescu(r.port, [other]).succeeded.count, 1)
        XCTAssertTrue(r.waitForPaths(2, timeout: 10))
        XCTAssertEqual(r.paths.last, first.replacingOccurrences(of: ".dcm", with: "_2.dcm"))
        try RX.assertSameDataSet(first, E2E.ctSlice)
        try RX.assertSameDataSet(r.paths.last ?? "?", other)
        // Re-sending the second variant is an identical re-send too: still two files.
        XCTAssertEqual(try RX.storescu(r.port, [other]).succeeded.count, 1)
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertEqual(RX.files(path("root")).filter { $0.hasSuffix(".dcm") }.count, 2,
                       "re-sent copy of the _2 variant stored again: \(RX.files(path("root")))")
        XCTAssertEqual(r.process.stop(), 0)

        let strict = try startReceiver(path("strict"), ["--on-duplicate", "reject"])
        XCTAssertEqual(try RX.storescu(strict.port, [E2E.ctSlice]).succeeded.count, 1)
        let rejected = try RX.storescu(strict.port, [other], debug: true)
        XCTAssertEqual(rejected.failed.map(\.answer), ["0xc000"], rejected.output)
        XCTAssertEqual(RX.files(path("strict")).filter { $0.hasSuffix(".dcm") }.count, 1)
        try RX.assertSameDataSet(path("strict") + "/" + RX.files(path("strict")).first { $0.hasSuffix(".dcm") }!, E2E.ctSlice)
    }

    func testSignalsWithNothingInFlightExitZeroPromptly() throws {
        for sig in [SIGTERM, SIGINT] {
            let r = try startReceiver(path("root"))
            let start = Date()
            XCTAssertEqual(r.process.stop(sig, grace: 5), 0, "signal \(sig): \(r.process.stderr)")
            XCTAssertFalse(r.process.killedBySignal)
            XCTAssertLessThan(Date().timeIntervalSince(start), 1.0, "signal \(sig)")
        }
    }
}
