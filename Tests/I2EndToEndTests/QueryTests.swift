// i2 query and i2 retrieve against real Orthancs on 127.0.0.1: every query level, each filter,
// tab-separated and JSON output, no match (exit 0), the failures send has (unreachable 3, rejected 4);
// C-MOVE from one Orthanc to another, C-GET into i2 receive's layout with resume, query | retrieve |
// convert as one pipeline.
import Foundation
import XCTest
import I2TestSupport

final class QueryTests: E2ECase {
    /// Orthanc that knows us (AE I2: Orthanc answers C-FIND only to known modalities), holding two
    /// studies: the 3-slice CT as it is (patient 99000, 20030417, accession 03086212), and a copy as
    /// another patient's study (P-B, 20260115, accession ACC2, "THORAX LOW DOSE").
    func orthancWithTwoStudies(extra: [String: (aet: String, host: String, port: Int)] = [:], i2Port: Int = 11112, dicomWeb: Bool = false,
                               users: [String: String] = [:]) throws -> (OrthancPeer, a: [String], b: [String]) {
        let orthanc = try OrthancPeer(modalities: extra.merging(["i2": (aet: "I2", host: "127.0.0.1", port: i2Port)]) { a, _ in a },
                                      dicomWeb: dicomWeb, users: users)
        addTeardownBlock { orthanc.stop() }
        let source = ["01", "02", "03"].map { TestSupport.fixture("dcmqi/ct-3slice/\($0).dcm") }
        let dcmodify = try TestSupport.tool("dcmodify", package: "dcmtk")
        var b: [String] = []
        for (i, f) in source.enumerated() {
            let copy = path("b\(i).dcm")
            try FileManager.default.copyItem(atPath: f, toPath: copy)
            let r = try TestSupport.run(dcmodify, ["-nb", "-gin", "-m", "(0010,0020)=P-B", "-m", "(0008,0020)=20260115",
                                                   "-m", "(0008,0050)=ACC2", "-i", "(0008,1030)=THORAX LOW DOSE",
                                                   "-m", "(0020,000d)=1.2.826.0.1.3680043.8.498.77.1", "-m", "(0020,000e)=1.2.826.0.1.3680043.8.498.77.2", copy])
            XCTAssertEqual(r.status, 0, r.stderr)
            b.append(copy)
        }
        for f in source + b { try orthanc.upload(f) }
        return (orthanc, source, b)
    }

    func query(_ orthanc: OrthancPeer, _ args: [String], expect: Int32 = 0) throws -> [[String]] {
        try query(orthanc.address, args, expect: expect)
    }

    func query(_ qr: DcmqrscpPeer, _ args: [String], expect: Int32 = 0) throws -> [[String]] {
        try query(qr.address, args, expect: expect)
    }

    func query(_ address: String, _ args: [String], expect: Int32 = 0) throws -> [[String]] {
        let r = try E2E.i2(["query", "--from", address] + args, expect: expect)
        return E2E.lines(r.stdout).map { $0.components(separatedBy: "\t") }
    }

    func uid(_ file: String, _ tag: String) throws -> String {
        let d = try TestSupport.run(try TestSupport.tool("dcmdump", package: "dcmtk"), ["+P", tag, file]).stdout
        return try XCTUnwrap(d.components(separatedBy: "[").dropFirst().first?.components(separatedBy: "]").first)
    }

    func testEveryLevelAndFilterAgainstOrthanc() throws {
        let (orthanc, a, b) = try orthancWithTwoStudies()
        let studyA = try uid(a[0], "0020,000d"), seriesA = try uid(a[0], "0020,000e")
        // Study level: both studies, sorted, the UID first.
        let all = try query(orthanc, [])
        XCTAssertEqual(all.map { $0[0] }, [studyA, "1.2.826.0.1.3680043.8.498.77.1"].sorted())
        XCTAssertEqual(all.map(\.count), [9, 9])
        // Each filter alone picks one study.
        for filter in [["--patient-id", "P-B"], ["--patient-id", "P-*"], ["--accession", "ACC2"], ["--study-date", "20260101-20260131"],
                       ["--study-date", "20250101-"], ["--description", "*LOW*"], ["--study", "1.2.826.0.1.3680043.8.498.77.1"]] {
            XCTAssertEqual(try query(orthanc, filter).map { $0[0] }, ["1.2.826.0.1.3680043.8.498.77.1"], "\(filter)")
        }
        XCTAssertEqual(try query(orthanc, ["--study-date", "-20031231", "--modality", "CT"]).map { $0[0] }, [studyA])
        // No match: exit 0, nothing on stdout, the count on stderr.
        let none = try E2E.i2(["query", "--from", orthanc.address, "--patient-id", "NOBODY"])
        XCTAssertEqual(none.stdout, "")
        XCTAssertTrue(none.stderr.contains("0 study matches"), none.stderr)
        // Series and instance levels within study A; patient level.
        let series = try query(orthanc, ["--level", "series", "--study", studyA])
        XCTAssertEqual(series.map { [$0[0], $0[1], $0[3], $0[6]] }, [[seriesA, studyA, "CT", "3"]])
        let instances = try query(orthanc, ["--level", "instance", "--study", studyA])
        XCTAssertEqual(instances.map { $0[0] }, try a.map { try uid($0, "0008,0018") }.sorted())
        XCTAssertEqual(try query(orthanc, ["--level", "patient"]).map { $0[0] }, ["99000", "P-B"])
        // JSON: one object per line, every column by keyword.
        let j = try E2E.i2(["query", "--from", orthanc.address, "--json", "--patient-id", "P-B"])
        let objects = try E2E.lines(j.stdout).map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(objects.count, 1)
        XCTAssertEqual(objects.first?["StudyDescription"] as? String, "THORAX LOW DOSE")
        XCTAssertEqual(objects.first?["AccessionNumber"] as? String, "ACC2")
        XCTAssertEqual(objects.first?["NumberOfStudyRelatedInstances"] as? String, "3")
        XCTAssertEqual(objects.first?["QueryRetrieveLevel"] as? String, "STUDY")
        XCTAssertNil(objects.first?["path"])
        _ = b
    }

    /// As for i2 send: nothing listening (3), a called AE title the node does not have (4), a caller the
    /// node does not know (4); and bad filters are usage errors (2) before any connection.
    func testFailuresHaveSendsExitStatuses() throws {
        let (orthanc, _, _) = try orthancWithTwoStudies()
        let closed = try Peers.freePort()
        let down = try E2E.i2(["query", "--from", "ORTHANC@127.0.0.1:\(closed)", "--connect-timeout", "2"], expect: 3)
        XCTAssertTrue(down.stderr.contains("127.0.0.1:\(closed)"), down.stderr)
        let wrongAE = try E2E.i2(["query", "--from", "NOTTHERE@127.0.0.1:\(orthanc.dicomPort)"], expect: 4)
        XCTAssertTrue(wrongAE.stderr.contains("Rejected"), wrongAE.stderr)
        let unknown = try E2E.i2(["query", "--from", orthanc.address, "--aet", "STRANGER"], expect: 4)
        XCTAssertEqual(unknown.stdout, "")
        XCTAssertTrue(unknown.stderr.contains("in answer to the C-FIND; it may not allow that from AE title STRANGER"), unknown.stderr)
        for bad in [["--study-date", "2026-01-01"], ["--level", "patient", "--modality", "CT"], ["--level", "instance", "--description", "X"],
                    ["--patient-id", "A\\B"]] {
            let r = try E2E.i2(["query", "--from", "ORTHANC@127.0.0.1:\(closed)"] + bad, expect: 2)
            XCTAssertFalse(r.stderr.isEmpty, "\(bad)")
        }
    }

    /// Re-sending from archive A to PACS B: i2 query's output piped into i2 retrieve --move-to, as
    /// tab-separated study lines and as JSON series lines; B ends up holding exactly what was asked for.
    /// A destination A does not know, and a UID A does not hold, fail by name.
    func testRetrieveMovesWhatTheQueryFoundToAnotherNode() throws {
        let b = try OrthancPeer(aeTitle: "ORTHANC_B")
        addTeardownBlock { b.stop() }
        let (a, source, _) = try orthancWithTwoStudies(extra: ["b": (aet: "ORTHANC_B", host: "127.0.0.1", port: b.dicomPort)])
        let studyA = try uid(source[0], "0020,000d")
        // One study, from i2 query's tab-separated output.
        let q = try E2E.i2(["query", "--from", a.address, "--patient-id", "P-B"])
        let r = try E2E.i2(["retrieve", "--from", a.address, "--move-to", "ORTHANC_B", "-"], stdin: q.stdout)
        XCTAssertEqual(E2E.lines(r.stdout), ["1.2.826.0.1.3680043.8.498.77.1"])
        XCTAssertTrue(r.stderr.contains("3 sent, 0 failed"), r.stderr)
        XCTAssertEqual(try b.instances().count, 3)
        // One series, from JSON lines (they carry their level and the study UID).
        let s = try E2E.i2(["query", "--from", a.address, "--level", "series", "--study", studyA, "--json"])
        let m = try E2E.i2(["retrieve", "--from", a.address, "--move-to", "ORTHANC_B", "--json", "-"], stdin: s.stdout)
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(E2E.lines(m.stdout).first?.utf8 ?? "".utf8)) as? [String: Any])
        XCTAssertEqual(o["completed"] as? Int, 3)
        XCTAssertEqual(o["QueryRetrieveLevel"] as? String, "SERIES")
        XCTAssertEqual(try b.instances().count, 6)
        // A destination A does not know (Orthanc answers 0xC000, not the standard's 0xA801, so i2 names
        // both causes), a study A does not hold: that item fails (1), the others are moved.
        let unknown = try E2E.i2(["retrieve", "--from", a.address, "--move-to", "NOWHERE", studyA], expect: 1)
        XCTAssertTrue(unknown.stderr.contains("or does not know the move destination NOWHERE"), unknown.stderr)
        XCTAssertEqual(unknown.stdout, "")
        let missing = try E2E.i2(["retrieve", "--from", a.address, "--move-to", "ORTHANC_B", "1.2.3.999", studyA], expect: 1)
        XCTAssertTrue(missing.stderr.contains("study 1.2.3.999"), missing.stderr)
        XCTAssertEqual(E2E.lines(missing.stdout), [studyA])
        let bad = try E2E.i2(["retrieve", "--from", a.address, "--move-to", "ORTHANC_B", "not-a-uid"], expect: 2)
        XCTAssertTrue(bad.stderr.contains("'not-a-uid' is not a UID"), bad.stderr)
        try E2E.i2(["retrieve", "--from", "X@127.0.0.1:\(try Peers.freePort())", "--connect-timeout", "2", "--move-to", "B", studyA], expect: 3)
    }

    /// C-GET into a directory: query | retrieve | convert in one pipeline; the instances land in i2
    /// receive's layout with nothing left in the incoming directory; a rerun fetches nothing and prints the
    /// same paths; after one file is deleted, a rerun fetches exactly that one.
    func testRetrieveGetFetchesIntoTheStoreLayoutAndResumes() throws {
        let (a, _, copies) = try orthancWithTwoStudies()
        let dir = path("store")
        let q = try E2E.i2(["query", "--from", a.address, "--patient-id", "P-B"])
        let r = try E2E.i2(["retrieve", "--from", a.address, "-o", dir, "-"], stdin: q.stdout)
        let sops = try copies.map { try uid($0, "0008,0018") }
        let expected = sops.map { "\(dir)/P-B/1.2.826.0.1.3680043.8.498.77.1/1.2.826.0.1.3680043.8.498.77.2/\($0).dcm" }.sorted()
        XCTAssertEqual(E2E.lines(r.stdout).sorted(), expected)
        XCTAssertTrue(r.stderr.contains("3 fetched, 0 already present, 0 failed"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/.i2-incoming"), [])
        // The fetched files are the uploaded instances: the same volume as converting the copies.
        let c = try E2E.i2(["convert", "-", path("fetched.nii")], stdin: r.stdout)
        XCTAssertEqual(E2E.lines(c.stdout).first, path("fetched.nii"))
        let copiesDir = try mkdir("copies")
        for f in copies { try FileManager.default.copyItem(atPath: f, toPath: copiesDir + "/" + (f as NSString).lastPathComponent) }
        try E2E.i2(["convert", copiesDir, path("copies.nii")])
        try E2E.assertSameImage(path("fetched.nii"), path("copies.nii"))
        // Rerun: nothing fetched, the same paths printed.
        let again = try E2E.i2(["retrieve", "--from", a.address, "-o", dir, "1.2.826.0.1.3680043.8.498.77.1"])
        XCTAssertEqual(E2E.lines(again.stdout).sorted(), expected)
        XCTAssertTrue(again.stderr.contains("0 fetched, 3 already present"), again.stderr)
        // One deleted: only that one is fetched.
        try FileManager.default.removeItem(atPath: expected[1])
        let resumed = try E2E.i2(["retrieve", "--from", a.address, "-o", dir, "--json", "1.2.826.0.1.3680043.8.498.77.1"])
        let events = try E2E.lines(resumed.stdout).map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(events.filter { $0["event"] as? String == "stored" }.compactMap { $0["path"] as? String }, [expected[1]])
        XCTAssertEqual(events.filter { $0["event"] as? String == "present" }.count, 2)
        XCTAssertTrue(resumed.stderr.contains("1 fetched, 2 already present, 0 failed"), resumed.stderr)
        // A study the node does not hold fails by name (1); usage errors before any connection (2).
        let missing = try E2E.i2(["retrieve", "--from", a.address, "-o", dir, "1.2.3.999"], expect: 1)
        XCTAssertTrue(missing.stderr.contains("study 1.2.3.999: the node lists no instance of it"), missing.stderr)
        try E2E.i2(["retrieve", "--from", a.address, "1.2.3"], expect: 2)
        try E2E.i2(["retrieve", "--from", a.address, "--via", "move", "-o", dir, "1.2.3"], expect: 2)
    }

    /// C-MOVE to i2 itself (for nodes without C-GET): i2 listens on --port as I2 for the duration, the
    /// node (which knows I2 at that port) sends there; the same layout, paths and resume as C-GET; a port
    /// nobody can listen on fails before anything is asked of the node.
    func testRetrieveMoveToItselfFetchesIntoTheStoreLayoutAndResumes() throws {
        let port = try Peers.freePort()
        let (a, _, copies) = try orthancWithTwoStudies(i2Port: port)
        let dir = path("store")
        let sops = try copies.map { try uid($0, "0008,0018") }
        let expected = sops.map { "\(dir)/P-B/1.2.826.0.1.3680043.8.498.77.1/1.2.826.0.1.3680043.8.498.77.2/\($0).dcm" }.sorted()
        let r = try E2E.i2(["retrieve", "--from", a.address, "-o", dir, "--port", String(port), "1.2.826.0.1.3680043.8.498.77.1"])
        XCTAssertEqual(E2E.lines(r.stdout).sorted(), expected)
        XCTAssertTrue(r.stderr.contains("3 fetched, 0 already present, 0 failed"), r.stderr)
        try FileManager.default.removeItem(atPath: expected[0])
        let resumed = try E2E.i2(["retrieve", "--from", a.address, "-o", dir, "--port", String(port), "--via", "move", "1.2.826.0.1.3680043.8.498.77.1"])
        XCTAssertEqual(E2E.lines(resumed.stdout).sorted(), expected)
        XCTAssertTrue(resumed.stderr.contains("1 fetched, 2 already present, 0 failed"), resumed.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/.i2-incoming"), [])
        // The port is taken (by Orthanc's own DICOM port): a storage error before the C-MOVE.
        let busy = try E2E.i2(["retrieve", "--from", a.address, "-o", dir, "--port", String(a.dicomPort), "1.2.826.0.1.3680043.8.498.77.1"], expect: 1)
        XCTAssertTrue(busy.stderr.contains(String(a.dicomPort)), busy.stderr)
    }

    /// QIDO-RS against Orthanc's DICOMweb plugin, with HTTP basic authentication from the node file (never
    /// the command line): the same rows as C-FIND gives for the same studies; wrong or missing
    /// credentials are refused (4) naming the HTTP status; QIDO-RS has no patient level (2).
    func testQueryOverQIDORSWithTheNodeFilesCredentials() throws {
        let (orthanc, a, _) = try orthancWithTwoStudies(dicomWeb: true, users: ["alice": "secret"])
        let nodes = path("nodes.json")
        try #"{"web": {"url": "\#(orthanc.dicomWebURL)", "username": "alice", "password": "secret"}, "wrong": {"url": "\#(orthanc.dicomWebURL)", "username": "alice", "password": "nope"}}"#
            .write(toFile: nodes, atomically: true, encoding: .utf8)
        @discardableResult func query(_ args: [String], expect: Int32 = 0) throws -> TestSupport.Result {
            let r = try TestSupport.run(TestSupport.i2Path, ["query"] + args, environment: ["I2_NODES": nodes])
            XCTAssertEqual(r.status, expect, "\(args): \(r.stderr)")
            return r
        }
        let web = try query(["--from", "web"])
        let dimse = try query(["--from", orthanc.address])
        XCTAssertEqual(E2E.lines(web.stdout).count, 2)
        XCTAssertEqual(web.stdout, dimse.stdout, "QIDO-RS and C-FIND rows differ")
        let studyA = try uid(a[0], "0020,000d")
        let series = try query(["--from", "web", "--level", "series", "--study", studyA, "--json"])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(E2E.lines(series.stdout).first?.utf8 ?? "".utf8)) as? [String: Any])
        XCTAssertEqual(object["Modality"] as? String, "CT")
        XCTAssertEqual(object["StudyInstanceUID"] as? String, studyA)
        XCTAssertEqual(try query(["--from", "web", "--patient-id", "P-*", "--study-date", "20260101-"]).stdout.components(separatedBy: "\t").first,
                       "1.2.826.0.1.3680043.8.498.77.1")
        let wrong = try query(["--from", "wrong"], expect: 4)
        XCTAssertTrue(wrong.stderr.contains("HTTP 401"), wrong.stderr)
        XCTAssertFalse(wrong.stderr.contains("nope"), "the password is not shown")
        try query(["--from", orthanc.dicomWebURL], expect: 4)
        try query(["--from", "web", "--level", "patient"], expect: 2)
        try query(["--from", "http://127.0.0.1:\(try Peers.freePort())/dicom-web", "--connect-timeout", "2"], expect: 3)
    }

    /// The same checks against a second SCP, DCMTK's dcmqrscp (loaded by i2 send): each filter it indexes,
    /// every level, C-GET and C-MOVE to i2 itself giving data sets equal element by element to the files
    /// sent, and the standard's 0xA801 for a move destination it does not know, named in plain words.
    func testTheSameChecksAgainstDcmqrscp() throws {
        let movePort = try Peers.freePort()
        let qr = try DcmqrscpPeer(destinations: ["I2": movePort])
        addTeardownBlock { qr.stop() }
        let (orthanc, a, b) = try orthancWithTwoStudies()
        orthanc.stop()
        try E2E.i2(["send", "--to", qr.address] + a + b)
        let studyA = try uid(a[0], "0020,000d"), seriesA = try uid(a[0], "0020,000e")
        XCTAssertEqual(try query(qr, []).map { $0[0] }, [studyA, "1.2.826.0.1.3680043.8.498.77.1"].sorted())
        for filter in [["--patient-id", "P-B"], ["--patient-id", "P-*"], ["--accession", "ACC2"], ["--study-date", "20260101-20260131"],
                       ["--study-date", "20250101-"], ["--description", "*LOW*"], ["--study", "1.2.826.0.1.3680043.8.498.77.1"]] {
            XCTAssertEqual(try query(qr, filter).map { $0[0] }, ["1.2.826.0.1.3680043.8.498.77.1"], "\(filter)")
        }
        XCTAssertEqual(try query(qr, ["--level", "series", "--study", studyA, "--modality", "CT"]).map { [$0[0], $0[1], $0[3]] }, [[seriesA, studyA, "CT"]])
        XCTAssertEqual(try query(qr, ["--level", "instance", "--study", studyA]).map { $0[0] }, try a.map { try uid($0, "0008,0018") }.sorted())
        XCTAssertEqual(try query(qr, ["--level", "patient"]).map { $0[0] }, ["99000", "P-B"])

        // C-GET, then C-MOVE to ourselves: every instance, each data set as sent.
        let bySOP = Dictionary(uniqueKeysWithValues: try (a + b).map { (try uid($0, "0008,0018"), $0) })
        for (name, extra) in [("get", [String]()), ("move", ["--port", String(movePort)])] {
            let dir = path("store-\(name)")
            let r = try E2E.i2(["retrieve", "--from", qr.address, "-o", dir] + extra + [studyA, "1.2.826.0.1.3680043.8.498.77.1"])
            let paths = E2E.lines(r.stdout)
            XCTAssertEqual(paths.count, 6, r.stderr)
            for p in paths {
                let sop = ((p as NSString).lastPathComponent as NSString).deletingPathExtension
                try RX.assertSameDataSet(p, try XCTUnwrap(bySOP[sop], p))
            }
        }
        // A move destination dcmqrscp does not know: 0xA801, named.
        let unknown = try E2E.i2(["retrieve", "--from", qr.address, "--move-to", "NOWHERE", studyA], expect: 4)
        XCTAssertTrue(unknown.stderr.contains("does not know the move destination NOWHERE"), unknown.stderr)
        let moved = try E2E.i2(["retrieve", "--from", qr.address, "--move-to", "I2", "--level", "series", seriesA], expect: 1)
        XCTAssertTrue(moved.stderr.contains("series \(seriesA)"), moved.stderr)   // nobody listens at I2's port now
    }

    /// C-MOVE into a running i2 receive (the node knows its AE title and port): the receiver stores
    /// exactly the instances Orthanc lists for the study, each data set equal element by element.
    func testRetrieveMovesIntoARunningI2Receive() throws {
        let port = try Peers.freePort()
        let receiver = try startReceiver(path("root"), ["--aet", "I2RX"], port: port)
        let (a, source, copies) = try orthancWithTwoStudies(extra: ["rx": (aet: "I2RX", host: "127.0.0.1", port: port)])
        let r = try E2E.i2(["retrieve", "--from", a.address, "--move-to", "I2RX", "1.2.826.0.1.3680043.8.498.77.1"])
        XCTAssertEqual(E2E.lines(r.stdout), ["1.2.826.0.1.3680043.8.498.77.1"])
        XCTAssertTrue(receiver.waitForPaths(3, timeout: 30), receiver.process.stderr)
        let lookup = try JSONSerialization.jsonObject(with: try a.request("POST", "/tools/lookup", body: Data("1.2.826.0.1.3680043.8.498.77.1".utf8))) as? [[String: Any]]
        let id = try XCTUnwrap(lookup?.first?["ID"] as? String)
        let listed = try JSONSerialization.jsonObject(with: try a.get("/studies/\(id)/instances")) as? [[String: Any]] ?? []
        let orthancSOPs = listed.compactMap { ($0["MainDicomTags"] as? [String: Any])?["SOPInstanceUID"] as? String }.sorted()
        let stored = receiver.paths.map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension }.sorted()
        XCTAssertEqual(stored, orthancSOPs)
        let bySOP = Dictionary(uniqueKeysWithValues: try copies.map { (try uid($0, "0008,0018"), $0) })
        for p in receiver.paths {
            try RX.assertSameDataSet(p, try XCTUnwrap(bySOP[((p as NSString).lastPathComponent as NSString).deletingPathExtension]))
        }
        _ = source
    }
}
