// Voxel values against dcm2niix on the same input: datatype, scl_slope/scl_inter and the scaled values
// (nibabel's get_fdata) for masked 12-bit, 16-bit unsigned, fractional and per-slice rescale, Philips'
// private float scaling (classic, generated; enhanced, dcm2niix's own corpus) with its sidecar keys,
// and RGB (both planar configurations); then the values through NRRD, MetaImage and NumPy and back.
import Foundation
import XCTest
import I2TestSupport

final class ConvertValuesTests: E2ECase {
    /// make_values.py KIND into a new directory.
    func series(_ kind: String) throws -> String {
        let out = try mkdir("in-" + kind)
        let r = try E2E.py(["make_values.py", kind, out])
        XCTAssertEqual(r.status, 0, "make_values.py \(kind): \(r.stderr)")
        return out
    }

    /// compare_values.py TEST REFERENCE (+ --header: datatype and scl fields too).
    func assertSameValues(_ test: String, _ reference: String, header: Bool = true,
                          file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try E2E.py(["compare_values.py", test, reference] + (header ? ["--header"] : []))
        XCTAssertEqual(r.status, 0, "\(r.stdout)\(r.stderr)", file: file, line: line)
    }

    /// i2 convert SERIES i2.nii against dcm2niix's only output for it; returns both paths.
    @discardableResult
    func assertMatchesDcm2niix(_ kind: String, file: StaticString = #filePath, line: UInt = #line) throws -> (String, String) {
        let input = try series(kind)
        let out = path("\(kind).nii")
        try E2E.i2(["convert", input, out], file: file, line: line)
        let ref = try E2E.reference(input, into: path("ref-\(kind)"))
        try assertSameValues(out, ref, file: file, line: line)
        return (out, ref)
    }

    func testTwelveBitUnsignedIsMaskedAndInt16LikeDcm2niix() throws { try assertMatchesDcm2niix("twelve-unsigned") }
    func testUnsigned16BitAbove32767StaysUint16LikeDcm2niix() throws { try assertMatchesDcm2niix("uint16-full") }
    func testUnsigned16BitBelow32768StaysUint16LikeDcm2niix() throws { try assertMatchesDcm2niix("uint16-low") }
    func testFractionalRescaleGoesToSclLikeDcm2niix() throws { try assertMatchesDcm2niix("fractional") }
    func testRescaleVaryingBetweenSlicesIsFloat32LikeDcm2niix() throws { try assertMatchesDcm2niix("slopes-vary") }
    func testRGBInterleavedIsRGB24LikeDcm2niix() throws { try assertMatchesDcm2niix("rgb0") }
    func testRGBPlanarIsRGB24LikeDcm2niix() throws { try assertMatchesDcm2niix("rgb1") }

    /// Classic Philips with (2005,100E): precise float scaling in scl_*, and dcm2niix's four sidecar keys.
    func testPhilipsPrivateScaleSlopeLikeDcm2niix() throws {
        let (out, ref) = try assertMatchesDcm2niix("philips")
        try assertPhilipsKeys(out.replacingOccurrences(of: ".nii", with: ".json"),
                              ref.replacingOccurrences(of: ".nii", with: ".json"))
    }

    /// The deliberate difference: signed 12-bit data is sign-extended (pydicom's reading of the same
    /// files), where dcm2niix masks it to 0...4095.
    func testTwelveBitSignedIsSignExtended() throws {
        let input = try series("twelve-signed")
        let out = path("signed.nii")
        try E2E.i2(["convert", input, out])
        let code = """
        import sys, glob, numpy as np, nibabel as nib, pydicom
        files = sorted(glob.glob(sys.argv[1] + '/*.dcm'))
        expected = np.stack([pydicom.dcmread(f).pixel_array for f in files], -1).transpose(1, 0, 2)
        got = np.asanyarray(nib.load(sys.argv[2]).dataobj)
        assert expected.min() < 0, 'the generated series has no negative value'
        ok = np.array_equal(got, expected) or np.array_equal(got[:, ::-1], expected)
        print('ok' if ok and got.dtype == np.int16 else f'differ: {got.dtype} {got.min()}..{got.max()} vs {expected.min()}..{expected.max()}')
        """
        XCTAssertEqual(try E2E.pyCode(code, [input, out]), "ok")
    }

    /// dcm2niix's own enhanced Philips B0 map (magnitude + field map in Hz, per-frame private scale
    /// slopes): every volume i2 writes equals one of dcm2niix's, datatype and scl fields included, and
    /// its sidecar carries the same Philips scaling keys.
    func testPhilipsEnhancedPerFrameScalingLikeDcm2niix() throws {
        let input = TestSupport.fixture("dcm_qa_enh/Philips")
        let out = try mkdir("out")
        try E2E.i2(["convert", "--format", "nii", input, out + "/"])
        let refs = try E2E.dcm2niix(input, into: path("ref")).map { path("ref/") + $0 }
        let mine = try E2E.list(out).filter { $0.hasSuffix(".nii") }.map { out + "/" + $0 }
        XCTAssertEqual(mine.count, refs.count, "i2 wrote \(mine), dcm2niix \(refs)")
        for m in mine {
            let match = try refs.first { try E2E.py(["compare_values.py", m, $0, "--header"]).status == 0 }
            guard let ref = match else { XCTFail("\(m) equals none of dcm2niix's outputs \(refs)"); continue }
            try assertPhilipsKeys(m.replacingOccurrences(of: ".nii", with: ".json"),
                                  ref.replacingOccurrences(of: ".nii", with: ".json"))
        }
    }

    /// A single-volume 3-D acquisition (MRAcquisitionType 3D: this Philips B0 map) is reoriented as dcm2niix's
    /// nii_setOrtho does: the same array, voxel for voxel in dcm2niix's order, and the same sform and qform.
    func testThreeDAcquisitionReorientedLikeDcm2niix() throws {
        let input = TestSupport.fixture("dcm_qa_enh/Philips")
        let out = try mkdir("out")
        try E2E.i2(["convert", "--format", "nii", "--name", "ref", input, out + "/"])
        let refs = try E2E.dcm2niix(input, into: path("ref")).filter { $0.hasSuffix(".nii") }
        XCTAssertEqual(refs.count, 2)
        let code = """
        import sys, numpy as np, nibabel as nib
        a, b = nib.load(sys.argv[1]), nib.load(sys.argv[2])
        same = np.array_equal(np.asanyarray(a.dataobj), np.asanyarray(b.dataobj))
        print('ok' if same and np.allclose(a.get_sform(), b.get_sform(), atol=1e-3) and np.allclose(a.get_qform(), b.get_qform(), atol=1e-3)
              else f'differ: array {same}\\n{a.affine}\\n{b.affine}')
        """
        for r in refs {
            XCTAssertEqual(try E2E.pyCode(code, [out + "/" + r, path("ref/") + r]), "ok", r)
        }
    }

    func assertPhilipsKeys(_ json: String, _ reference: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let keys = ["PhilipsRescaleSlope", "PhilipsRescaleIntercept", "PhilipsScaleSlope", "UsePhilipsFloatNotDisplayScaling",
                    "PhilipsRWVSlope", "PhilipsRWVIntercept"]
        let code = """
        import sys, json
        a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
        keys = sys.argv[3].split(',')
        print([(k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)] or 'same', 'UsePhilipsFloatNotDisplayScaling' in b)
        """
        XCTAssertEqual(try E2E.pyCode(code, [json, reference, keys.joined(separator: ",")]), "same True", file: file, line: line)
    }

    /// NIfTI → NRRD/MetaImage/NumPy → NIfTI keeps dcm2niix's values: RGB as RGB24, scaled data as values.
    func testValuesSurviveOtherFormats() throws {
        for kind in ["rgb1", "philips"] {
            let (nii, ref) = try assertMatchesDcm2niix(kind)
            for ext in ["nrrd", "mhd", "npy"] {
                let mid = path("\(kind)-mid-\(ext).\(ext)"), back = path("\(kind)-back-\(ext).nii")
                try E2E.i2(["convert", nii, mid])
                try E2E.i2(["convert", mid, back])
                // RGB and unscaled integers come back identical; scaled data as its values (float32).
                try assertSameValues(back, ref, header: kind == "rgb1")
            }
        }
    }
}
