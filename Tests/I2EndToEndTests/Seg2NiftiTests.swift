// i2 seg2nifti end to end: real SEGs from dcmqi and highdicom decode to the label maps they came from
// (dcmqi's NRRDs) or to the masks highdicom itself decodes; --ref gives `i2 convert`'s grid; bad input
// gives one error naming the file and leaves nothing behind.
import Foundation
import XCTest
import I2TestSupport

final class Seg2NiftiTests: E2ECase {
    func fixture(_ p: String) -> String { TestSupport.fixture(p) }

    /// The NRRD read by `i2 convert` into a .nii, so compare_nifti.py sees both through the same reader.
    func nrrdAsNifti(_ nrrd: String, _ name: String) throws -> String {
        try E2E.i2(["convert", fixture(nrrd), path(name)])
        return path(name)
    }

    /// seg2nifti SEG → labels.nii.gz, compared voxel for voxel and in world geometry with the NRRD.
    /// These dcmqi SEGs hold one segment (or, for the LABELMAP, segment 1 plus background 0), written
    /// from label value 1, so segment number and NRRD label agree; see testPartialOverlaps for several.
    func assertDecodes(_ seg: String, to nrrd: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try E2E.i2(["seg2nifti", fixture(seg), "-o", path("labels.nii.gz")], file: file, line: line)
        XCTAssertEqual(E2E.lines(r.stdout), [path("labels.nii.gz"), path("labels.json")], file: file, line: line)
        try E2E.assertSameImage(path("labels.nii.gz"), try nrrdAsNifti(nrrd, "ref.nii"), file: file, line: line)
    }

    func testLiver() throws { try assertDecodes("dcmqi/liver.dcm", to: "dcmqi/liver_seg.nrrd") }
    func testOddWidthFramesNotMultipleOf8() throws { try assertDecodes("dcmqi/23x38x3/seg/label.seg", to: "dcmqi/23x38x3/nrrd/label.nrrd") }
    func testEvenWidth() throws { try assertDecodes("dcmqi/24x38x3/seg/label.seg", to: "dcmqi/24x38x3/nrrd/label.nrrd") }
    /// LABELMAP SEG (DICOM 2024) with frames for slices 1 and 3 only: slice 2 is filled with 0 on the
    /// grid from the positions and SpacingBetweenSlices.
    func testSparseLabelMap() throws {
        try assertDecodes("dcmqi/sparse-labelmap-noppv.dcm", to: "dcmqi/sparse_labelmap_noppv_seg.nrrd")
    }

    /// BINARY in RLE Lossless as another writer makes it (Tests/Tools/rle_seg.py, an encoder of its own):
    /// one byte per pixel as Annex G pads pixels, or each frame's bits packed; frames of 874 pixels (not
    /// a whole number of bytes) and 912. DCMTK cannot decode RLE with 1 bit allocated; seg2nifti can.
    func testBinaryRLE() throws {
        for grid in ["23x38x3", "24x38x3"] {
            let want = try nrrdAsNifti("dcmqi/\(grid)/nrrd/label.nrrd", "ref-\(grid).nii")
            for layout in ["bytes", "bits"] {
                let seg = path("rle-\(grid)-\(layout).dcm"), out = path("rle-\(grid)-\(layout).nii.gz")
                let r = try E2E.py(["rle_seg.py", fixture("dcmqi/\(grid)/seg/label.seg"), seg, "--layout", layout])
                XCTAssertEqual(r.status, 0, r.stderr)
                try E2E.i2(["seg2nifti", seg, "-o", out])
                try E2E.assertSameImage(out, want)
            }
        }
    }

    func testLiverMetadataIsDcmqiJSON() throws {
        try E2E.i2(["seg2nifti", fixture("dcmqi/liver.dcm"), "-o", path("l.nii"), "--meta", path("meta.json")])
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("meta.json")))) as! [String: Any]
        let segment = ((json["segmentAttributes"] as! [[Any]])[0][0]) as! [String: Any]
        XCTAssertEqual(segment["labelID"] as? Int, 1)
        XCTAssertEqual(segment["SegmentLabel"] as? String, "Liver")
        XCTAssertEqual((segment["SegmentedPropertyTypeCodeSequence"] as? [String: Any])?["CodeValue"] as? String, "T-62000")
        XCTAssertEqual((segment["recommendedDisplayRGBValue"] as? [Int])?.count, 3)
        XCTAssertEqual(json["SeriesDescription"] as? String, "Liver Segmentation")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("l.json")))
    }

    /// partial_overlaps.dcm: 5 segments, some overlapping. dcmqi made it from three label maps
    /// (json/seg-example_partial_overlaps.json): file 1 holds labels 1, 4, 5 (GREEN, LIGHT_BLUE,
    /// DARK_BLUE), file 2 label 2 (ORANGE), file 3 label 3 (PURPLE), and numbered the segments by label.
    /// So segment n's mask must equal (partial_overlaps-F.nrrd == n) for the file F that holds n.
    func testPartialOverlaps() throws {
        let r = try E2E.i2(["seg2nifti", fixture("dcmqi/partial_overlaps.dcm"), "-o", path("po.nii.gz")], expect: 1)
        XCTAssertTrue(r.stderr.contains("partial_overlaps.dcm") && r.stderr.contains("segments 1 (GREEN) and 2 (ORANGE) overlap"), r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(try E2E.list(dir), [], "no output after an overlap error")

        let out = try E2E.i2(["seg2nifti", fixture("dcmqi/partial_overlaps.dcm"), "-o", path("po.nii.gz"), "--per-segment"])
        let names = ["1_GREEN": (1, 1), "2_ORANGE": (2, 2), "3_PURPLE": (3, 3), "4_LIGHT_BLUE": (1, 4), "5_DARK_BLUE": (1, 5)]
        XCTAssertEqual(Set(E2E.lines(out.stdout)), Set(names.keys.map { path("po_\($0).nii.gz") } + [path("po.json")]))
        for n in 1...3 { _ = try nrrdAsNifti("dcmqi/partial_overlaps-\(n).nrrd", "ref\(n).nii") }
        for (name, (file, label)) in names {
            try E2E.pyCode("""
            import sys, numpy as np, nibabel as nib
            # Compared in the world: seg2nifti writes i2 convert's (dcm2niix's) row order, dcmqi the DICOM one.
            got, ref = nib.as_closest_canonical(nib.load(sys.argv[1])), nib.as_closest_canonical(nib.load(sys.argv[2]))
            assert np.allclose(got.affine, ref.affine, atol=1e-3), (got.affine, ref.affine)
            a, b = np.asanyarray(got.dataobj), np.asanyarray(ref.dataobj) == int(sys.argv[3])
            assert np.array_equal(a == 1, b) and set(np.unique(a)) <= {0, 1}, (sys.argv[1], int(a.sum()), int(b.sum()))
            """, [path("po_\(name).nii.gz"), path("ref\(file).nii"), String(label)])
        }
    }

    // MARK: highdicom

    /// compare_seg_highdicom.py, which needs highdicom in the .venv.
    func highdicom(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let probe = try E2E.py(["-c", "import highdicom"])
        if probe.status != 0 { throw TestSupport.Missing("pip install highdicom into .venv (scripts/install-deps.sh)") }
        let r = try E2E.py(["compare_seg_highdicom.py"] + args)
        XCTAssertEqual(r.status, 0, "highdicom disagrees: \(r.stderr)\(r.stdout)", file: file, line: line)
    }
    var ct2: String { fixture("pydicom-ct2") }

    func testHighdicomBinary() throws {
        try E2E.i2(["seg2nifti", fixture("highdicom/seg_image_ct_binary.dcm"), "-o", path("b.nii.gz")])
        try highdicom([fixture("highdicom/seg_image_ct_binary.dcm"), path("b.nii.gz"), "1", "--source", ct2])
    }

    /// A pipe (`<(curl …)`) is read whole before DICOM parsing, which seeks; the result is the file's.
    func testSEGFromAPipe() throws {
        let seg = fixture("highdicom/seg_image_ct_binary.dcm")
        let r = try TestSupport.run("/bin/bash", ["-c", "\"$0\" seg2nifti <(cat \"$1\") -o \"$2\"", TestSupport.i2Path, seg, path("p.nii.gz")])
        XCTAssertEqual(r.status, 0, r.stderr)
        try highdicom([seg, path("p.nii.gz"), "1", "--source", ct2])
        let bad = try TestSupport.run("/bin/bash", ["-c", "\"$0\" seg2nifti <(head -c 900 \"$1\") -o \"$2\"", TestSupport.i2Path, seg, path("q.nii")])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("/dev/fd/"), "the error names the pipe, not a temporary: \(bad.stderr)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("q.nii")))
    }

    func testHighdicomOverlapPerSegment() throws {
        let seg = fixture("highdicom/seg_image_ct_binary_overlap.dcm")
        try E2E.i2(["seg2nifti", seg, "-o", path("o.nii.gz")], expect: 1)
        try E2E.i2(["seg2nifti", seg, "-o", path("o.nii.gz"), "--per-segment"])
        try highdicom([seg, path("o_1_first_segment.nii.gz"), "1", "--source", ct2])
        try highdicom([seg, path("o_2_second_segment.nii.gz"), "2", "--source", ct2])
    }

    func testHighdicomFractional() throws {
        for name in ["binary_fractional", "true_fractional"] {
            let seg = fixture("highdicom/seg_image_ct_\(name).dcm")
            try E2E.i2(["seg2nifti", seg, "-o", path("\(name).nii.gz")])
            try highdicom([seg, path("\(name).nii.gz"), "1", "--threshold", "0.5", "--source", ct2])
            try E2E.i2(["seg2nifti", seg, "-o", path("\(name)_t.nii.gz"), "--threshold", "0.25"])
            try highdicom([seg, path("\(name)_t.nii.gz"), "1", "--threshold", "0.25", "--source", ct2])
            try E2E.i2(["seg2nifti", seg, "-o", path("\(name)_p.nii.gz"), "--fractional", "probability"])
            try highdicom([seg, path("\(name)_p_1_first_segment.nii.gz"), "1", "--probability", "--source", ct2])
        }
    }

    func testHighdicomSingleFrame() throws {
        let seg = fixture("highdicom/seg_image_ct_binary_single_frame.dcm")
        try E2E.i2(["seg2nifti", seg, "-o", path("s.nii.gz")])
        try highdicom([seg, path("s.nii.gz"), "1"])
    }

    /// --ref pydicom-ct2: the grid `i2 convert` builds. The series is irregular (one slice 202.5 mm from
    /// the others), so `i2 convert` needs --equalize; its three regular slices alone need nothing.
    func testRefGridIsConvertGrid() throws {
        let seg = fixture("highdicom/seg_image_ct_binary.dcm")
        let three = try mkdir("three")
        for f in ["17136", "17166", "17196"] { try E2E.copy(ct2 + "/" + f, three + "/" + f) }
        for (ref, convertArgs) in [(ct2, ["--equalize"]), (three, [])] {
            let name = (ref as NSString).lastPathComponent
            try E2E.i2(["seg2nifti", seg, "-o", path("\(name).nii.gz"), "--ref", ref])
            try E2E.i2(["convert"] + convertArgs + ["--no-sidecar", ref, path("\(name)_ct.nii")])
            try E2E.assertSameImage(path("\(name).nii.gz"), path("\(name)_ct.nii"), ["--shape-only"])
            try E2E.pyCode("""
            import sys, numpy as np, nibabel as nib
            a, b = nib.load(sys.argv[1]), nib.load(sys.argv[2])
            assert np.allclose(a.affine, b.affine, atol=1e-4), (a.affine, b.affine)
            """, [path("\(name).nii.gz"), path("\(name)_ct.nii")])
            try highdicom([seg, path("\(name).nii.gz"), "1", "--source", ct2])
        }
    }

    /// Issue 11 item 1: with --ref, frames are placed by their plane position, not by their source image
    /// reference. Two SEGs made from highdicom's: (a) the Derivation Image Sequence moved into the shared
    /// functional groups (as syngo.via writes it: one reference for every frame), (b) per-frame references
    /// shifted by one slice. Both must decode as highdicom decodes the untouched SEG, with a warning;
    /// --strict refuses them.
    func testRefPlacesFramesByPosition() throws {
        let seg = fixture("highdicom/seg_image_ct_binary.dcm")
        try E2E.pyCode("""
        import sys, copy, pydicom
        for kind in ("shared", "shifted"):
            d = pydicom.dcmread(sys.argv[1])
            pf = d.PerFrameFunctionalGroupsSequence
            deriv = [copy.deepcopy(f.DerivationImageSequence) for f in pf]
            if kind == "shared":
                for f in pf:
                    del f.DerivationImageSequence
                d.SharedFunctionalGroupsSequence[0].DerivationImageSequence = deriv[0]
            else:
                for i, f in enumerate(pf):
                    f.DerivationImageSequence = deriv[(i + 1) % len(pf)]
            d.save_as(sys.argv[2] + "/" + kind + ".dcm")
        """, [seg, dir])
        for kind in ["shared", "shifted"] {
            let r = try E2E.i2(["seg2nifti", path("\(kind).dcm"), "-o", path("\(kind).nii.gz"), "--ref", ct2])
            XCTAssertTrue(r.stderr.contains("disagree with the plane positions"), r.stderr)
            try highdicom([seg, path("\(kind).nii.gz"), "1", "--source", ct2])
            try assertRefused([path("\(kind).dcm"), "--ref", ct2, "--strict"], naming: "\(kind).dcm", "disagree with the plane positions")
        }
        // References that agree with the positions: no warning.
        let ok = try E2E.i2(["seg2nifti", seg, "-o", path("ok.nii.gz"), "--ref", ct2, "--strict"])
        XCTAssertFalse(ok.stderr.contains("disagree"), ok.stderr)
    }

    // MARK: bad input

    /// One error line naming the file; exit 1; nothing written (no temporary either).
    func assertRefused(_ args: [String], naming file: String, _ reason: String,
                       line: UInt = #line) throws {
        let out = try mkdir("out")
        let r = try E2E.i2(["seg2nifti"] + args + ["-o", out + "/x.nii.gz"], expect: 1, line: line)
        let errors = E2E.errorLines(r.stderr)
        XCTAssertEqual(errors.count, 1, r.stderr, line: line)
        XCTAssertTrue(r.stderr.contains(file) && r.stderr.contains(reason), r.stderr, line: line)
        XCTAssertEqual(r.stdout, "", line: line)
        XCTAssertEqual(try E2E.list(out), [], line: line)
        try FileManager.default.removeItem(atPath: out)
    }

    func testNotASeg() throws {
        try assertRefused([fixture("highdicom/ct_image.dcm")], naming: "ct_image.dcm", "not a DICOM Segmentation")
        try "hello".write(toFile: path("text.dcm"), atomically: true, encoding: .utf8)
        try assertRefused([path("text.dcm")], naming: "text.dcm", "not a DICOM file")
    }

    func testTruncatedSeg() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixture("dcmqi/liver.dcm")))
        try bytes.prefix(bytes.count - 20_000).write(to: URL(fileURLWithPath: path("cut.dcm")))
        try assertRefused([path("cut.dcm")], naming: "cut.dcm", "cannot read DICOM")
    }

    func testFramesReferenceMissingInstances() throws {
        let one = try mkdir("one")
        try E2E.copy(ct2 + "/17136", one + "/17136")
        try assertRefused([fixture("highdicom/seg_image_ct_binary.dcm"), "--ref", one], naming: "seg_image_ct_binary.dcm",
                          "which is not in the --ref series")
    }

    /// dcmqi writes a SEG in its input NIfTI's orientation: for a label map in i2 convert's (dcm2niix's)
    /// order, frames with their rows the other way than the CT's, and only the slices that hold labels.
    /// seg2nifti --ref lays them into the CT's grid: the label map comes back array for array.
    func testDcmqiSegInTheNiftiOrientationReadOntoTheReference() throws {
        let s = try series()
        let sparse = path("sparse.nii.gz")
        _ = try E2E.pyCode("""
            import sys, numpy as np, nibabel as nib
            img = nib.load(sys.argv[1]); a = np.asanyarray(img.dataobj).copy()
            a[:, :, :3] = 0; a[:, :, -2:] = 0; a[:, :, 6] = 0   # labels on some slices only, with a gap
            nib.save(nib.Nifti1Image(a, img.affine), sys.argv[2])
            """, [s.labels, sparse])
        let seg = path("dcmqi.dcm")
        let w = try TestSupport.run(try E2E.dcmqi("itkimage2segimage"), ["--inputImageList", sparse, "--inputDICOMDirectory", s.ct,
                                                                          "--inputMetadata", s.meta, "--outputDICOM", seg])
        XCTAssertEqual(w.status, 0, w.stderr + w.stdout)
        let iop = try TestSupport.run(try TestSupport.tool("dcmdump", package: "dcmtk"), ["+P", "0020,0037", seg]).stdout
        XCTAssertTrue(iop.contains("\\-1"), "dcmqi no longer writes the reversed rows this test is about: \(iop)")
        try E2E.i2(["seg2nifti", seg, "--ref", s.ct, "-o", path("back.nii.gz")])
        // dcmqi numbers the segments 1...N: each structure is compared by its name, voxel for voxel.
        let c = try E2E.py(["rt_peers.py", "compare-by-name", path("back.nii.gz"), path("back.json"), sparse, s.meta])
        XCTAssertEqual(c.status, 0, c.stderr)
        let grid = try E2E.pyCode("""
            import sys, numpy as np, nibabel as nib
            a, b = nib.load(sys.argv[1]), nib.load(sys.argv[2])
            print(a.shape == b.shape and np.allclose(a.affine, b.affine, atol=1e-4))
            """, [path("back.nii.gz"), sparse])
        XCTAssertEqual(grid, "True", "not on the grid of i2 convert's output")
    }
}
