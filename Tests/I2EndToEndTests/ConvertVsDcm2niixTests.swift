// i2 convert DICOM → NIfTI against dcm2niix (the reference converter) and pydicom: fixtures, generated
// plain/oblique/reversed/tilted series and compressed copies. compare_nifti.py reorients both to the
// closest canonical orientation and requires same shape, equal scaled voxels, affine within 1e-3 mm.
import Foundation
import XCTest
import I2TestSupport

final class ConvertVsDcm2niixTests: E2ECase {
    /// i2 DIR out.nii.gz and dcm2niix DIR, compared (reference: dcm2niix's ref.nii, the only file expected).
    func assertMatchesDcm2niix(_ series: String, i2Options: [String] = [], referenceOf: String? = nil,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let out = path("i2-\(UUID().uuidString).nii.gz")
        try E2E.i2(["convert"] + i2Options + [series, out], file: file, line: line)
        let ref = try E2E.reference(referenceOf ?? series, into: path("ref-\(UUID().uuidString)"))
        try E2E.assertSameImage(out, ref, file: file, line: line)
    }

    /// Asserts that every file of `dir` is stored in the transfer syntax whose DCMTK name contains `name`.
    func assertTransferSyntax(_ dir: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let dump = try TestSupport.tool("dcmdump", package: "dcmtk")
        for f in try E2E.list(dir) {
            let r = try TestSupport.run(dump, ["+P", "0002,0010", dir + "/" + f])
            XCTAssertTrue(r.stdout.contains(name), "\(f) is not \(name): \(r.stdout)", file: file, line: line)
        }
    }

    /// A copy of the plain generated series with each file passed through a DCMTK encoder.
    func encoded(_ plain: String, _ tool: String, _ options: [String] = [], as name: String) throws -> String {
        let exe = try TestSupport.tool(tool, package: "dcmtk")
        let out = try mkdir(name)
        for f in try E2E.list(plain) {
            let r = try TestSupport.run(exe, options + [plain + "/" + f, out + "/" + f])
            XCTAssertEqual(r.status, 0, "\(tool) \(f): \(r.stderr)")
        }
        return out
    }

    // MARK: fixtures

    func testCT3SliceMatchesDcm2niix() throws {
        try assertMatchesDcm2niix(TestSupport.fixture("dcmqi/ct-3slice"))
    }

    func testOddWidth23x38x3MatchesDcm2niix() throws {
        try assertMatchesDcm2niix(TestSupport.fixture("dcmqi/23x38x3/image"))
    }

    func testEvenWidth24x38x3MatchesDcm2niix() throws {
        try assertMatchesDcm2niix(TestSupport.fixture("dcmqi/24x38x3/image"))
    }

    /// pydicom-ct2 is irregular (z = -99.48, 103.02, 104.27, 105.52): i2 refuses it without --equalize, so
    /// the three regularly spaced slices are compared as a series of their own.
    func testPydicomCT2RegularSlicesMatchDcm2niix() throws {
        let sub = try mkdir("ct2-regular")
        for f in ["17136", "17166", "17196"] { try E2E.copy(TestSupport.fixture("pydicom-ct2/" + f), sub + "/" + f) }
        try assertMatchesDcm2niix(sub)
    }

    /// The whole pydicom-ct2 series with --equalize (1.25 mm, 165 slices): the slices at the original
    /// positions (0, 162, 163, 164) equal dcm2niix's unequalized slices, on the same grid.
    func testPydicomCT2EqualizedKeepsTheOriginalSlices() throws {
        let out = path("ct2.nii.gz")
        try E2E.i2(["convert", "--equalize", TestSupport.fixture("pydicom-ct2"), out])
        XCTAssertEqual(try E2E.shape(out), [16, 16, 165])
        let ref = try E2E.reference(TestSupport.fixture("pydicom-ct2"), into: path("ref"),
                                    expected: ["ref.nii", "ref_Eq_1.nii"])
        try E2E.assertSameImage(out, ref, ["--test-slices", "0,162,163,164"])
    }

    /// The enhanced multi-frame copy of 23x38x3 gives the same grid and voxels as the single-frame files
    /// (through i2) and as dcm2niix's conversion of the single-frame files.
    func testMultiframeEqualsSingleFrameSeries() throws {
        let mf = path("mf.nii.gz"), single = path("single.nii.gz")
        try E2E.i2(["convert", TestSupport.fixture("dcmqi/23x38x3/multiframe/mf.dcm"), mf])
        try E2E.i2(["convert", TestSupport.fixture("dcmqi/23x38x3/image"), single])
        try E2E.assertSameImage(mf, single)
        let ref = try E2E.reference(TestSupport.fixture("dcmqi/23x38x3/image"), into: path("ref"))
        try E2E.assertSameImage(mf, ref)
    }

    // MARK: generated series

    func testGeneratedPlainSeriesMatchesDcm2niix() throws {
        try E2E.makeSeries(path("plain"))
        try assertMatchesDcm2niix(path("plain"))
    }

    func testGeneratedObliqueSeriesMatchesDcm2niix() throws {
        try E2E.makeSeries(path("oblique"), ["--oblique", "25"])
        try assertMatchesDcm2niix(path("oblique"))
    }

    func testGeneratedReversedFileOrderMatchesDcm2niix() throws {
        try E2E.makeSeries(path("reverse"), ["--reverse"])
        try assertMatchesDcm2niix(path("reverse"))
    }

    // MARK: gantry tilt

    /// Default --tilt shear: every voxel kept, sheared affine; equals dcm2niix's uncorrected output
    /// (ref.nii, written next to its tilt-corrected ref_Tilt_1.nii).
    func testTiltShearMatchesDcm2niixUncorrectedOutput() throws {
        try E2E.makeSeries(path("tilt"), ["--tilt", "15"])
        let out = path("shear.nii.gz")
        try E2E.i2(["convert", path("tilt"), out])
        let ref = try E2E.reference(path("tilt"), into: path("ref"), expected: ["ref.nii", "ref_Tilt_1.nii"])
        try E2E.assertSameImage(out, ref)
    }

    /// Default --tilt shear, checked with pydicom: each DICOM pixel centre (from ImagePositionPatient,
    /// orientation and PixelSpacing) is a voxel centre within 1e-3 mm, holding that pixel's scaled value.
    func testTiltShearAffineMapsVoxelsToImagePositions() throws {
        try E2E.makeSeries(path("tilt"), ["--tilt", "15"])
        let out = path("shear.nii.gz")
        try E2E.i2(["convert", path("tilt"), out])
        let r = try E2E.py(["check_tilt.py", "shear", out, path("tilt")])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    /// --tilt resample, checked with pydicom: orthogonal grid, each slice in its DICOM slice's plane, each
    /// voxel inside the source pixels equal to their bilinear interpolation (±0.5 for integer rounding).
    func testTiltResampleInterpolatesTheDicomPixels() throws {
        try E2E.makeSeries(path("tilt"), ["--tilt", "15"])
        let out = path("resample.nii.gz")
        try E2E.i2(["convert", "--tilt", "resample", path("tilt"), out])
        let r = try E2E.py(["check_tilt.py", "resample", out, path("tilt")])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    /// --tilt resample against dcm2niix's tilt correction (its default, ref_Tilt_1.nii): the same padded
    /// grid, so no pixel is lost (160x165 here). Values are not compared: dcm2niix's ref_Tilt_1.nii fails
    /// `check_tilt.py resample` itself (its voxels are not the DICOM pixels at the positions its affine
    /// claims), while i2 passes that check (test above).
    func testTiltResampleGridMatchesDcm2niixTiltCorrection() throws {
        try E2E.makeSeries(path("tilt"), ["--tilt", "15"])
        let out = path("resample.nii.gz")
        try E2E.i2(["convert", "--tilt", "resample", path("tilt"), out])
        let ref = try E2E.reference(path("tilt"), into: path("ref"), expected: ["ref.nii", "ref_Tilt_1.nii"],
                                    pick: "ref_Tilt_1.nii")
        try E2E.assertSameImage(out, ref, ["--shape-only"])
    }

    // MARK: compressed transfer syntaxes

    /// JPEG-LS lossless. Debian's dcm2niix is built without CharLS ("Unsupported transfer syntax
    /// 1.2.840.10008.1.2.4.80"), so the reference is dcm2niix on the uncompressed originals: lossless
    /// coding must give the same voxels.
    func testJPEGLSCopyMatchesDcm2niixOfOriginal() throws {
        try E2E.makeSeries(path("plain"))
        let jls = try encoded(path("plain"), "dcmcjpls", as: "jls")
        try assertTransferSyntax(jls, "JPEGLSLossless")
        try assertMatchesDcm2niix(jls, referenceOf: path("plain"))
    }

    func testRLECopyMatchesDcm2niix() throws {
        try E2E.makeSeries(path("plain"))
        let rle = try encoded(path("plain"), "dcmcrle", as: "rle")
        try assertTransferSyntax(rle, "RLELossless")
        try assertMatchesDcm2niix(rle)
        try assertMatchesDcm2niix(rle, referenceOf: path("plain"))
    }

    /// JPEG lossless, first-order prediction (SV1, 1.2.840.10008.1.2.4.70: dcmcjpeg's default).
    func testJPEGLosslessCopyMatchesDcm2niix() throws {
        try E2E.makeSeries(path("plain"))
        let jpg = try encoded(path("plain"), "dcmcjpeg", ["--encode-lossless-sv1"], as: "jpeg")
        try assertTransferSyntax(jpg, "JPEGLossless:Non-hierarchical-1stOrderPrediction")
        try assertMatchesDcm2niix(jpg)
        try assertMatchesDcm2niix(jpg, referenceOf: path("plain"))
    }
}
