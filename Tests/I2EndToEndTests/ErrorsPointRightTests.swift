// Issue 11 item 14: errors that named the wrong file or gave the wrong reason. Each input is generated
// here: a series whose slice positions are ±1e308 apart (the non-finite geometry used to be blamed on
// the output, and NRRD wrote "nan" into its header silently), a whole-slide microscopy SEG (highdicom)
// with and without its source in --ref, and SEGs in the two deflate transfer syntaxes.
import Foundation
import XCTest
import I2TestSupport

final class ErrorsPointRightTests: E2ECase {
    /// Two CT slices whose positions along the normal are -1e308 and 1e308: the spacing is infinite.
    func farApartSeries() throws -> String {
        let dir = try mkdir("far")
        let dcmodify = try TestSupport.tool("dcmodify", package: "dcmtk")
        for (name, z) in [("a.dcm", "-1e308"), ("b.dcm", "1e308")] {
            try FileManager.default.copyItem(atPath: TestSupport.fixture("dcmqi/ct-3slice/0\(name == "a.dcm" ? 1 : 2).dcm"), toPath: dir + "/" + name)
            let r = try TestSupport.run(dcmodify, ["-nb", "-m", "(0020,0032)=0\\0\\\(z)", dir + "/" + name])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        return dir
    }

    func testNonFiniteGeometryNamesTheInputFileForEveryOutputFormat() throws {
        let series = try farApartSeries()
        for out in [path("o/"), path("o.nii"), path("o.nrrd"), path("o.mha")] {
            let r = try E2E.i2(["convert", series, "-o", out], expect: 1)
            XCTAssertTrue(r.stderr.contains(series + "/a.dcm: the volume geometry has non-finite entries"), "\(out): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains(path("o")), "the output is not the culprit: \(r.stderr)")
        }
        // NRRD and MetaImage used to be written with a nan slice direction, exit 0.
        for f in ["o.nii", "o.nrrd", "o.mha"] { XCTAssertFalse(FileManager.default.fileExists(atPath: path(f)), f) }
        XCTAssertEqual((try? E2E.list(path("o"))) ?? [], [])
    }

    func testNonFiniteLabelMapGeometryNamesTheLabelMap() throws {
        // A NRRD label map whose origin is infinite: nifti2seg and convert name it, not their output.
        let nrrd = path("inf.nrrd")
        let header = "NRRD0004\ntype: uint8\ndimension: 3\nsizes: 2 2 1\nspace: left-posterior-superior\n"
            + "space directions: (1,0,0) (0,1,0) (0,0,1)\nspace origin: (inf,0,0)\nencoding: raw\n\n"
        try Data(Array(header.utf8) + [0, 1, 1, 0]).write(to: URL(fileURLWithPath: nrrd))
        let r = try E2E.i2(["convert", nrrd, "-o", path("inf.nii")], expect: 1)
        XCTAssertTrue(r.stderr.contains(nrrd + ": the volume geometry has non-finite entries"), r.stderr)
        let s = try E2E.i2(["nifti2seg", "--ref", TestSupport.fixture("dcmqi/ct-3slice"), "--meta", TestSupport.fixture("dcmqi/json/seg-example.json"), nrrd, "-o", path("inf.dcm")], expect: 1)
        XCTAssertTrue(s.stderr.contains(nrrd + ": the volume geometry has non-finite entries"), s.stderr)
    }

    func testSlideMicroscopySegSaysSoWithAndWithoutRef() throws {
        let ref = try mkdir("slide"), seg = path("slide-seg.dcm")
        let r = try E2E.py(["make_slide_seg.py", ref + "/wsm.dcm", seg])
        XCTAssertEqual(r.status, 0, r.stderr)
        for extra in [[], ["--ref", ref]] {
            let out = try E2E.i2(["seg2nifti", seg, "-o", path("slide.nii")] + extra, expect: 1)
            XCTAssertTrue(out.stderr.contains(seg + ": a whole-slide microscopy SEG"), out.stderr)
            XCTAssertTrue(out.stderr.contains("VL Whole Slide Microscopy"), out.stderr)
            XCTAssertTrue(out.stderr.contains("slide SEGs are not supported by seg2nifti"), out.stderr)
            for wrong in ["give --ref", "no DICOM images", "neither a source image reference nor a plane position"] {
                XCTAssertFalse(out.stderr.contains(wrong), out.stderr)
            }
        }
    }

    /// highdicom's FRACTIONAL SEG in Deflated Explicit VR Little Endian (the whole data set deflated, as
    /// pydicom writes it) reads as the original does.
    func testDeflatedDataSetSegReadsLikeTheOriginal() throws {
        let original = TestSupport.fixture("highdicom/seg_image_ct_true_fractional.dcm"), deflated = path("deflated.dcm")
        try E2E.pyCode("""
            import sys, pydicom
            from pydicom.uid import DeflatedExplicitVRLittleEndian
            d = pydicom.dcmread(sys.argv[1]); d.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian; d.save_as(sys.argv[2])
            """, [original, deflated])
        try E2E.i2(["seg2nifti", original, "-o", path("raw.nii")])
        try E2E.i2(["seg2nifti", deflated, "-o", path("deflated.nii")])
        try E2E.assertSameImage(path("deflated.nii"), path("raw.nii"), ["--tolerance", "0"])
    }
}

extension ErrorsPointRightTests {
    /// Deflated Image Frame Compression (1.2.840.10008.1.2.8.1, DICOM 2023): each frame a raw deflate
    /// stream in an encapsulated fragment. DCMTK 3.6.7 does not know the syntax and blamed the meta
    /// header ("File meta information header missing"); i2 refuses it naming the file and the syntax.
    func testFrameDeflatedSegIsRefusedNamingTheTransferSyntax() throws {
        let seg = path("frame-deflate.dcm")
        try E2E.pyCode("""
            import sys, zlib, pydicom
            from pydicom.encaps import encapsulate
            from pydicom.filebase import DicomBytesIO
            from pydicom.filewriter import write_file_meta_info, write_dataset
            d = pydicom.dcmread(sys.argv[1]); n, size = int(d.NumberOfFrames), d.Rows * d.Columns
            def deflate(b):
                c = zlib.compressobj(9, zlib.DEFLATED, -15); return c.compress(b) + c.flush()
            d.PixelData = encapsulate([deflate(d.PixelData[i * size:(i + 1) * size]) for i in range(n)]); d["PixelData"].VR = "OB"
            meta = d.file_meta; meta.TransferSyntaxUID = "1.2.840.10008.1.2.8.1"   # pydicom 3.0 cannot write it: by hand
            fp = DicomBytesIO(); fp.is_little_endian = True; fp.is_implicit_VR = False
            fp.write(b"\\0" * 128 + b"DICM"); write_file_meta_info(fp, meta, enforce_standard=True)
            del d.file_meta; write_dataset(fp, d); open(sys.argv[2], "wb").write(fp.getvalue())
            """, [TestSupport.fixture("highdicom/seg_image_ct_true_fractional.dcm"), seg])
        let r = try E2E.i2(["seg2nifti", seg, "-o", path("fd.nii")], expect: 1)
        XCTAssertTrue(r.stderr.contains(seg + ": transfer syntax 1.2.840.10008.1.2.8.1 (Deflated Image Frame Compression) is not supported"), r.stderr)
        XCTAssertFalse(r.stderr.contains("meta information"), r.stderr)
    }
}

extension ErrorsPointRightTests {
    /// seg2nifti --ref with no image in the folder blamed the SEG ("SEG.dcm: no DICOM images in --ref
    /// DIR"); now the folder, or the file in it that is not an image, is named.
    func testSeg2NiftiRefWithoutImagesNamesTheRefFolder() throws {
        let seg = TestSupport.fixture("highdicom/seg_image_ct_binary.dcm")
        let empty = try mkdir("empty")
        try Data("not DICOM".utf8).write(to: URL(fileURLWithPath: empty + "/readme.txt"))
        let r = try E2E.i2(["seg2nifti", seg, "--ref", empty, "-o", path("e.nii")], expect: 1)
        XCTAssertTrue(r.stderr.contains("error: \(empty): no DICOM images in --ref"), r.stderr)
        XCTAssertFalse(r.stderr.contains("error: \(seg)"), r.stderr)
        let segs = try mkdir("segs")
        try E2E.copy(seg, segs + "/s.dcm")
        let s = try E2E.i2(["seg2nifti", seg, "--ref", segs, "-o", path("s.nii")], expect: 1)
        XCTAssertTrue(s.stderr.contains("error: \(segs)/s.dcm: a DICOM segmentation"), s.stderr)
    }

    /// nifti2seg --ref with a whole-slide microscopy image: the label map used to be blamed for not being
    /// on the tiles' 8x8x4 "grid".
    func testNifti2SegRefToASlideImageNamesTheSlide() throws {
        let ref = try mkdir("slide")
        let r = try E2E.py(["make_slide_seg.py", ref + "/wsm.dcm", path("slide-seg.dcm")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let labels = TestSupport.fixture("dcmqi/liver_seg.nrrd")
        let out = try E2E.i2(["nifti2seg", "--ref", ref, "--meta", TestSupport.fixture("dcmqi/json/seg-example.json"), labels, "-o", path("x.dcm")], expect: 1)
        XCTAssertTrue(out.stderr.contains("error: \(ref)/wsm.dcm: a VL Whole Slide Microscopy image"), out.stderr)
        XCTAssertFalse(out.stderr.contains(labels), out.stderr)
    }

    /// A whole-slide microscopy image is tiles of one plane: convert refuses it, naming the file, instead
    /// of stacking its tiles as slices of a volume without a spatial transform (exit 0 before).
    func testConvertRefusesAWholeSlideImage() throws {
        let ref = path("wsm"); try FileManager.default.createDirectory(atPath: ref, withIntermediateDirectories: true)
        let r = try E2E.py(["make_slide_seg.py", ref + "/wsm.dcm", path("slide-seg.dcm")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = try E2E.i2(["convert", ref, path("out") + "/"], expect: 1)
        XCTAssertTrue(out.stderr.contains("\(ref)/wsm.dcm: a VL Whole Slide Microscopy image"), out.stderr)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: path("out"))) ?? []
        XCTAssertEqual(left, [], "nothing written")
    }
}
