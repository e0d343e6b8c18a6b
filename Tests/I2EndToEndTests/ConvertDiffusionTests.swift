// Diffusion series: i2's NAME.bval / NAME.bvec against dcm2niix's on the same files, generated at test
// time by Tests/Tools/make_dwi.py (GE, Siemens, Philips private fields and the standard attributes;
// axial, oblique, sagittal, coronal; row and column phase encoding), and Philips' isotropic volume dropped
// from the 4-D image with a note. compare_bvec.py: same .bval text, same directions in world space (up to
// the sign of a whole vector) and, when both images share their voxel axes, the same .bvec text.
import Foundation
import XCTest
import I2TestSupport

final class ConvertDiffusionTests: E2ECase {
    /// make_dwi.py into `name` with `options`; returns the directory.
    func dwi(_ name: String, _ options: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let out = path(name)
        let r = try E2E.py(["make_dwi.py", out] + options)
        XCTAssertEqual(r.status, 0, "make_dwi.py failed: \(r.stderr)", file: file, line: line)
        return out
    }

    /// The image i2 wrote beside a .bval in `dir` (exactly one).
    func dwiImage(in dir: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let files = try E2E.list(dir)
        let bvals = files.filter { $0.hasSuffix(".bval") }
        XCTAssertEqual(bvals.count, 1, "\(files)", file: file, line: line)
        return dir + "/" + String((bvals.first ?? "missing.bval").dropLast(5)) + ".nii.gz"
    }

    /// i2 and dcm2niix on `series`: the same .bval/.bvec (compare_bvec.py). Returns i2's stderr and output.
    @discardableResult
    func assertDiffusionMatchesDcm2niix(_ series: String, file: StaticString = #filePath, line: UInt = #line) throws -> (stderr: String, out: String) {
        let out = path("i2-\(UUID().uuidString)")
        let r = try E2E.i2(["convert", series, out + "/"], file: file, line: line)
        let ref = path("ref-\(UUID().uuidString)")
        let names = try E2E.dcm2niix(series, into: ref, file: file, line: line)
        XCTAssertTrue(names.contains("ref.nii"), "\(names)", file: file, line: line)
        let c = try E2E.py(["compare_bvec.py", try dwiImage(in: out, file: file, line: line), ref + "/ref.nii"])
        XCTAssertEqual(c.status, 0, "\(c.stdout)\(c.stderr)", file: file, line: line)
        return (r.stderr, out)
    }

    func testGEAxialMatchesDcm2niix() throws {
        try assertDiffusionMatchesDcm2niix(try dwi("ge", ["--vendor", "ge"]))
    }

    /// On a real GE header (dcm_qa_nih), with its private blocks and user data.
    func testGEOnARealHeaderMatchesDcm2niix() throws {
        let template = TestSupport.fixture("dcm_qa/nih-ge/mr_0004/axial_epi_fmri_interleaved_i_to_s-00001.dcm")
        try assertDiffusionMatchesDcm2niix(try dwi("ge-real", ["--vendor", "ge", "--template", template, "--oblique", "20", "--trace"]))
    }

    func testGEObliqueReversedSlicesMatchDcm2niix() throws {
        try assertDiffusionMatchesDcm2niix(try dwi("ge-oblique", ["--vendor", "ge", "--oblique", "30", "--reverse"]))
    }

    func testGESagittalRowPhaseMatchesDcm2niix() throws {
        try assertDiffusionMatchesDcm2niix(try dwi("ge-sag", ["--vendor", "ge", "--iop", "0,1,0,0,0,-1", "--phase", "ROW"]))
    }

    func testGECoronalAndTraceVolumeMatchDcm2niix() throws {
        // GE: a b>0 volume without a direction is written as b=0 (dcm2niix without GE's user data).
        try assertDiffusionMatchesDcm2niix(try dwi("ge-cor", ["--vendor", "ge", "--iop", "1,0,0,0,0,-1", "--trace"]))
    }

    func testSiemensObliqueMatchesDcm2niix() throws {
        try assertDiffusionMatchesDcm2niix(try dwi("si-oblique", ["--vendor", "siemens", "--oblique", "30"]))
    }

    func testSiemensSagittalFeetFirstMatchesDcm2niix() throws {
        try assertDiffusionMatchesDcm2niix(try dwi("si-sag", ["--vendor", "siemens", "--iop", "0,1,0,0,0,-1", "--position", "FFS"]))
    }

    func testStandardAttributesCoronalWithTraceMatchDcm2niix() throws {
        // (0018,9087)/(0018,9089) only; the isotropic volume stays (dcm2niix drops only Philips' and GE's).
        try assertDiffusionMatchesDcm2niix(try dwi("std-cor", ["--vendor", "standard", "--iop", "1,0,0,0,0,-1", "--trace"]))
    }

    func testPhilipsObliqueMatchesDcm2niix() throws {
        try assertDiffusionMatchesDcm2niix(try dwi("ph-oblique", ["--vendor", "philips", "--oblique", "-20"]))
    }

    /// Classic Canon: (0018,9087) on b>0 images only, the direction as text in ImageComments ("b=1000(x,y,z)",
    /// image space, x and y swapped), read with GE's image-frame rule, with or without (0018,9089) beside it.
    func testCanonClassicCommentDirectionsMatchDcm2niix() throws {
        try assertDiffusionMatchesDcm2niix(try dwi("canon-obl", ["--vendor", "canon", "--oblique", "20"]))
        try assertDiffusionMatchesDcm2niix(try dwi("canon-sag", ["--vendor", "canon", "--iop", "0,1,0,0,0,-1", "--phase", "ROW"]))
        try assertDiffusionMatchesDcm2niix(try dwi("canon-world", ["--vendor", "canon", "--canon-world", "--iop", "1,0,0,0,0,-1"]))
        try assertDiffusionMatchesDcm2niix(try dwi("canon-un", ["--vendor", "canon", "--implicit-unknown", "--oblique", "15"]))
    }

    /// Toshiba with the directions in ImageComments: dcm2niix renames the b>0 images' manufacturer to Canon
    /// and writes the b=0 images apart (refa); i2 keeps one 4-D image (a documented difference), whose b>0
    /// volumes carry dcm2niix's b-values and directions.
    func testToshibaCommentDirectionsStayOneSeries() throws {
        let series = try dwi("toshiba", ["--vendor", "toshiba", "--oblique", "20"])
        try E2E.i2(["convert", series, path("out") + "/"])
        XCTAssertEqual(try E2E.dcm2niix(series, into: path("ref")), ["ref.nii", "refa.nii"])
        XCTAssertEqual(try E2E.shape(path("out/5_dwi_test.nii.gz")), [8, 8, 3, 7])
        let check = """
        import sys
        mine = [l.split() for l in open(sys.argv[1] + '.bvec')] + [open(sys.argv[1] + '.bval').read().split()]
        ref = [l.split() for l in open(sys.argv[2] + '.bvec')] + [open(sys.argv[2] + '.bval').read().split()]
        assert all(r[0] == '0' for r in mine), mine
        assert [r[1:] for r in mine] == ref, (mine, ref)
        print('SAME')
        """
        XCTAssertEqual(try E2E.pyCode(check, [path("out/5_dwi_test"), path("ref/ref")]).trimmingCharacters(in: .whitespacesAndNewlines), "SAME")
    }

    /// UIH: b-value (0065,1009) and direction (0065,1037), image space; explicit and implicit VR.
    func testUIHPrivateFieldsMatchDcm2niix() throws {
        try assertDiffusionMatchesDcm2niix(try dwi("uih-obl", ["--vendor", "uih", "--oblique", "20"]))
        try assertDiffusionMatchesDcm2niix(try dwi("uih-sag", ["--vendor", "uih", "--iop", "0,1,0,0,0,-1", "--phase", "ROW", "--reverse"]))
        try assertDiffusionMatchesDcm2niix(try dwi("uih-un", ["--vendor", "uih", "--implicit-unknown", "--oblique", "15"]))
    }

    /// Enhanced MR (one file, per-frame MR Diffusion macro, directions in patient coordinates).
    func testEnhancedCanonObliqueMatchesDcm2niix() throws {
        try assertDiffusionMatchesDcm2niix(try dwi("enh-canon", ["--vendor", "standard", "--enhanced", "--oblique", "25"]))
    }

    func testEnhancedPhilipsSagittalWithIsotropicVolumeMatchesDcm2niix() throws {
        let (stderr, _) = try assertDiffusionMatchesDcm2niix(try dwi("enh-philips", ["--vendor", "philips", "--enhanced", "--iop", "0,1,0,0,0,-1", "--trace"]))
        XCTAssertTrue(stderr.contains("ignoring 1 derived diffusion volume(s)"), stderr)
    }

    /// Private attributes read without their VR (implicit VR, no private creator: DCMTK holds raw bytes).
    func testPrivateAttributesWithoutVRMatchDcm2niix() throws {
        for vendor in ["ge", "siemens", "philips"] {
            let series = try dwi("\(vendor)-un", ["--vendor", vendor, "--oblique", "15", "--implicit-unknown"])
            try assertDiffusionMatchesDcm2niix(series)
        }
    }

    /// Philips stores an isotropic (trace) image among the directions: dcm2niix takes it out of the 4-D
    /// image (into NAME_ADC, or away with -i y); i2 drops it and says so, on stderr and in the sidecar.
    func testPhilipsIsotropicVolumeIsDroppedWithANote() throws {
        let series = try dwi("ph-trace", ["--vendor", "philips", "--trace"])
        let (stderr, out) = try assertDiffusionMatchesDcm2niix(series)
        XCTAssertTrue(stderr.contains("ignoring 1 derived diffusion volume(s)"), stderr)
        let image = try dwiImage(in: out)
        XCTAssertEqual(try E2E.shape(image), [8, 8, 3, 7])
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: String(image.dropLast(7)) + ".json"))) as? [String: Any]
        let notes = json?["ConversionNotes"] as? [String] ?? []
        XCTAssertTrue(notes.contains { $0.contains("ignoring 1 derived diffusion volume(s)") }, "\(notes)")
    }

    /// A trace volume whose ImageType is DERIVED, in the DWI's own series: dcm2niix converts it apart
    /// (refa.nii: a bval without bvec, GE writing its b as 0); i2 writes it apart too, named as dcm2niix names a clash (NAMEa), and says so.
    func testDerivedTraceVolumeIsWrittenApartAsDcm2niixDoes() throws {
        let series = try dwi("ge-tracew", ["--vendor", "ge", "--trace", "--trace-derived", "--oblique", "10"])
        let r = try E2E.i2(["convert", series, path("out") + "/"])
        XCTAssertTrue(r.stderr.contains("1 derived diffusion volume(s) (ImageType DERIVED"), r.stderr)
        let names = try E2E.dcm2niix(series, into: path("ref"))
        XCTAssertEqual(names, ["ref.nii", "refa.nii"])
        for (mine, theirs) in [("5_dwi_test", "ref"), ("5_dwi_testa", "refa")] {
            let c = try E2E.py(["compare_bvec.py", path("out/\(mine).nii.gz"), path("ref/\(theirs).nii")])
            XCTAssertEqual(c.status, 0, "\(mine): \(c.stdout)\(c.stderr)")
        }
        XCTAssertEqual(try E2E.shape(path("out/5_dwi_test.nii.gz")), [8, 8, 3, 7])
        // --list shows it as a volume of its own, which --series picks.
        let list = E2E.lines(try E2E.i2(["convert", "--list", series]).stdout)
        let derived = try XCTUnwrap(list.map { String($0.split(separator: "\t")[0]) }.first { $0.hasSuffix("_derived") }, "\(list)")
        try E2E.i2(["convert", "--series", derived, series, path("one.nii.gz")])
        XCTAssertEqual(try E2E.shape(path("one.nii.gz")), [8, 8, 3])
    }

    /// A separate derived series (an ADC map, ImageType DERIVED) is converted on its own, without
    /// .bval/.bvec, as dcm2niix does by default; the DWI keeps all its volumes.
    func testSeparateADCSeriesIsItsOwnVolume() throws {
        let series = try dwi("si-adc", ["--vendor", "siemens", "--derived"])
        try E2E.i2(["convert", series, path("out") + "/"])
        let files = try E2E.list(path("out"))
        XCTAssertEqual(files.filter { $0.hasSuffix(".nii.gz") }.count, 2, "\(files)")
        XCTAssertEqual(files.filter { $0.hasSuffix(".bval") }, ["5_dwi_test.bval"])
        XCTAssertEqual(try E2E.shape(path("out/5_dwi_test.nii.gz")), [8, 8, 3, 7])
    }

    /// No .bval/.bvec for a series without diffusion encoding.
    func testNoBvalForAnImageWithoutDiffusion() throws {
        try E2E.i2(["convert", TestSupport.fixture("dcmqi/ct-3slice"), path("out") + "/"])
        XCTAssertEqual(try E2E.list(path("out")).filter { $0.hasSuffix(".bval") || $0.hasSuffix(".bvec") }, [])
    }

    /// .bval and .bvec are outputs like the image: an existing one is kept without --force.
    func testExistingBvecIsNotOverwrittenWithoutForce() throws {
        let series = try dwi("si", ["--vendor", "siemens"])
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: path("dwi.bvec")))
        let r = try E2E.i2(["convert", series, "dwi.nii.gz"], expect: 1, cwd: dir)
        XCTAssertTrue(r.stderr.contains("dwi.bvec"), r.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("dwi.bvec"))), Data("keep me".utf8))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("dwi.nii.gz")))
        let forced = try E2E.i2(["convert", "--force", series, "dwi.nii.gz"], cwd: dir)
        XCTAssertTrue(E2E.lines(forced.stdout).contains { $0.hasSuffix("dwi.bvec") }, forced.stdout)
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: path("dwi.bvec"))), Data("keep me".utf8))
    }
}
