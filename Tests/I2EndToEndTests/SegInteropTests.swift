// Issue 11 item 15, SEG interoperability: every optional module nifti2seg writes is complete (dciodvfy
// names no missing Type 2 attribute when the metadata gives only ClinicalTrialSeriesID, as dcmqi's
// templates may, or when the source images carry part of the Clinical Trial Subject module), and JPEG
// 2000 SEGs read voxel for voxel as highdicom decodes them.
import Foundation
import XCTest
import I2TestSupport

final class SegInteropTests: E2ECase {
    /// dciodvfy's lines about missing attributes (errors and warnings).
    func missingAttributes(_ seg: String) throws -> [String] {
        let r = try TestSupport.run(try TestSupport.tool("dciodvfy", package: "dicom3tools"), [seg])
        return (r.stdout + r.stderr).split(separator: "\n").map(String.init)
            .filter { ($0.hasPrefix("Error") || $0.hasPrefix("Warning")) && $0.contains("Missing") }
    }

    /// dcmqi's seg-example.json with only the given keys of its clinical-trial trio kept.
    func meta(keeping keys: [String]) throws -> String {
        let out = path("meta-\(keys.joined(separator: "-")).json")
        try E2E.pyCode("""
            import sys, json
            m = json.load(open(sys.argv[1]))
            for k in ("ClinicalTrialSeriesID", "ClinicalTrialTimePointID", "ClinicalTrialCoordinatingCenterName"):
                if k not in sys.argv[3:]: m.pop(k, None)
            json.dump(m, open(sys.argv[2], "w"))
            """, [TestSupport.fixture("dcmqi/json/seg-example.json"), out] + keys)
        return out
    }

    func testClinicalTrialModulesAreWrittenWhole() throws {
        let ref = TestSupport.fixture("dcmqi/ct-3slice"), labels = TestSupport.fixture("dcmqi/liver_seg.nrrd")
        for keys in [["ClinicalTrialSeriesID"], ["ClinicalTrialSeriesID", "ClinicalTrialTimePointID"], ["ClinicalTrialTimePointID"], []] {
            let out = path("ct-\(keys.count)-\(keys.first ?? "none").dcm")
            try E2E.i2(["nifti2seg", "--ref", ref, "--meta", try meta(keeping: keys), labels, "-o", out])
            XCTAssertEqual(try missingAttributes(out), [], "meta with \(keys)")
        }
    }

    /// Source images with the Type 1 attributes of Clinical Trial Subject only: the SEG copies them and
    /// brings the module's Type 2 attributes (ClinicalTrialProtocolName, SiteID, SiteName), empty.
    func testClinicalTrialSubjectFromTheSourceIsWrittenWhole() throws {
        let ref = try mkdir("trial")
        let dcmodify = try TestSupport.tool("dcmodify", package: "dcmtk")
        for f in try E2E.list(TestSupport.fixture("dcmqi/ct-3slice")) where f.hasSuffix(".dcm") {
            try FileManager.default.copyItem(atPath: TestSupport.fixture("dcmqi/ct-3slice/" + f), toPath: ref + "/" + f)
            let r = try TestSupport.run(dcmodify, ["-nb", "-i", "(0012,0010)=Sponsor", "-i", "(0012,0020)=P-1", "-i", "(0012,0040)=S-1", ref + "/" + f])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let out = path("subject.dcm")
        try E2E.i2(["nifti2seg", "--ref", ref, "--meta", TestSupport.fixture("dcmqi/json/seg-example.json"), TestSupport.fixture("dcmqi/liver_seg.nrrd"), "-o", out])
        XCTAssertEqual(try missingAttributes(out), [])
        let dump = try TestSupport.run(try TestSupport.tool("dcmdump", package: "dcmtk"), ["+P", "0012,0010", "+P", "0012,0021", "+P", "0012,0030", out])
        XCTAssertTrue(dump.stdout.contains("[Sponsor]"), dump.stdout)
        XCTAssertTrue(dump.stdout.contains("ClinicalTrialProtocolName"), dump.stdout)
        XCTAssertTrue(dump.stdout.contains("ClinicalTrialSiteID"), dump.stdout)
    }

    /// A FRACTIONAL SEG whose frames are JPEG 2000 Lossless: highdicom's (the fixture, made by
    /// dcm_qa/j2k/make.py) and one made here (highdicom writes the SEG; Pillow's OpenJPEG encodes the
    /// frames, as highdicom has no J2K encoder without pylibjpeg-openjpeg). i2's probabilities equal
    /// highdicom's decoding (through Pillow) of the same file, voxel for voxel.
    func testJ2KSegsReadAsHighdicomDecodesThem() throws {
        let made = path("j2k-made.dcm")
        try E2E.pyCode("""
            import sys, io, numpy as np, pydicom, highdicom as hd
            from PIL import Image
            from pydicom.encaps import encapsulate
            from pydicom.sr.codedict import codes
            from pydicom.uid import JPEG2000Lossless
            ct = pydicom.dcmread(sys.argv[1])
            rng = np.random.default_rng(7)
            m = (rng.integers(0, 5, (1, ct.Rows, ct.Columns, 2)) / 4).astype(np.float32)
            desc = [hd.seg.SegmentDescription(segment_number=i + 1, segment_label="s%d" % i, segmented_property_category=codes.SCT.Tissue,
                                              segmented_property_type=codes.SCT.Tissue, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL)
                    for i in range(2)]
            seg = hd.seg.Segmentation([ct], m, hd.seg.SegmentationTypeValues.FRACTIONAL, desc, hd.UID(), 1, hd.UID(), 1,
                                      "i2", "test", "1", "i2", max_fractional_value=200)
            n, size = int(seg.NumberOfFrames), seg.Rows * seg.Columns
            def j2k(frame):
                b = io.BytesIO()
                Image.fromarray(np.frombuffer(frame, np.uint8).reshape(seg.Rows, seg.Columns)).save(b, "JPEG2000", irreversible=False, no_jp2=True)
                return b.getvalue()
            seg.PixelData = encapsulate([j2k(seg.PixelData[i * size:(i + 1) * size]) for i in range(n)]); seg["PixelData"].VR = "OB"
            seg.file_meta.TransferSyntaxUID = JPEG2000Lossless
            seg.save_as(sys.argv[2])
            """, [TestSupport.fixture("highdicom/ct_image.dcm"), made])
        for (name, seg) in [("fixture", TestSupport.fixture("highdicom/seg_image_ct_true_fractional_j2k.dcm")), ("made", made)] {
            try E2E.i2(["seg2nifti", seg, "-o", path(name + ".nii.gz"), "--fractional", "probability"])
            let outs = try E2E.list(dir).filter { $0.hasPrefix(name + "_") && $0.hasSuffix(".nii.gz") }.sorted()
            XCTAssertEqual(outs.count, name == "made" ? 2 : 1, "\(outs)")
            for (k, out) in outs.enumerated() {
                let r = try E2E.py(["compare_seg_highdicom.py", seg, path(out), String(k + 1), "--probability"])
                XCTAssertEqual(r.status, 0, "\(name) segment \(k + 1): highdicom disagrees: \(r.stderr)\(r.stdout)")
            }
        }
    }
}
