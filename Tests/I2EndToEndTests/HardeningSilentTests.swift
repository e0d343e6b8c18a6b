// Issue 11 items 1-4: no silent wrong result. Each hostile input is small and made by the test; each
// test failed on the behaviour before the fix (see the issue for what that was).
import Foundation
import XCTest
import I2TestSupport

final class HardeningSilentTests: E2ECase {
    func fixture(_ p: String) -> String { TestSupport.fixture(p) }

    // MARK: item 2: default SEG UIDs follow everything that changes the content

    func testSegUIDsFollowMetaAndEmptyOptions() throws {
        func uids(_ meta: String, _ args: [String] = []) throws -> String {
            let out = path(UUID().uuidString + ".dcm")
            try E2E.i2(["nifti2seg", "--ref", fixture("dcmqi/ct-3slice"), "--meta", meta, fixture("dcmqi/liver_seg.nrrd"), "-o", out] + args)
            return try E2E.pyCode("import sys, pydicom; d = pydicom.dcmread(sys.argv[1]); print(d.SeriesInstanceUID, d.SOPInstanceUID)", [out])
        }
        let meta = fixture("dcmqi/json/seg-example.json")
        // A corrected segment label: the JSON differs only in that.
        let relabelled = path("relabelled.json")
        try E2E.pyCode("""
        import sys, json
        m = json.load(open(sys.argv[1])); m["segmentAttributes"][0][0]["SegmentLabel"] = "Liver (corrected)"
        json.dump(m, open(sys.argv[2], "w"))
        """, [meta, relabelled])
        let base = try uids(meta)
        XCTAssertEqual(base, try uids(meta), "identical inputs keep identical UIDs")
        let variants = [
            ("--meta label", try uids(relabelled)),
            ("--empty-frames keep", try uids(meta, ["--empty-frames", "keep"])),
            ("--empty-segments keep", try uids(meta, ["--empty-segments", "keep"])),
            ("--compress rle", try uids(meta, ["--compress", "rle"])),
        ]
        for (what, u) in variants {
            XCTAssertNotEqual(u, base, "\(what) changes the SEG: it must change its UIDs")
            let (a, b) = (base.split(separator: " "), u.split(separator: " "))
            XCTAssertNotEqual(a[1], b[1], "\(what): SOP Instance UID")
        }
        XCTAssertEqual(Set(variants.map(\.1)).count, variants.count, "each variant its own UIDs")
    }

    // MARK: item 3: a series with one corrupt slice is not converted one slice short

    /// ct-3slice with slice 02 damaged: cut before its SeriesInstanceUID (the series is unknown), cut in
    /// its pixel data, or with a complete file whose PixelData is half the size the header claims.
    func damagedSeries() throws -> [(String, String)] {
        var out: [(String, String)] = []
        for kind in ["tiny", "cut", "short"] {
            let d = try mkdir("in-" + kind)
            for n in 1...3 { try E2E.copy(fixture("dcmqi/ct-3slice/0\(n).dcm"), d + "/0\(n).dcm") }
            let bad = d + "/02.dcm"
            let bytes = try Data(contentsOf: URL(fileURLWithPath: bad))
            switch kind {
            case "tiny": try bytes.prefix(400).write(to: URL(fileURLWithPath: bad))
            case "cut": try bytes.prefix(bytes.count - 5000).write(to: URL(fileURLWithPath: bad))
            default:
                try E2E.pyCode("""
                import sys, pydicom
                d = pydicom.dcmread(sys.argv[1]); d.PixelData = d.PixelData[:len(d.PixelData) // 2]; d.save_as(sys.argv[1])
                """, [bad])
            }
            out.append((d, bad))
        }
        return out
    }

    func testConvertWritesNoShortenedVolume() throws {
        for (d, bad) in try damagedSeries() {
            let out = path((d as NSString).lastPathComponent + ".nii")
            let r = try E2E.i2(["convert", d, out], expect: 1)
            XCTAssertTrue(r.stderr.contains("02.dcm") && r.stderr.contains("not converted"), "\(bad): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(bad): a volume one slice short was written")
        }
    }

    func testProcessFailsTheSeries() throws {
        for (d, bad) in try damagedSeries() {
            let out = path("p-" + (d as NSString).lastPathComponent)
            let r = try E2E.i2(["process", "--tool", "threshold", d, "-o", out], expect: 1)
            XCTAssertTrue(r.stderr.contains("02.dcm"), "\(bad): \(r.stderr)")
            let segs = (FileManager.default.enumerator(atPath: out)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".dcm") }
            XCTAssertEqual(segs, [], "\(bad): a SEG was written from the shortened series")
        }
    }

    func testNifti2SegNamesTheBadReferenceFile() throws {
        for (d, bad) in try damagedSeries() {
            let out = path("s-" + (d as NSString).lastPathComponent + ".dcm")
            let r = try E2E.i2(["nifti2seg", "--ref", d, "--meta", fixture("dcmqi/json/seg-example.json"),
                                fixture("dcmqi/liver_seg.nrrd"), "-o", out], expect: 1)
            XCTAssertTrue(r.stderr.contains("02.dcm") && !r.stderr.contains("not on the grid"), "\(bad): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
    }

    // MARK: item 4: detached data stays next to its header

    func testDetachedDataOutsideTheHeaderFolderIsRefused() throws {
        let sub = try mkdir("sub/x") + "/.."
        let raw = path("outside.raw")
        try Data((0..<8).map { UInt8($0) }).write(to: URL(fileURLWithPath: raw))
        let headers: [(String, String)] = [
            ("rel.nhdr", "NRRD0004\ntype: uint8\ndimension: 3\nsizes: 2 2 2\nencoding: raw\ndata file: ../outside.raw\n"),
            ("abs.nhdr", "NRRD0004\ntype: uint8\ndimension: 3\nsizes: 2 2 2\nencoding: raw\ndata file: \(raw)\n"),
            ("rel.mhd", "ObjectType = Image\nNDims = 3\nDimSize = 2 2 2\nElementType = MET_UCHAR\nElementDataFile = ../outside.raw\n"),
            ("abs.mhd", "ObjectType = Image\nNDims = 3\nDimSize = 2 2 2\nElementType = MET_UCHAR\nElementDataFile = \(raw)\n"),
            ("dotdot.mhd", "ObjectType = Image\nNDims = 3\nDimSize = 2 2 2\nElementType = MET_UCHAR\nElementDataFile = x/../../outside.raw\n"),
        ]
        for (name, text) in headers {
            let header = sub + "/" + name
            try text.write(toFile: header, atomically: true, encoding: .utf8)
            let out = path(name + ".nii")
            let r = try E2E.i2(["convert", header, out], expect: 1)
            XCTAssertTrue(r.stderr.contains(name) && r.stderr.contains("outside the header's folder"), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
            try E2E.i2(["convert", "--allow-outside-data", header, out])
            try E2E.pyCode("""
            import sys, numpy as np, nibabel as nib
            assert sorted(np.asanyarray(nib.load(sys.argv[1]).dataobj).ravel().tolist()) == list(range(8))
            """, [out])
        }
        // Inside the folder (also through a subfolder) is read as before.
        try FileManager.default.createDirectory(atPath: sub + "/d", withIntermediateDirectories: true)
        try E2E.copy(raw, sub + "/d/in.raw")
        try "NRRD0004\ntype: uint8\ndimension: 3\nsizes: 2 2 2\nencoding: raw\ndata file: ./d/../d/in.raw\n".write(toFile: sub + "/in.nhdr", atomically: true, encoding: .utf8)
        try E2E.i2(["convert", sub + "/in.nhdr", path("in.nii")])
        // nifti2seg reads its label maps through the same guard.
        let r = try E2E.i2(["nifti2seg", "--ref", fixture("dcmqi/ct-3slice"), "--meta", fixture("dcmqi/json/seg-example.json"),
                            sub + "/rel.nhdr", "-o", path("seg.dcm")], expect: 1)
        XCTAssertTrue(r.stderr.contains("outside the header's folder"), r.stderr)
    }
}
