// DICOMweb against a real Orthanc with Debian's DICOMweb plugin on 127.0.0.1, credentials from the node
// file: STOW-RS of 300 CT instances and a SEG in several requests, QIDO-RS lists them, WADO-RS gives the
// same data sets back (byte for byte) and resumes; wrong credentials are exit 4 with a plain message;
// and a retrieve killed mid-transfer (WADO-RS and C-GET) leaves nothing half-written in the store and a
// rerun fetches only what is missing.
import Foundation
import XCTest
import I2TestSupport

final class DicomWebTests: E2ECase {
    /// The study make_series.py keeps (the source CT slice's).
    let study300 = "1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1"

    func nodes(_ orthanc: OrthancPeer) throws -> String {
        let nodes = path("nodes.json")
        try #"{"web": {"url": "\#(orthanc.dicomWebURL)", "username": "alice", "password": "secret"}, "wrong": {"url": "\#(orthanc.dicomWebURL)", "username": "alice", "password": "nope"}}"#
            .write(toFile: nodes, atomically: true, encoding: .utf8)
        return nodes
    }

    @discardableResult
    func i2(_ args: [String], nodes: String, expect: Int32 = 0, stdin: String? = nil) throws -> TestSupport.Result {
        let r = try TestSupport.run(TestSupport.i2Path, args, stdin: stdin, environment: ["I2_NODES": nodes])
        XCTAssertEqual(r.status, expect, "i2 \(args.joined(separator: " ")): \(r.stderr)")
        return r
    }

    /// The store's visible files (outside .i2-incoming): each a .dcm holding the data set of the
    /// original with its SOP Instance UID. Returns their SOP Instance UIDs.
    func assertVisibleAreComplete(_ store: String, _ index: [String: String], file: StaticString = #filePath, line: UInt = #line) throws -> Set<String> {
        var sops = Set<String>()
        for rel in RX.files(store) where !rel.hasPrefix(".i2-incoming/") {
            XCTAssertTrue(rel.hasSuffix(".dcm") && !rel.split(separator: "/").contains { $0.hasPrefix(".") }, rel, file: file, line: line)
            let sop = ((rel as NSString).lastPathComponent as NSString).deletingPathExtension
            let original = try XCTUnwrap(index[sop], "\(rel) is no instance that was sent", file: file, line: line)
            XCTAssertEqual(try RX.dataSetBytes(store + "/" + rel), try RX.dataSetBytes(original), rel, file: file, line: line)
            sops.insert(sop)
        }
        return sops
    }

    func testStowQidoWadoRoundTripWithTheNodeFilesCredentials() throws {
        let orthanc = try OrthancPeer(dicomWeb: true, users: ["alice": "secret"])
        addTeardownBlock { orthanc.stop() }
        let nodes = try nodes(orthanc)
        let series = try mkdir("series"), segs = try mkdir("seg")
        try RX.makeSeries(series, slices: 300, size: 256, seed: 11)
        try FileManager.default.copyItem(atPath: TestSupport.fixture("highdicom/seg_image_ct_binary.dcm"), toPath: segs + "/seg.dcm")
        let index = try RX.sopIndex([series, segs])
        XCTAssertEqual(index.count, 301)

        // Wrong credentials: nothing stored, exit 4, a plain message that does not show the password.
        let wrong = try i2(["send", "--to", "wrong", series], nodes: nodes, expect: 4)
        XCTAssertEqual(wrong.stdout, "")
        XCTAssertTrue(wrong.stderr.contains("HTTP 401") && wrong.stderr.contains("credentials"), wrong.stderr)
        XCTAssertFalse(wrong.stderr.contains("nope"))
        XCTAssertEqual(try orthanc.instances(), [])
        try i2(["send", "--echo", "--to", "web"], nodes: nodes)
        try i2(["send", "--echo", "--to", "wrong"], nodes: nodes, expect: 4)
        try i2(["send", "--echo", "--to", "http://127.0.0.1:\(try Peers.freePort())/dicom-web", "--connect-timeout", "2"], nodes: nodes, expect: 3)

        // STOW-RS: 40 MB in requests of at most 4 MiB of files.
        let report = path("report.json")
        let sent = try i2(["send", "--to", "web", "--batch-size", "4M", "--report", report, series, segs], nodes: nodes)
        XCTAssertEqual(Set(E2E.lines(sent.stdout)), Set(index.values))
        let r = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any])
        XCTAssertEqual((r["counts"] as? [String: Int])?["stored"], 301)
        XCTAssertGreaterThanOrEqual(r["requests"] as? Int ?? 0, 10, "a study larger than one batch goes in several requests")
        XCTAssertEqual((r["destination"] as? [String: Any])?["url"] as? String, orthanc.dicomWebURL)
        XCTAssertEqual(try orthanc.instances(), index.keys.sorted())

        // QIDO-RS lists them: two studies, 301 instances.
        let studies = try i2(["query", "--from", "web"], nodes: nodes)
        XCTAssertEqual(E2E.lines(studies.stdout).count, 2)
        var listed: [String] = []
        for s in E2E.lines(studies.stdout).map({ $0.components(separatedBy: "\t")[0] }) {
            listed += E2E.lines(try i2(["query", "--from", "web", "--level", "instance", "--study", s], nodes: nodes).stdout).map { $0.components(separatedBy: "\t")[0] }
        }
        XCTAssertEqual(listed.sorted(), index.keys.sorted())

        // WADO-RS from the query's output: every data set as sent; a rerun fetches nothing.
        let store = path("store")
        let got = try i2(["retrieve", "--from", "web", "-o", store, "-"], nodes: nodes, stdin: studies.stdout)
        XCTAssertEqual(E2E.lines(got.stdout).count, 301)
        XCTAssertEqual(try assertVisibleAreComplete(store, index), Set(index.keys))
        XCTAssertTrue(got.stderr.contains("300 fetched, 0 already present, 0 failed"), got.stderr)
        let again = try i2(["retrieve", "--from", "web", "-o", store, "-"], nodes: nodes, stdin: studies.stdout)
        XCTAssertEqual(Set(E2E.lines(again.stdout)), Set(E2E.lines(got.stdout)))
        XCTAssertTrue(again.stderr.contains("0 fetched, 300 already present"), again.stderr)
        // A study the node does not hold fails that item (1); wrong credentials end the run (4).
        let missing = try i2(["retrieve", "--from", "web", "-o", store, "1.2.3.999"], nodes: nodes, expect: 1)
        XCTAssertTrue(missing.stderr.contains("study 1.2.3.999: the node lists no instance of it"), missing.stderr)
        try i2(["retrieve", "--from", "wrong", "-o", store, study300], nodes: nodes, expect: 4)
        try i2(["retrieve", "--from", "web", "--via", "get", "-o", store, study300], nodes: nodes, expect: 2)
        try i2(["retrieve", "--from", orthanc.dicomWebURL.replacingOccurrences(of: "http://", with: "X@"), "--via", "wado", "-o", store, study300],
               nodes: nodes, expect: 2)
    }

    /// kill -9 of i2 retrieve once it has printed 20 paths, by WADO-RS and by C-GET: every file visible in
    /// the store is a whole instance; the rerun fetches exactly the rest.
    func testRetrieveKilledMidTransferLeavesNothingHalfWrittenAndResumes() throws {
        let orthanc = try OrthancPeer(modalities: ["i2": (aet: "I2", host: "127.0.0.1", port: 11112)], dicomWeb: true, users: ["alice": "secret"])
        addTeardownBlock { orthanc.stop() }
        let nodes = try nodes(orthanc)
        let series = try mkdir("series")
        try RX.makeSeries(series, slices: 300, size: 512, seed: 12)
        try E2E.i2(["send", "--to", orthanc.address, series])

        for (method, from) in [("wado", "web"), ("get", orthanc.address)] {
            // What an uninterrupted retrieve by the same method stores (C-GET may transcode, WADO-RS not).
            let reference = path("reference-\(method)")
            try i2(["retrieve", "--from", from, "-o", reference, study300], nodes: nodes)
            var index: [String: String] = [:]
            for rel in RX.files(reference) where rel.hasSuffix(".dcm") {
                index[((rel as NSString).lastPathComponent as NSString).deletingPathExtension] = reference + "/" + rel
            }
            XCTAssertEqual(index.count, 300, method)
            let store = path("store-\(method)")
            let p = try background(TestSupport.i2Path, ["retrieve", "--from", from, "-o", store, study300], environment: ["I2_NODES": nodes])
            XCTAssertTrue(p.wait(timeout: 60) { out, _, _ in out.count >= 20 }, p.stderr)
            kill(p.pid, SIGKILL)
            XCTAssertNotNil(p.waitForExit(timeout: 10))
            let before = try assertVisibleAreComplete(store, index)
            XCTAssertLessThan(before.count, 300, "\(method): the kill came after the whole transfer")
            XCTAssertGreaterThanOrEqual(before.count, 20, method)

            let rerun = try i2(["retrieve", "--from", from, "-o", store, study300], nodes: nodes)
            XCTAssertTrue(rerun.stderr.contains("\(300 - before.count) fetched, \(before.count) already present, 0 failed"), "\(method): \(rerun.stderr)")
            XCTAssertEqual(E2E.lines(rerun.stdout).count, 300)
            XCTAssertEqual(try assertVisibleAreComplete(store, index), Set(index.keys), method)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store + "/.i2-incoming"), [], "\(method): the killed run's partial files")
        }
    }
}
