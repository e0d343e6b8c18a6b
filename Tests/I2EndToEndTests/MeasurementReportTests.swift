// nifti2seg --as seg,sr: the TID 1500 measurement report, checked by its readers: dciodvfy, highdicom
// (its volumes and HU statistics recomputed from the label map and the CT: Tests/Tools/sr_peers.py),
// dcmqi's tid1500reader; overlapping masks, --measure, what it refuses, stable UIDs; Orthanc stores it.
import Foundation
import XCTest
import I2TestSupport

final class MeasurementReportTests: E2ECase {
    func report(_ s: (ct: String, labels: String, meta: String), _ extra: [String] = [], into name: String = "out") throws -> (seg: String, sr: String) {
        let dir = path(name)
        let r = try E2E.i2(["nifti2seg", "--ref", s.ct, "--meta", s.meta, s.labels, "--as", "seg,sr", "-o", dir] + extra)
        XCTAssertEqual(E2E.lines(r.stdout), [dir + "/seg.dcm", dir + "/sr.dcm"])
        return (dir + "/seg.dcm", dir + "/sr.dcm")
    }

    func dump(_ file: String, _ tags: [String]) throws -> String {
        try TestSupport.run(try TestSupport.tool("dcmdump", package: "dcmtk"), tags.flatMap { ["+P", $0] } + [file]).stdout
    }

    func testReportIsValidAndHighdicomAndDcmqiReadItsMeasurements() throws {
        let s = try series()
        let (seg, sr) = try report(s)
        let v = try TestSupport.run(try TestSupport.tool("dciodvfy", package: "dicom3tools"), [sr])
        let out = v.stdout + v.stderr
        XCTAssertTrue(out.contains("Comprehensive3DSR"), out)
        XCTAssertEqual(out.split(separator: "\n").filter { $0.hasPrefix("Error") }, [], out)
        // highdicom: the groups, their references and every measurement, recomputed (CT default: volume, mean, min, max).
        let check = try E2E.py(["sr_peers.py", "check", sr, seg, s.ct, s.labels, s.meta, "volume,mean,min,max"])
        XCTAssertEqual(check.status, 0, check.stderr)
        // dcmqi: one measurement group per label, each naming the SEG and its segment.
        let json = path("tid1500.json")
        let t = try TestSupport.run(try E2E.dcmqi("tid1500reader"), ["--inputDICOM", sr, "--outputMetadata", json])
        XCTAssertEqual(t.status, 0, t.stderr)
        let o = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
        let groups = o?["Measurements"] as? [[String: Any]] ?? []
        let segUID = try dump(seg, ["0008,0018"]).components(separatedBy: "[").dropFirst().first?.components(separatedBy: "]").first
        XCTAssertEqual(groups.compactMap { $0["TrackingIdentifier"] as? String }, ["Ring", "Islands", "Specks"])
        XCTAssertEqual(groups.compactMap { $0["ReferencedSegment"] as? Int }, [1, 2, 3])
        XCTAssertEqual(Set(groups.compactMap { $0["segmentationSOPInstanceUID"] as? String }), [try XCTUnwrap(segUID)])
        XCTAssertEqual(groups.map { ($0["measurementItems"] as? [Any])?.count ?? 0 }, [4, 4, 4])
    }

    /// Two overlapping masks (dcmqi's several input files): each segment measured on its own mask;
    /// --measure picks the measurements and their order.
    func testOverlappingMasksAndMeasureOption() throws {
        let s = try series()
        _ = try E2E.pyCode("""
            import sys, json, numpy as np, nibabel as nib
            img = nib.load(sys.argv[1])
            lab = np.asanyarray(img.dataobj)
            a = ((lab == 1) | (lab == 2)).astype(np.uint8)
            b = ((lab == 2) | (lab == 5)).astype(np.uint8)
            nib.save(nib.Nifti1Image(a, img.affine), sys.argv[2]); nib.save(nib.Nifti1Image(b, img.affine), sys.argv[3])
            m = json.load(open(sys.argv[4]))
            d = m["segmentAttributes"][0][0]
            m["segmentAttributes"] = [[dict(d, labelID=1, SegmentLabel="A")], [dict(d, labelID=1, SegmentLabel="B")]]
            json.dump(m, open(sys.argv[5], "w"))
            """, [s.labels, path("a.nii.gz"), path("b.nii.gz"), s.meta, path("ab.json")])
        let dir = path("ab")
        let r = try E2E.i2(["nifti2seg", "--ref", s.ct, "--meta", path("ab.json"), path("a.nii.gz"), path("b.nii.gz"),
                            "--as", "seg,sr", "--measure", "volume,sd,max", "-o", dir])
        XCTAssertEqual(E2E.lines(r.stdout).count, 2)
        let check = try E2E.py(["sr_peers.py", "check", dir + "/sr.dcm", dir + "/seg.dcm", s.ct,
                                path("a.nii.gz") + "," + path("b.nii.gz"), path("ab.json"), "volume,sd,max"])
        XCTAssertEqual(check.status, 0, check.stderr)
    }

    /// TotalSegmentator's sided organs (kidney_left, kidney_right): the finding is the organ, the
    /// finding site carries the side (highdicom's FindingSite with laterality), so the groups differ in
    /// their codes, not only in their tracking identifiers.
    func testPresetOrgansCarryTheirSideAsFindingSiteLaterality() throws {
        let s = try series()
        _ = try E2E.pyCode("""
            import sys, numpy as np, nibabel as nib
            img = nib.load(sys.argv[1]); a = np.asanyarray(img.dataobj); b = np.zeros_like(a)
            b[a == 1] = 2; b[a == 2] = 3; b[a == 5] = 5   # kidney_right, kidney_left, liver
            nib.save(nib.Nifti1Image(b, img.affine), sys.argv[2])
            """, [s.labels, path("ts.nii.gz")])
        let dir = path("ts")
        try E2E.i2(["nifti2seg", "--ref", s.ct, "--preset", "totalsegmentator", path("ts.nii.gz"), "--as", "seg,sr", "-o", dir])
        let sites = try E2E.pyCode("""
            import sys, highdicom as hd
            sr = hd.sr.srread(sys.argv[1])
            for g in sr.content.get_volumetric_roi_measurement_groups():
                sides = [s.laterality.meaning if s.laterality else "-" for s in g.finding_sites]
                print(g.tracking_identifier, g.finding_type.meaning, ",".join(sides) or "none")
            """, [dir + "/sr.dcm"])
        XCTAssertEqual(sites.split(separator: "\n").sorted(), ["kidney_left Kidney Left", "kidney_right Kidney Right", "liver Liver none"])
    }

    /// The report references the SEG's segments: no report without the SEG; --measure only with sr, each
    /// name known and once. Nothing is written on a refusal.
    func testReportWithoutItsSEGOrWithBadMeasuresIsRefused() throws {
        let s = try series()
        let cases: [([String], String)] = [
            (["--as", "sr"], "--as sr needs seg too"),
            (["--as", "seg", "--measure", "volume"], "add sr to --as"),
            (["--as", "seg,sr", "--measure", "volume,median"], "--measure: \"median\" is not one of volume, mean, min, max, sd"),
            (["--as", "seg,sr", "--measure", "mean,mean"], "--measure: \"mean\" is listed twice"),
        ]
        for (i, (args, message)) in cases.enumerated() {
            let out = path("bad\(i)")
            let r = try E2E.i2(["nifti2seg", "--ref", s.ct, "--meta", s.meta, s.labels, "-o", out] + args, expect: 2)
            XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(args) wrote \(out)")
        }
        // A process tool description is held to the same rule when it is read.
        let tool = path("tool.json")
        try #"{"name": "t", "command": "builtin:threshold", "input": "nii", "outputs": [{"type": "segmentation", "path": "threshold.nii", "preset": "totalsegmentator", "as": ["sr"]}]}"#
            .write(toFile: tool, atomically: true, encoding: .utf8)
        let p = try E2E.i2(["process", "--tool", tool, s.ct, "-o", path("process")], expect: 2)
        XCTAssertTrue(p.stderr.contains("\"sr\" needs \"seg\" too"), p.stderr)
    }

    /// Same inputs, same UIDs (a PACS replaces the earlier report); other measurements, a new report
    /// beside the same SEG.
    func testReportUIDsFollowItsContent() throws {
        let s = try series()
        let uids = ["0020,000e", "0008,0018"]
        let a = try report(s, into: "a"), b = try report(s, into: "b")
        let c = try report(s, ["--measure", "volume"], into: "c")
        XCTAssertEqual(try dump(a.sr, uids), try dump(b.sr, uids))
        XCTAssertEqual(try dump(a.seg, uids), try dump(c.seg, uids))
        XCTAssertNotEqual(try dump(a.sr, uids), try dump(c.sr, uids))
        XCTAssertNotEqual(try dump(a.sr, uids), try dump(a.seg, uids))
    }
}
