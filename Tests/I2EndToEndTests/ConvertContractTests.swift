// The pipeline contract of i2 convert (stdout = written paths only, -0, '-' from stdin, --list, naming,
// --force, closed stdout) and series assembly rules seen from outside (localizer split, duplicate SOP
// Instance UIDs, coincident slices), plus a DICOM → .nii.gz → .nrrd → .mha → .nii round trip.
import Foundation
import XCTest
import I2TestSupport

final class ConvertContractTests: E2ECase {
    func testStdoutHoldsExactlyTheWrittenPaths() throws {
        try E2E.makeSeries(path("ct"))
        let r = try E2E.i2(["convert", "ct", "ct.nii.gz"], cwd: dir)
        XCTAssertEqual(r.stdout, "ct.nii.gz\nct.json\n")
        XCTAssertEqual(try E2E.list(dir), ["ct", "ct.json", "ct.nii.gz"])
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("ct.json"))))
        XCTAssertTrue(json is [String: Any], "the sidecar is not a JSON object")
    }

    func testNoSidecarWritesNoJSON() throws {
        try E2E.makeSeries(path("ct"))
        let r = try E2E.i2(["convert", "--no-sidecar", "ct", "ct.nii.gz"], cwd: dir)
        XCTAssertEqual(r.stdout, "ct.nii.gz\n")
        XCTAssertEqual(try E2E.list(dir), ["ct", "ct.nii.gz"])
    }

    func testNullSeparatedPaths() throws {
        try E2E.makeSeries(path("ct"))
        let r = try E2E.i2(["convert", "-0", "ct", "ct.nii.gz"], cwd: dir)
        XCTAssertEqual(r.stdout, "ct.nii.gz\0ct.json\0")
    }

    /// `-` reads the input paths from stdin: a file list made from a directory listing.
    func testEmptyStdinIsAnErrorNotASilentSuccess() throws {
        let r = try E2E.i2(["convert", "-", path("out") + "/"], expect: 1, stdin: "")
        XCTAssertTrue(r.stderr.contains("read no paths from stdin"), r.stderr)
        XCTAssertEqual(r.stdout, "")
    }

    func testInputPathsFromStdin() throws {
        try E2E.makeSeries(path("ct"))
        let listing = try E2E.list(path("ct")).map { path("ct/" + $0) }.joined(separator: "\n") + "\n"
        let r = try E2E.i2(["convert", "-", "ct.nii.gz"], stdin: listing, cwd: dir)
        XCTAssertEqual(r.stdout, "ct.nii.gz\nct.json\n")
        try E2E.assertSameImage(path("ct.nii.gz"), try E2E.reference(path("ct"), into: path("ref")))
        // The same list with Windows line ends (CRLF): the same volume.
        let crlf = try E2E.i2(["convert", "-", "crlf.nii.gz"], stdin: listing.replacingOccurrences(of: "\n", with: "\r\n"), cwd: dir)
        XCTAssertEqual(crlf.stdout, "crlf.nii.gz\ncrlf.json\n")
        try E2E.assertSameImage(path("crlf.nii.gz"), path("ct.nii.gz"))
    }

    /// ct-3slice + pydicom-ct2 in one folder: two lines, one per series (UIDs read with pydicom), no file.
    func testListPrintsOneLinePerVolumeAndConvertsNothing() throws {
        let s = try mkdir("study")
        try E2E.copy(TestSupport.fixture("dcmqi/ct-3slice"), s + "/ct3")
        try E2E.copy(TestSupport.fixture("pydicom-ct2"), s + "/ct2")
        let uids = try E2E.pyCode("import sys, pydicom; print(*[pydicom.dcmread(p).SeriesInstanceUID for p in sys.argv[1:]])",
                                  [s + "/ct3/01.dcm", s + "/ct2/17106"]).split(separator: " ").map(String.init)
        let work = try mkdir("work")
        let r = try E2E.i2(["convert", "--list", s], cwd: work)
        let lines = E2E.lines(r.stdout)
        XCTAssertEqual(lines.count, 2, r.stdout)
        for uid in uids { XCTAssertEqual(lines.filter { $0.contains(uid) }.count, 1, "\(uid) in:\n\(r.stdout)") }
        XCTAssertEqual(try E2E.list(work), [])
        XCTAssertEqual(try E2E.list(s + "/ct3"), ["01.dcm", "02.dcm", "03.dcm"])
    }

    /// Two series (SeriesNumber/SeriesDescription set with pydicom) into a directory: one file per series.
    func testOneFilePerSeriesNamedByPattern() throws {
        let s = try mkdir("study")
        try E2E.makeSeries(s + "/a")
        try E2E.copy(TestSupport.fixture("dcmqi/ct-3slice"), s + "/b")
        try E2E.edit((1...12).map { s + "/a/" + String(format: "%05d.dcm", $0) }, "ds.SeriesNumber = 7\nds.SeriesDescription = 'Thorax'")
        try E2E.edit(["01", "02", "03"].map { s + "/b/\($0).dcm" }, "ds.SeriesNumber = 3\nds.SeriesDescription = 'Head'")
        let r = try E2E.i2(["convert", s, "out/"], cwd: dir)
        XCTAssertEqual(Set(E2E.lines(r.stdout)), ["out/7_Thorax.nii.gz", "out/7_Thorax.json", "out/3_Head.nii.gz", "out/3_Head.json"])
        XCTAssertEqual(try E2E.list(path("out")), ["3_Head.json", "3_Head.nii.gz", "7_Thorax.json", "7_Thorax.nii.gz"])
        XCTAssertEqual(try E2E.shape(path("out/7_Thorax.nii.gz")), [160, 160, 12])
        XCTAssertEqual(try E2E.shape(path("out/3_Head.nii.gz")), [512, 512, 3])
        let m = try E2E.i2(["convert", "--name", "{modality}_{number}", "--no-sidecar", s, "custom/"], cwd: dir)
        XCTAssertEqual(Set(E2E.lines(m.stdout)), ["custom/CT_7.nii.gz", "custom/CT_3.nii.gz"])
        XCTAssertEqual(try E2E.list(path("custom")), ["CT_3.nii.gz", "CT_7.nii.gz"])
    }

    func testExistingOutputRefusedWithoutForce() throws {
        try E2E.makeSeries(path("ct"))
        let keep = Data("keep me".utf8)
        try keep.write(to: URL(fileURLWithPath: path("ct.nii.gz")))
        let r = try E2E.i2(["convert", "ct", "ct.nii.gz"], expect: 1, cwd: dir)
        XCTAssertTrue(E2E.errorLines(r.stderr).first?.contains("ct.nii.gz") == true, r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("ct.nii.gz"))), keep)
        XCTAssertEqual(try E2E.leftovers(dir), [])
        try E2E.i2(["convert", "--force", "ct", "ct.nii.gz"], expect: 0, cwd: dir)
        XCTAssertEqual(try E2E.shape(path("ct.nii.gz")), [160, 160, 12])
    }

    /// stdout is a pipe whose reader is gone, with SIGPIPE at its default action and ignored (EPIPE):
    /// no message, no crash (exit 0, or killed by SIGPIPE like any Unix filter).
    func testClosedStdoutEndsQuietly() throws {
        try E2E.makeSeries(path("ct"))
        for mode in ["default", "ignore"] {
            let r = try E2E.py(["closed_stdout.py", mode, TestSupport.i2Path, "convert", "--force", path("ct"), path("ct.nii.gz")])
            XCTAssertEqual(r.status, 0, r.stderr)
            let status = E2E.lines(r.stdout).last ?? ""
            XCTAssertTrue(["status=0", "status=-13"].contains(status), "\(mode): \(status)")
            XCTAssertEqual(r.stderr, "", "\(mode): i2 wrote to stderr")
        }
    }

    /// The plain series plus 2 slices of an --oblique 90 series rewritten to the same SeriesInstanceUID:
    /// two volumes (the second with suffix _o2), not one stacked volume.
    func testLocalizerInTheSameSeriesIsSplit() throws {
        let s = try mkdir("series")
        try E2E.makeSeries(s + "/main")
        let r0 = try E2E.py(["make_series.py", E2E.ctSlice, s + "/scout", "--size", E2E.generatedSize, "--slices", "2",
                             "--oblique", "90", "--seed", "7"])
        XCTAssertEqual(r0.status, 0, r0.stderr)
        let uid = try E2E.pyCode("import sys, pydicom; print(pydicom.dcmread(sys.argv[1]).SeriesInstanceUID)", [s + "/main/00001.dcm"])
        try E2E.edit([s + "/scout/00001.dcm", s + "/scout/00002.dcm"], "ds.SeriesInstanceUID = '\(uid)'")
        let r = try E2E.i2(["convert", "--list", s])
        let lines = E2E.lines(r.stdout)
        XCTAssertEqual(lines.count, 2, r.stdout)
        XCTAssertEqual(lines.filter { $0.contains("_o2") }.count, 1, r.stdout)
        XCTAssertEqual(lines.filter { $0.contains(uid) }.count, 2, r.stdout)
        try E2E.i2(["convert", s, path("out/")])
        let images = try E2E.list(path("out")).filter { $0.hasSuffix(".nii.gz") }
        XCTAssertEqual(images.count, 2, "\(images)")
        XCTAssertEqual(Set(try images.map { try E2E.shape(path("out/" + $0)) }), [[160, 160, 12], [160, 160, 2]])
    }

    /// A copy of a file under another name (same SOP Instance UID) is converted once.
    func testDuplicateSOPInstanceIsConvertedOnce() throws {
        try E2E.makeSeries(path("ct"))
        let ref = try E2E.reference(path("ct"), into: path("ref"))
        try E2E.copy(path("ct/00003.dcm"), path("ct/copy-of-3.dcm"))
        try E2E.i2(["convert", path("ct"), path("ct.nii.gz")])
        try E2E.assertSameImage(path("ct.nii.gz"), ref)
    }

    /// Same position, different SOP Instance UID: not silently dropped (refused, or kept as its own volume).
    func testSamePositionDifferentSOPIsNotDropped() throws {
        try E2E.makeSeries(path("ct"))
        try E2E.copy(path("ct/00003.dcm"), path("ct/extra.dcm"))
        try E2E.edit([path("ct/extra.dcm")], "ds.SOPInstanceUID = generate_uid()\nds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID")
        let out = try mkdir("out")
        let r = try TestSupport.i2(["convert", path("ct"), out])
        let images = try E2E.list(out).filter { $0.hasSuffix(".nii.gz") }
        let slices = try images.map { try E2E.shape(out + "/" + $0)[2] }.reduce(0, +)
        if r.status == 0 {
            XCTAssertEqual(slices, 13, "exit 0 but the outputs \(images) hold \(slices) slices, not 13")
        } else {
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("extra.dcm"), "refusal does not name extra.dcm: \(r.stderr)")
            XCTAssertNotEqual(slices, 12, "exit 1 but a 12-slice volume was written")
        }
    }

    /// DICOM → .nii.gz → .nrrd → .mha → .nii on an oblique series: the last equals the first and dcm2niix.
    func testRoundTripThroughAllFormats() throws {
        try E2E.makeSeries(path("ct"), ["--oblique", "25"])
        var previous = path("ct")
        for ext in ["nii.gz", "nrrd", "mha", "nii"] {
            let next = path("rt.\(ext)")
            let r = try E2E.i2(["convert", previous, next])
            XCTAssertTrue(E2E.lines(r.stdout).contains(next), r.stdout)
            previous = next
        }
        try E2E.assertSameImage(path("rt.nii"), path("rt.nii.gz"))
        try E2E.assertSameImage(path("rt.nii"), try E2E.reference(path("ct"), into: path("ref")))
    }

    /// DICOM → .npy: one JSON beside it holding both the geometry .npy needs (read back to the same
    /// image as dcm2niix's) and the acquisition metadata; its path is printed once.
    func testNumPyFromDicomSharesOneSidecar() throws {
        try E2E.makeSeries(path("ct"), ["--oblique", "25"])
        let r = try E2E.i2(["convert", "ct", "ct.npy"], cwd: dir)
        XCTAssertEqual(r.stdout, "ct.npy\nct.json\n")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("ct.json")))) as? [String: Any])
        XCTAssertNotNil(json["affine_lps"], "geometry missing from the sidecar")
        XCTAssertEqual(json["Modality"] as? String, "CT")
        try E2E.i2(["convert", path("ct.npy"), path("back.nii")])
        try E2E.assertSameImage(path("back.nii"), try E2E.reference(path("ct"), into: path("ref")))
    }
}
