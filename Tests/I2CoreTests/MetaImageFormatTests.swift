// MetaImage reader/writer tests: exact round trips through .mha and .mhd, hand-written headers that pin
// the TransformMatrix convention, big-endian and zlib data, HeaderSize -1, and errors.
import Foundation
import XCTest
@testable import I2Core
import I2Model
import I2TestSupport

final class MetaImageFormatTests: XCTestCase {
    typealias Kit = HeaderFormatTestKit
    var dir = ""
    override func setUp() { dir = TestSupport.tempDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ name: String, _ header: String, _ data: [UInt8] = []) throws -> String {
        let path = "\(dir)/\(name)"
        try Data(Array(header.utf8) + data).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testRoundTripsSingleFileAndDetachedExactly() throws {
        // MetaImage keeps spacing and direction apart, so even arbitrary spacings come back bit-exact.
        for ext in ["mha", "mhd"] {
            for type in [VoxelType.int16, .float32, .uint8] {
                for size in [[5, 4, 3], [3, 4, 2, 3]] {
                    let v = Kit.volume(size: size, type: type, spacing: [0.7, 0.81054700000000002, 2.5])
                    let written = try Kit.roundTrip(v, to: "\(dir)/v-\(type)-\(size.count).\(ext)")
                    XCTAssertEqual(written.count, ext == "mhd" ? 2 : 1)
                    for p in written { XCTAssertTrue(FileManager.default.fileExists(atPath: p), p) }
                }
            }
        }
        let header = try String(contentsOfFile: "\(dir)/v-int16-3.mhd", encoding: .utf8)
        XCTAssertTrue(header.contains("ElementDataFile = v-int16-3.raw\n"), header)
        XCTAssertTrue(header.contains("TransformMatrix = 0.6666666666666666 0.6666666666666666 0.3333333333333333 -0.6666666666666666"), header)
    }

    func testTransformMatrixListsAxisDirectionsAndBigEndianSwaps() throws {
        // Axis 0 runs along +y, axis 1 along -x: the first three numbers are axis 0's direction.
        let header = """
            ObjectType = Image
            NDims = 3
            BinaryData = True
            BinaryDataByteOrderMSB = True
            CompressedData = False
            TransformMatrix = 0 1 0 -1 0 0 0 0 1
            Offset = 1.5 -2 3
            AnatomicalOrientation = RAI
            ElementSpacing = 0.5 0.25 4
            DimSize = 2 1 1
            ElementType = MET_USHORT
            ElementDataFile = LOCAL

            """
        let v = try MetaImageFormat.read(path: try write("be.mha", header, [0x01, 0x02, 0xFF, 0x00]))
        XCTAssertEqual(v.direction.column(0), Vector3(0, 1, 0))
        XCTAssertEqual(v.direction.column(1), Vector3(-1, 0, 0))
        XCTAssertEqual(v.spacing, [0.5, 0.25, 4])
        XCTAssertEqual(v.origin, Vector3(1.5, -2, 3))
        XCTAssertEqual(v.data, [0x02, 0x01, 0x00, 0xFF])
    }

    /// A zlib stream made of one stored block, as MetaIO's compressed data is a zlib stream.
    func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var a: UInt32 = 1, b: UInt32 = 0
        for x in data { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        let len = UInt16(data.count), adler = b << 16 | a
        return [0x78, 0x01, 0x01, UInt8(len & 0xFF), UInt8(len >> 8), UInt8(~len & 0xFF), UInt8(~len >> 8)] + data
            + [UInt8(adler >> 24), UInt8(adler >> 16 & 0xFF), UInt8(adler >> 8 & 0xFF), UInt8(adler & 0xFF)]
    }

    func testReadsCompressedDataAndDataAtEndOfExternalFile() throws {
        let samples: [UInt8] = [5, 0, 6, 0, 7, 0]
        let z = zlibStored(samples)
        let mha = "NDims = 3\nDimSize = 3 1 1\nElementType = MET_SHORT\nCompressedData = True\nCompressedDataSize = \(z.count)\nElementDataFile = LOCAL\n"
        XCTAssertEqual(try MetaImageFormat.read(path: try write("z.mha", mha, z)).data, samples)

        _ = try write("junk.raw", "", [9, 9, 9, 9] + samples)
        let mhd = "NDims = 3\nDimSize = 3 1 1\nElementType = MET_SHORT\nHeaderSize = -1\nElementDataFile = junk.raw\n"
        XCTAssertEqual(try MetaImageFormat.read(path: try write("end.mhd", mhd)).data, samples)
    }

    func testTruncatedDataNamesTheDataFile() throws {
        let raw = try write("t.raw", "", [1, 2, 3])
        let mhd = try write("t.mhd", "NDims = 3\nDimSize = 2 2 1\nElementType = MET_SHORT\nElementDataFile = t.raw\n")
        let e = Kit.error { _ = try VolumeIO.read(path: mhd) }
        XCTAssertTrue(e?.contains(raw) == true && e?.contains("data ends after 3 of 8 bytes") == true, e ?? "no error")

        let mha = try write("t.mha", "NDims = 3\nDimSize = 2 2 1\nElementType = MET_FLOAT\nElementDataFile = LOCAL\n", [0, 0])
        let e2 = Kit.error { _ = try VolumeIO.read(path: mha) }
        XCTAssertTrue(e2?.contains(mha) == true && e2?.contains("data ends after 2 of 16 bytes") == true, e2 ?? "no error")
    }

    func testMalformedHeadersNameTheField() throws {
        let cases: [(String, String)] = [
            ("NDims = 3\nElementType = MET_SHORT\nElementDataFile = LOCAL\n", "'DimSize'"),
            ("NDims = 3\nDimSize = 1 1\nElementType = MET_SHORT\nElementDataFile = LOCAL\n", "'DimSize'"),
            ("NDims = 3\nDimSize = 1 1 1\nElementType = MET_SHORT\nElementSpacing = 1 q 1\nElementDataFile = LOCAL\n", "'ElementSpacing'"),
            ("NDims = 3\nDimSize = 1 1 1\nElementType = MET_LONG_LONG\nElementDataFile = LOCAL\n", "ElementType"),
            ("NDims = 3\nDimSize = 1 1 1\nElementType = MET_UCHAR\nElementNumberOfChannels = 2\nElementDataFile = LOCAL\n", "ElementNumberOfChannels"),
            ("NDims = 3\nDimSize = 1 1 1\nElementType = MET_UCHAR\nTransformMatrix = 1 0 0\nElementDataFile = LOCAL\n", "'TransformMatrix'"),
            ("NDims = 3\nDimSize = 1 1 1\nElementType = MET_UCHAR\n", "'ElementDataFile'"),
            ("NDims = 9\nDimSize = 1 1 1\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n", "NDims"),
            ("NDims = 3\nDimSize = 1 1 1\nElementType = MET_UCHAR\nElementDataFile = slice%03d.raw 1 3 1\n", "ElementDataFile"),
            ("\u{1}\u{2}garbage\nmore\n", "Key = Value"),
        ]
        for (i, (header, field)) in cases.enumerated() {
            let path = try write("bad\(i).mha", header, [0, 0, 0, 0])
            let e = Kit.error { _ = try MetaImageFormat.read(path: path) }
            XCTAssertTrue(e?.contains(field) == true && e?.contains(path) == true, "case \(i): \(e ?? "no error")")
        }
    }

    func testFailedWritesLeaveNoFiles() throws {
        let v = Kit.volume(size: [2, 2, 2], type: .float32)
        XCTAssertNotNil(Kit.error { _ = try VolumeIO.write(v, to: "\(dir)/missing/x.mha") })
        for name in ["x.mha", "y.mhd"] {   // a directory in the way makes the final rename fail
            try FileManager.default.createDirectory(atPath: "\(dir)/\(name)", withIntermediateDirectories: false)
            XCTAssertNotNil(Kit.error { _ = try VolumeIO.write(v, to: "\(dir)/\(name)") })
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["x.mha", "y.mhd"])
    }
}
