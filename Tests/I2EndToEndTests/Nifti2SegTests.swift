// i2 nifti2seg end to end: the testdata label maps → SEGs checked by real peers (dciodvfy, highdicom,
// dcmqi's segimage2itkimage), arbitrary label values on odd-sized frames, LABELMAP, deterministic UIDs,
// and the bad-input contract (one error, non-zero exit, no output file).
import Foundation
import XCTest
import I2TestSupport

final class Nifti2SegTests: E2ECase {
    static let dcmqi = "dcmqi/"
    static let fourLabels = TestSupport.fixture("i2/seg-four-labels.json")

    func fixture(_ p: String) -> String { TestSupport.fixture(Self.dcmqi + p) }

    /// The .venv Python with highdicom, or a "missing test peer" failure.
    func highdicomPython() throws -> String {
        let p = try E2E.python()
        guard try TestSupport.run(p, ["-c", "import highdicom"]).status == 0 else {
            throw TestSupport.Missing("pip install highdicom into .venv (scripts/install-deps.sh)")
        }
        return p
    }

    func dciodvfyErrors(_ seg: String) throws -> [String] {
        let r = try TestSupport.run(try TestSupport.tool("dciodvfy", package: "dicom3tools"), [seg])
        return (r.stdout + r.stderr).split(separator: "\n").map(String.init).filter { $0.hasPrefix("Error") }
    }

    /// highdicom's reading of SEG against LABELS (converted to NIfTI with i2 first): decoded JSON.
    func highdicomCheck(_ seg: String, ref: String, labels: String) throws -> [String: Any] {
        _ = try highdicomPython()
        var nifti = labels
        if !labels.hasSuffix(".nii.gz") && !labels.hasSuffix(".nii") {
            nifti = path(UUID().uuidString + ".nii.gz")
            try E2E.i2(["convert", labels, nifti])
        }
        let r = try E2E.py(["read_seg_highdicom.py", seg, ref, nifti])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
    }

    func assertRead(_ result: [String: Any], segments: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual((result["segments"] as? [Any])?.count, segments, "\(result)", file: file, line: line)
        XCTAssertEqual(result["mismatches"] as? [Int], [], "masks differ from the label map: \(result)", file: file, line: line)
        XCTAssertEqual(result["undescribed"] as? [Int], [], "\(result)", file: file, line: line)
        XCTAssertEqual(result["bad_positions"] as? [Int], [], "frame positions off the source slices: \(result)", file: file, line: line)
    }

    func testTestdataLabelMapsPassDciodvfyAndHighdicom() throws {
        let cases: [(String, String, String, Int)] = [
            ("liver_seg.nrrd", "json/seg-example.json", "ct-3slice", 1),
            ("liver_spine_seg.nrrd", "json/seg-example_liver_spine.json", "ct-3slice", 2),
            ("liver_spine_gapped_seg.nrrd", "json/seg-example_liver_spine_gapped.json", "ct-3slice", 2),
            ("23x38x3/nrrd/label.nrrd", "", "23x38x3/image", 1),
            ("24x38x3/nrrd/label.nrrd", "", "24x38x3/image", 1),
        ]
        for (labels, meta, ref, segments) in cases {
            let out = path(labels.replacingOccurrences(of: "/", with: "_") + ".dcm")
            let metaPath = meta.isEmpty ? Self.fourLabels : fixture(meta)
            let r = try E2E.i2(["nifti2seg", "--ref", fixture(ref), "--meta", metaPath, fixture(labels), "-o", out])
            XCTAssertEqual(r.stdout, out + "\n")
            XCTAssertEqual(try dciodvfyErrors(out), [], labels)
            assertRead(try highdicomCheck(out, ref: fixture(ref), labels: fixture(labels)), segments: segments)
        }
    }

    func testGappedLabelsKeepTheirValuesAndCodes() throws {
        let out = path("gapped.dcm")
        try E2E.i2(["nifti2seg", "--ref", fixture("ct-3slice"), "--meta", fixture("json/seg-example_liver_spine_gapped.json"),
                    fixture("liver_spine_gapped_seg.nrrd"), "-o", out])
        let result = try highdicomCheck(out, ref: fixture("ct-3slice"), labels: fixture("liver_spine_gapped_seg.nrrd"))
        let segs = result["segments"] as? [[String: Any]] ?? []
        XCTAssertEqual(segs.map { $0["number"] as? Int }, [1, 2])
        XCTAssertEqual(segs.map { $0["original"] as? Int }, [1, 5])
        XCTAssertEqual(segs.last?["type"] as? [String], ["122495006", "SCT", "Thoracic spine"])
        XCTAssertEqual(segs.first?["cielab"] as? [Int], [41434, 41202, 40670])   // from recommendedDisplayRGBValue [220, 129, 101]
    }

    /// Labels {1, 5, 42, 300} on the 23x38 grid (frames of 874 pixels: not a multiple of 8), or `grid`'s.
    func makeFourLabelMap(grid: String = "23x38x3") throws -> String {
        let image = path("img-\(grid).nii.gz"), labels = path("four-\(grid).nii.gz")
        try E2E.i2(["convert", fixture(grid + "/image"), image, "--no-sidecar"])
        try E2E.pyCode("""
        import sys, nibabel as nib, numpy as np
        im = nib.load(sys.argv[1]); a = np.zeros(im.shape[:3], np.int16)
        a[2:8, 3:9, 0] = 1; a[10:20, 5:30, 1] = 5; a[1:5, 30:37, :] = 42; a[15:22, 0:10, 2] = 300; a[0, 0, 2] = 300
        nib.save(nib.Nifti1Image(a, im.affine), sys.argv[2])
        """, [image, labels])
        return labels
    }

    func testArbitraryLabelValuesOnOddFramesReadBackByHighdicomAndDcmqi() throws {
        let labels = try makeFourLabelMap(), out = path("four.dcm"), ref = fixture("23x38x3/image")
        try E2E.i2(["nifti2seg", "--ref", ref, "--meta", Self.fourLabels, labels, "-o", out])
        XCTAssertEqual(try dciodvfyErrors(out), [])
        let result = try highdicomCheck(out, ref: ref, labels: labels)
        assertRead(result, segments: 4)
        let segs = result["segments"] as? [[String: Any]] ?? []
        XCTAssertEqual(segs.map { $0["original"] as? Int }, [1, 5, 42, 300])
        XCTAssertEqual(segs[1]["modifiers"] as? [[String]], [["7771000", "SCT", "Left"]])

        let tool = try E2E.dcmqi("segimage2itkimage"), outDir = try mkdir("dcmqi")
        let d = try TestSupport.run(tool, ["--inputDICOM", out, "--outputDirectory", outDir, "-t", "nifti"])
        XCTAssertEqual(d.status, 0, d.stderr + d.stdout)
        let c = try E2E.py(["check_dcmqi_readback.py", outDir, labels, "1,5,42,300"])
        XCTAssertEqual(c.status, 0, c.stderr)
        let read = try JSONSerialization.jsonObject(with: Data(c.stdout.utf8)) as? [String: Any] ?? [:]
        XCTAssertEqual(read["mismatches"] as? [Int], [], "\(read)")
        let rgb = (read["segments"] as? [[String: Any]] ?? []).map { $0["rgb"] as? [Int] ?? [] }
        XCTAssertEqual(rgb, [[221, 130, 101], [185, 102, 83], [157, 108, 162], [224, 97, 76]])
    }

    /// nifti2seg then seg2nifti gives back the same labels {1, 5, 42, 300} and geometry on 23x38 frames,
    /// for the SEG's own grid and for --ref, in both SEG types.
    func testRoundTripRestoresLabelsAndGeometry() throws {
        let labels = try makeFourLabelMap(), ref = fixture("23x38x3/image")
        for type in ["binary", "labelmap"] {
            let seg = path("rt-\(type).dcm")
            try E2E.i2(["nifti2seg", "--type", type, "--ref", ref, "--meta", Self.fourLabels, labels, "-o", seg])
            for extra in [[], ["--ref", ref]] {
                let back = path("rt-\(type)-\(extra.count).nii.gz")
                try E2E.i2(["seg2nifti", seg, "-o", back] + extra)
                try E2E.assertSameImage(back, labels)
            }
        }
    }

    /// A label map stored with its axes in another order (reversed columns or slices, other tools'
    /// orders; permuted, as dcm2niix reorients 3-D acquisitions such as a sagittal MPRAGE to the nearest
    /// RAS order) still lies on the reference grid: it is placed by its geometry, and reads back as the
    /// label map in i2 convert's order, voxel for voxel. Each order both compressed and as a plain .nii,
    /// whose voxels are scanned where they lie in the file (mapped) rather than read and moved; and the
    /// SEG's UIDs depend on the labels, not on the order or the form they came in.
    func testLabelMapWithAxesInAnotherOrderIsPlacedByItsGeometry() throws {
        let labels = try makeFourLabelMap(), ref = fixture("23x38x3/image")
        let original = path("original.dcm")
        try E2E.i2(["nifti2seg", "--ref", ref, "--meta", Self.fourLabels, labels, "-o", original])
        let orders = [("", "0,1,2"), ("0", "0,1,2"), ("1", "0,1,2"), ("2", "0,1,2"), ("1,2", "0,1,2"), ("0,2", "0,1,2"),
                      ("", "1,0,2"), ("1", "2,0,1"), ("0,1,2", "2,1,0")]
        let cases = orders.flatMap { o in [".nii.gz", ".nii"].map { (o.0, o.1, "f\(o.0)-p\(o.1)".replacingOccurrences(of: ",", with: "") + $0.replacingOccurrences(of: ".", with: "-"), $0) } }
        _ = try E2E.pyCode("""
            import sys, numpy as np, nibabel as nib
            img = nib.load(sys.argv[1])
            for spec in sys.argv[2:]:
                flips, order, out = spec.split(";")
                a = np.asanyarray(img.dataobj); affine = img.affine.copy()
                for ax in [int(x) for x in flips.split(",") if x]:
                    a = np.flip(a, ax)
                    affine[:3, 3] += affine[:3, ax] * (a.shape[ax] - 1)
                    affine[:3, ax] *= -1
                order = [int(x) for x in order.split(",")]
                a = np.transpose(a, order); affine[:3, :3] = affine[:3, order]
                nib.save(nib.Nifti1Image(np.ascontiguousarray(a), affine), out)
            """, [labels] + cases.map { "\($0.0);\($0.1);" + path($0.2 + $0.3) })
        var segs = [original]
        for (_, _, name, suffix) in cases {
            let moved = path(name + suffix), seg = path(name + ".dcm"), back = path(name + "-back.nii.gz")
            try E2E.i2(["nifti2seg", "--ref", ref, "--meta", Self.fourLabels, moved, "-o", seg])
            try E2E.i2(["seg2nifti", seg, "-o", back, "--ref", ref])
            try E2E.assertSameImage(back, labels)
            // With the overlay the maps are read as volumes and moved into the frames' order instead.
            let dir = path(name + "-objects")
            try E2E.i2(["nifti2seg", "--ref", ref, "--meta", Self.fourLabels, moved, "--as", "seg,overlay", "-o", dir])
            segs += [seg, dir + "/seg.dcm"]
        }
        let uids = try E2E.pyCode("""
            import sys, pydicom
            for p in sys.argv[1:]:
                d = pydicom.dcmread(p, stop_before_pixels=True); print(d.SeriesInstanceUID, d.SOPInstanceUID)
            """, segs)
        XCTAssertEqual(Set(E2E.lines(uids)).count, 1, "the same labels on the same slices, however stored or read: \(uids)")
        XCTAssertEqual(E2E.lines(uids).count, segs.count)
    }

    /// A 3-D acquisition (Philips enhanced B0 map): i2 convert reorients it as dcm2niix does (its columns
    /// run the other way than the frames'). A label map drawn on that output goes into a SEG and an RT
    /// Structure Set, and seg2nifti --ref gives each back as that same array, voxel for voxel.
    func testThreeDAcquisitionRoundTripsInConvertsOrder() throws {
        let ref = try mkdir("philips")
        try FileManager.default.copyItem(atPath: TestSupport.fixture("dcm_qa_enh/Philips/IM_0027_fMAP.dcm"), toPath: ref + "/IM_0027_fMAP.dcm")
        let converted = try mkdir("nii") + "/"
        let c = try E2E.i2(["convert", ref, converted])
        let image = try XCTUnwrap(E2E.lines(c.stdout).first { $0.hasSuffix("_e1.nii.gz") })
        let labels = path("labels.nii.gz")
        _ = try E2E.pyCode("""
            import sys, numpy as np, nibabel as nib
            img = nib.load(sys.argv[1]); a = np.asanyarray(img.dataobj)
            assert img.affine[0, 0] > 0, "the fixture no longer tests a reoriented order"
            nib.save(nib.Nifti1Image((a > np.percentile(a, 70)).astype(np.uint8) * 5, img.affine), sys.argv[2])
            """, [image, labels])
        let dir = path("objects")
        try E2E.i2(["nifti2seg", "--ref", ref, "--meta", Self.fourLabels, labels, "--as", "seg,rtstruct", "-o", dir])
        for object in ["seg", "rtstruct"] {
            let back = path("back-\(object).nii.gz")
            try E2E.i2(["seg2nifti", dir + "/\(object).dcm", "--ref", ref, "-o", back])
            try E2E.assertSameImage(back, labels)
        }
    }

    /// BINARY in RLE Lossless: each frame its own fragment, one byte per pixel (frames of 23x38 = 874
    /// pixels are no whole number of bytes, 24x38 are). seg2nifti and highdicom (through pylibjpeg-rle,
    /// as pydicom's own decoder refuses 1 bit allocated) read back the same labels; dciodvfy finds no error.
    func testBinaryRLEReadBackBySeg2niftiAndHighdicom() throws {
        for grid in ["23x38x3", "24x38x3"] {
            let labels = try makeFourLabelMap(grid: grid), ref = fixture(grid + "/image")
            let seg = path("rle-\(grid).dcm"), native = path("native-\(grid).dcm")
            try E2E.i2(["nifti2seg", "--compress", "rle", "--ref", ref, "--meta", Self.fourLabels, labels, "-o", seg])
            try E2E.i2(["nifti2seg", "--ref", ref, "--meta", Self.fourLabels, labels, "-o", native])
            XCTAssertEqual(try dciodvfyErrors(seg), [])
            let ts = try E2E.pyCode("""
                import sys, pydicom
                d = pydicom.dcmread(sys.argv[1])
                print(d.file_meta.TransferSyntaxUID, d.BitsAllocated, len(list(pydicom.encaps.generate_fragments(d.PixelData))) == d.NumberOfFrames + 1)
                """, [seg])
            XCTAssertEqual(ts, "1.2.840.10008.1.2.5 1 True", "RLE, 1 bit, one fragment per frame after the offset table")
            for extra in [[], ["--ref", ref]] {
                let back = path("rle-back-\(grid)-\(extra.count).nii.gz")
                try E2E.i2(["seg2nifti", seg, "-o", back] + extra)
                try E2E.assertSameImage(back, labels)
            }
            let p = try highdicomPython()
            guard try TestSupport.run(p, ["-c", "import pylibjpeg, rle"]).status == 0 else {
                throw TestSupport.Missing("pip install pylibjpeg pylibjpeg-rle into .venv: pydicom's own RLE decoder refuses 1 bit allocated")
            }
            assertRead(try highdicomCheck(seg, ref: ref, labels: labels), segments: 4)
            // The same masks as the native SEG.
            let same = try E2E.pyCode("""
                import sys, highdicom as hd, numpy as np
                a, b = hd.seg.segread(sys.argv[1]), hd.seg.segread(sys.argv[2])
                print(np.array_equal(a.pixel_array, b.pixel_array))
                """, [seg, native])
            XCTAssertEqual(same, "True")
        }
    }

    /// Orthanc accepts the SEG over C-STORE (sent with i2 send) and lists it in the CT's study.
    func testOrthancAcceptsTheSegInTheCTStudy() throws {
        let seg = path("liver.dcm")
        try E2E.i2(["nifti2seg", "--ref", fixture("ct-3slice"), "--meta", fixture("json/seg-example.json"),
                    fixture("liver_seg.nrrd"), "-o", seg])
        let orthanc = try OrthancPeer()
        defer { orthanc.stop() }
        let ct = try (1...3).map { try orthanc.upload(fixture("ct-3slice/0\($0).dcm")) }
        try E2E.i2(["send", "--to", orthanc.address, seg])
        let instance = try JSONSerialization.jsonObject(with: try orthanc.get("/instances/\(ct[0])")) as? [String: Any]
        let series = try JSONSerialization.jsonObject(with: try orthanc.get("/instances/\(ct[0])/series")) as? [String: Any]
        let study = try XCTUnwrap((series?["ParentStudy"] as? String) ?? (instance?["ParentStudy"] as? String))
        let all = try JSONSerialization.jsonObject(with: try orthanc.get("/studies/\(study)/series")) as? [[String: Any]] ?? []
        let modalities = all.compactMap { ($0["MainDicomTags"] as? [String: Any])?["Modality"] as? String }.sorted()
        XCTAssertEqual(modalities, ["CT", "SEG"])
    }

    func testLabelMapTypeReadByHighdicom() throws {
        let labels = try makeFourLabelMap(), ref = fixture("23x38x3/image")
        for compress in ["none", "rle"] {
            let out = path("lm-\(compress).dcm")
            try E2E.i2(["nifti2seg", "--type", "labelmap", "--compress", compress, "--ref", ref, "--meta", Self.fourLabels, labels, "-o", out])
            let result = try highdicomCheck(out, ref: ref, labels: labels)
            XCTAssertEqual(result["type"] as? String, "LABELMAP")
            assertRead(result, segments: 4)
        }
    }

    func testUIDsAreDeterministic() throws {
        func uids(_ args: [String]) throws -> String {
            let out = path(UUID().uuidString + ".dcm")
            try E2E.i2(["nifti2seg", "--ref", fixture("ct-3slice"), "--meta", fixture("json/seg-example.json"),
                        fixture("liver_seg.nrrd"), "-o", out] + args)
            return try E2E.pyCode("import sys, pydicom; d = pydicom.dcmread(sys.argv[1]); print(d.SeriesInstanceUID, d.SOPInstanceUID)", [out])
        }
        let a = try uids([]), b = try uids([])
        XCTAssertEqual(a, b, "same inputs, same UIDs")
        let s1 = try uids(["--uid-seed", "job-1"]), s2 = try uids(["--uid-seed", "job-1"]), s3 = try uids(["--uid-seed", "job-2"])
        XCTAssertEqual(s1, s2)
        XCTAssertNotEqual(s1, s3)
        XCTAssertNotEqual(a, s1)
    }

    func testBadInputGivesOneErrorAndNoFile() throws {
        let badJSON = path("bad.json"), truncated = path("truncated.json")
        try Data(#"{"segmentAttributes": [[{"labelID": "x"}]]}"#.utf8).write(to: URL(fileURLWithPath: badJSON))
        try Data(#"{"segmentAttributes": [[{"labelID": 1,"#.utf8).write(to: URL(fileURLWithPath: truncated))
        let cases: [([String], String)] = [
            (["--ref", fixture("ct-3slice"), "--meta", Self.fourLabels, fixture("23x38x3/nrrd/label.nrrd")], "dimensions 23x38x3"),
            (["--ref", fixture("ct-3slice"), "--meta", fixture("json/seg-example.json"), fixture("liver_spine_seg.nrrd")], "label value 2 not described"),
            (["--ref", fixture("ct-3slice"), "--meta", badJSON, fixture("liver_seg.nrrd")], "segmentAttributes[0][0]"),
            (["--ref", fixture("ct-3slice"), "--meta", truncated, fixture("liver_seg.nrrd")], "line 1, column"),
            (["--ref", path("nowhere"), "--meta", Self.fourLabels, fixture("liver_seg.nrrd")], "reference series: no such file"),
        ]
        for (args, message) in cases {
            let out = path("out.dcm")
            let r = try E2E.i2(["nifti2seg"] + args + ["-o", out], expect: 1)
            XCTAssertEqual(E2E.errorLines(r.stderr).count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(message), "expected '\(message)' in: \(r.stderr)")
            XCTAssertEqual(r.stdout, "")
            XCTAssertEqual(try E2E.list(dir).filter { $0.hasSuffix(".dcm") || $0.hasPrefix(".") }, [], "no output left behind")
        }
    }

    func testUnknownLabelsGenericAndEmptyResult() throws {
        let out = path("generic.dcm")
        let r = try E2E.i2(["nifti2seg", "--ref", fixture("ct-3slice"), "--meta", fixture("json/seg-example.json"),
                            "--unknown-labels", "generic", fixture("liver_spine_seg.nrrd"), "-o", out])
        XCTAssertTrue(r.stderr.contains("warning") && r.stderr.contains("label value 2"), r.stderr)
        XCTAssertEqual(try dciodvfyErrors(out), [])

        let image = path("img.nii.gz"), zero = path("zero.nii.gz"), empty = path("empty.dcm")
        try E2E.i2(["convert", fixture("23x38x3/image"), image, "--no-sidecar"])
        try E2E.pyCode("import sys, nibabel as nib, numpy as np; im = nib.load(sys.argv[1]); nib.save(nib.Nifti1Image(np.zeros(im.shape[:3], np.uint8), im.affine), sys.argv[2])", [image, zero])
        let e = try E2E.i2(["nifti2seg", "--ref", fixture("23x38x3/image"), "--meta", Self.fourLabels, zero, "-o", empty], expect: 5)
        XCTAssertTrue(e.stderr.contains("every label is empty"), e.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: empty))
        try E2E.i2(["nifti2seg", "--ref", fixture("23x38x3/image"), "--meta", Self.fourLabels, "--empty-result", "seg", zero, "-o", empty])
        XCTAssertEqual(try dciodvfyErrors(empty), [])
    }
}
