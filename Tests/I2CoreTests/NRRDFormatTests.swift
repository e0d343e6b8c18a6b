// NRRD reader/writer tests: the dcmqi fixtures against their own header text, exact round trips
// through .nrrd and .nhdr, hand-written headers (big-endian, RAS, list axis first, ASCII), and errors.
import Foundation
import XCTest
@testable import I2Core
import I2Model
import I2TestSupport

/// Volumes and comparisons shared by the NRRD and MetaImage tests.
enum HeaderFormatTestKit {
    /// Rotation with all three axes oblique whose columns have length exactly 1.0 in Double.
    static let oblique = Matrix3(columns: [Vector3(2.0 / 3, 2.0 / 3, 1.0 / 3), Vector3(-2.0 / 3, 1.0 / 3, 2.0 / 3),
                                           Vector3(1.0 / 3, -2.0 / 3, 2.0 / 3)])

    /// A volume filled with deterministic pseudo-random bytes (every bit pattern, including NaN floats).
    static func volume(size: [Int], type: VoxelType, spacing: [Double] = [0.5, 0.25, 2],
                       origin: Vector3 = Vector3(-123.456789, 0.1, 1e-7), direction: Matrix3 = oblique) -> Volume {
        var v = Volume(size: size, spacing: spacing, origin: origin, direction: direction, voxelType: type)
        var state: UInt32 = 12345
        for i in v.data.indices {
            state = state &* 1_103_515_245 &+ 12345
            v.data[i] = UInt8(truncatingIfNeeded: state >> 16)
        }
        return v
    }

    static func assertSame(_ a: Volume, _ b: Volume, tolerance: Double = 0, _ what: String,
                           file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.size, b.size, "\(what): size", file: file, line: line)
        XCTAssertEqual(a.voxelType, b.voxelType, "\(what): type", file: file, line: line)
        XCTAssertTrue(a.data == b.data, "\(what): voxel bytes differ", file: file, line: line)
        let ga = a.spacing + a.origin.array + a.direction.columns.flatMap(\.array)
        let gb = b.spacing + b.origin.array + b.direction.columns.flatMap(\.array)
        XCTAssertEqual(ga.count, gb.count, "\(what): geometry", file: file, line: line)
        for (x, y) in zip(ga, gb) where abs(x - y) > tolerance {
            XCTFail("\(what): geometry \(ga) != \(gb)", file: file, line: line)
            break
        }
    }

    /// Writes, reads back, compares; returns the written paths.
    @discardableResult
    static func roundTrip(_ v: Volume, to path: String, tolerance: Double = 0,
                          file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let written = try VolumeIO.write(v, to: path)
        let back = try VolumeIO.read(path: path)
        assertSame(v, back, tolerance: tolerance, "\((path as NSString).lastPathComponent) \(v.voxelType) \(v.size)",
                   file: file, line: line)
        return written
    }

    static func error(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }
}

final class NRRDFormatTests: XCTestCase {
    typealias Kit = HeaderFormatTestKit
    var dir = ""
    override func setUp() { dir = TestSupport.tempDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// The numbers of one "field: (a,b,c) (d,e,f)" header line, parsed with plain string operations.
    func headerNumbers(_ path: String, _ field: String) throws -> [Double] {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let text = String(decoding: bytes.prefix(2000), as: UTF8.self)
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix(field + ":") })
        return line.dropFirst(field.count + 1).split(whereSeparator: { " (),".contains($0) }).compactMap { Double($0) }
    }

    func testReadsLiverSegAsItsHeaderSays() throws {
        let path = TestSupport.fixture("dcmqi/liver_seg.nrrd")
        let v = try VolumeIO.read(path: path)
        XCTAssertEqual(v.size, [512, 512, 3])
        XCTAssertEqual(v.voxelType, .int16)
        let dirs = try headerNumbers(path, "space directions")
        XCTAssertEqual(dirs.count, 9)
        XCTAssertEqual(v.spacing, [dirs[0], dirs[4], dirs[8]])
        XCTAssertEqual(v.spacing, [0.81054700000000002, 0.81054700000000002, 1])
        XCTAssertEqual(v.origin.array, try headerNumbers(path, "space origin"))
        XCTAssertEqual(v.origin, Vector3(-235.19999999999999, -226.80000000000001, -128.69))
        XCTAssertEqual(v.direction, .identity)
        // Label count decoded independently with Python's gzip + struct.
        var ones = 0
        v.data.withUnsafeBytes { b in
            for i in 0..<v.voxelCount where b.loadUnaligned(fromByteOffset: i * 2, as: Int16.self) == 1 { ones += 1 }
        }
        XCTAssertEqual(ones, 107_098)
    }

    func testReadsSmallLabelFixture() throws {
        let v = try VolumeIO.read(path: TestSupport.fixture("dcmqi/23x38x3/nrrd/label.nrrd"))
        XCTAssertEqual(v.size, [23, 38, 3])
        XCTAssertEqual(v.spacing, [0.69999999999999996, 0.69999999999999996, 2.5])
        XCTAssertEqual(v.origin, Vector3(46.4649, 5.0188100000000002, -177.75))
    }

    func testRoundTripsAttachedAndDetachedExactly() throws {
        for ext in ["nrrd", "nhdr"] {
            for type in [VoxelType.int16, .float32, .uint8] {
                for size in [[5, 4, 3], [3, 4, 2, 3]] {
                    let path = "\(dir)/v-\(type)-\(size.count).\(ext)"
                    let written = try Kit.roundTrip(Kit.volume(size: size, type: type), to: path)
                    XCTAssertEqual(written.count, ext == "nhdr" ? 2 : 1)
                    for p in written { XCTAssertTrue(FileManager.default.fileExists(atPath: p), p) }
                }
            }
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [])
    }

    func testRoundTripWithArbitrarySpacingIsWithinRounding() throws {
        // NRRD stores spacing*direction as one vector, so splitting it again may move the last bit.
        let v = Kit.volume(size: [4, 3, 2], type: .int16, spacing: [0.7, 0.81054700000000002, 2.5])
        try Kit.roundTrip(v, to: "\(dir)/a.nrrd", tolerance: 1e-14)
    }

    func writeRaw(_ name: String, _ header: String, _ data: [UInt8]) throws -> String {
        let path = "\(dir)/\(name)"
        try Data(Array(header.utf8) + data).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testReadsBigEndianRASByHand() throws {
        let header = """
            NRRD0005
            type: int16
            dimension: 3
            space: right-anterior-superior
            sizes: 3 1 1
            space directions: (-1,0,0) (0,-2,0) (0,0,3)
            endian: big
            encoding: raw
            space origin: (10,20.5,-30)


            """
        let path = try writeRaw("be.nrrd", header, [0x00, 0x01, 0xFF, 0xFE, 0x01, 0x2C])
        let v = try NRRDFormat.read(path: path)
        XCTAssertEqual(v.data, [0x01, 0x00, 0xFE, 0xFF, 0x2C, 0x01])   // 1, -2, 300 little-endian
        XCTAssertEqual(v.spacing, [1, 2, 3])
        XCTAssertEqual(v.origin, Vector3(-10, -20.5, -30))
        XCTAssertEqual(v.direction, .identity)
    }

    func testListAxisFirstBecomesFourthAxis() throws {
        let header = """
            NRRD0004
            type: uchar
            dimension: 4
            space: left-posterior-superior
            sizes: 2 3 1 1
            space directions: none (1,0,0) (0,1,0) (0,0,1)
            kinds: list domain domain domain
            encoding: raw


            """
        let path = try writeRaw("list.nrrd", header, [1, 10, 2, 20, 3, 30])
        let v = try NRRDFormat.read(path: path)
        XCTAssertEqual(v.size, [3, 1, 1, 2])
        XCTAssertEqual(v.data, [1, 2, 3, 10, 20, 30])
    }

    func testReadsASCIIWithSpacingsOnly() throws {
        let header = "NRRD0004\ntype: float\ndimension: 2\nsizes: 2 2\nspacings: 0.5 4\nencoding: ascii\n\n"
        let v = try NRRDFormat.read(path: try writeRaw("t.nrrd", header, Array("1.5 -2\n3 4e2\n".utf8)))
        XCTAssertEqual(v.size, [2, 2, 1])
        XCTAssertEqual(v.spacing, [0.5, 4, 1])
        var expected: [UInt8] = []
        for f: Float in [1.5, -2, 3, 400] { withUnsafeBytes(of: f.bitPattern.littleEndian) { expected += $0 } }
        XCTAssertEqual(v.data, expected)
    }

    func testTruncatedFilesNameThePath() throws {
        let raw = try writeRaw("short.nrrd", "NRRD0004\ntype: short\ndimension: 3\nsizes: 2 2 2\nendian: little\nencoding: raw\n\n",
                               [1, 2, 3])
        let e1 = Kit.error { _ = try VolumeIO.read(path: raw) }
        XCTAssertTrue(e1?.contains(raw) == true && e1?.contains("data ends after 3 of 16 bytes") == true, e1 ?? "no error")

        let gz = "\(dir)/cut.nrrd"
        _ = try VolumeIO.write(Kit.volume(size: [20, 20, 20], type: .int16), to: gz)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: gz))
        try bytes.prefix(bytes.count - 200).write(to: URL(fileURLWithPath: gz))
        let e2 = Kit.error { _ = try VolumeIO.read(path: gz) }
        XCTAssertTrue(e2?.contains(gz) == true, e2 ?? "no error")
    }

    func testMalformedHeadersNameTheField() throws {
        let cases: [(String, String)] = [
            ("NRRD0004\ntype: short\ndimension: 3\nencoding: raw\n\n", "'sizes'"),
            ("NRRD0004\ntype: short\ndimension: 3\nsizes: 1 1 1\nendian: little\nencoding: raw\nspace origin: (1,x,3)\n\n", "'space origin'"),
            ("NRRD0004\ntype: short\ndimension: 3\nsizes: 1 1\nencoding: raw\n\n", "'sizes'"),
            ("NRRD0004\ntype: long long\ndimension: 3\nsizes: 1 1 1\nencoding: raw\n\n", "type"),
            ("NRRD0004\ntype: short\ndimension: 3\nsizes: 1 1 1\nencoding: bzip2\n\n", "encoding"),
            ("NRRD0004\ntype: short\ndimension: 3\nsizes: 1 1 1\nencoding: raw\n\n", "'endian'"),
            ("NRRD0004\ntype: short\ndimension: 3\nsizes: 1 1 1\nspace: scanner-xyz\nendian: little\nencoding: raw\n\n", "space"),
            ("NRRD0004\ntype: short\ndimension: 3\nsizes: 1 1 1\nspace directions: (1,0,0) (0,1) (0,0,1)\nencoding: raw\n\n", "'space directions'"),
            ("NRRD0004\ntype: short\ndimension: 3\nsizes: 1 -1 1\nencoding: raw\n\n", "'sizes'"),
            ("hello\n", "NRRD000"),
        ]
        for (i, (header, field)) in cases.enumerated() {
            let path = try writeRaw("bad\(i).nrrd", header, [0, 0])
            let e = Kit.error { _ = try NRRDFormat.read(path: path) }
            XCTAssertTrue(e?.contains(field) == true && e?.contains(path) == true, "case \(i): \(e ?? "no error")")
        }
    }

    func testFailedWritesLeaveNoFiles() throws {
        let v = Kit.volume(size: [2, 2, 2], type: .int16)
        XCTAssertNotNil(Kit.error { _ = try VolumeIO.write(v, to: "\(dir)/missing/x.nrrd") })
        // A directory where the output should go makes the final rename fail (even for root).
        for name in ["x.nrrd", "y.nhdr"] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(name)", withIntermediateDirectories: false)
            XCTAssertNotNil(Kit.error { _ = try VolumeIO.write(v, to: "\(dir)/\(name)") })
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["x.nrrd", "y.nhdr"])
    }
}
