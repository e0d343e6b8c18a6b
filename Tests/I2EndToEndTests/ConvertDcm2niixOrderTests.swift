// i2 convert against dcm2niix file for file, with nothing reoriented (compare_dcm2niix.py): the same file
// names (--name '{protocol}_{number}' vs dcm2niix -f %p_%s), the same array in dcm2niix's voxel order
// (rows reversed, slices lowest first), sform and qform within 1e-3 mm, the same codes, pixdim[4] (TR)
// and xyzt_units. Inputs: real multi-echo/phase and GE fMRI files from dcm2niix's own corpora
// (Tests/Fixtures/dcm_qa), and generated series in the orientations those corpora lack.
import Foundation
import XCTest
import I2TestSupport

final class ConvertDcm2niixOrderTests: E2ECase {
    func fixture(_ p: String) -> String { TestSupport.fixture("dcm_qa/" + p) }

    /// dcm2niix (Debian's) and i2 on `input`, each into its own directory; returns (i2 dir, dcm2niix dir).
    func convertBoth(_ input: String, file: StaticString = #filePath, line: UInt = #line) throws -> (String, String) {
        let ours = try mkdir("i2-\(UUID().uuidString)"), theirs = try mkdir("ref-\(UUID().uuidString)")
        let exe = try TestSupport.tool("dcm2niix", package: "dcm2niix")
        let r = try TestSupport.run(exe, ["-b", "n", "-z", "n", "-f", "%p_%s", "-o", theirs, input])
        XCTAssertEqual(r.status, 0, "dcm2niix failed on \(input): \(r.stdout)\(r.stderr)", file: file, line: line)
        try E2E.i2(["convert", input, ours + "/", "--format", "nii", "--name", "{protocol}_{number}", "--no-sidecar"], file: file, line: line)
        return (ours, theirs)
    }

    /// compare_dcm2niix.py: every file SAME; returns the file names compared.
    @discardableResult
    func assertSameFiles(_ ours: String, _ theirs: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let r = try E2E.py(["compare_dcm2niix.py", ours, theirs])
        XCTAssertEqual(r.status, 0, "i2 differs from dcm2niix:\n\(r.stdout)\(r.stderr)", file: file, line: line)
        return E2E.lines(r.stdout).map { String($0.split(separator: " ").last ?? "") }
    }

    // MARK: Siemens XA classic: one SeriesInstanceUID per volume

    /// A 3-volume series made from dcm_qa_me's first three echo-1 slices, each volume under its own SeriesInstanceUID
    /// (same study, SeriesNumber and ProtocolName) as Siemens XA classic exports write fMRI, with
    /// SoftwareVersions `software`.
    func xaSplitSeries(_ software: String) throws -> String {
        let dir = try mkdir("xa-\(UUID().uuidString)")
        let code = """
        import sys, pydicom
        from pydicom.uid import generate_uid
        src = [sys.argv[1] + '/%s.dcm' % n for n in ('0001', '0002', '0003')]
        for v in range(3):
            uid = generate_uid()
            for i, f in enumerate(src):
                ds = pydicom.dcmread(f)
                ds.SeriesInstanceUID = uid
                ds.SOPInstanceUID = generate_uid(); ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
                ds.InstanceNumber, ds.AcquisitionNumber = v * len(src) + i + 1, v + 1
                ds.SoftwareVersions = sys.argv[3]
                ds.AcquisitionTime = '%.6f' % (122028.5975 + 0.4 * v + 0.0225 * i)   # TR 400 ms apart
                ds.save_as('%s/v%d_s%d.dcm' % (sys.argv[2], v, i))
        """
        try E2E.pyCode(code, [fixture("me/2_me_FieldMap_GRE"), dir, software])
        return dir
    }

    /// XA (SoftwareVersions "syngo MR XA30"): dcm2niix joins the volumes into one 4-D file, and so does i2,
    /// array and affine equal; the same volumes from an older system stay three files (_2, _2a, _2b), as in dcm2niix.
    func testSiemensXAVolumesUnderSeparateUIDsJoinedAsDcm2niix() throws {
        let (ours, theirs) = try convertBoth(try xaSplitSeries("syngo MR XA30"))
        XCTAssertEqual(try assertSameFiles(ours, theirs), ["me_FieldMap_GRE_2.nii"])
        XCTAssertEqual(try E2E.shape(ours + "/me_FieldMap_GRE_2.nii"), [64, 64, 3, 3])
        let (ours2, theirs2) = try convertBoth(try xaSplitSeries("syngo MR E11"))
        XCTAssertEqual(Set(try assertSameFiles(ours2, theirs2)), ["me_FieldMap_GRE_2.nii", "me_FieldMap_GRE_2a.nii", "me_FieldMap_GRE_2b.nii"])
    }

    // MARK: real data (dcm2niix's corpora)

    /// dcm_qa_me: a two-echo field map (magnitude, series 2) and its phase (echo 2 only, series 3):
    /// dcm2niix writes _e1, _e2 and _e2_ph (the echo suffix because the echo is not 1, _ph from ImageType P).
    /// An RGB secondary capture with no ImageOrientationPatient and no ImagePositionPatient: dcm2niix writes
    /// it without a spatial transform (qform/sform code 0); so does i2, array for array, saying so.
    func testImageWithoutGeometryIsWrittenWithoutATransformAsDcm2niix() throws {
        let input = try mkdir("sc")
        try FileManager.default.copyItem(atPath: fixture("j2k/rgb-raw.dcm"), toPath: input + "/rgb-raw.dcm")
        let (ours, theirs) = try convertBoth(input)
        // conformance.py compares RGB byte for byte (compare_dcm2niix.py reads scalars only).
        let conformance = TestSupport.packageRoot.appendingPathComponent("Tests/conformance.py").path
        let r0 = try E2E.py([conformance, "--ref", theirs, "--i2", ours])
        XCTAssertEqual(E2E.lines(r0.stdout).filter { !$0.hasPrefix("#") }, ["SAME  _106"], r0.stdout + r0.stderr)
        let codes = try E2E.pyCode("import sys, nibabel as nib; h = nib.load(sys.argv[1]).header; print(int(h['qform_code']), int(h['sform_code']))", [ours + "/_106.nii"])
        XCTAssertEqual(codes.trimmingCharacters(in: .whitespacesAndNewlines), "0 0")
        let r = try E2E.i2(["convert", input, path("again.nii")])
        XCTAssertTrue(r.stderr.contains("no ImageOrientationPatient or ImagePositionPatient"), r.stderr)
    }

    func testMultiEchoAndPhaseAreSplitAndNamedAsDcm2niix() throws {
        let (ours, theirs) = try convertBoth(fixture("me"))
        let names = try assertSameFiles(ours, theirs)
        XCTAssertEqual(Set(names), ["me_FieldMap_GRE_2_e1.nii", "me_FieldMap_GRE_2_e2.nii", "me_FieldMap_GRE_3_e2_ph.nii"])
    }

    /// dcm_qa_nih GE fMRI (3 volumes of 15 slices, instance numbers running through time): one 4-D file,
    /// 64x64x15x3, volumes in acquisition order, pixdim[4] = TR = 5 s, as dcm2niix writes it.
    func testGEfMRIIsOneFourDFileWithTheTRAsPixdim4() throws {
        let (ours, theirs) = try convertBoth(fixture("nih-ge"))
        XCTAssertEqual(try assertSameFiles(ours, theirs), ["DCM2NIIX_regression_test_4.nii"])
        XCTAssertEqual(try E2E.shape(ours + "/DCM2NIIX_regression_test_4.nii"), [64, 64, 15, 3])
        // One output file named by the user: no longer refused as "3 volumes found".
        try E2E.i2(["convert", fixture("nih-ge/mr_0004"), path("bold.nii")])
        let pixdim = try E2E.pyCode("import sys, nibabel as nib; h = nib.load(sys.argv[1]).header; print(float(h['pixdim'][4]), int(h['xyzt_units']), h.get_data_shape())", [path("bold.nii")])
        XCTAssertEqual(pixdim, "5.0 10 (64, 64, 15, 3)")
    }

    /// The other formats hold the same array (one voxel-order convention), so .nrrd → .nii gives dcm2niix's
    /// array and affine again (all but pixdim[4]: NRRD keeps no TR).
    func testNrrdRoundTripGivesDcm2niixArrayAgain() throws {
        let (_, theirs) = try convertBoth(fixture("me/3_me_FieldMap_GRE"))
        let back = try mkdir("back")
        try E2E.i2(["convert", fixture("me/3_me_FieldMap_GRE"), path("ph.nrrd"), "--no-sidecar"])
        try E2E.i2(["convert", path("ph.nrrd"), back + "/me_FieldMap_GRE_3_e2_ph.nii"])
        let r = try E2E.py(["compare_dcm2niix.py", back, theirs, "--no-time"])   // NRRD keeps no TR
        XCTAssertEqual(r.status, 0, "\(r.stdout)\(r.stderr)")
    }

    // MARK: generated orientations

    /// make_series.py (6 slices of the real CT), optionally rewritten by reorient_series.py.
    func series(_ name: String, make: [String] = [], iop: [Double]? = nil, descending: Bool = false) throws -> String {
        let out = path(name)
        let r = try E2E.py(["make_series.py", E2E.ctSlice, out, "--size", "64", "--slices", "6"] + make)
        XCTAssertEqual(r.status, 0, r.stderr)
        if let iop {
            let r2 = try E2E.py(["reorient_series.py", out, "--iop"] + iop.map { String($0) } + (descending ? ["--descending"] : []))
            XCTAssertEqual(r2.status, 0, r2.stderr)
        }
        return out
    }

    func testSagittalCoronalAndNegativeNormalsMatchDcm2niixArrayForArray() throws {
        let cases: [(String, [Double], Bool)] = [
            ("sagittal", [0, 1, 0, 0, 0, -1], false),
            ("sagittal-descending", [0, 1, 0, 0, 0, -1], true),
            ("sagittal-flipped-rows", [0, -1, 0, 0, 0, -1], false),
            ("coronal", [1, 0, 0, 0, 0, -1], false),
            ("coronal-descending", [1, 0, 0, 0, 0, -1], true),
            ("axial-normal-down", [1, 0, 0, 0, -1, 0], false),
        ]
        for (name, iop, descending) in cases {
            let (ours, theirs) = try convertBoth(try series(name, iop: iop, descending: descending))
            XCTAssertEqual(try assertSameFiles(ours, theirs).count, 1, name)
        }
    }

    func testObliqueAndReversedFileOrderMatchDcm2niixArrayForArray() throws {
        for (name, make) in [("oblique", ["--oblique", "25"]), ("reversed", ["--reverse", "--oblique", "70"]), ("plain", [])] {
            let (ours, theirs) = try convertBoth(try series(name, make: make))
            XCTAssertEqual(try assertSameFiles(ours, theirs).count, 1, name)
        }
    }

    // MARK: GE epi_pepolar

    /// GE's ABCD epi_pepolar (PulseSequenceName (0019,109C), user data 12 (0019,10B3)): scheme 1 = every
    /// volume reversed (dcm2niix's extra row flip: same affine, rows not reversed); scheme 3 = forward then
    /// reversed: the even volumes (TemporalPositionIdentifier) are flipped and written as SeriesNumber + 1000.
    func testGEPepolarReversedVolumesAreFlippedAndSplitAsDcm2niix() throws {
        let root = try mkdir("pepolar")
        for (name, scheme) in [("rev", "1"), ("fwdrev", "3")] {
            let a = try series(name + "-a"), b = try series(name + "-b", make: ["--seed", "5"])
            try E2E.pyCode("""
            import sys, glob, os, pydicom
            uid = pydicom.uid.generate_uid()
            out, scheme = sys.argv[1], sys.argv[2]
            os.makedirs(out)
            for t, d in ((1, sys.argv[3]), (2, sys.argv[4])):
                for f in sorted(glob.glob(d + '/*')):
                    ds = pydicom.dcmread(f)
                    ds.Manufacturer = 'GE MEDICAL SYSTEMS'; ds.Modality = 'MR'; ds.SeriesInstanceUID = uid
                    ds.add_new((0x0019, 0x0010), 'LO', 'GEMS_ACQU_01')
                    ds.add_new((0x0019, 0x109C), 'LO', 'epi_pepolar')
                    ds.add_new((0x0019, 0x10B3), 'DS', scheme)
                    ds.SeriesNumber = 13; ds.ProtocolName = 'pepolar'
                    ds.TemporalPositionIdentifier = t; ds.InstanceNumber = ds.InstanceNumber + (t - 1) * 6
                    ds.save_as(f'{out}/{t}_{os.path.basename(f)}')
            """, [root + "/" + name, scheme, a, b])
            let (ours, theirs) = try convertBoth(root + "/" + name)
            let names = try assertSameFiles(ours, theirs)
            XCTAssertEqual(Set(names), scheme == "1" ? ["pepolar_13.nii"] : ["pepolar_13.nii", "pepolar_1013.nii"], name)
        }
    }

    // MARK: duplicate SOP Instance UIDs

    /// A file copied twice counts once (dcm2niix: "DUPLICATES REMOVED"); the same UID at another position
    /// (and instance number) is another slice, kept as dcm2niix keeps it.
    func testCopiedFileCountsOnceAndSameUIDElsewhereIsKept() throws {
        let copied = try series("copied")
        try E2E.copy(copied + "/00001.dcm", copied + "/copy-of-00001.dcm")
        let (o1, t1) = try convertBoth(copied)
        try assertSameFiles(o1, t1)
        XCTAssertEqual(try E2E.shape(o1 + "/" + (try E2E.list(o1))[0]), [64, 64, 6])

        let extended = try series("extended")
        try E2E.pyCode("""
        import sys, pydicom
        d = pydicom.dcmread(sys.argv[1] + '/00001.dcm')
        a, b = (pydicom.dcmread(sys.argv[1] + f'/0000{k}.dcm').ImagePositionPatient for k in (5, 6))
        d.ImagePositionPatient = [2 * float(y) - float(x) for x, y in zip(a, b)]
        d.InstanceNumber = 7
        d.save_as(sys.argv[1] + '/moved.dcm')
        """, [extended])
        let (o2, t2) = try convertBoth(extended)
        try assertSameFiles(o2, t2)
        XCTAssertEqual(try E2E.shape(o2 + "/" + (try E2E.list(o2))[0]), [64, 64, 7])
    }

    /// Same UID, same position and instance number, different pixels: dcm2niix silently keeps one of
    /// them; i2 cannot tell which is right and refuses the series naming both files.
    func testSameUIDWithDifferentPixelsIsRefusedNamingBothFiles() throws {
        let s = try series("changed")
        try E2E.pyCode("""
        import sys, pydicom
        d = pydicom.dcmread(sys.argv[1] + '/00001.dcm')
        a = d.pixel_array.copy(); a[0, 0] += 1; d.PixelData = a.tobytes()
        d.save_as(sys.argv[1] + '/changed.dcm')
        """, [s])
        let r = try E2E.i2(["convert", s, path("out/"), "--format", "nii"], expect: 1)
        XCTAssertTrue(r.stderr.contains("00001.dcm") && r.stderr.contains("changed.dcm"), r.stderr)
    }
}
