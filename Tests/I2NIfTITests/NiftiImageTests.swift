// NiftiImage: write (prefix + voxels) and read back, plain and gzip; which transform wins (sform, then
// qform, then pixdim); and bad, truncated and missing files becoming I2Error naming the file.
import Foundation
import XCTest
@testable import I2NIfTI
import I2Model
import I2TestSupport

final class NiftiImageTests: XCTestCase {
    var dir = ""
    override func setUp() { dir = TestSupport.tempDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }
    func path(_ name: String) -> String { dir + "/" + name }

    /// 3x4x5 int16, anisotropic spacing, rotated 30° about the patient's z axis, off-centre origin.
    static func volume() -> Volume {
        let c = cos(Double.pi / 6), s = sin(Double.pi / 6)
        let direction = Matrix3(columns: [Vector3(c, s, 0), Vector3(-s, c, 0), Vector3(0, 0, 1)])
        var values = [Int16](repeating: 0, count: 60)
        for i in values.indices { values[i] = Int16(i * 37 - 900) }
        return Volume(size: [3, 4, 5], spacing: [0.5, 0.75, 2], origin: Vector3(10, -20, 30), direction: direction,
                      voxelType: .int16, data: values.withUnsafeBytes { Array($0) })
    }

    func write(_ v: Volume, to name: String, gzip: Bool = false, edit: (inout [UInt8]) -> Void = { _ in }) throws -> String {
        var header = try NiftiImage.prefix(for: v)
        edit(&header)
        let bytes = gzip ? (Gzip.compress(header, level: 6) + Gzip.compress(v.data, level: 6)).flatMap { $0 } : header + v.data
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    func assertSameGeometry(_ a: Volume, _ b: Volume, accuracy: Double = 1e-5, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.size, b.size, file: file, line: line)
        for i in 0..<3 {
            XCTAssertEqual(a.spacing[i], b.spacing[i], accuracy: accuracy, "spacing", file: file, line: line)
            XCTAssertEqual(a.origin[i], b.origin[i], accuracy: accuracy, "origin", file: file, line: line)
            for j in 0..<3 {
                XCTAssertEqual(a.direction.column(j)[i], b.direction.column(j)[i], accuracy: accuracy, "direction", file: file, line: line)
            }
        }
    }

    func testRoundTrip() throws {
        let v = Self.volume()
        let p = try write(v, to: "v.nii")
        let image = try NiftiImage(path: p)
        XCTAssertEqual(image.dims, [3, 4, 5, 1, 1, 1, 1])
        XCTAssertEqual(image.voxelType, .int16)
        XCTAssertEqual(image.sformCode, 1)
        XCTAssertEqual(image.qformCode, 1)
        let back = try NiftiImage.readVolume(path: p)
        assertSameGeometry(back, v)
        XCTAssertEqual(back.voxelType, .int16)
        XCTAssertEqual(back.data, v.data)
    }

    func testGzipRoundTrip() throws {
        let v = Self.volume()
        let p = try write(v, to: "v.nii.gz", gzip: true)
        let raw = try Data(contentsOf: URL(fileURLWithPath: p))
        XCTAssertTrue(Gzip.isGzip(Array(raw)[...]))
        let back = try NiftiImage.readVolume(path: p)
        assertSameGeometry(back, v)
        XCTAssertEqual(back.data, v.data)
        XCTAssertEqual(Gzip.inflateFile(p, skip: 352, count: v.data.count), v.data, "libdeflate path")
        XCTAssertEqual(try Gzip.decompress(Array(raw)[...]), try NiftiImage.prefix(for: v) + v.data, "zlib path")
    }

    // Header offsets (nifti1.h): qform_code 252, sform_code 254, srow_x 280.
    static func setInt16(_ h: inout [UInt8], _ offset: Int, _ v: Int16) { withUnsafeBytes(of: v.littleEndian) { h.replaceSubrange(offset..<offset + 2, with: $0) } }
    static func setFloat(_ h: inout [UInt8], _ offset: Int, _ v: Float) { withUnsafeBytes(of: v.bitPattern.littleEndian) { h.replaceSubrange(offset..<offset + 4, with: $0) } }

    func testQformAloneGivesTheSameGeometry() throws {
        let v = Self.volume()
        let p = try write(v, to: "q.nii") { Self.setInt16(&$0, 254, 0) }
        let image = try NiftiImage(path: p)
        XCTAssertEqual(image.sformCode, 0)
        assertSameGeometry(try NiftiImage.readVolume(path: p), v)
    }

    func testSformWinsOverQform() throws {
        let v = Self.volume()
        // srow_x[3] is the RAS x offset: -LPS x. Move the sform's origin only.
        let p = try write(v, to: "s.nii") { Self.setFloat(&$0, 280 + 12, 5) }
        XCTAssertEqual(try NiftiImage.readVolume(path: p).origin.x, -5, accuracy: 1e-6)
        let q = try write(v, to: "sq.nii") { Self.setFloat(&$0, 280 + 12, 5); Self.setInt16(&$0, 254, 0) }
        XCTAssertEqual(try NiftiImage.readVolume(path: q).origin.x, 10, accuracy: 1e-5, "without sform, the qform's origin")
    }

    func testNeitherTransformFallsBackToPixdim() throws {
        let v = Self.volume()
        let p = try write(v, to: "n.nii") { Self.setInt16(&$0, 252, 0); Self.setInt16(&$0, 254, 0) }
        let image = try NiftiImage(path: p)
        XCTAssertEqual(image.affineRAS, [[0.5, 0, 0, 0], [0, 0.75, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]])
    }

    // MARK: failures name the file

    func assertFails(_ p: String, _ kind: I2Error.Kind, _ words: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try NiftiImage.readVolume(path: p), file: file, line: line) { e in
            guard let e = e as? I2Error else { return XCTFail("not an I2Error: \(e)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
            XCTAssertEqual(e.path, p, file: file, line: line)
            XCTAssertTrue(e.detail.contains(words), "\(e.detail) should say \(words)", file: file, line: line)
        }
    }

    func testNotANiftiFile() throws {
        try "hello, not NIfTI\n".write(toFile: path("text.nii"), atomically: true, encoding: .utf8)
        assertFails(path("text.nii"), .badInput, "not a readable NIfTI-1 file")
    }

    func testMissingFileAndDirectory() {
        assertFails(path("absent.nii"), .notFound, "no such file")
        assertFails(dir, .badInput, "is a directory")
    }

    func testTruncatedFiles() throws {
        let v = Self.volume()
        let full = try Data(contentsOf: URL(fileURLWithPath: try write(v, to: "full.nii")))
        try full.prefix(full.count - 10).write(to: URL(fileURLWithPath: path("cut.nii")))
        assertFails(path("cut.nii"), .badInput, "voxel data is truncated: 110 of 120 bytes present")
        let gz = try Data(contentsOf: URL(fileURLWithPath: try write(v, to: "full.nii.gz", gzip: true)))
        try gz.prefix(gz.count - 30).write(to: URL(fileURLWithPath: path("cut.nii.gz")))
        assertFails(path("cut.nii.gz"), .badInput, "truncated")
    }
}
