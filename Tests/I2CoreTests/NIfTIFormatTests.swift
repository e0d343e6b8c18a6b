// NIfTI-1 tests: exact round trips (oblique, sheared, every voxel type, 4-D), the header fields i2
// writes, .nii.gz as a standard gzip stream, qform / ANALYZE fallbacks, scl_slope, and errors.
import Foundation
import XCTest
@testable import I2Core
import I2Model
import I2TestSupport

/// Volumes and header surgery shared by the NIfTI, NumPy and round-trip tests.
enum NIfTITestKit {
    /// A rational rotation (entries ±1/3, ±2/3, determinant −1). With spacings that are multiples of 3/4 the
    /// affine entries are exact in float32, so geometry survives NIfTI-1's float header bit for bit.
    static let oblique = Matrix3(columns: [Vector3(1.0 / 3, 2.0 / 3, 2.0 / 3), Vector3(2.0 / 3, 1.0 / 3, -2.0 / 3),
                                           Vector3(2.0 / 3, -2.0 / 3, 1.0 / 3)])
    static let spacing = [0.75, 1.5, 2.25]
    static let origin = Vector3(-12.5, 30.25, 7)

    /// Deterministic pseudo-random voxel bytes.
    static func volume(_ size: [Int], _ type: VoxelType = .int16, spacing: [Double] = spacing,
                       origin: Vector3 = origin, direction: Matrix3 = oblique) -> Volume {
        var v = Volume(size: size, spacing: spacing, origin: origin, direction: direction, voxelType: type)
        var state: UInt32 = 2024
        v.data.withUnsafeMutableBufferPointer { p in
            for i in p.indices {
                state = state &* 1_664_525 &+ 1_013_904_223
                p[i] = UInt8(truncatingIfNeeded: state >> 24)
            }
        }
        return v
    }

    static func assertGeometry(_ a: Volume, _ b: Volume, _ tolerance: Double, _ what: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        let ga = a.spacing + a.origin.array + a.direction.columns.flatMap(\.array)
        let gb = b.spacing + b.origin.array + b.direction.columns.flatMap(\.array)
        let worst = zip(ga, gb).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertTrue(ga.count == gb.count && worst <= tolerance,
                      "\(what): geometry differs by \(worst)\n  \(ga)\n  \(gb)", file: file, line: line)
    }

    static func assertSame(_ a: Volume, _ b: Volume, _ tolerance: Double, _ what: String,
                           file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.size, b.size, "\(what): size", file: file, line: line)
        XCTAssertEqual(a.voxelType, b.voxelType, "\(what): voxel type", file: file, line: line)
        XCTAssertTrue(a.data == b.data, "\(what): voxel bytes differ", file: file, line: line)
        assertGeometry(a, b, tolerance, what, file: file, line: line)
    }

    /// Rewrites header bytes of a .nii in place.
    static func patch(_ path: String, _ edit: (inout [UInt8]) -> Void) throws {
        var bytes = try FileBytes.read(path)
        edit(&bytes)
        try FileBytes.write(bytes, to: path)
    }
    static func put<T>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value) { for (i, b) in $0.enumerated() { bytes[offset + i] = b } }
    }
    static func get<T>(_: T.Type, at offset: Int, in bytes: [UInt8]) -> T {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }
}

final class NIfTIFormatTests: XCTestCase {
    typealias Kit = NIfTITestKit
    var dir = ""
    override func setUp() { dir = TestSupport.tempDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func testObliqueRoundTripIsExact() throws {
        let v = Kit.volume([7, 5, 3])
        let path = dir + "/oblique.nii"
        XCTAssertEqual(try VolumeIO.write(v, to: path), [path])
        Kit.assertSame(try VolumeIO.read(path: path), v, 1e-9, "oblique .nii")
    }

    func testEveryVoxelTypeAndFourD() throws {
        for type in VoxelType.allCases {
            let v = Kit.volume([4, 3, 2], type)
            let path = dir + "/\(type).nii"
            _ = try VolumeIO.write(v, to: path)
            Kit.assertSame(try VolumeIO.read(path: path), v, 1e-9, "\(type)")
        }
        let v4 = Kit.volume([3, 4, 2, 5], .float32)
        _ = try VolumeIO.write(v4, to: dir + "/4d.nii.gz")
        Kit.assertSame(try VolumeIO.read(path: dir + "/4d.nii.gz"), v4, 1e-9, "4-D")
    }

    func testShearedAffineSurvivesThroughSform() throws {
        // Axis 1 leans 36.87° towards axis 0: not representable by a qform, kept exactly by the sform.
        let sheared = Matrix3(columns: [Vector3(1, 0, 0), Vector3(0.6, 0.8, 0), Vector3(0, 0, 1)])
        let v = Kit.volume([4, 4, 3], spacing: [0.5, 1.25, 2], direction: sheared)
        let path = dir + "/sheared.nii"
        _ = try VolumeIO.write(v, to: path)
        let back = try VolumeIO.read(path: path)
        Kit.assertSame(back, v, 1e-9, "sheared")
        for (r, row) in back.affineLPS.enumerated() {
            for (c, x) in row.enumerated() { XCTAssertEqual(x, v.affineLPS[r][c], accuracy: 1e-9) }
        }
    }

    func testHeaderFields() throws {
        let v = Kit.volume([6, 5, 4])
        let path = dir + "/h.nii"
        _ = try VolumeIO.write(v, to: path)
        let b = try FileBytes.read(path)
        XCTAssertEqual(b.count, 352 + v.data.count)
        XCTAssertEqual(Kit.get(Int32.self, at: 0, in: b), 348)
        XCTAssertEqual((0..<4).map { Kit.get(Int16.self, at: 40 + 2 * $0, in: b) }, [3, 6, 5, 4])
        XCTAssertEqual(Kit.get(Int16.self, at: 70, in: b), 4)      // datatype: DT_INT16
        XCTAssertEqual(Kit.get(Int16.self, at: 72, in: b), 16)     // bitpix
        XCTAssertEqual(Kit.get(Float.self, at: 76, in: b), -1)     // pixdim[0] = qfac: det(oblique) < 0
        XCTAssertEqual((1...3).map { Double(Kit.get(Float.self, at: 76 + 4 * $0, in: b)) }, v.spacing)
        XCTAssertEqual(Kit.get(Float.self, at: 108, in: b), 352)   // vox_offset
        XCTAssertEqual(Kit.get(Float.self, at: 112, in: b), 1)     // scl_slope
        XCTAssertEqual(b[123], 10)                                 // xyzt_units: mm and s, as dcm2niix writes 3-D too
        XCTAssertEqual(Array(b[148..<151]), Array("i2\0".utf8))    // descrip
        XCTAssertEqual(Kit.get(Int16.self, at: 252, in: b), 1)     // qform_code: scanner
        XCTAssertEqual(Kit.get(Int16.self, at: 254, in: b), 1)     // sform_code: scanner
        let ras = Geometry.flipLPSRAS(v.affineLPS)
        for r in 0..<3 {
            for c in 0..<4 {
                XCTAssertEqual(Double(Kit.get(Float.self, at: 280 + 16 * r + 4 * c, in: b)), ras[r][c], "srow[\(r)][\(c)]")
            }
        }
        XCTAssertEqual(Array(b[344..<352]), [0x6e, 0x2b, 0x31, 0, 0, 0, 0, 0])   // "n+1\0" + extender
        XCTAssertTrue(Array(b[352...]) == v.data)
    }

    func testGzipOutputIsOneValidStreamAcrossWindows() throws {
        // 36.7 MB: more than one compression window and many gzip members.
        var v = Volume(size: [512, 512, 70], spacing: Kit.spacing, origin: Kit.origin, direction: Kit.oblique,
                       voxelType: .int16)
        v.data.withUnsafeMutableBufferPointer { p in for i in stride(from: 0, to: p.count, by: 97) { p[i] = UInt8(truncatingIfNeeded: i / 97) } }
        _ = try VolumeIO.write(v, to: dir + "/big.nii")
        var options = WriteOptions()
        options.compressionLevel = 1
        _ = try VolumeIO.write(v, to: dir + "/big.nii.gz", options: options)
        let plain = try FileBytes.read(dir + "/big.nii")
        let result = try TestSupport.run("/usr/bin/gzip", ["-t", dir + "/big.nii.gz"])
        XCTAssertEqual(result.status, 0, "gzip -t: \(result.stderr)")
        let unzipped = try TestSupport.run("/bin/sh", ["-c", "gzip -dc '\(dir)/big.nii.gz' | cmp - '\(dir)/big.nii'"])
        XCTAssertEqual(unzipped.status, 0, "gzip -dc output differs from the .nii: \(unzipped.stdout)\(unzipped.stderr)")
        XCTAssertEqual(plain.count, 352 + v.data.count)
        Kit.assertSame(try VolumeIO.read(path: dir + "/big.nii.gz"), v, 1e-9, ".nii.gz read back")
    }

    func testGzipOfOtherWritersAndMostlyZeroLabelMaps() throws {
        // A label map: zeros with a few labelled blocks, so most of it is written as zero runs.
        var v = Volume(size: [64, 64, 40], spacing: Kit.spacing, origin: Kit.origin, direction: Kit.oblique, voxelType: .uint8)
        for z in 10..<20 { for y in 5..<30 { for x in 7..<40 { v.data[(z * 64 + y) * 64 + x] = UInt8(z) } } }
        _ = try VolumeIO.write(v, to: dir + "/labels.nii.gz")
        _ = try VolumeIO.write(v, to: dir + "/labels.nii")
        Kit.assertSame(try VolumeIO.read(path: dir + "/labels.nii.gz"), v, 1e-9, "own .nii.gz")
        let unzipped = try TestSupport.run("/bin/sh", ["-c", "gzip -dc '\(dir)/labels.nii.gz' | cmp - '\(dir)/labels.nii'"])
        XCTAssertEqual(unzipped.status, 0, "gzip -dc output differs from the .nii: \(unzipped.stdout)\(unzipped.stderr)")
        // One gzip member holding header and voxels, as gzip and most other writers make it.
        let zipped = try TestSupport.run("/bin/sh", ["-c", "gzip -c '\(dir)/labels.nii' > '\(dir)/single.nii.gz'"])
        XCTAssertEqual(zipped.status, 0, zipped.stderr)
        Kit.assertSame(try VolumeIO.read(path: dir + "/single.nii.gz"), v, 1e-9, "single-member .nii.gz")
    }

    func testQformOnlyAndAnalyzeFallback() throws {
        let v = Kit.volume([3, 3, 3])
        let path = dir + "/q.nii"
        _ = try VolumeIO.write(v, to: path)
        try Kit.patch(path) { Kit.put(Int16(0), at: 254, in: &$0) }      // sform_code 0: qform decides
        Kit.assertSame(try VolumeIO.read(path: path), v, 1e-6, "qform only")
        try Kit.patch(path) { Kit.put(Int16(0), at: 252, in: &$0) }      // no transform at all
        let analyze = try VolumeIO.read(path: path)
        let expected = Volume(size: v.size, spacing: v.spacing, origin: .zero,
                              direction: Matrix3(columns: [Vector3(-1, 0, 0), Vector3(0, -1, 0), Vector3(0, 0, 1)]),
                              voxelType: v.voxelType, data: v.data)
        Kit.assertSame(analyze, expected, 1e-9, "pixdim only")
    }

    func testScaling() throws {
        var v = Volume(size: [4, 1, 1], voxelType: .int16)
        v.data = [10, 0, 20, 0, 0xff, 0xff, 0, 0x80]      // 10, 20, -1, -32768
        let path = dir + "/s.nii"
        func read(slope: Float, inter: Float) throws -> Volume {
            _ = try VolumeIO.write(v, to: path)
            try Kit.patch(path) { Kit.put(slope, at: 112, in: &$0); Kit.put(inter, at: 116, in: &$0) }
            return try VolumeIO.read(path: path)
        }
        func values<T>(_ v: Volume, _: T.Type) -> [T] { v.data.withUnsafeBytes { Array($0.bindMemory(to: T.self)) } }

        let scaled = try read(slope: 2, inter: -1)
        XCTAssertEqual(scaled.voxelType, .float32)
        XCTAssertEqual(values(scaled, Float.self), [19, 39, -3, -65537])
        let zero = try read(slope: 0, inter: 5)                  // slope 0: unscaled
        XCTAssertEqual(zero.voxelType, .int16)
        XCTAssertEqual(values(zero, Int16.self), [10, 20, -1, -32768])
        let shifted = try read(slope: 1, inter: 1000)            // integral shift that fits: stays int16
        XCTAssertEqual(shifted.voxelType, .int16)
        XCTAssertEqual(values(shifted, Int16.self), [1010, 1020, 999, -31768])
        let overflow = try read(slope: 1, inter: -1)             // -32769 does not fit int16
        XCTAssertEqual(overflow.voxelType, .float32)
        XCTAssertEqual(values(overflow, Float.self), [9, 19, -2, -32769])
        let fractional = try read(slope: 1, inter: 0.5)
        XCTAssertEqual(values(fractional, Float.self), [10.5, 20.5, -0.5, -32767.5])
    }

    func testErrorsNameThePathAndReason() throws {
        func message(_ path: String) -> String {
            do { _ = try VolumeIO.read(path: path); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message(dir + "/absent.nii"), dir + "/absent.nii: no such file")
        try FileBytes.write(Array("hello, not an image".utf8), to: dir + "/junk.nii")
        XCTAssertEqual(message(dir + "/junk.nii"), dir + "/junk.nii: not a readable NIfTI-1 file")

        let v = Kit.volume([8, 8, 8])
        _ = try VolumeIO.write(v, to: dir + "/t.nii")
        try Kit.patch(dir + "/t.nii") { $0.removeLast(100) }
        XCTAssertTrue(message(dir + "/t.nii").hasPrefix(dir + "/t.nii: voxel data is truncated"), message(dir + "/t.nii"))

        // A header claiming 32767³ voxels must fail cleanly, not try to allocate 70 GB.
        _ = try VolumeIO.write(v, to: dir + "/huge.nii")
        try Kit.patch(dir + "/huge.nii") { for d in 1...3 { Kit.put(Int16.max, at: 40 + 2 * d, in: &$0) } }
        XCTAssertTrue(message(dir + "/huge.nii").hasPrefix(dir + "/huge.nii: voxel data is truncated"), message(dir + "/huge.nii"))
        _ = try TestSupport.run("/bin/sh", ["-c", "gzip -c '\(dir)/huge.nii' > '\(dir)/huge.nii.gz'"])
        XCTAssertTrue(message(dir + "/huge.nii.gz").hasPrefix(dir + "/huge.nii.gz: voxel data is truncated"), message(dir + "/huge.nii.gz"))

        _ = try VolumeIO.write(v, to: dir + "/c.nii")
        try Kit.patch(dir + "/c.nii") { Kit.put(Int16(32), at: 70, in: &$0); Kit.put(Int16(64), at: 72, in: &$0) }
        let complex = message(dir + "/c.nii")
        XCTAssertTrue(complex.hasPrefix(dir + "/c.nii: unsupported NIfTI datatype") && complex.contains("COMPLEX64"), complex)

        var bad = v
        bad.data.removeLast()
        XCTAssertThrowsError(try VolumeIO.write(bad, to: dir + "/bad.nii"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/bad.nii"))
    }

    /// An independent reader, nibabel (the repo's .venv or python3), must see the same grid, voxels and
    /// affine in our .nii.gz: sheared sform exactly, qform as its rotation part.
    func testNibabelAgreesIfInstalled() throws {
        let candidates = [TestSupport.packageRoot.appendingPathComponent(".venv/bin/python3").path, "/usr/bin/env"]
        guard let python = candidates.first(where: { p in
            let args = p.hasSuffix("env") ? ["python3", "-c", "import nibabel"] : ["-c", "import nibabel"]
            return (try? TestSupport.run(p, args))?.status == 0
        }) else { throw XCTSkip("nibabel is not installed (pip install nibabel)") }
        let sheared = Matrix3(columns: [Vector3(1, 0, 0), Vector3(0.6, 0.8, 0), Vector3(0, 0, 1)])
        for (name, direction) in [("oblique", Kit.oblique), ("sheared", sheared)] {
            var v = Volume(size: [5, 4, 3], spacing: [0.75, 1.25, 2.25], origin: Kit.origin, direction: direction, voxelType: .int16)
            v.data.withUnsafeMutableBytes { raw in
                for k in 0..<3 { for j in 0..<4 { for i in 0..<5 {
                    raw.storeBytes(of: Int16(i + 10 * j + 100 * k), toByteOffset: 2 * (i + 5 * (j + 4 * k)), as: Int16.self)
                } } }
            }
            let path = dir + "/\(name).nii.gz"
            _ = try VolumeIO.write(v, to: path)
            let script = """
                import nibabel as nib, numpy as np
                img = nib.load('\(path)')
                a = np.asanyarray(img.dataobj)
                i, j, k = np.meshgrid(range(5), range(4), range(3), indexing='ij')
                print(a.shape, a.dtype, bool((a == i + 10 * j + 100 * k).all()), int(img.header['sform_code']), int(img.header['qform_code']))
                print(' '.join('%.6f' % x for x in img.affine[:3].ravel()))
                print(' '.join('%.6f' % x for x in img.get_qform()[:3].ravel()))
                """
            let args = python.hasSuffix("env") ? ["python3", "-c", script] : ["-c", script]
            let r = try TestSupport.run(python, args)
            XCTAssertEqual(r.status, 0, r.stderr)
            let lines = r.stdout.split(separator: "\n").map(String.init)
            guard lines.count == 3 else { return XCTFail("unexpected nibabel output: \(r.stdout)") }
            XCTAssertEqual(lines[0], "(5, 4, 3) int16 True 1 1", name)
            let ras = Geometry.flipLPSRAS(v.affineLPS)
            XCTAssertEqual(lines[1], ras[0..<3].joined().map { String(format: "%.6f", $0 + 0) }.joined(separator: " "), "\(name) sform")
            if name == "oblique" {   // without shear the qform is the same transform
                XCTAssertEqual(lines[2], lines[1], "qform")
            }
        }
        // And the other way: a big-endian file nibabel writes (scl_slope NaN, i.e. unscaled).
        let made = dir + "/be.nii"
        let script = """
            import nibabel as nib, numpy as np
            k, j, i = np.meshgrid(range(3), range(4), range(5), indexing='ij')
            a = (i + 10 * j + 100 * k).astype('>i4').transpose(2, 1, 0)
            aff = np.array([[0, -2, 0, 10], [1.5, 0, 0, -20], [0, 0, 3, 30], [0, 0, 0, 1]])
            h = nib.Nifti1Header(endianness='>')
            h.set_data_dtype(np.int32)
            nib.Nifti1Image(a, aff, header=h).to_filename('\(made)')
            """
        let r = try TestSupport.run(python, python.hasSuffix("env") ? ["python3", "-c", script] : ["-c", script])
        XCTAssertEqual(r.status, 0, r.stderr)
        let v = try VolumeIO.read(path: made)
        XCTAssertEqual(v.size, [5, 4, 3])
        XCTAssertEqual(v.voxelType, .int32)
        let values: [Int32] = v.data.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        let expected: [Int32] = (0..<60).map { n in
            let (i, j, k) = (n % 5, n / 5 % 4, n / 20)
            return Int32(i + 10 * j + 100 * k)
        }
        XCTAssertEqual(values, expected)
        let lps = Geometry.flipLPSRAS([[0, -2, 0, 10], [1.5, 0, 0, -20], [0, 0, 3, 30], [0, 0, 0, 1]])
        XCTAssertEqual(v.affineLPS.joined().map { $0 + 0 }, lps.joined().map { $0 + 0 })
    }

    /// nifticlib's own command-line tool must agree with our header (a missing tool fails the test).
    func testNiftiToolAgrees() throws {
        let tool = try TestSupport.tool("nifti_tool", package: "nifti-bin")
        let v = Kit.volume([6, 5, 4])
        _ = try VolumeIO.write(v, to: dir + "/x.nii.gz")
        let r = try TestSupport.run(tool, ["-disp_hdr", "-field", "sform_code", "-field", "magic", "-infiles", dir + "/x.nii.gz"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("n+1"), r.stdout)
    }
}
