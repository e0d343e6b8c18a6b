// i2 process end to end: the built-in threshold tool checked against an independent computation
// (pydicom) and read back by highdicom; JSON tools producing every output type, checked by dciodvfy and
// pydicom; and the failure contract (tool error, timeout with its children stopped, missing output,
// label map on another grid, skipped series, bad descriptions): one error naming the series, reason
// and log, exit 1, no result and no staging directory left, the other series still done.
import Foundation
import XCTest
import I2TestSupport

final class ProcessTests: E2ECase {
    let ct = TestSupport.fixture("dcmqi/ct-3slice")
    let small = TestSupport.fixture("dcmqi/23x38x3/image")

    func tool(_ name: String, _ json: String) throws -> String {
        let p = path(name + ".json")
        try json.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    func dciodvfyErrors(_ file: String) throws -> [String] {
        let r = try TestSupport.run(try TestSupport.tool("dciodvfy", package: "dicom3tools"), [file])
        return (r.stdout + r.stderr).split(separator: "\n").map(String.init).filter { $0.hasPrefix("Error") }
    }

    /// Nothing but result directories in OUT: no staging (.part) or work leftovers.
    func assertNoLeftovers(_ out: String, keepWork: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws {
        let names = (try? E2E.list(out)) ?? []
        XCTAssertEqual(names.filter { $0.contains(".part") || $0.contains("i2tmp") }, [], file: file, line: line)
    }

    func testThresholdSegMatchesPydicomAndHighdicomReadsIt() throws {
        guard try TestSupport.run(try E2E.python(), ["-c", "import highdicom"]).status == 0 else {
            throw TestSupport.Missing("pip install highdicom into .venv (scripts/install-deps.sh)")
        }
        let out = path("out")
        let r = try E2E.i2(["process", "--tool", "threshold", ct, "-o", out])
        let files = E2E.lines(r.stdout)
        XCTAssertEqual(files.count, 1, r.stdout)
        let seg = try XCTUnwrap(files.first)
        XCTAssertTrue(seg.hasSuffix("-threshold/seg.dcm"), seg)
        XCTAssertEqual(try dciodvfyErrors(seg), [])
        // Independent: HU >= 300 per CT slice from pydicom, against each SEG frame through the source
        // instance it references; slices without bone have no frame.
        let check = try E2E.pyCode("""
        import sys, glob, pydicom, numpy as np
        import highdicom as hd
        seg = pydicom.dcmread(sys.argv[1])
        cts = {d.SOPInstanceUID: d for d in (pydicom.dcmread(p) for p in glob.glob(sys.argv[2] + '/*.dcm'))}
        expected = {u: (d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept)) >= 300 for u, d in cts.items()}
        frames = seg.pixel_array.reshape((-1, seg.Rows, seg.Columns))
        got = {}
        for f, item in zip(frames, seg.PerFrameFunctionalGroupsSequence):
            got[item.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID] = f.astype(bool)
        bad = [u for u in expected if (expected[u].any() or u in got) and not np.array_equal(expected[u], got.get(u))]
        s = hd.seg.segread(sys.argv[1])
        d = s.get_segment_description(1)
        ref = s.ReferencedSeriesSequence[0].SeriesInstanceUID
        print(len(bad), int(sum(e.sum() for e in expected.values())), d.segment_label, d.segmented_property_type.value,
              d.segmented_property_category.value, s.StudyInstanceUID == next(iter(cts.values())).StudyInstanceUID,
              ref == next(iter(cts.values())).SeriesInstanceUID)
        """, [seg, ct])
        let f = check.split(separator: " ").map(String.init)
        guard f.count == 7 else { return XCTFail("unexpected check output: \(check)") }
        XCTAssertEqual(f[0], "0", "frames differ from HU >= 300: \(check)")
        XCTAssertGreaterThan(Int(f[1]) ?? 0, 1000, "the fixture has bone: \(check)")
        XCTAssertEqual(Array(f[2...]), ["Bone", "272673000", "85756007", "True", "True"])

        // Same inputs, same UIDs: a re-send replaces.
        XCTAssertEqual(try E2E.i2(["process", "--tool", "threshold", ct, "-o", out], expect: 1).stdout, "")
        let again = try E2E.i2(["process", "--tool", "threshold", ct, "-o", path("out2")]).stdout
        let uids = try E2E.pyCode("import sys, pydicom\nfor p in sys.argv[1:]: d = pydicom.dcmread(p); print(d.SeriesInstanceUID, d.SOPInstanceUID)",
                                  [seg, E2E.lines(again)[0]])
        XCTAssertEqual(Set(E2E.lines(uids)).count, 1, uids)
        // A narrower range via --param gives fewer voxels (and so another SEG).
        let narrow = try E2E.i2(["process", "--tool", "threshold", "--param", "lower=1000", "--param", "upper=1200", ct, "-o", path("out3")])
        let count = try E2E.pyCode("import sys, pydicom; print(int(pydicom.dcmread(sys.argv[1]).pixel_array.sum()))", [E2E.lines(narrow.stdout)[0]])
        XCTAssertLessThan(Int(count) ?? .max, Int(f[1])!)
        try assertNoLeftovers(out)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/.i2-work"), "work directory removed after success")
    }

    func testDescribedThresholdRunsFromItsJSON() throws {
        let json = try E2E.i2(["process", "--describe", "threshold"]).stdout
        let file = try tool("mine", json)
        let a = try E2E.i2(["process", "--tool", file, ct, "-o", path("a")]).stdout
        let b = try E2E.i2(["process", "--tool", "threshold", ct, "-o", path("b")]).stdout
        let ma = try Data(contentsOf: URL(fileURLWithPath: E2E.lines(a)[0]))
        let mb = try Data(contentsOf: URL(fileURLWithPath: E2E.lines(b)[0]))
        XCTAssertEqual(ma.count, mb.count)
    }

    func testJSONToolWithEveryOutputType() throws {
        let pdf = path("r.pdf")
        try "%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".write(toFile: pdf, atomically: true, encoding: .utf8)
        let t = try tool("multi", """
        {"name": "multi", "version": "0.1", "input": "nrrd", "_comment": "copies its input back as an image",
         "parameters": {"pdf": ""},
         "command": "cp {input} {output}/img.nrrd && cp {param:pdf} {output}/report.pdf && mkdir {output}/own && cp {series}/01.dcm {output}/own/ && echo tool-was-here",
         "outputs": [{"type": "pdf", "path": "report.pdf", "title": "Volumetry"},
                     {"type": "image", "path": "img.nrrd", "seriesDescription": "copy"},
                     {"type": "dicom", "path": "own"}]}
        """)
        let r = try E2E.i2(["process", "--tool", t, "--param", "pdf=" + pdf, "--keep-work", ct, "-o", path("out")])
        let files = E2E.lines(r.stdout)
        XCTAssertEqual(files.count, 1 + 3 + 1, r.stdout)
        let report = try XCTUnwrap(files.first { $0.hasSuffix("/report.dcm") })
        XCTAssertEqual(try dciodvfyErrors(report), [])
        let images = files.filter { $0.contains("/image/") }
        for f in images { XCTAssertEqual(try dciodvfyErrors(f), [], f) }
        let check = try E2E.pyCode("""
        import sys, glob, pydicom
        rep = pydicom.dcmread(sys.argv[1]); ct = sorted((pydicom.dcmread(p) for p in glob.glob(sys.argv[3] + '/*.dcm')), key=lambda d: float(d.ImagePositionPatient[2]))
        pdf = open(sys.argv[2], 'rb').read()
        print(rep.EncapsulatedDocument[:len(pdf)] == pdf, rep.MIMETypeOfEncapsulatedDocument, rep.StudyInstanceUID == ct[0].StudyInstanceUID,
              len(rep.SourceInstanceSequence))
        img = sorted((pydicom.dcmread(p) for p in sys.argv[4:]), key=lambda d: float(d.ImagePositionPatient[2]))
        import numpy as np
        same = all(np.array_equal(a.pixel_array * float(a.RescaleSlope) + float(a.RescaleIntercept),
                                  b.pixel_array * float(b.RescaleSlope) + float(b.RescaleIntercept)) for a, b in zip(img, ct))
        print(same, [list(map(float, a.ImagePositionPatient)) == list(map(float, b.ImagePositionPatient)) for a, b in zip(img, ct)] == [True] * 3,
              img[0].SeriesDescription, img[0].SeriesInstanceUID != ct[0].SeriesInstanceUID)
        """, [report, pdf, ct] + images)
        XCTAssertEqual(E2E.lines(check), ["True application/pdf True 3", "True True copy True"])
        let own = try XCTUnwrap(files.first { $0.contains("/dicom/") })
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: own)), try Data(contentsOf: URL(fileURLWithPath: ct + "/01.dcm")))
        // The tool's output went to the log, kept with --keep-work.
        let logs = try FileManager.default.subpathsOfDirectory(atPath: path("out/.i2-work")).filter { $0.hasSuffix("tool.log") }
        XCTAssertEqual(logs.count, 1)
        XCTAssertTrue(try String(contentsOfFile: path("out/.i2-work/") + logs[0], encoding: .utf8).contains("tool-was-here"))
    }

    /// i2 fixes DCMTK's environment at start-up (DCMDICTPATH=/dev/null when the user set none, for its
    /// compiled-in dictionary): a tool it runs sees the user's environment, not that.
    func testToolSeesTheUsersDictionaryPathNotI2s() throws {
        let seen = path("seen.txt")
        let t = try tool("env", """
        {"name": "env", "input": "dicom",
         "command": ["sh", "-c", "printf '%s' \\"${DCMDICTPATH-unset}\\" > \(seen); cp \\"$1\\"/01.dcm \\"$2\\"/", "sh", "{input}", "{output}"],
         "outputs": [{"type": "dicom", "path": "01.dcm"}]}
        """)
        var env = ProcessInfo.processInfo.environment
        env["DCMDICTPATH"] = nil
        let unset = try TestSupport.run(TestSupport.i2Path, ["process", "--tool", t, ct, "-o", path("out1")], environment: env)
        XCTAssertEqual(unset.status, 0, unset.stderr)
        XCTAssertEqual(try String(contentsOfFile: seen, encoding: .utf8), "unset")
        env["DCMDICTPATH"] = "/usr/share/libdcmtk17/dicom.dic"
        let own = try TestSupport.run(TestSupport.i2Path, ["process", "--tool", t, ct, "-o", path("out2")], environment: env)
        XCTAssertEqual(own.status, 0, own.stderr)
        XCTAssertEqual(try String(contentsOfFile: seen, encoding: .utf8), "/usr/share/libdcmtk17/dicom.dic")
    }

    func testFailingToolNamesSeriesReasonAndLogAndOthersGoOn() throws {
        let t = try tool("fail", """
        {"name": "picky", "input": "dicom",
         "command": ["sh", "-c", "echo 'model exploded' >&2; case \\"$1\\" in *23x38*) exit 3;; esac; cp \\"$1\\"/01.dcm \\"$2\\"/", "sh", "{input}", "{output}"],
         "outputs": [{"type": "dicom", "path": "01.dcm"}]}
        """)
        let out = path("out")
        let r = try E2E.i2(["process", "--tool", t, "-", "-o", out], expect: 1, stdin: small + "\n" + ct + "\n")
        XCTAssertEqual(E2E.lines(r.stdout).count, 1, "the good series is still done")
        let err = E2E.errorLines(r.stderr)
        XCTAssertEqual(err.count, 1, r.stderr)
        XCTAssertTrue(err[0].contains(small) && err[0].contains("exited with status 3") && err[0].contains("tool.log"), err[0])
        let log = String(err[0][err[0].range(of: "log: ")!.upperBound...].dropLast())
        XCTAssertTrue(try String(contentsOfFile: log, encoding: .utf8).contains("model exploded"))
        XCTAssertEqual(try E2E.list(out).filter { !$0.hasPrefix(".") }.count, 1, "no result for the failed series")
        try assertNoLeftovers(out)
    }

    func testTimeoutStopsTheToolAndEverythingItStarted() throws {
        let pidFile = path("child.pid")
        let t = try tool("slow", """
        {"name": "slow", "input": "dicom", "timeout": 60,
         "command": "sleep 300 & echo $! > \(pidFile); wait",
         "outputs": [{"type": "pdf", "path": "r.pdf"}]}
        """)
        let start = Date()
        let r = try E2E.i2(["process", "--tool", t, "--timeout", "1.5", ct, "-o", path("out")], expect: 1)
        XCTAssertLessThan(Date().timeIntervalSince(start), 8)
        XCTAssertTrue(r.stderr.contains("timed out after 1.5 s"), r.stderr)
        let child = try XCTUnwrap(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        usleep(200_000)
        // Gone, or a zombie waiting for a reaper (this sandbox's init may not reap): not running.
        let stat = (try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8)) ?? ""
        let state = stat.range(of: ") ").map { stat[$0.upperBound...].prefix(1) } ?? "gone"
        XCTAssertTrue(state == "gone" || state == "Z", "the tool's child \(child) survived the timeout (state \(state))")
        XCTAssertEqual(r.stdout, "")
    }

    func testSigtermToProcessStopsTheTool() throws {
        let pidFile = path("tool.pid")
        let t = try tool("slow", """
        {"name": "slow", "input": "dicom", "command": "sleep 300 & echo $! > \(pidFile); wait", "outputs": [{"type": "pdf", "path": "r.pdf"}]}
        """)
        let p = Foundation.Process()
        p.executableURL = URL(fileURLWithPath: TestSupport.i2Path)
        p.arguments = ["process", "--tool", t, ct, "-o", path("out")]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(20)
        while (try? String(contentsOfFile: pidFile, encoding: .utf8))?.hasSuffix("\n") != true, Date() < deadline { usleep(50_000) }
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 128 + SIGTERM)
        let child = try XCTUnwrap(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        usleep(300_000)
        let stat = (try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8)) ?? ""
        let state = stat.range(of: ") ").map { stat[$0.upperBound...].prefix(1) } ?? "gone"
        XCTAssertTrue(state == "gone" || state == "Z", "the tool's child \(child) outlived i2 process (state \(state))")
        XCTAssertEqual(try E2E.list(path("out")).filter { !$0.hasPrefix(".") }, [])
    }

    func testMissingOutputWrongGridAndSkippedSeries() throws {
        let none = try tool("none", #"{"name": "none", "input": "dicom", "command": ["true"], "outputs": [{"type": "pdf", "path": "r.pdf"}]}"#)
        var r = try E2E.i2(["process", "--tool", none, ct, "-o", path("o1")], expect: 1)
        XCTAssertTrue(r.stderr.contains("the tool wrote no r.pdf"), r.stderr)
        // A 23x38 label map is not on the 512x512 CT grid.
        let grid = try tool("grid", """
        {"name": "grid", "input": "dicom", "command": ["cp", "\(TestSupport.fixture("dcmqi/23x38x3/nrrd/label.nrrd"))", "{output}/l.nrrd"],
         "outputs": [{"type": "segmentation", "path": "l.nrrd", "meta": "\(TestSupport.fixture("dcmqi/json/seg-example.json"))"}]}
        """)
        r = try E2E.i2(["process", "--tool", grid, ct, "-o", path("o2")], expect: 1)
        XCTAssertTrue(r.stderr.contains("not on the grid") || r.stderr.contains("grid"), r.stderr)
        XCTAssertTrue(r.stderr.contains(ct), r.stderr)
        XCTAssertEqual(r.stdout, "")
        try assertNoLeftovers(path("o2"))
        // A tool for MR skips the CT with the reason, exit 0, nothing printed.
        let mr = try tool("mr", #"{"name": "mr", "accepts": {"modalities": ["MR"]}, "command": ["false"], "outputs": [{"type": "pdf", "path": "r.pdf"}]}"#)
        r = try E2E.i2(["process", "--tool", mr, ct, "-o", path("o3")])
        XCTAssertTrue(r.stderr.contains("skipped: modality CT"), r.stderr)
        XCTAssertEqual(r.stdout, "")
        let few = try tool("few", #"{"name": "few", "accepts": {"minSlices": 10}, "command": ["false"], "outputs": [{"type": "pdf", "path": "r.pdf"}]}"#)
        XCTAssertTrue(try E2E.i2(["process", "--tool", few, ct, "-o", path("o3")]).stderr.contains("3 slices, the tool needs at least 10"))
    }

    /// A tool description's segmentation output with "as": ["seg", "rtstruct"]: both objects, in the
    /// result's seg/ directory, both paths printed; the structure set reads back to the tool's label map.
    func testSegmentationOutputAsSegAndStructureSet() throws {
        let both = try tool("both", """
        {"name": "both", "input": "dicom", "command": ["cp", "\(TestSupport.fixture("dcmqi/liver_seg.nrrd"))", "{output}/l.nrrd"],
         "outputs": [{"type": "segmentation", "path": "l.nrrd", "meta": "\(TestSupport.fixture("dcmqi/json/seg-example.json"))", "as": ["seg", "rtstruct"]}]}
        """)
        let r = try E2E.i2(["process", "--tool", both, ct, "-o", path("o")])
        let printed = E2E.lines(r.stdout)
        XCTAssertEqual(printed.map { ($0 as NSString).lastPathComponent }, ["seg.dcm", "rtstruct.dcm"], r.stdout)
        XCTAssertTrue(printed.allSatisfy { $0.hasSuffix("/seg/seg.dcm") || $0.hasSuffix("/seg/rtstruct.dcm") }, r.stdout)
        try E2E.i2(["seg2nifti", printed[1], "--ref", ct, "-o", path("back.nii.gz")])
        try E2E.i2(["convert", TestSupport.fixture("dcmqi/liver_seg.nrrd"), path("liver.nii.gz")])
        try E2E.assertSameImage(path("back.nii.gz"), path("liver.nii.gz"))
    }

    func testBadDescriptionsNameTheField() throws {
        let cases: [(String, String)] = [
            (#"{"name": "x", "command": ["a"], "outputs": [{"type": "seg", "path": "a"}]}"#, "outputs[0].type: \"seg\" is not one of"),
            (#"{"name": "x", "command": ["a"], "outputs": [{"type": "pdf", "path": "../a"}]}"#, "outputs[0].path"),
            (#"{"name": "x", "command": ["a"], "outputs": [{"type": "segmentation", "path": "a"}]}"#, "needs \"meta\""),
            (#"{"name": "x", "command": ["a"], "outputs": [{"type": "segmentation", "path": "a", "preset": "totalsegmentator", "as": ["gspr"]}]}"#, "outputs[0].as: \"gspr\" is not one of seg, rtstruct, overlay, sr"),
            (#"{"name": "x", "command": ["a"], "outputs": [{"type": "segmentation", "path": "a", "preset": "totalsegmentator", "measure": ["volume"]}]}"#, "outputs[0].measure: applies to the measurement report"),
            (#"{"name": "x", "command": ["a"], "outputs": [{"type": "segmentation", "path": "a", "preset": "totalsegmentator", "as": ["seg", "sr"], "measure": ["median"]}]}"#, "outputs[0].measure: \"median\" is not one of volume, mean, min, max, sd"),
            (#"{"name": "x y", "command": ["a"], "outputs": [{"type": "pdf", "path": "a"}]}"#, "name:"),
            (#"{"name": "x", "comand": ["a"], "outputs": []}"#, "comand: unknown field"),
            (#"{"name": "x", "command": ["a"], "accepts": {"modality": "CT"}, "outputs": [{"type": "pdf", "path": "a"}]}"#, "accepts.modality: unknown"),
            ("{\"name\": \"x\",\n \"command\": [\"a\"\n", "line "),
        ]
        for (i, (json, expected)) in cases.enumerated() {
            let t = try tool("bad\(i)", json)
            let r = try E2E.i2(["process", "--tool", t, ct, "-o", path("o")], expect: 2)
            XCTAssertTrue(r.stderr.contains(t) && r.stderr.contains(expected), "\(json) → \(r.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("o")))
        let r = try E2E.i2(["process", "--tool", "threshold", "--param", "lowr=1", ct, "-o", path("o")], expect: 2)
        XCTAssertTrue(r.stderr.contains("lowr") && r.stderr.contains("lower, upper"), r.stderr)
    }
}
