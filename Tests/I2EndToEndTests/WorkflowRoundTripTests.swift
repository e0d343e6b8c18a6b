// The product's main job, for real: a CT uploaded to Orthanc (127.0.0.1, generated config listing i2
// as a modality) is pushed to `i2 receive`; `i2 watch --exec 'i2 process … | i2 send --to orthanc -'`
// turns it into a DICOM-SEG that lands in Orthanc next to the CT. Also: a watcher killed with SIGKILL
// mid-work and restarted still delivers exactly one SEG; a failing tool marks only its series failed; a
// site asking for SEG, RTSTRUCT, overlay and SR gets all four in the CT's study.
import Foundation
import XCTest
import I2TestSupport

final class WorkflowRoundTripTests: XCTestCase {
    var root = "", out = "", scratch = ""
    let quiet = 2.0

    override func setUp() {
        root = TestSupport.tempDirectory()     // what i2 receive stores
        out = TestSupport.tempDirectory()      // what i2 process writes
        scratch = TestSupport.tempDirectory()  // node file, counters
    }
    override func tearDown() {
        for d in [root, out, scratch] { try? FileManager.default.removeItem(atPath: d) }
    }

    // MARK: helpers

    var ctFiles: [String] { ["01", "02", "03"].map { TestSupport.fixture("dcmqi/ct-3slice/\($0).dcm") } }

    /// i2 receive on loopback, then Orthanc knowing it as modality "i2" (AE I2), then the node file
    /// through which i2 send finds Orthanc by the name "orthanc".
    func startPeers() throws -> (RXReceiver, OrthancPeer) {
        let rx = try startReceiver(root)
        let orthanc = try OrthancPeer(modalities: ["i2": (aet: "I2", host: "127.0.0.1", port: rx.port)])
        addTeardownBlock { orthanc.stop() }
        try #"{ "orthanc": { "aet": "\#(orthanc.aeTitle)", "host": "127.0.0.1", "port": \#(orthanc.dicomPort) } }"#
            .write(toFile: scratch + "/nodes.json", atomically: true, encoding: .utf8)
        return (rx, orthanc)
    }

    /// `i2 watch` with the built i2 first on PATH (the --exec says plain `i2`) and the node file.
    func watcher(_ args: [String]) throws -> RXProcess {
        guard FileManager.default.isExecutableFile(atPath: TestSupport.i2Path) else {
            throw TestSupport.Missing("the i2 binary at \(TestSupport.i2Path): build it first")
        }
        let bin = (TestSupport.i2Path as NSString).deletingLastPathComponent
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        return try background(TestSupport.i2Path, ["watch", "--poll", "0.1"] + args + [root],
                              environment: ["PATH": path, "I2_NODES": scratch + "/nodes.json"])
    }

    /// The watch state of a series directory for a command: the .i2-watch-*.json that records it.
    func state(_ dir: String, _ command: String) -> [String: Any]? {
        let d = dir
        for name in (try? FileManager.default.contentsOfDirectory(atPath: d)) ?? [] where name.hasPrefix(".i2-watch-") && name.hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: d + "/" + name),
                  let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any], o["command"] as? String == command else { continue }
            return o
        }
        return nil
    }

    /// Polls every 100 ms; false when `timeout` passes first.
    func waitFor(_ timeout: TimeInterval, _ condition: () throws -> Bool) rethrows -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if try condition() { return true }
            usleep(100_000)
        }
        return try condition()
    }

    /// Uploads the CT over REST; returns Orthanc's instance IDs and the CT's study and series UIDs.
    func uploadCT(_ orthanc: OrthancPeer) throws -> (ids: [String], study: String, series: String) {
        let ids = try ctFiles.map { try orthanc.upload($0) }
        let instance = try orthanc.object("/instances/\(ids[0])")
        let series = try orthanc.object("/series/\(instance["ParentSeries"] as? String ?? "")")
        let study = try orthanc.object("/studies/\(series["ParentStudy"] as? String ?? "")")
        return (ids, tag(study, "StudyInstanceUID"), tag(series, "SeriesInstanceUID"))
    }

    func tag(_ resource: [String: Any], _ name: String) -> String {
        (resource["MainDicomTags"] as? [String: Any])?[name] as? String ?? ""
    }

    /// Orthanc's SEG series (GET /series?expand, Modality SEG).
    func segSeries(_ orthanc: OrthancPeer) throws -> [[String: Any]] {
        let all = try JSONSerialization.jsonObject(with: try orthanc.get("/series?expand")) as? [[String: Any]] ?? []
        return all.filter { tag($0, "Modality") == "SEG" }
    }

    /// The one SEG in Orthanc is in the CT's study, its ReferencedSeriesSequence names the CT series, and it
    /// holds the one expected segment.
    func assertOneSEG(in orthanc: OrthancPeer, study: String, series: String, segment: String,
                      file: StaticString = #filePath, line: UInt = #line) throws {
        let segs = try segSeries(orthanc)
        XCTAssertEqual(segs.count, 1, "SEG series in Orthanc: \(segs)", file: file, line: line)
        guard let seg = segs.first else { return }
        let instances = seg["Instances"] as? [String] ?? []
        XCTAssertEqual(instances.count, 1, "SEG instances: \(instances)", file: file, line: line)
        let parent = try orthanc.object("/studies/\(seg["ParentStudy"] as? String ?? "")")
        XCTAssertEqual(tag(parent, "StudyInstanceUID"), study, "the SEG is not in the CT's study", file: file, line: line)
        let tags = try orthanc.object("/instances/\(instances.first ?? "")/tags?simplify")
        let referenced = (tags["ReferencedSeriesSequence"] as? [[String: Any]] ?? []).compactMap { $0["SeriesInstanceUID"] as? String }
        XCTAssertEqual(referenced, [series], "ReferencedSeriesSequence (0008,1115)", file: file, line: line)
        XCTAssertEqual(tags["Modality"] as? String, "SEG", file: file, line: line)
        XCTAssertEqual((tags["SegmentSequence"] as? [[String: Any]] ?? []).compactMap { $0["SegmentLabel"] as? String }, [segment],
                       file: file, line: line)
    }

    /// The command text the README recommends, with this test's tool options and output directory.
    func pipeline(_ tool: String) -> String {
        "i2 process --force \(tool) {series} -o \(out) | i2 send --to orthanc -"
    }

    var liverTool: String { TestSupport.fixture("tools/liver.json") }
    var liverLabels: String { TestSupport.fixture("dcmqi/liver_seg.nrrd") }

    // MARK: tests

    func testPushedCTComesBackAsSEGInTheSameStudy() throws {
        let (rx, orthanc) = try startPeers()
        let ct = try uploadCT(orthanc)
        let cmd = pipeline("--tool threshold")
        let w = try watcher(["--quiet", String(quiet), "--exec", cmd])

        let pushed = Date()
        try orthanc.store(toModality: "i2", resources: ct.ids)
        XCTAssertTrue(rx.waitForPaths(3, timeout: 20), "i2 receive stored \(rx.paths.count) of 3: \(rx.process.stderr)")
        let arrived = try waitFor(quiet + 10) { try !segSeries(orthanc).isEmpty }
        let seconds = Date().timeIntervalSince(pushed)
        let seriesDir = ((rx.paths.first ?? "") as NSString).deletingLastPathComponent
        let log = (state(seriesDir, cmd)?["log"] as? String).flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? "(no log)"
        XCTAssertTrue(arrived, "no SEG in Orthanc \(quiet) + 10 s after the push; watch: \(w.stderr)\nexec log: \(log)")
        XCTAssertLessThan(seconds, quiet + 6, "push → SEG in Orthanc took \(seconds) s")
        try assertOneSEG(in: orthanc, study: ct.study, series: ct.series, segment: "Bone")

        XCTAssertEqual(seriesDir, "\(root)/\(try orthanc.object("/instances/\(ct.ids[0])/tags?simplify")["PatientID"] as? String ?? "")/\(ct.study)/\(ct.series)")
        XCTAssertTrue(waitFor(5) { state(seriesDir, cmd)?["status"] as? String == "done" }, "state: \(String(describing: state(seriesDir, cmd)))")
        XCTAssertEqual(w.stop(), 0)
        XCTAssertEqual(try E2E.list(out + "/\(ct.series)-threshold").filter { $0.hasSuffix(".dcm") }, ["seg.dcm"])
    }

    /// A site whose PACS users want every kind of result: the threshold tool's description with
    /// "as": seg, rtstruct, overlay, sr. All four land in the CT's study: one SEG, one RTSTRUCT, one
    /// overlay series (an instance per CT slice), one SR whose measurement group references the SEG.
    func testSiteAskingForEveryObjectGetsAllFourInTheCTStudy() throws {
        let (rx, orthanc) = try startPeers()
        let ct = try uploadCT(orthanc)
        let described = try E2E.i2(["process", "--describe", "threshold"]).stdout
        var spec = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(described.utf8)) as? [String: Any])
        var outputs = try XCTUnwrap(spec["outputs"] as? [[String: Any]])
        outputs[0]["as"] = ["seg", "rtstruct", "overlay", "sr"]
        spec["outputs"] = outputs
        let tool = scratch + "/threshold-all.json"
        try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: tool))
        let cmd = pipeline("--tool \(tool)")
        let w = try watcher(["--quiet", String(quiet), "--exec", cmd])
        try orthanc.store(toModality: "i2", resources: ct.ids)
        XCTAssertTrue(rx.waitForPaths(3, timeout: 20), "i2 receive stored \(rx.paths.count) of 3: \(rx.process.stderr)")
        let seriesDir = ((rx.paths.first ?? "") as NSString).deletingLastPathComponent
        XCTAssertTrue(waitFor(quiet + 20) { state(seriesDir, cmd)?["status"] as? String == "done" },
                      "state: \(String(describing: state(seriesDir, cmd)))\nwatch: \(w.stderr)")
        XCTAssertEqual(w.stop(), 0)
        let all = try JSONSerialization.jsonObject(with: try orthanc.get("/series?expand")) as? [[String: Any]] ?? []
        var byModality: [String: [[String: Any]]] = [:]
        for s in all { byModality[tag(s, "Modality"), default: []].append(s) }
        XCTAssertEqual(byModality.mapValues(\.count), ["CT": 2, "SEG": 1, "RTSTRUCT": 1, "SR": 1], "series in Orthanc: \(all.map { tag($0, "Modality") + " " + tag($0, "SeriesDescription") })")
        let overlay = (byModality["CT"] ?? []).first { tag($0, "SeriesInstanceUID") != ct.series }
        XCTAssertEqual((overlay?["Instances"] as? [Any])?.count, 3, "the overlay series has one instance per CT slice")
        for s in all {
            let study = try orthanc.object("/studies/\(s["ParentStudy"] as? String ?? "")")
            XCTAssertEqual(tag(study, "StudyInstanceUID"), ct.study, "\(tag(s, "Modality")) is not in the CT's study")
        }
        let seg = try orthanc.object("/instances/\((byModality["SEG"]?.first?["Instances"] as? [String])?.first ?? "")/tags?simplify")
        let sr = try orthanc.object("/instances/\((byModality["SR"]?.first?["Instances"] as? [String])?.first ?? "")/tags?simplify")
        // The SR's one measurement group (Imaging Measurements → Measurement Group) references the SEG.
        let group = ((((sr["ContentSequence"] as? [[String: Any]])?.last?["ContentSequence"] as? [[String: Any]])?.first)?["ContentSequence"] as? [[String: Any]]) ?? []
        let segRef = group.compactMap { ($0["ReferencedSOPSequence"] as? [[String: Any]])?.first?["ReferencedSOPInstanceUID"] as? String }
        XCTAssertEqual(segRef, [seg["SOPInstanceUID"] as? String ?? "?"], "SR content: \(group)")
    }

    func testWatcherKilledMidWorkAndRestartedDeliversExactlyOneSEG() throws {
        let (rx, orthanc) = try startPeers()
        let ct = try uploadCT(orthanc)
        // The tool takes 3 s, so the kill lands while i2 process is running it.
        let cmd = pipeline("--tool \(liverTool) --param delay=3 --param labels=\(liverLabels)")
        let first = try watcher(["--quiet", String(quiet), "--exec", cmd])
        try orthanc.store(toModality: "i2", resources: ct.ids)
        XCTAssertTrue(rx.waitForPaths(3, timeout: 20))
        let seriesDir = ((rx.paths.first ?? "") as NSString).deletingLastPathComponent
        // The work directory is OUT/.i2-work/<series UID>-liver-<hash of the series directory>.
        let toolStarted = {
            let work = (try? FileManager.default.contentsOfDirectory(atPath: self.out + "/.i2-work")) ?? []
            return work.contains { $0.hasPrefix(ct.series + "-liver-") && FileManager.default.fileExists(atPath: self.out + "/.i2-work/" + $0 + "/tool.log") }
        }
        XCTAssertTrue(waitFor(quiet + 10) {
            state(seriesDir, cmd)?["status"] as? String == "processing" && toolStarted()
        }, "the tool never started: \(first.stderr)")
        kill(first.pid, SIGKILL)
        XCTAssertNotNil(first.waitForExit(timeout: 10))
        XCTAssertTrue(try segSeries(orthanc).isEmpty, "the SEG arrived before the kill: the test proves nothing")

        // The orphaned pipeline still holds the claim and finishes; the new watcher adopts the exit
        // status its supervising shell recorded instead of running the series again: one SEG, one run.
        let second = try watcher(["--quiet", String(quiet), "--exec", cmd])
        XCTAssertTrue(waitFor(30) {
            (state(seriesDir, cmd)?["history"] as? [[String: Any]] ?? []).last?["status"] as? String == "done"
        }, "the orphan's outcome was not recorded: \(second.stderr)\nstate: \(String(describing: state(seriesDir, cmd)))")
        XCTAssertEqual(second.stop(), 0)
        let history = (state(seriesDir, cmd)?["history"] as? [[String: Any]] ?? []).map { $0["status"] as? String ?? "?" }
        XCTAssertEqual(history, ["done"])
        try assertOneSEG(in: orthanc, study: ct.study, series: ct.series, segment: "Liver")
        XCTAssertEqual(try orthanc.instances().count, 4, "the CT's 3 instances and one SEG")
    }

    func testFailingToolMarksItsSeriesFailedAndOthersAreServed() throws {
        let (_, orthanc) = try startPeers()
        // Two series laid out as i2 receive does (hidden temporary, rename); the tool exits 3 on CRASH.
        // GOOD gets its own SeriesInstanceUID, as a second series would (results and work dirs are per UID).
        let dcmodify = try Peers.tool("dcmodify", package: "dcmtk")
        for (name, uid) in [("CRASH", nil), ("GOOD", "1.2.826.0.1.3680043.8.498.1.\(getpid())")] {
            let dir = "\(root)/P/ST/\(name)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for (i, f) in ctFiles.enumerated() {
                let tmp = "\(root)/.tmp-\(UUID().uuidString)"
                try FileManager.default.copyItem(atPath: f, toPath: tmp)
                if let uid {
                    let r = try TestSupport.run(dcmodify, ["-nb", "-m", "(0020,000e)=\(uid)", tmp])
                    XCTAssertEqual(r.status, 0, r.stderr)
                }
                XCTAssertEqual(rename(tmp, "\(dir)/\(i).dcm"), 0)
            }
        }
        let cmd = pipeline("--tool \(liverTool) --param labels=\(liverLabels)")
        let w = try watcher(["--quiet", "0.5", "--retries", "1", "--retry-delay", "0.2", "--exec", cmd])
        let crash = root + "/P/ST/CRASH", good = root + "/P/ST/GOOD"
        XCTAssertTrue(waitFor(20) {
            state(crash, cmd)?["status"] as? String == "failed" && state(good, cmd)?["status"] as? String == "done"
        }, "states: CRASH \(String(describing: state(crash, cmd))), GOOD \(String(describing: state(good, cmd)))\nwatch: \(w.stderr)")
        XCTAssertEqual(w.stop(), 0)

        let failed = state(crash, cmd)
        XCTAssertEqual(failed?["attempts"] as? Int, 2)
        XCTAssertTrue(w.stderr.contains("\(crash): failed after 2 attempts"), w.stderr)
        // i2 process names the series, the reason and the tool's log, which holds what the tool said.
        let log = (try? String(contentsOfFile: failed?["log"] as? String ?? "", encoding: .utf8)) ?? ""
        XCTAssertTrue(log.contains(crash) && log.contains("status 3"), "the exec log does not name the series and the exit status: \(log)")
        let toolLog = log.split(whereSeparator: { " \n'\"()".contains($0) }).map(String.init).first { $0.hasSuffix("tool.log") }
        XCTAssertNotNil(toolLog, "no tool.log named in: \(log)")
        if let t = toolLog {
            XCTAssertTrue(((try? String(contentsOfFile: t, encoding: .utf8)) ?? "").contains("simulated crash"), "\(t) lacks the tool's stderr")
        }
        // The good series became a SEG in Orthanc, referencing the (never uploaded) CT series.
        let segs = try segSeries(orthanc)
        XCTAssertEqual(segs.count, 1, "\(segs)")
        XCTAssertEqual(segs.first.map { ($0["Instances"] as? [String] ?? []).count }, 1)
    }
}

extension OrthancPeer {
    /// GET path as a JSON object.
    func object(_ path: String) throws -> [String: Any] {
        guard let o = try JSONSerialization.jsonObject(with: try get(path)) as? [String: Any] else {
            throw PeerError("GET \(path): not a JSON object")
        }
        return o
    }
}
