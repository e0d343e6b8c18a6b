// Hostile files (issue 11, items 5-7), each generated here from a real fixture: sequences nested
// 30,000 deep; nan/inf/1e300 in integer attributes; degenerate orientations; PlanePositionSequence
// encoded as OW; size claims far beyond the bytes present (65535x65535x2 frames, 2^31-1 frames, an RLE
// SEG of 3 frames of 65535x65535, a gzip NRRD claiming 64 GiB). Each used to trap, crash, hang or
// abort; each must now fail with exit status 1 and a message naming the file and the reason.
import Foundation
import XCTest
import I2TestSupport

final class HostileInputTests: E2ECase {
    /// i2 exits 1 (an error, not a signal or a trap) and stderr names `file` and every one of `words`.
    func assertRefused(_ args: [String], _ file: String, _ words: [String], line: UInt = #line) throws {
        // Bounded: some of these inputs made i2 hang and grow without limit (killed after 60 s: status 137).
        let r = try TestSupport.run("/usr/bin/timeout", ["-s", "KILL", "60", TestSupport.i2Path] + args)
        XCTAssertEqual(r.status, 1, "i2 \(args.joined(separator: " ")): \(r.stderr)", line: line)
        XCTAssertTrue(r.stderr.contains(file), "does not name \(file): \(r.stderr)", line: line)
        for w in words { XCTAssertTrue(r.stderr.contains(w), "'\(w)' not in: \(r.stderr)", line: line) }
    }

    /// A copy of the CT slice in its own directory, edited by dcmodify (which, unlike pydicom, writes
    /// any string into an IS element).
    func ctWith(_ name: String, _ edits: [String]) throws -> String {
        let dir = try mkdir(name)
        let file = dir + "/x.dcm"
        try FileManager.default.copyItem(atPath: E2E.ctSlice, toPath: file)
        let r = try TestSupport.run(try TestSupport.tool("dcmodify", package: "dcmtk"), ["-nb"] + edits.flatMap { ["-i", $0] } + [file])
        XCTAssertEqual(r.status, 0, r.stderr)
        return dir
    }

    func testNonFiniteOrHugeIntegersAreNamedErrorsNotTraps() throws {
        for (tag, keyword) in [("0028,0008", "NumberOfFrames"), ("0020,0013", "InstanceNumber"), ("0018,0086", "EchoNumbers"),
                               ("0020,0100", "TemporalPositionIdentifier")] {
            for value in ["nan", "inf", "1e300"] {
                let dir = try ctWith("\(keyword)-\(value)", ["(\(tag))=\(value)"])
                try assertRefused(["convert", dir, "-o", path("out-\(keyword)-\(value)/")], dir + "/x.dcm", [keyword, "'\(value)'", "not an integer"])
            }
        }
    }

    func testFrameClaimsBeyondThePixelDataAreRefusedBeforeAllocating() throws {
        let big = try ctWith("big", ["(0028,0010)=65535", "(0028,0011)=65535", "(0028,0008)=2"])
        try assertRefused(["convert", big, "-o", path("o1/")], big + "/x.dcm", ["claims 2 frames of 65535x65535", "the file has 524288"])
        let many = try ctWith("many", ["(0028,0008)=2147483647"])
        let start = Date()
        try assertRefused(["convert", many, "-o", path("o2/")], many + "/x.dcm", ["claims 2147483647 frames"])
        XCTAssertLessThan(Date().timeIntervalSince(start), 20, "2^31-1 frames used to hang, growing past 1.6 GB")
    }

    func testDeepNestingIsRefusedByEveryReader() throws {
        let dir = try mkdir("deep")
        let r = try TestSupport.run(try E2E.python(), [E2E.tools + "/hostile_peer.py", "deep", "30000", dir + "/deep.dcm"])
        XCTAssertEqual(r.status, 0, r.stderr)
        try assertRefused(["convert", dir, "-o", path("o/")], dir + "/deep.dcm", ["nested more than 256 levels"])
        try assertRefused(["seg2nifti", dir + "/deep.dcm", "-o", path("o.nii")], dir + "/deep.dcm", ["nested more than 256 levels"])
    }

    /// The dcmqi SEG (7 frames, 512x512 BINARY) edited by pydicom: `code` gets `d` (the data set).
    func segWith(_ name: String, _ code: String) throws -> String {
        let out = path(name + ".dcm")
        try E2E.pyCode("""
        import sys, struct, pydicom
        from pydicom.dataelem import DataElement
        from pydicom.encaps import encapsulate
        d = pydicom.dcmread(sys.argv[1])
        \(code)
        d.save_as(sys.argv[2])
        """, [TestSupport.fixture("dcmqi/partial_overlaps.dcm"), out])
        return out
    }

    func testDegenerateSegOrientationIsANamedError() throws {
        for (name, iop) in [("zero", "[0, 0, 0, 0, 0, 0]"), ("parallel", "[1, 0, 0, 1, 0, 0]")] {
            let seg = try segWith(name, "d.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0].ImageOrientationPatient = \(iop)")
            try assertRefused(["seg2nifti", seg, "-o", path(name + ".nii")], seg, ["ImageOrientationPatient", "degenerate"])
        }
    }

    func testPlanePositionSequenceEncodedAsOWIsAbsentNotASequence() throws {
        let seg = try segWith("ow", """
        for fg in d.PerFrameFunctionalGroupsSequence:
            del fg[0x00209113]
            fg.add(DataElement(0x00209113, "OW", b"\\x01\\x00" * 8))
        """)
        try assertRefused(["seg2nifti", seg, "-o", path("ow.nii")], seg, ["no ImagePositionPatient"])
    }

    func testRLESegClaimingHugeFramesIsRefusedBeforeAllocating() throws {
        let seg = try segWith("rle", """
        d.Rows = d.Columns = 65535
        d.NumberOfFrames = 3
        d.PerFrameFunctionalGroupsSequence = d.PerFrameFunctionalGroupsSequence[:3]
        frag = struct.pack("<16I", 1, 64, *([0] * 14)) + bytes([0x81, 0]) * 8
        d.PixelData = encapsulate([frag] * 3)
        d["PixelData"].VR = "OB"
        d.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.5"
        """)
        try assertRefused(["seg2nifti", seg, "-o", path("rle.nii")], seg, ["claims 3 frames of 65535x65535", "RLE"])
    }

    func testGzipNRRDClaimingSixtyFourGiBIsRefused() throws {
        let nrrd = path("huge.nrrd")
        var bytes = Array("NRRD0004\ntype: uint8\ndimension: 3\nsizes: 4096 4096 4096\nencoding: gzip\n\n".utf8)
        bytes += try Gzip.compressed(Array(repeating: 0, count: 10))
        try Data(bytes).write(to: URL(fileURLWithPath: nrrd))
        try assertRefused(["convert", nrrd, "-o", path("huge.nii")], nrrd, ["data ends after 10 of 68719476736 bytes"])
    }
}

private enum Gzip {
    /// gzip bytes of `data`, made by Python's zlib (so the test does not depend on i2's writer).
    static func compressed(_ data: [UInt8]) throws -> [UInt8] {
        let hex = try E2E.pyCode("import sys, gzip; print(gzip.compress(bytes(int(sys.argv[1]))).hex())", [String(data.count)])
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }
}
