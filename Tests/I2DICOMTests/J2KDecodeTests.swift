// JPEG 2000 through the OpenJPEG decoder registered with DCMTK (CDCMTK/J2K.cpp): the decoded pixels
// equal the uncompressed originals (read by DCMTK without any J2K codec), and damaged codestreams
// (mutated, truncated, wrong size) end in an error naming the file, never a crash.
// Fixtures: Tests/Fixtures/dcm_qa/j2k (made by its make.py with OpenJPEG's own encoder from
// original.dcm = dcm_qa_enh XA10 6_1.dcm) and dcm_qa/dcm_qa_ts/9.dcm (a J2K copy of 1.dcm).
import Foundation
import XCTest
@testable import I2DICOM
import I2Model
import I2TestSupport

final class J2KDecodeTests: XCTestCase {
    static func j2k(_ name: String) -> String { TestSupport.fixture("dcm_qa/j2k/" + name) }
    /// Single-fragment J2K files and their decoded size: an RGB one with YBR_RCT, a 16-bit MR mosaic.
    static let singleFragment = [(j2k("rgb.dcm"), 64 * 64 * 3), (TestSupport.fixture("dcm_qa/dcm_qa_ts/9.dcm"), 384 * 384 * 2)]

    func pixels(_ path: String, bytes: Int) throws -> [UInt8] {
        let f = try DicomFile(path: path)
        var out = [UInt8](repeating: 0, count: bytes)
        try out.withUnsafeMutableBytes { try f.readPixels(into: $0) }
        return out
    }

    /// original.dcm's 6 frames of 64x64 as UInt16 (explicit VR little endian: no codec involved).
    func original() throws -> [UInt16] {
        let raw = try pixels(Self.j2k("original.dcm"), bytes: 6 * 64 * 64 * 2)
        return raw.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
    }

    func testFramesSplitAcrossFragmentsWithAndWithoutOffsetTableEqualTheOriginal() throws {
        let want = try original()
        for name in ["frag-bot.dcm", "frag-nobot.dcm"] {
            let raw = try pixels(Self.j2k(name), bytes: 6 * 64 * 64 * 2)
            XCTAssertEqual(raw.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }, want, name)
        }
    }

    func testSigned16And8BitEqualTheOriginalTheyWereMadeFrom() throws {
        let want = try original()
        let s16 = try pixels(Self.j2k("s16.dcm"), bytes: 6 * 64 * 64 * 2).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        XCTAssertEqual(s16, want.map { Int16(Int($0) - 1000) })
        XCTAssertLessThan(s16.min()!, 0, "negative values survive")
        let u8 = try pixels(Self.j2k("u8.dcm"), bytes: 6 * 64 * 64)
        XCTAssertEqual(u8, want.map { UInt8($0 >> 4) })
    }

    func testLossyDecodesCloseToTheOriginal() throws {
        let want = try original()
        let got = try pixels(Self.j2k("lossy.dcm"), bytes: 6 * 64 * 64 * 2).withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
        let mean = zip(got, want).map { abs(Double($0) - Double($1)) }.reduce(0, +) / Double(want.count)
        XCTAssertGreaterThan(mean, 0, "ratio 12 is lossy")
        XCTAssertLessThan(mean, 20, "lossy but the same image")
    }

    func testRGBWithReversibleColourTransformEqualsTheUncompressedRGB() throws {
        let f = try DicomFile(path: Self.j2k("rgb.dcm"))
        XCTAssertEqual(f.string(.photometricInterpretation), "YBR_RCT")
        var got = [UInt8](repeating: 0, count: 64 * 64 * 3)
        try got.withUnsafeMutableBytes { try f.readPixels(into: $0) }
        XCTAssertEqual(got, try pixels(Self.j2k("rgb-raw.dcm"), bytes: 64 * 64 * 3), "interleaved RGB after the inverse RCT")
        XCTAssertEqual(f.string(.photometricInterpretation), "RGB", "the decoded data set says what its pixels are")
    }

    func testDcmQaTsJ2KEqualsItsUncompressedTwin() throws {
        let n = 384 * 384 * 2
        XCTAssertEqual(try pixels(TestSupport.fixture("dcm_qa/dcm_qa_ts/9.dcm"), bytes: n),
                       try pixels(TestSupport.fixture("dcm_qa/dcm_qa_ts/1.dcm"), bytes: n))
    }

    // MARK: damaged codestreams

    /// A file's bytes with its last fragment (the codestream of a single-fragment file) found.
    struct Encapsulated {
        var bytes: [UInt8]
        var start: Int, length: Int   // the fragment's value
        init(_ path: String) throws {
            let b = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            bytes = b
            let soc: [UInt8] = [0xFF, 0x4F, 0xFF, 0x51]
            guard let at = (8..<b.count - 4).last(where: { Array(b[$0..<$0 + 4]) == soc }) else {
                throw TestSupport.Missing("no codestream in \(path)")
            }
            start = at
            length = Int(bytes[at - 4]) | Int(bytes[at - 3]) << 8 | Int(bytes[at - 2]) << 16 | Int(bytes[at - 1]) << 24
            XCTAssertEqual(at + length + 8, bytes.count, "the fragment is followed by the sequence delimiter only")
        }

        /// The file with the fragment cut to `keep` bytes (even), lengths rewritten: well-formed DICOM.
        func truncated(to keep: Int) -> [UInt8] {
            var out = Array(bytes[..<(start - 4)])
            let n = UInt32(keep & ~1)
            out += [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)]
            out += bytes[start..<start + Int(n)]
            out += [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]
            return out
        }
    }

    /// Decodes `bytes` as a file: nil when it decoded, else the error (which must name the file).
    func decode(_ bytes: [UInt8], _ scratch: Scratch, expect count: Int, _ what: String) throws -> I2Error? {
        let path = try scratch.write("fuzz.dcm", bytes)
        do {
            _ = try pixels(path, bytes: count)
            return nil
        } catch let e as I2Error {
            XCTAssertEqual(e.path, path, "\(what): \(e)")
            return e
        }
    }

    func testTruncatedCodestreamsAreErrorsNotCrashes() throws {
        let scratch = Scratch()
        for (name, count) in Self.singleFragment {
            let e = try Encapsulated(name)
            var failures = 0, cuts = 0
            for keep in stride(from: 2, to: e.length - 2, by: max(2, e.length / 150)) {
                cuts += 1
                if let err = try decode(e.truncated(to: keep), scratch, expect: count, "\(name) cut to \(keep)") {
                    failures += 1
                    XCTAssertTrue(err.detail.contains("JPEG 2000"), err.detail)
                }
            }
            // Strict mode: a codestream without its end (EOC) does not decode to a partial image.
            XCTAssertEqual(failures, cuts, "\(name): every truncation is an error")
        }
    }

    func testMutatedCodestreamsNeverCrash() throws {
        let scratch = Scratch()
        var rng = SeededRandom(seed: 0x12_2026)
        for ((name, count), rounds) in zip(Self.singleFragment, [150, 30]) {   // 9.dcm's 384x384 decodes slower
            let e = try Encapsulated(name)
            var errors = 0
            for round in 0..<rounds {
                var b = e.bytes
                // Mostly the main header (SIZ, COD, QCD: sizes, levels, code-block sizes), some anywhere.
                let span = round % 3 == 0 ? e.length : min(e.length, 160)
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    b[e.start + Int(rng.next() % UInt64(span))] = UInt8(truncatingIfNeeded: rng.next())
                }
                if try decode(b, scratch, expect: count, "\(name) round \(round)") != nil { errors += 1 }
            }
            XCTAssertGreaterThan(errors, 0, "\(name): some mutations must be caught")
        }
    }

    func testACodestreamOfAnotherSizeIsRefusedNamingBothSizes() throws {
        let scratch = Scratch()
        var e = try Encapsulated(Self.j2k("rgb.dcm"))
        e.bytes[e.start + 8 + 3] = 0x80   // SIZ Xsiz 64 → 128 (big endian, 4 bytes after Lsiz and Rsiz)
        let err = try XCTUnwrap(try decode(e.bytes, scratch, expect: 64 * 64 * 3, "Xsiz 128"))
        XCTAssertTrue(err.detail.contains("128x64") && err.detail.contains("64x64"), err.detail)
    }

    /// Rows x Columns of 16384 (with a codestream that would have to match): refused before OpenJPEG
    /// or DCMTK allocate 16384² x 3 samples.
    func testAHugeFrameIsRefusedBeforeAnyAllocation() throws {
        let scratch = Scratch()
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Self.j2k("rgb.dcm"))))
        for element: UInt8 in [0x10, 0x11] {   // (0028,0010) Rows, (0028,0011) Columns: US 64
            let old: [UInt8] = [0x28, 0x00, element, 0x00, 0x55, 0x53, 0x02, 0x00, 0x40, 0x00]
            let at = try XCTUnwrap((0..<bytes.count - old.count).first { Array(bytes[$0..<$0 + old.count]) == old })
            bytes[at + 9] = 0x40   // 0x4000 = 16384
        }
        let err = try XCTUnwrap(try decode(bytes, scratch, expect: 16, "16384x16384 RGB"))
        XCTAssertTrue(err.detail.contains("larger than this decoder accepts"), err.detail)
    }

    func testMoreCodestreamsThanFramesIsRefused() throws {
        // frag-nobot.dcm holds 6 codestreams in 18 fragments without an offset table: claiming 4 frames
        // cannot be matched to them.
        let scratch = Scratch()
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Self.j2k("frag-nobot.dcm"))))
        let frames: [UInt8] = [0x28, 0x00, 0x08, 0x00, 0x49, 0x53, 0x02, 0x00, 0x36, 0x20]   // (0028,0008) IS "6 "
        let at = try XCTUnwrap((0..<bytes.count - frames.count).first { Array(bytes[$0..<$0 + frames.count]) == frames })
        bytes[at + 8] = 0x34   // "4 "
        let err = try XCTUnwrap(try decode(bytes, scratch, expect: 4 * 64 * 64 * 2, "NumberOfFrames 4"))
        XCTAssertTrue(err.detail.contains("NumberOfFrames is 4") && err.detail.contains("6 codestreams"), err.detail)
    }
}
