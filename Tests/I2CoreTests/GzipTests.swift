// Gzip.swift tests: parallel libdeflate members must form one standard gzip stream (checked with the
// system gzip, not with our own inflate), Gzip.decompress must read what gzip writes (one or several
// members, zlib too) and refuse truncated or corrupt input. Hand-built stored-block streams pin the
// formats from first principles.
import Foundation
import XCTest
import I2Model
@testable import I2NIfTI
import I2TestSupport

final class GzipTests: XCTestCase {
    static let mib = 1 << 20
    var dir = ""

    override func setUp() { dir = TestSupport.tempDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// Deterministic, compressible bytes: pseudo-random words with occasional binary noise.
    func sample(_ count: Int, seed: UInt32 = 7) -> [UInt8] {
        let words = ["voxel ", "slice ", "series ", "DICOM ", "NIfTI ", "gantry ", "tilt ", "\n", "0123 ", "ÿ\u{1}\u{2} "]
            .map { Array($0.utf8) }
        var out: [UInt8] = []
        out.reserveCapacity(count + 16)
        var state = seed
        while out.count < count {
            state = state &* 1_664_525 &+ 1_013_904_223
            let r = Int(state >> 16)
            if r % 17 == 0 { out.append(UInt8(truncatingIfNeeded: state >> 8)) } else { out += words[r % words.count] }
        }
        out.removeLast(out.count - count)
        return out
    }

    func gzipTool() throws -> String { try TestSupport.tool("gzip", package: "gzip") }

    /// Decompresses `members` (concatenated into one file) with the system gzip and returns the bytes.
    func systemGunzip(_ members: [[UInt8]], file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
        let gz = dir + "/data.gz", out = dir + "/data.out"
        try Data(members.flatMap { $0 }).write(to: URL(fileURLWithPath: gz))
        let r = try TestSupport.run("/bin/sh", ["-c", "\"$0\" -dc \"$1\" > \"$2\"", try gzipTool(), gz, out])
        XCTAssertEqual(r.status, 0, "gzip -dc: \(r.stderr)", file: file, line: line)
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
    }

    /// Compresses `input` with the system gzip.
    func systemGzip(_ input: [UInt8], level: Int = 6) throws -> [UInt8] {
        let raw = dir + "/plain", gz = dir + "/plain.gz"
        try Data(input).write(to: URL(fileURLWithPath: raw))
        let r = try TestSupport.run("/bin/sh", ["-c", "\"$0\" -\(level) -c \"$1\" > \"$2\"", try gzipTool(), raw, gz])
        XCTAssertEqual(r.status, 0, r.stderr)
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: gz)))
    }

    // MARK: compress → system gzip

    func testCompressedMembersAreOneStandardGzipStreamAtEverySize() throws {
        let mib = Self.mib
        let cases: [(size: Int, members: Int)] = [(0, 1), (1, 1), (4 * mib - 1, 1), (4 * mib, 1), (4 * mib + 1, 2), (9 * mib, 3)]
        for (size, memberCount) in cases {
            let input = sample(size, seed: UInt32(size & 0xffff) + 1)
            let members = Gzip.compress(input, level: 6)
            XCTAssertEqual(members.count, memberCount, "size \(size): one member per 4 MiB chunk")
            for (i, m) in members.enumerated() {
                XCTAssertTrue(Gzip.isGzip(m[...]), "size \(size): member \(i) starts with 1f 8b")
                // ISIZE (last 4 bytes, little-endian) is the member's share of the input.
                let isize = m.suffix(4).reversed().reduce(0) { $0 << 8 | Int($1) }
                XCTAssertEqual(isize, min(4 * mib, size - i * 4 * mib), "size \(size): member \(i) ISIZE")
            }
            let back = try systemGunzip(members)
            XCTAssertEqual(back.count, size)
            XCTAssertTrue(back == input, "size \(size): system gzip reproduces the input byte for byte")
            XCTAssertTrue(try Gzip.decompress(members.flatMap { $0 }[...]) == input, "size \(size): own inflate")
        }
    }

    func testRawBufferEntryPointMatchesArrayEntryPoint() throws {
        let input = sample(5 * Self.mib + 3)
        let viaPointer = input.withUnsafeBytes { Gzip.compress($0, level: 4, threads: 1) }
        XCTAssertTrue(try systemGunzip(viaPointer) == input)
    }

    func testEmptyBufferWithoutABaseAddressGivesOneEmptyMember() throws {
        let members = Gzip.compress(UnsafeRawBufferPointer(start: nil, count: 0), level: 6, threads: 1)
        XCTAssertEqual(members.count, 1)
        XCTAssertEqual(try systemGunzip(members), [])
    }

    func testHigherLevelGivesSmallerOutput() throws {
        let input = sample(2 * Self.mib)
        let size1 = Gzip.compress(input, level: 1).reduce(0) { $0 + $1.count }
        let size9 = Gzip.compress(input, level: 9).reduce(0) { $0 + $1.count }
        let size12 = Gzip.compress(input, level: 12).reduce(0) { $0 + $1.count }
        XCTAssertLessThan(size9, size1)
        XCTAssertLessThanOrEqual(size12, size9)
        XCTAssertLessThan(size1, input.count / 2, "the sample is compressible")
        // Out-of-range levels are clamped, still valid gzip.
        XCTAssertTrue(try systemGunzip(Gzip.compress(input, level: 99)) == input)
        XCTAssertTrue(try systemGunzip(Gzip.compress(input, level: -5)) == input)
    }

    func testZeroRunsAreShortMembersThatEveryReaderFollows() throws {
        let mib = Self.mib, run = Gzip.zeroRun
        // Zero runs just under, at and over the threshold, at the start and the end, and one across a chunk boundary.
        var input = [UInt8](repeating: 0, count: run + 5) + sample(1000, seed: 1) + [UInt8](repeating: 0, count: run - 1)
        input += sample(3, seed: 2) + [UInt8](repeating: 0, count: run) + sample(4 * mib - 2 * run, seed: 3)
        input += [UInt8](repeating: 0, count: 3 * mib) + sample(77, seed: 4) + [UInt8](repeating: 0, count: 258 * 400 + 1)
        let members = Gzip.compress(input, level: 6)
        XCTAssertEqual(members.count, (input.count + 4 * mib - 1) / (4 * mib), "still one entry per 4 MiB chunk")
        XCTAssertTrue(try systemGunzip(members) == input, "system gzip reproduces the input byte for byte")
        XCTAssertTrue(try Gzip.decompress(members.flatMap { $0 }[...]) == input, "own inflate")
        let path = dir + "/zeros.gz"
        try Data(members.flatMap { $0 }).write(to: URL(fileURLWithPath: path))
        XCTAssertTrue(Gzip.inflateFile(path, skip: 0, count: input.count) == input, "libdeflate inflate")
        // 3 MiB of zeros cost ~3 KB (2 bits per 258 bytes), not 3 MiB.
        XCTAssertLessThan(members.reduce(0) { $0 + $1.count }, Gzip.compress(sample(input.count - 3 * mib - run - 258 * 400), level: 6).reduce(0) { $0 + $1.count } + 10_000)
        for k in [0, 1, 2, 1000] {
            let zeros = [UInt8](repeating: 0, count: 1 + 258 * k)
            let member = Gzip.zeroMember(zeros.count, crc: crc32(zeros))
            XCTAssertTrue(try systemGunzip([member]) == zeros, "\(zeros.count) zeros")
            // The cached member, whose CRC is computed from a zero page, is the same bytes (twice: made, then cached).
            XCTAssertEqual(Gzip.zeroMember(zeros.count), member)
            XCTAssertEqual(Gzip.zeroMember(zeros.count), member)
        }
        let long = 1 + 258 * 300_000   // longer than the zero page: the CRC is carried across pages
        XCTAssertEqual(Gzip.zeroCRC(long), crc32([UInt8](repeating: 0, count: long)))
    }

    /// CRC-32 (RFC 1952), bit by bit.
    func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xffff_ffff
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
        }
        return ~c
    }

    // MARK: decompress

    func testInflateFileSkipsAHeaderWhetherOrNotItIsAMemberOfItsOwn() throws {
        let header = sample(352, seed: 5), body = sample(5 * Self.mib + 11, seed: 6)
        let own = Gzip.compress(header, level: 6) + Gzip.compress(body, level: 6)   // as i2 writes .nii.gz
        let single = try systemGzip(header + body)                                   // as other writers do
        for (name, bytes) in [("own", own.flatMap { $0 }), ("single", single)] {
            let path = dir + "/\(name).gz"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            XCTAssertTrue(Gzip.inflateFile(path, skip: 352, count: body.count) == body, name)
            XCTAssertTrue(Gzip.inflateFile(path, skip: 0, count: 352 + body.count) == header + body, name)
            XCTAssertNil(Gzip.inflateFile(path, skip: 352, count: body.count + 1), "\(name): shorter than the header says")
            XCTAssertNil(Gzip.inflateFile(path, skip: 352, count: body.count - 1), "\(name): longer than the header says")
            try Data(bytes.prefix(bytes.count - 9)).write(to: URL(fileURLWithPath: path))
            XCTAssertNil(Gzip.inflateFile(path, skip: 352, count: body.count), "\(name): truncated")
        }
        XCTAssertNil(Gzip.inflateFile(dir + "/missing.gz", skip: 0, count: 1))
    }


    func testDecompressReadsWhatSystemGzipWrites() throws {
        let input = sample(3 * Self.mib + 17)
        let gz = try systemGzip(input, level: 9)
        XCTAssertTrue(try Gzip.decompress(gz[...]) == input, "no size hint")
        XCTAssertTrue(try Gzip.decompress(gz[...], expected: input.count) == input, "exact size hint")
        XCTAssertTrue(try Gzip.decompress(gz[...], expected: 10) == input, "too small a hint grows the buffer")
    }

    func testDecompressFollowsMembersWrittenBySystemGzip() throws {
        let a = sample(100_000, seed: 1), b = sample(3, seed: 2), c = sample(250_000, seed: 3)
        let gz = try systemGzip(a) + systemGzip(b) + systemGzip(c)
        XCTAssertTrue(try Gzip.decompress(gz[...]) == a + b + c)
    }

    func testDecompressOfASliceWithANonZeroStartIndex() throws {
        let input = sample(70_000)
        let header = Array("NRRD0004\nencoding: gzip\n\n".utf8)
        let file = try header + systemGzip(input)
        XCTAssertTrue(try Gzip.decompress(file[header.count...]) == input)
        XCTAssertTrue(Gzip.isGzip(file[header.count...]))
        XCTAssertFalse(Gzip.isGzip(file[...]))
        XCTAssertFalse(Gzip.isGzip([0x1f][...]))
    }

    func testHandBuiltStoredBlockGzipMember() throws {
        // RFC 1952 header, one stored deflate block "abc", CRC-32("abc") = 0x352441C2, ISIZE 3.
        let member: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3,
                               0x01, 0x03, 0x00, 0xfc, 0xff, 0x61, 0x62, 0x63,
                               0xc2, 0x41, 0x24, 0x35, 0x03, 0x00, 0x00, 0x00]
        XCTAssertEqual(try Gzip.decompress(member[...]), Array("abc".utf8))
        XCTAssertEqual(try Gzip.decompress((member + member)[...]), Array("abcabc".utf8))
        XCTAssertEqual(try Gzip.decompress((member + [0, 0, 0, 0])[...]), Array("abc".utf8), "zero padding after the last member")
        XCTAssertEqual(try systemGunzip([member]), Array("abc".utf8), "the hand-built member is valid gzip")
        var badCRC = member
        badCRC[18] ^= 0xff
        XCTAssertThrowsError(try Gzip.decompress(badCRC[...]), "CRC mismatch")
    }

    func testHandBuiltZlibStream() throws {
        // RFC 1950: CMF 0x78, FLG 0x01 (0x7801 % 31 == 0), stored "abc", Adler-32 0x024D0127.
        let stream: [UInt8] = [0x78, 0x01, 0x01, 0x03, 0x00, 0xfc, 0xff, 0x61, 0x62, 0x63, 0x02, 0x4d, 0x01, 0x27]
        XCTAssertEqual(try Gzip.decompress(stream[...]), Array("abc".utf8))
        XCTAssertFalse(Gzip.isGzip(stream[...]))
    }

    func testEmptyMemberDecompressesToNothing() throws {
        XCTAssertEqual(try Gzip.decompress(try systemGzip([])[...]), [])
    }

    func testTruncatedInputThrows() throws {
        let input = sample(300_000)
        let gz = try systemGzip(input)
        for keep in [gz.count - 1, gz.count - 4, gz.count - 8, gz.count / 2, 100, 10, 3] {
            XCTAssertThrowsError(try Gzip.decompress(gz.prefix(keep)), "kept \(keep) of \(gz.count) bytes") { error in
                XCTAssertTrue(error is I2Error, "\(error)")
            }
        }
    }

    func testTruncatedSecondMemberThrows() throws {
        let members = Gzip.compress(sample(4 * Self.mib + 50_000), level: 6)
        XCTAssertEqual(members.count, 2)
        let all = members[0] + members[1]
        XCTAssertThrowsError(try Gzip.decompress(all.prefix(members[0].count + members[1].count / 2)))
    }

    func testCorruptDataThrows() throws {
        var gz = try systemGzip(sample(200_000))
        for i in stride(from: 40, to: 80, by: 1) { gz[i] ^= 0x5a }
        XCTAssertThrowsError(try Gzip.decompress(gz[...])) { error in
            XCTAssertTrue(error is I2Error, "\(error)")
        }
    }
}
