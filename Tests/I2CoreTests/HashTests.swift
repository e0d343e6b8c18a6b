// The one hash (Hash.swift) and the UIDs that depend on it. The expected values are not produced by
// the code under test: MD5 and FNV-1a values are the published test vectors; the content fingerprints
// and UIDs were recorded with the implementations as they were before they moved into Hash.swift
// (UID.swift's MD5, SegPlan.swift's ContentHash, `i2 nifti2seg` 0.1.0 output read with dcmdump), so a
// change that would re-number objects already sent to a PACS fails here.
import Foundation
import XCTest
@testable import I2Core
import I2DICOM
import I2TestSupport

final class HashTests: XCTestCase {
    func testMD5MatchesTheRFC1321TestSuite() {
        let suite: [(String, String)] = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
            (String(repeating: "1234567890", count: 8), "57edf4a22be3c955ac49da2e2107b67a"),
        ]
        for (text, digest) in suite { XCTAssertEqual(Hash.hex(text), digest, "MD5(\"\(text)\")") }
        XCTAssertEqual(Hash.md5(Array("abc".utf8)).count, 16)
    }

    func testFrozenContentFingerprintKeepsItsValues() {
        XCTAssertEqual(Hash.contentFingerprint([]), "9e3779b97f4a7c15c2b2ae3d27d4eb4f")
        XCTAssertEqual(Hash.contentFingerprint(Array("abc".utf8)), "2302fb5c1a022c42c2b2ae3d27d4eb4f")
        XCTAssertEqual(Hash.contentFingerprint((0..<100).map { UInt8($0) }), "251f56e1ec9a0cc7b86a20713a4c02ab")
        // Unpadded hex: a lane with leading zero digits gives fewer than 32 characters, and must keep doing so.
        XCTAssertEqual(Hash.contentFingerprint((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }),
                       "58821d97211a0a88d214bb2112d651")
    }

    func testFrozenWatchKeyIsFNV1a64() {
        // Published FNV-1a 64 vectors (offset basis for "", then "a" and "foobar").
        XCTAssertEqual(Hash.fnv1a64(""), "cbf29ce484222325")
        XCTAssertEqual(Hash.fnv1a64("a"), "af63dc4c8601ec8c")
        XCTAssertEqual(Hash.fnv1a64("foobar"), "85944171f73967e8")
        XCTAssertEqual(WatchKey.of("foobar"), "85944171f73967e8")
    }

    func testDerivedUIDsAreThoseOfEarlierReleases() {
        // `i2 nifti2seg ... --uid-seed hello` as written by i2 0.1.0 (dcmdump of its output).
        XCTAssertEqual(UID.derived(from: "i2/nifti2seg/series/hello"), "2.25.269765419940064390603244470763212039992")
        XCTAssertEqual(UID.derived(from: "i2/nifti2seg/instance/hello"), "2.25.85910634940239960226511004753911005735")
        XCTAssertEqual(UID.derived(from: "i2/nifti2seg/dimensions/hello"), "2.25.6891474726054233009029254856626936282")
    }

    func testDefaultSeedSEGKeepsItsUIDs() throws {
        // Without --uid-seed the seed holds the label map's content fingerprint: dcmqi's liver on ct-3slice
        // gave these UIDs before the hash moved (recorded with dcmdump from i2 0.1.0's output).
        let dir = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = Nifti2SegOptions(inputs: [TestSupport.fixture("dcmqi/liver_seg.nrrd")],
                                 reference: TestSupport.fixture("dcmqi/ct-3slice"), output: dir + "/seg.dcm")
        o.meta = TestSupport.fixture("dcmqi/json/seg-example.json")
        XCTAssertEqual(try NiftiToSeg.write(o, warn: { _ in }), .written(dir + "/seg.dcm"))
        let f = try DicomFile(path: dir + "/seg.dcm")
        XCTAssertEqual(f.string(.seriesInstanceUID), "2.25.234932171242025254810075123760460853952")
        XCTAssertEqual(f.string(.sopInstanceUID), "2.25.164553733807261284158172124131287207236")
    }
}
