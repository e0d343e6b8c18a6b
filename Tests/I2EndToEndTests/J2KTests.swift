// JPEG 2000 (1.2.840.10008.1.2.4.90/.91) through every reader: i2 convert against the uncompressed
// original and dcm2niix (Debian's, built with OpenJPEG), i2 send decompressing for a peer that takes
// only uncompressed syntaxes, and an undecodable file refusing its series by name.
// Fixtures: dcm_qa/dcm_qa_ts/{1,9}.dcm (the same MR mosaic, explicit LE and J2K lossless) and
// dcm_qa/j2k/ (made by its make.py with OpenJPEG's encoder from original.dcm, an enhanced MR).
import Foundation
import XCTest
import I2TestSupport

final class J2KTests: E2ECase {
    static func j2k(_ name: String) -> String { TestSupport.fixture("dcm_qa/j2k/" + name) }

    /// A directory holding only copies of `files` (dcm2niix converts whole directories).
    func alone(_ files: [String], _ name: String) throws -> String {
        let d = try mkdir(name)
        for f in files { try E2E.copy(f, d + "/" + (f as NSString).lastPathComponent) }
        return d
    }

    func testDcmQaTsJ2KEqualsItsUncompressedTwinAndDcm2niix() throws {
        let ts = TestSupport.fixture("dcm_qa/dcm_qa_ts")
        try E2E.i2(["convert", ts + "/1.dcm", path("1.nii")])
        try E2E.i2(["convert", ts + "/9.dcm", path("9.nii")])
        try E2E.assertSameImage(path("9.nii"), path("1.nii"), ["--tolerance", "0"])
        let ref = try E2E.reference(try alone([ts + "/9.dcm"], "in9"), into: path("ref9"))
        // dcm2niix demosaics this Siemens mosaic (64x64x35). Until i2 does too, each of dcm2niix's
        // slices must be one tile of i2's mosaic, voxel for voxel (in whichever in-plane orientation).
        try E2E.pyCode("""
            import sys, subprocess, numpy as np, nibabel as nib
            t = np.asanyarray(nib.load(sys.argv[1]).dataobj); d = np.asanyarray(nib.load(sys.argv[2]).dataobj)
            t = t.reshape(t.shape[0], t.shape[1], -1); d = d.reshape(d.shape[0], d.shape[1], -1)
            if t.shape == d.shape:
                r = subprocess.run([sys.executable, sys.argv[3], sys.argv[1], sys.argv[2]], capture_output=True, text=True)
                sys.exit(r.stderr + r.stdout if r.returncode else 0)
            assert t.shape[2] == 1, t.shape
            n = d.shape[0]; m = t[:, :, 0]; k = m.shape[0] // n
            tiles = [m[i*n:(i+1)*n, j*n:(j+1)*n] for i in range(k) for j in range(k)]
            def forms(a):
                for f in (a, a.T):
                    for r in range(4): yield np.rot90(f, r)
            for z in range(d.shape[2]):
                s = d[:, :, z]
                assert any(np.array_equal(f, s) for tile in tiles for f in forms(tile)), f"dcm2niix slice {z} is no tile of i2's mosaic"
            assert d.max() > 0
            """, [path("9.nii"), ref, E2E.tools + "/compare_nifti.py"])
    }

    /// Fragments per frame (with and without offset table), signed 16-bit and 8-bit: i2's volume is the
    /// uncompressed original's as dcm2niix converts it (with the transform make.py applied: -1000, >> 4).
    func testJ2KVariantsEqualTheUncompressedOriginalAsDcm2niixConvertsIt() throws {
        let ref = try E2E.reference(try alone([Self.j2k("original.dcm")], "orig"), into: path("ref-orig"))
        // 12-bit unsigned data is int16 in NIfTI, as dcm2niix writes the original (headerDcm2Nii).
        for (name, transform, type) in [("frag-bot", "same", "int16"), ("frag-nobot", "same", "int16"),
                                        ("s16", "s16", "int16"), ("u8", "u8", "uint8")] {
            let out = path(name + ".nii")
            try E2E.i2(["convert", Self.j2k(name + ".dcm"), out])
            try E2E.pyCode("""
                import sys, numpy as np, nibabel as nib
                t = nib.as_closest_canonical(nib.load(sys.argv[1])); r = nib.as_closest_canonical(nib.load(sys.argv[2]))
                T, R = t.get_fdata(), r.get_fdata()
                R = {"same": R, "s16": R - 1000, "u8": np.floor(R / 16)}[sys.argv[3]]
                assert T.shape == R.shape, (T.shape, R.shape)
                assert np.array_equal(T, R), f"max difference {np.abs(T - R).max()}"
                assert np.abs(t.affine - r.affine).max() < 1e-3, (t.affine, r.affine)
                assert str(t.get_data_dtype()) == sys.argv[4], t.get_data_dtype()
                """, [out, ref, transform, type])
        }
    }

    /// dcm2niix decodes the same codestreams: where its decoding is right (Debian's v1.0.20220720 gets
    /// only the first frame of a multi-frame J2K file right, and refuses frames split across fragments),
    /// i2's voxels are dcm2niix's, lossy ones included.
    func testJ2KFramesEqualDcm2niixWhereDcm2niixDecodesThem() throws {
        let orig = try E2E.reference(try alone([Self.j2k("original.dcm")], "orig"), into: path("ref-orig"))
        for (name, transform) in [("s16", "s16"), ("u8", "u8"), ("lossy", "lossy")] {
            let out = path(name + ".nii")
            try E2E.i2(["convert", Self.j2k(name + ".dcm"), out])
            let ref = try E2E.reference(try alone([Self.j2k(name + ".dcm")], "in-" + name), into: path("ref-" + name))
            try E2E.pyCode("""
                import sys, numpy as np, nibabel as nib
                load = lambda p: nib.as_closest_canonical(nib.load(p)).get_fdata()
                T, D, O = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
                O = {"s16": O - 1000, "u8": np.floor(O / 16), "lossy": O}[sys.argv[4]]
                assert T.shape == D.shape == O.shape, (T.shape, D.shape, O.shape)
                # Slices dcm2niix decoded: those close to the original (exactly equal when lossless).
                tol = 20 if sys.argv[4] == "lossy" else 0
                good = [z for z in range(D.shape[2]) if np.abs(D[..., z] - O[..., z]).mean() <= tol]
                assert good, "dcm2niix decoded no slice"
                for z in good:
                    assert np.array_equal(T[..., z], D[..., z]), f"slice {z}: max difference {np.abs(T[..., z] - D[..., z]).max()}"
                """, [out, ref, orig, transform])
        }
    }

    func testAnUndecodableJ2KFileRefusesItsSeriesNamingTheFileAndTheSeries() throws {
        let d = try alone([TestSupport.fixture("dcm_qa/dcm_qa_ts/1.dcm"), TestSupport.fixture("dcm_qa/dcm_qa_ts/9.dcm")], "series")
        chmod(d + "/9.dcm", 0o644)
        // The codestream claims 512 columns where the data set says 384.
        try E2E.pyCode("""
            import sys
            p = sys.argv[1]; b = bytearray(open(p, "rb").read()); i = b.find(b"\\xff\\x4f\\xff\\x51")
            b[i + 8:i + 12] = (512).to_bytes(4, "big"); open(p, "wb").write(b)
            """, [d + "/9.dcm"])
        let out = try mkdir("out")
        let r = try E2E.i2(["convert", d, out], expect: 1)
        let errors = E2E.errorLines(r.stderr)
        XCTAssertTrue(errors.contains { $0.contains(d + "/9.dcm") && $0.contains("JPEG 2000") && $0.contains("512x384")
                && $0.contains("1.3.12.2.1107.5.2.32.35131.2014031012481958900586557.0.0.0") && $0.contains("not converted") },
                      r.stderr)
        XCTAssertEqual(try E2E.leftovers(out), [], "nothing half-written")
        // A second bad file in the series: still one error, naming the first by path and counting the other.
        try E2E.pyCode("""
            import sys, pydicom
            from pydicom.uid import generate_uid
            ds = pydicom.dcmread(sys.argv[1]); ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            ds.save_as(sys.argv[2])
            """, [d + "/9.dcm", d + "/9b.dcm"])
        let again = try E2E.i2(["convert", d, try mkdir("out2")], expect: 1)   // 1.dcm is its own series (SeriesNumber 1), already written to out
        XCTAssertEqual(E2E.errorLines(again.stderr).count, 1, again.stderr)
        XCTAssertTrue(E2E.errorLines(again.stderr).first?.contains(d + "/9.dcm: ") == true, again.stderr)
        XCTAssertTrue(again.stderr.contains("(and 1 more of the series'"), again.stderr)   // 3 files, or 2 once series split by SeriesNumber
    }

    /// High-Throughput JPEG 2000 (1.2.840.10008.1.2.4.201-203) is newer than Debian's DCMTK 3.6.7, which
    /// cannot even parse such a file: the error names the file and the syntax (not "meta header missing").
    func testHighThroughputJ2KIsRefusedByName() throws {
        let d = try mkdir("ht")
        try E2E.pyCode("""
            import sys, pydicom
            ds = pydicom.dcmread(sys.argv[1]); ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.201"; ds.save_as(sys.argv[2])
            """, [TestSupport.fixture("dcm_qa/dcm_qa_ts/9.dcm"), d + "/ht.dcm"])
        let r = try E2E.i2(["convert", d + "/ht.dcm", path("ht.nii")], expect: 1)
        XCTAssertTrue(E2E.errorLines(r.stderr).contains { $0.contains(d + "/ht.dcm") && $0.contains("1.2.840.10008.1.2.4.201")
                && $0.contains("High-Throughput JPEG 2000") }, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("ht.nii")))
    }

    func testMutatedJ2KFilesEachFailAloneWithoutACrash() throws {
        // 40 copies of 9.dcm's codestream with mutated or truncated bytes, each its own series:
        // one i2 run converts or refuses each, by name; a crash would end the run (status > 1).
        let d = try mkdir("fuzz")
        let r = try E2E.py(["mutate_frames.py", d, "40", "2026", "200", "5", TestSupport.fixture("dcm_qa/dcm_qa_ts/9.dcm")])
        XCTAssertEqual(r.status, 0, r.stderr)
        try assertEachConvertedOrRefusedByName(d, count: 40)
    }

    /// seg2nifti of a FRACTIONAL SEG whose frames are J2K (made by dcm_qa/j2k/make.py from highdicom's
    /// uncompressed one) gives what it gives for the uncompressed SEG, which Seg2NiftiTests checks
    /// against highdicom (SegInteropTests also compares J2K SEGs with highdicom's own decoding, through Pillow).
    func testSeg2NiftiReadsAJ2KSegLikeItsUncompressedTwin() throws {
        for extra in [[], ["--fractional", "probability"]] {
            let tag = extra.isEmpty ? "" : "_p"
            try E2E.i2(["seg2nifti", TestSupport.fixture("highdicom/seg_image_ct_true_fractional.dcm"), "-o", path("raw\(tag).nii.gz")] + extra)
            try E2E.i2(["seg2nifti", TestSupport.fixture("highdicom/seg_image_ct_true_fractional_j2k.dcm"), "-o", path("j2k\(tag).nii.gz")] + extra)
        }
        try E2E.assertSameImage(path("j2k.nii.gz"), path("raw.nii.gz"), ["--tolerance", "0"])
        let probabilities = try E2E.list(dir).filter { $0.hasPrefix("raw_p") && $0.hasSuffix(".nii.gz") }
        XCTAssertFalse(probabilities.isEmpty)
        for f in probabilities {
            try E2E.assertSameImage(path("j2k" + f.dropFirst(3)), path(f), ["--tolerance", "0"])
        }
    }

    /// A J2K multi-frame file (frames split across fragments) and an RGB one (YBR_RCT) sent to a storescp
    /// that takes only uncompressed syntaxes: i2 decodes them, and the stored pixels are the originals'.
    func testSendDecompressesJ2KForAPeerWithoutIt() throws {
        let scp = try StoreSCPPeer(directory: path("received"), options: ["+xe"])   // explicit/implicit LE only
        for (name, original) in [("frag-bot.dcm", "original.dcm"), ("rgb.dcm", "rgb-raw.dcm")] {
            let before = Set(scp.files)
            let r = try TestSupport.run(TestSupport.i2Path, ["send", "--json", "--to", scp.address, Self.j2k(name)])
            XCTAssertEqual(r.status, 0, r.stderr)
            let o = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
            XCTAssertEqual(o["decompressed"] as? Bool, true, r.stdout)
            let received = try XCTUnwrap(Set(scp.files).subtracting(before).first)
            try E2E.pyCode("""
                import sys, numpy as np, pydicom
                got, want = pydicom.dcmread(sys.argv[1]), pydicom.dcmread(sys.argv[2])
                assert not got.file_meta.TransferSyntaxUID.is_compressed, got.file_meta.TransferSyntaxUID
                assert got.PhotometricInterpretation == want.PhotometricInterpretation, got.PhotometricInterpretation
                assert np.array_equal(got.pixel_array, want.pixel_array), "pixels differ"
                """, [received, Self.j2k(original)])
        }
    }
}
