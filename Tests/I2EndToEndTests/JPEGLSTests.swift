// JPEG-LS (1.2.840.10008.1.2.4.80/.81) through i2's CharLS 2 decoder (JPEGLS.cpp), against DCMTK's
// own encoder and decoder (dcmcjpls, dcmdjpls: the CharLS 1.0 fork inside DCMTK) on the same files:
// lossless equals the uncompressed original; near-lossless equals what DCMTK decodes; colour in every
// interleave mode equals the uncompressed colour image; a codestream that is not the image the data
// set describes fails naming the file. Fixtures: dcm_qa/j2k/original.dcm (an enhanced MR, 16-bit) and
// rgb-raw.dcm (a 64x64 RGB secondary capture), see Tests/Fixtures/README.md.
import Foundation
import XCTest
import I2TestSupport

final class JPEGLSTests: E2ECase {
    static let original = TestSupport.fixture("dcm_qa/j2k/original.dcm")
    static let rgb = TestSupport.fixture("dcm_qa/j2k/rgb-raw.dcm")

    /// `input` passed through a DCMTK tool (dcmcjpls, dcmdjpls, dcmodify…) into `name`.
    func dcmtk(_ tool: String, _ options: [String], _ input: String, _ name: String) throws -> String {
        let out = path(name)
        let r = try TestSupport.run(try TestSupport.tool(tool, package: "dcmtk"), options + [input, out])
        XCTAssertEqual(r.status, 0, "\(tool) \(options): \(r.stderr)")
        return out
    }

    /// i2 convert of one file to NIfTI.
    func converted(_ file: String, _ name: String) throws -> String {
        let out = path(name + ".nii")
        try E2E.i2(["convert", file, out])
        return out
    }

    func testLosslessEqualsTheUncompressedOriginal() throws {
        let jls = try dcmtk("dcmcjpls", [], Self.original, "lossless.dcm")
        try E2E.assertSameImage(try converted(jls, "jls"), try converted(Self.original, "original"))
    }

    /// Near-lossless (NEAR 2, and 5) is not the original: it must be exactly what DCMTK's own decoder makes of it.
    func testNearLosslessEqualsDCMTKsDecoding() throws {
        for deviation in ["2", "5"] {
            let jls = try dcmtk("dcmcjpls", ["+en", "+md", deviation], Self.original, "near\(deviation).dcm")
            let decoded = try dcmtk("dcmdjpls", [], jls, "near\(deviation)-dcmtk.dcm")
            let mine = try converted(jls, "near\(deviation)"), dcmtks = try converted(decoded, "near\(deviation)-dcmtk")
            try E2E.assertSameImage(mine, dcmtks)
            // And it is lossy, so the comparison above could fail: not the original's voxels.
            let r = try TestSupport.run(try E2E.python(), [E2E.tools + "/compare_nifti.py", mine,
                                                           try converted(Self.original, "original\(deviation)")])
            XCTAssertNotEqual(r.status, 0, "near-lossless NEAR \(deviation) decoded to the original exactly")
        }
    }

    /// RGB in each interleave mode (by plane, by line, by pixel) decodes to the uncompressed colour image.
    func testColourInEveryInterleaveModeEqualsTheUncompressedImage() throws {
        let plain = try converted(Self.rgb, "rgb")
        for mode in ["+in", "+il", "+is"] {
            let jls = try dcmtk("dcmcjpls", [mode], Self.rgb, "rgb\(mode).dcm")
            // RGB24 voxels (which compare_nifti.py's scaled reading does not take): byte for byte, same affine.
            try E2E.pyCode("""
                import sys, numpy as np, nibabel as nib
                a, b = nib.load(sys.argv[1]), nib.load(sys.argv[2])
                assert a.header.get_data_dtype() == b.header.get_data_dtype(), (a.header.get_data_dtype(), b.header.get_data_dtype())
                A, B = np.asanyarray(a.dataobj), np.asanyarray(b.dataobj)
                assert A.shape == B.shape and A.tobytes() == B.tobytes(), "voxels differ"
                assert np.allclose(a.affine, b.affine, atol=1e-6), "affines differ"
                """, [try converted(jls, "rgb\(mode)"), plain])
        }
    }

    /// Columns changed after encoding: the codestream is 64 wide, the data set says 32. One clear error
    /// naming the file and both sizes; nothing written.
    func testCodestreamOfAnotherSizeFailsNamingTheFile() throws {
        let jls = try dcmtk("dcmcjpls", [], Self.rgb, "rgb.dcm")
        let r = try TestSupport.run(try TestSupport.tool("dcmodify", package: "dcmtk"), ["-nb", "-m", "(0028,0011)=32", jls])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = path("bad.nii")
        let run = try E2E.i2(["convert", jls, out], expect: 1)
        XCTAssertTrue(run.stderr.contains(jls), run.stderr)
        XCTAssertTrue(run.stderr.contains("JPEG-LS: the codestream is 64x64"), run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// 60 copies of JPEG-LS codestreams (dcm_qa_ts 1.dcm encoded, 16-bit, and the RGB image by plane) with mutated
    /// or truncated bytes, each its own series: one i2 run converts or refuses each, by name; a crash or
    /// a hang would end the run otherwise (status > 1, or the test's time limit).
    func testMutatedJPEGLSFilesEachFailAloneWithoutACrash() throws {
        let rgb = try dcmtk("dcmcjpls", ["+in"], Self.rgb, "rgb.dcm")
        let mr = try dcmtk("dcmcjpls", [], TestSupport.fixture("dcm_qa/dcm_qa_ts/1.dcm"), "mr.dcm")
        let d = try mkdir("fuzz")
        let r = try E2E.py(["mutate_frames.py", d, "60", "2027", "64", "6", mr, rgb])
        XCTAssertEqual(r.status, 0, r.stderr)
        try assertEachConvertedOrRefusedByName(d, count: 60)
    }
}
