// Gzip: compress / decompress round trips (zero runs included) and corrupt or cut streams becoming
// I2Error through Condition, naming the file when the caller gives it.
import XCTest
@testable import I2NIfTI
import I2Model

final class GzipTests: XCTestCase {
    static func sample(_ n: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        var x: UInt32 = 12345
        for i in 0..<n where i % 50_000 > 20_000 { x = x &* 1_103_515_245 &+ 12345; out[i] = UInt8(truncatingIfNeeded: x >> 16) }
        return out
    }

    func testRoundTripWithZeroRuns() throws {
        for n in [0, 1, 4097, 200_000] {
            let input = Self.sample(n)
            let stream = Gzip.compress(input, level: 6).flatMap { $0 }
            XCTAssertTrue(Gzip.isGzip(stream[...]))
            XCTAssertEqual(try Gzip.decompress(stream[...], expected: n), input, "size \(n)")
        }
    }

    func testCorruptAndCutStreamsAreBadInputNamingThePath() throws {
        let stream = Gzip.compress(Self.sample(100_000), level: 6).flatMap { $0 }
        XCTAssertThrowsError(try Gzip.decompress(stream.prefix(stream.count / 2), path: "x.gz")) { e in
            let e = e as? I2Error
            XCTAssertEqual(e?.kind, .badInput)
            XCTAssertEqual(e?.path, "x.gz")
            XCTAssertEqual(e?.detail, "compressed data ends early (truncated file?)")
        }
        var corrupt = stream
        for i in 20..<60 { corrupt[i] ^= 0xA5 }
        XCTAssertThrowsError(try Gzip.decompress(corrupt[...], path: "y.gz")) { e in
            let e = e as? I2Error
            XCTAssertEqual(e?.kind, .badInput)
            XCTAssertEqual(e?.path, "y.gz")
        }
    }

    func testConditionKinds() {
        XCTAssertEqual(Condition.error(.missing, path: "a").kind, .notFound)
        XCTAssertEqual(Condition.error(.cannotOpen(errno: EACCES), path: "a").kind, .storage)
        XCTAssertEqual(Condition.error(.zlib(-3), path: "a").kind, .badInput)      // Z_DATA_ERROR
        XCTAssertEqual(Condition.error(.zlib(-4), path: "a").kind, .internal)      // Z_MEM_ERROR
        XCTAssertEqual(Condition.error(.truncated(have: 1, need: 2), path: "a").description, "a: voxel data is truncated: 1 of 2 bytes present")
    }
}
