// Mosaics against dcm2niix: Siemens MOSAIC files from dcm_qa (Tests/Fixtures/dcm_qa: an axial 35-slice
// mosaic, and a sagittal pair whose CSA SliceNormalVector points against row x column, stacked 4-D) and
// UIH grid files made from them by Tests/Tools/make_uih_grid.py; then hostile mosaics, refused per file.
import Foundation
import XCTest
import I2TestSupport

final class ConvertMosaicTests: E2ECase {
    static let sagittal = TestSupport.fixture("dcm_qa/mosaic-sag-asc35")
    static let axial = TestSupport.fixture("dcm_qa/mosaic-ax-asc35")

    /// i2 and dcm2niix on `series`: the same image in world terms (compare_nifti.py), and the same array
    /// in the same order, dcm2niix's slice order included (the tiles' order, which world terms would
    /// hide): equal to dcm2niix's, or to it with rows reversed (i2 before it adopts dcm2niix's row flip),
    /// with the affine that goes with either within 1e-3 mm. Returns i2's shape.
    @discardableResult
    func assertMatchesDcm2niix(_ series: String, file: StaticString = #filePath, line: UInt = #line) throws -> [Int] {
        let out = path("i2-\(UUID().uuidString).nii")
        try E2E.i2(["convert", series, out], file: file, line: line)
        let ref = try E2E.reference(series, into: path("ref-\(UUID().uuidString)"))
        try E2E.assertSameImage(out, ref, file: file, line: line)
        let verdict = try E2E.pyCode("""
        import sys, numpy as np, nibabel as nib
        a, b = nib.load(sys.argv[1]), nib.load(sys.argv[2])
        da, db = np.asarray(a.dataobj), np.asarray(b.dataobj)
        if da.shape != db.shape: print(f"shape {da.shape} vs dcm2niix {db.shape}"); sys.exit()
        ny = db.shape[1]
        flip = np.array([[1, 0, 0, 0], [0, -1, 0, ny - 1], [0, 0, 1, 0], [0, 0, 0, 1]], float)
        for name, data, fix in [("same order", db, np.eye(4)), ("rows reversed", np.flip(db, axis=1), flip)]:
            if np.array_equal(da, data):
                off = max(np.abs(a.get_sform() @ fix - b.get_sform()).max(), np.abs(a.get_qform() @ fix - b.get_qform()).max())
                print("ok" if off <= 1e-3 else f"{name}: affine off by {off:.4g} mm"); sys.exit()
        print("voxels differ from dcm2niix's in order or value")
        """, [out, ref], file: file, line: line)
        XCTAssertEqual(verdict, "ok", "\(series)", file: file, line: line)
        return try E2E.shape(out)
    }

    func testSiemensAxialMosaicMatchesDcm2niix() throws {
        XCTAssertEqual(try assertMatchesDcm2niix(Self.axial), [64, 64, 35])
    }

    /// Sagittal: SliceNormalVector (1,0,0) against row x column (-1,0,0): dcm2niix keeps the stored tile
    /// order and negates the slice axis. Two mosaics at the same positions: one 4-D volume.
    func testSiemensSagittalMosaicPairIsOne4DVolumeLikeDcm2niix() throws {
        XCTAssertEqual(try assertMatchesDcm2niix(Self.sagittal), [64, 64, 35, 2])
    }

    /// UIH grids (20 slices: 5 columns x 4 rows of 64x64), ascending and descending, axial and sagittal.
    func testUIHGridsMatchDcm2niix() throws {
        for (source, descending) in [(Self.axial, false), (Self.axial, true), (Self.sagittal, true)] {
            let grid = path("uih-\(UUID().uuidString)")
            let files = try E2E.list(source).map { source + "/" + $0 }
            let r = try E2E.py(["make_uih_grid.py", grid] + files + (descending ? ["--descending"] : []))
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try assertMatchesDcm2niix(grid), files.count == 1 ? [64, 64, 20] : [64, 64, 20, 2])
        }
    }

    /// Without its per-slice positions (0065,1051) a UIH grid's slice direction is unknown: dcm2niix
    /// guesses ("Unable to determine slice direction"); i2 refuses, naming the file.
    func testUIHGridWithoutSlicePositionsIsRefused() throws {
        let grid = path("uih")
        let r0 = try E2E.py(["make_uih_grid.py", grid, Self.axial + "/" + (try E2E.list(Self.axial))[0], "--no-frame-positions"])
        XCTAssertEqual(r0.status, 0, r0.stderr)
        let r = try E2E.i2(["convert", grid, path("out.nii")], expect: 1)
        XCTAssertTrue(r.stderr.contains("grid001.dcm") && r.stderr.contains("direction of its slices is unknown"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.nii")))
    }

    // MARK: hostile mosaics: one clear error naming the file, no crash, nothing written

    /// A copy of the axial mosaic edited by pydicom `assignments` (on `ds`), converted: exit 1, the error
    /// names the file and contains `reason`.
    func assertRefused(_ assignments: String, reason: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try mkdir("hostile-\(UUID().uuidString)")
        let name = try E2E.list(Self.axial)[0]
        try E2E.copy(Self.axial + "/" + name, dir + "/" + name)
        try E2E.edit([dir + "/" + name], assignments)
        let out = path("out-\(UUID().uuidString).nii")
        let r = try E2E.i2(["convert", dir, out], expect: 1, file: file, line: line)
        let errors = E2E.errorLines(r.stderr)
        XCTAssertEqual(errors.count, 1, r.stderr, file: file, line: line)
        XCTAssertTrue(errors.first?.contains(name) == true && errors.first?.contains(reason) == true,
                      "error does not name \(name) and '\(reason)': \(r.stderr)", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), file: file, line: line)
    }

    /// Without the CSA header the count comes from (0019,100A): absurd, zero, or a grid that does not
    /// divide the image; or no count at all.
    func testHostileSiemensCountsAreRefused() throws {
        let noCSA = "del ds[0x00291010]\n"
        try assertRefused(noCSA + "ds[0x0019100A].value = 65535", reason: "do not divide")   // tiles of one pixel or less
        try assertRefused(noCSA + "ds[0x0019100A].value = 0", reason: "without slices")
        try assertRefused(noCSA + "ds[0x0019100A].value = 40", reason: "do not divide")   // a 7x7 grid in 384x384
        try assertRefused(noCSA + "del ds[0x0019100A]", reason: "without NumberOfImagesInMosaic")
    }

    /// A UIH grid claiming more slices than its image has pixels, or zero.
    func testHostileUIHCountsAreRefused() throws {
        let uih = """
        for e in [e for e in ds if e.tag.is_private]: del ds[e.tag]
        ds.Manufacturer = "UIH"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "VFRAME"]
        b = ds.private_block(0x0065, "Image Private Header", create=True)
        """
        try assertRefused(uih + "\nb.add_new(0x50, 'DS', '1e9')", reason: "cannot be a number of slices")
        try assertRefused(uih + "\nb.add_new(0x50, 'DS', '0')", reason: "without slices")
        try assertRefused(uih + "\nb.add_new(0x50, 'DS', '50')", reason: "do not divide")   // 8 columns, 7 rows in 384x384
    }
}
