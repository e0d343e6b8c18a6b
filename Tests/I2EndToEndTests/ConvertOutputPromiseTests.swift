// Promises about what `i2 convert` writes: every file an output comes with (the DICOM metadata
// sidecar, the .json of .npy, the .raw of .mhd/.nhdr) obeys --force and is checked before anything is
// written; an OUTPUT is a directory only when it ends with '/' or exists, and an unknown extension is
// a usage error.
import Foundation
import XCTest
import I2TestSupport

final class ConvertOutputPromiseTests: E2ECase {
    func bytes(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }

    /// DICOM → ct.nii.gz (+ ct.json), then ct.nii.gz → ct.npy: the .npy's own ct.json would replace the
    /// DICOM metadata sidecar, so without --force nothing is written.
    func testImageToNpyDoesNotReplaceTheDicomSidecar() throws {
        try E2E.copy(TestSupport.fixture("dcmqi/ct-3slice"), path("CT"))
        try E2E.i2(["convert", "CT", "ct.nii.gz"], cwd: dir)
        let sidecar = try bytes("ct.json")
        let r = try E2E.i2(["convert", "ct.nii.gz", "ct.npy"], expect: 1, cwd: dir)
        XCTAssertTrue(r.stderr.contains("ct.json") && r.stderr.contains("--force"), r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(try bytes("ct.json"), sidecar, "the DICOM sidecar was replaced")
        XCTAssertEqual(try E2E.list(dir), ["CT", "ct.json", "ct.nii.gz"])
        // With --force both are replaced, and ct.json is the .npy's geometry.
        try E2E.i2(["convert", "--force", "ct.nii.gz", "ct.npy"], cwd: dir)
        XCTAssertEqual(try E2E.list(dir), ["CT", "ct.json", "ct.nii.gz", "ct.npy"])
    }

    /// DICOM → ct.npy beside an existing ct.json: refused, nothing written.
    func testDicomToNpyRefusesAnExistingJson() throws {
        try E2E.copy(TestSupport.fixture("dcmqi/ct-3slice"), path("CT"))
        try E2E.i2(["convert", "CT", "ct.nii.gz"], cwd: dir)
        let sidecar = try bytes("ct.json")
        let r = try E2E.i2(["convert", "CT", "ct.npy"], expect: 1, cwd: dir)
        XCTAssertTrue(r.stderr.contains("ct.json"), r.stderr)
        XCTAssertEqual(try bytes("ct.json"), sidecar)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("ct.npy")))
        // --force: the sidecar holds both the NumPy geometry and the DICOM metadata.
        try E2E.i2(["convert", "--force", "CT", "ct.npy"], cwd: dir)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: try bytes("ct.json")) as? [String: Any])
        XCTAssertNotNil(json["affine_ras"])
        XCTAssertNotNil(json["SeriesNumber"] ?? json["Modality"])
    }

    /// An existing sidecar alone (no image) is enough to refuse a DICOM → NIfTI conversion.
    func testDicomToNiftiRefusesAnExistingSidecar() throws {
        try E2E.copy(TestSupport.fixture("dcmqi/ct-3slice"), path("CT"))
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: path("ct.json")))
        try E2E.i2(["convert", "CT", "ct.nii.gz"], expect: 1, cwd: dir)
        XCTAssertEqual(try bytes("ct.json"), Data("keep me".utf8))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("ct.nii.gz")))
        try E2E.i2(["convert", "--no-sidecar", "CT", "ct.nii.gz"], cwd: dir)   // no sidecar written: no clash
    }

    /// The data file of a detached header (.mhd, .nhdr → NAME.raw) obeys --force too.
    func testDetachedDataFileIsNotOverwritten() throws {
        try E2E.copy(TestSupport.fixture("dcmqi/ct-3slice"), path("CT"))
        try E2E.i2(["convert", "--no-sidecar", "CT", "ct.nii.gz"], cwd: dir)
        for ext in ["mhd", "nhdr"] {
            try Data("keep me".utf8).write(to: URL(fileURLWithPath: path("ct.raw")))
            let r = try E2E.i2(["convert", "ct.nii.gz", "ct." + ext], expect: 1, cwd: dir)
            XCTAssertTrue(r.stderr.contains("ct.raw"), r.stderr)
            XCTAssertEqual(try bytes("ct.raw"), Data("keep me".utf8), ext)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("ct." + ext)), ext)
        }
    }

    /// ct.nii.gzz is no directory: a usage error (2) listing the known extensions, nothing created.
    func testUnknownOutputExtensionIsAUsageError() throws {
        try E2E.copy(TestSupport.fixture("dcmqi/ct-3slice"), path("CT"))
        for out in ["ct.nii.gzz", "ct", "ct.dcm"] {
            let r = try E2E.i2(["convert", "CT", out], expect: 2, cwd: dir)
            XCTAssertEqual(r.stdout, "", out)
            XCTAssertTrue(r.stderr.contains(".nii.gz") && r.stderr.contains(".npy") && r.stderr.contains(".mhd"), r.stderr)
            XCTAssertEqual(try E2E.list(dir), ["CT"], out)
        }
        // A directory: named with a trailing '/', or already existing.
        let a = try E2E.i2(["convert", "CT", "new/"], cwd: dir)
        XCTAssertEqual(E2E.lines(a.stdout).count, 2, a.stdout)
        _ = try mkdir("existing")
        let b = try E2E.i2(["convert", "--no-sidecar", "CT", "existing"], cwd: dir)
        XCTAssertEqual(E2E.lines(b.stdout).count, 1, b.stdout)
        XCTAssertTrue(b.stdout.hasPrefix("existing/"), b.stdout)
    }
}

/// A DICOM-SEG given to `i2 convert` is named as a segmentation, with the command that reads it.
final class ConvertSegmentationInputTests: E2ECase {
    func testSegmentationIsNamedWithSeg2Nifti() throws {
        let cases = [("highdicom/seg_image_ct_binary.dcm", "1.2.840.10008.5.1.4.1.1.66.4"),
                     ("highdicom/seg_image_ct_true_fractional.dcm", "1.2.840.10008.5.1.4.1.1.66.4"),
                     ("dcmqi/liver.dcm", "1.2.840.10008.5.1.4.1.1.66.4"),
                     ("dcmqi/sparse-labelmap-noppv.dcm", "1.2.840.10008.5.1.4.1.1.66.7")]
        for (fixture, sopClass) in cases {
            let r = try E2E.i2(["convert", TestSupport.fixture(fixture), path("out.nii.gz")], expect: 1)
            XCTAssertTrue(r.stderr.contains("segmentation") && r.stderr.contains(sopClass), "\(fixture): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("i2 seg2nifti"), "\(fixture): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("BitsAllocated"), "\(fixture): \(r.stderr)")
            XCTAssertEqual(try E2E.list(dir), [], "\(fixture) was converted as an image")
        }
    }
}
