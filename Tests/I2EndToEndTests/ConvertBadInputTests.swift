// i2 convert on bad input: one error line naming the file and the reason, exit 1, no partial or
// temporary file left in the output directory (dot-files included), and the other series of the same
// run still converted. A non-DICOM file in a series folder is only a warning.
import Foundation
import XCTest
import I2TestSupport

final class ConvertBadInputTests: E2ECase {
    /// A study folder: `a` = generated 160x160x12 series (to be damaged), `b` = ct-3slice (512x512x3).
    func study() throws -> String {
        let s = try mkdir("study")
        try E2E.makeSeries(s + "/a")
        try E2E.copy(TestSupport.fixture("dcmqi/ct-3slice"), s + "/b")
        return s
    }

    /// Exit 1; exactly one error line, naming `bad` (relative path as given) and matching `reason`;
    /// `out` holds only the outputs of the good series, whose shapes are `good`; no leftovers.
    func assertReported(_ r: TestSupport.Result, bad: String, reason: [String], out: String, good: [[Int]],
                        file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(r.status, 1, "exit status; stderr: \(r.stderr)", file: file, line: line)
        let errors = E2E.errorLines(r.stderr)
        XCTAssertEqual(errors.count, 1, "expected one error line, got:\n\(r.stderr)", file: file, line: line)
        let first = errors.first ?? ""
        XCTAssertTrue(first.contains(bad), "error line does not name \(bad): \(first)", file: file, line: line)
        XCTAssertTrue(reason.contains { first.lowercased().contains($0.lowercased()) },
                      "error line gives none of the reasons \(reason): \(first)", file: file, line: line)
        XCTAssertEqual(try E2E.leftovers(out), [], "leftovers in the output directory", file: file, line: line)
        let images = try E2E.list(out).filter { $0.hasSuffix(".nii.gz") }
        XCTAssertEqual(try images.map { try E2E.shape(out + "/" + $0) }.sorted { $0.lexicographicallyPrecedes($1) },
                       good.sorted { $0.lexicographicallyPrecedes($1) },
                       "outputs \(images) are not exactly the good series", file: file, line: line)
    }

    func testNonDicomFileIsSkippedWithAWarning() throws {
        let s = try mkdir("series")
        try E2E.makeSeries(s)
        try "scan notes\n".write(toFile: s + "/notes.txt", atomically: true, encoding: .utf8)
        let out = path("out.nii.gz")
        let r = try E2E.i2(["convert", s, out], expect: 0)
        XCTAssertEqual(E2E.errorLines(r.stderr), [])
        XCTAssertTrue(E2E.lines(r.stderr).contains { $0.contains("notes.txt") && $0.contains("warning") },
                      "no warning naming notes.txt: \(r.stderr)")
        XCTAssertEqual(try E2E.shape(out), [160, 160, 12])
    }

    /// A slice in the middle of `a` cut to half its size (an interrupted copy).
    func testTruncatedFileIsNamed() throws {
        let s = try study(), out = path("out")
        let bad = s + "/a/00005.dcm"
        let size = try FileManager.default.attributesOfItem(atPath: bad)[.size] as! Int
        try FileHandle(forWritingAtPath: bad)!.truncate(atOffset: UInt64(size / 2))
        let r = try TestSupport.i2(["convert", s, out + "/"])
        try assertReported(r, bad: "a/00005.dcm", reason: ["truncated", "premature end", "cannot read"],
                           out: out, good: [[512, 512, 3]])
    }

    /// The same damage on the last slice: the series must not be written as an 11-slice volume either.
    func testTruncatedLastSliceFailsItsSeries() throws {
        let s = try study(), out = path("out")
        let bad = s + "/a/00012.dcm"
        let size = try FileManager.default.attributesOfItem(atPath: bad)[.size] as! Int
        try FileHandle(forWritingAtPath: bad)!.truncate(atOffset: UInt64(size / 2))
        let r = try TestSupport.i2(["convert", s, out + "/"])
        try assertReported(r, bad: "a/00012.dcm", reason: ["truncated", "premature end", "cannot read"],
                           out: out, good: [[512, 512, 3]])
    }

    /// With --equalize, the hole left by an unreadable slice must not be filled by interpolation.
    func testTruncatedFileIsNotInterpolatedOverWithEqualize() throws {
        let s = try study(), out = path("out")
        let bad = s + "/a/00005.dcm"
        let size = try FileManager.default.attributesOfItem(atPath: bad)[.size] as! Int
        try FileHandle(forWritingAtPath: bad)!.truncate(atOffset: UInt64(size / 2))
        let r = try TestSupport.i2(["convert", "--equalize", s, out + "/"])
        try assertReported(r, bad: "a/00005.dcm", reason: ["truncated", "premature end", "cannot read"],
                           out: out, good: [[512, 512, 3]])
    }

    func testMissingPixelDataIsNamed() throws {
        let s = try study(), out = path("out")
        let dcmodify = try TestSupport.tool("dcmodify", package: "dcmtk")
        let m = try TestSupport.run(dcmodify, ["-nb", "-ea", "(7fe0,0010)", s + "/a/00005.dcm"])
        XCTAssertEqual(m.status, 0, m.stderr)
        let r = try TestSupport.i2(["convert", s, out + "/"])
        try assertReported(r, bad: "a/00005.dcm", reason: ["missing pixel data"], out: out, good: [[512, 512, 3]])
    }

    /// One slice of `a` cropped to 32x32 with pydicom, same series.
    func testMixedImageSizesAreNamed() throws {
        let s = try study(), out = path("out")
        try E2E.edit([s + "/a/00005.dcm"], """
        a = ds.pixel_array[:32, :32].copy()
        ds.Rows, ds.Columns = 32, 32
        ds.PixelData = a.tobytes()
        """)
        let r = try TestSupport.i2(["convert", s, out + "/"])
        try assertReported(r, bad: "a/00005.dcm", reason: ["size"], out: out, good: [[512, 512, 3]])
    }

    /// A file whose pixel data are not what its transfer syntax says: a JPEG-LS file (encapsulated
    /// fragments, as a JPEG 2000 file has) relabelled 1.2.840.10008.1.2.4.90, with its own series and SOP
    /// Instance UID: the JPEG 2000 decoder (CDCMTK/J2K.cpp) finds no codestream, and the error names the syntax.
    func testUnsupportedTransferSyntaxIsNamed() throws {
        let s = try study(), out = path("out")
        let c = s + "/c"
        try FileManager.default.createDirectory(atPath: c, withIntermediateDirectories: true)
        let jls = try TestSupport.run(try TestSupport.tool("dcmcjpls", package: "dcmtk"), [s + "/a/00001.dcm", c + "/j2k.dcm"])
        XCTAssertEqual(jls.status, 0, jls.stderr)
        try E2E.edit([c + "/j2k.dcm"], """
        ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.90"
        ds.SeriesInstanceUID = generate_uid(); ds.SeriesNumber = 9
        ds.SOPInstanceUID = generate_uid(); ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        """)
        let r = try TestSupport.i2(["convert", s, out + "/"])
        try assertReported(r, bad: "c/j2k.dcm", reason: ["1.2.840.10008.1.2.4.90"], out: out,
                           good: [[160, 160, 12], [512, 512, 3]])
        XCTAssertTrue(r.stderr.lowercased().contains("transfer syntax"), r.stderr)
    }

    /// Tests run as root, so permissions do not stop writes: the output's parent is a regular file.
    func testUnwritableOutputIsNamed() throws {
        let blocker = path("not-a-dir")
        try "x".write(toFile: blocker, atomically: true, encoding: .utf8)
        let out = blocker + "/ct.nii.gz"
        let r = try TestSupport.i2(["convert", TestSupport.fixture("dcmqi/ct-3slice"), out])
        XCTAssertEqual(r.status, 1, r.stderr)
        let errors = E2E.errorLines(r.stderr)
        XCTAssertEqual(errors.count, 1, r.stderr)
        XCTAssertTrue(errors.first?.contains(out) == true, "error does not name \(out): \(r.stderr)")
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(try E2E.list(dir), ["not-a-dir"])
    }

    /// In a run writing several series, one output name is taken by a non-empty directory (which even
    /// --force cannot replace): that output fails, naming its path, and the other series is written.
    func testUnwritableOneOutputOthersStillWritten() throws {
        let s = try mkdir("study")
        try E2E.makeSeries(s + "/a")
        try E2E.copy(TestSupport.fixture("dcmqi/ct-3slice"), s + "/b")
        try E2E.edit((1...12).map { s + "/a/" + String(format: "%05d.dcm", $0) },
                     "ds.SeriesNumber = 7\nds.SeriesDescription = 'Thorax'")
        let out = try mkdir("out")
        try FileManager.default.createDirectory(atPath: out + "/7_Thorax.nii.gz/keep", withIntermediateDirectories: true)
        let r = try TestSupport.i2(["convert", "--force", s, out])
        XCTAssertEqual(r.status, 1, r.stderr)
        let errors = E2E.errorLines(r.stderr)
        XCTAssertEqual(errors.count, 1, r.stderr)
        XCTAssertTrue(errors.first?.contains("7_Thorax.nii.gz") == true, r.stderr)
        XCTAssertEqual(try E2E.leftovers(out), [])
        let images = try E2E.list(out).filter { $0.hasSuffix(".nii.gz") && $0 != "7_Thorax.nii.gz" }
        XCTAssertEqual(images.count, 1, "\(images)")
        XCTAssertEqual(try images.map { try E2E.shape(out + "/" + $0) }, [[512, 512, 3]])
    }

    /// --drop 5 leaves files 00005.dcm (k = 4) and 00006.dcm (k = 6) 2.5 mm apart.
    func testMissingSliceNamesBothFilesAndEqualizeConverts() throws {
        let s = try mkdir("series")
        try E2E.makeSeries(s, ["--drop", "5"])
        let out = path("out.nii.gz")
        let r = try E2E.i2(["convert", s, out], expect: 1)
        let errors = E2E.errorLines(r.stderr)
        XCTAssertEqual(errors.count, 1, r.stderr)
        XCTAssertTrue(errors.first.map { $0.contains("00005.dcm") && $0.contains("00006.dcm") } == true, r.stderr)
        XCTAssertEqual(try E2E.list(dir), ["series"])
        // --equalize: k = 0…11 spans 13.75 mm; at the smallest gap, 13.75 / 1.25 + 1 = 12 slices.
        try E2E.i2(["convert", "--equalize", s, out], expect: 0)
        XCTAssertEqual(try E2E.shape(out), [160, 160, 12])
        // Slices at the original positions equal dcm2niix's (unequalized) slices.
        let ref = try E2E.reference(s, into: path("ref"), expected: ["ref.nii", "ref_Eq_1.nii"])
        try E2E.assertSameImage(out, ref, ["--test-slices", "0,1,2,3,4,6,7,8,9,10,11"])
    }

    /// Two good series and a broken one (a missing slice) in one folder, into an output directory.
    func testGoodSeriesConvertedBesideABrokenOne() throws {
        let s = try study(), out = path("out")
        try E2E.makeSeries(s + "/c", ["--drop", "5", "--seed", "3"])
        let r = try TestSupport.i2(["convert", s, out + "/"])
        try assertReported(r, bad: "c/00005.dcm", reason: ["spacing"], out: out, good: [[160, 160, 12], [512, 512, 3]])
        XCTAssertEqual(E2E.lines(r.stdout).count, 4, "two images and two sidecars: \(r.stdout)")
    }

    /// Two slices at the same position with different SOP Instance UIDs and --equalize (zero gap).
    func testCoincidentSlicesWithEqualizeAreRefused() throws {
        let s = try mkdir("series")
        try E2E.makeSeries(s)
        try E2E.copy(s + "/00003.dcm", s + "/extra.dcm")
        try E2E.edit([s + "/extra.dcm"], "ds.SOPInstanceUID = generate_uid()\nds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID")
        let r = try TestSupport.i2(["convert", "--equalize", s, path("out.nii.gz")])
        XCTAssertEqual(r.status, 1, "expected a refusal (exit 1); stderr: \(r.stderr.prefix(300))")
        let errors = E2E.errorLines(r.stderr)
        XCTAssertEqual(errors.count, 1, String(r.stderr.prefix(300)))
        XCTAssertTrue(errors.first.map { $0.contains("00003.dcm") && $0.contains("extra.dcm") } == true, String(r.stderr.prefix(300)))
        XCTAssertEqual(try E2E.list(dir), ["series"])
    }
}
