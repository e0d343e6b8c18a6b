// NumPy tests: round trips with the JSON sidecar, numpy itself reading our files (shape, dtype,
// arr[k, j, i] == voxel (i, j, k)), and numpy-made files we must read: Fortran order, big-endian, v2.
import Foundation
import XCTest
@testable import I2Core
import I2Model
import I2TestSupport

final class NumPyFormatTests: XCTestCase {
    typealias Kit = NIfTITestKit
    var dir = ""
    override func setUp() { dir = TestSupport.tempDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// Runs a python3 + numpy script; fails clearly if either is missing.
    func python(_ script: String) throws -> String {
        let probe = try? TestSupport.run("/usr/bin/env", ["python3", "-c", "import numpy"])
        guard let p = probe, p.status == 0 else {
            XCTFail("python3 with numpy is needed for this test (pip install numpy): \(probe?.stderr ?? "python3 not found")")
            throw TestSupport.Missing("python3 + numpy")
        }
        let r = try TestSupport.run("/usr/bin/env", ["python3", "-c", script])
        XCTAssertEqual(r.status, 0, "python failed:\n\(r.stderr)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testRoundTripWithSidecar() throws {
        for size in [[5, 4, 3], [3, 2, 4, 2]] {
            for type in VoxelType.allCases {
                let v = Kit.volume(size, type, origin: Vector3(-123.456789, 0.1, 1e-7))
                let path = dir + "/v.npy"
                XCTAssertEqual(try VolumeIO.write(v, to: path), [path, dir + "/v.json"])
                Kit.assertSame(try VolumeIO.read(path: path), v, 1e-12, "\(type) \(size)")
            }
        }
    }

    func testHeaderIsAlignedVersion1() throws {
        let v = Kit.volume([5, 4, 3])
        _ = try VolumeIO.write(v, to: dir + "/a.npy")
        let b = try FileBytes.read(dir + "/a.npy")
        let headerEnd = 10 + Int(b[8]) + Int(b[9]) << 8
        XCTAssertEqual(Array(b[0..<8]), [0x93] + Array("NUMPY".utf8) + [1, 0])
        XCTAssertEqual(headerEnd % 64, 0)
        XCTAssertEqual(b[headerEnd - 1], 0x0a)
        XCTAssertTrue(String(decoding: b[10..<headerEnd], as: UTF8.self)
            .hasPrefix("{'descr': '<i2', 'fortran_order': False, 'shape': (3, 4, 5), }"))
        XCTAssertTrue(Array(b[headerEnd...]) == v.data)
    }

    func testNumpyReadsOurFileAndSidecar() throws {
        var v = Volume(size: [5, 4, 3], spacing: [0.75, 1.5, 2.25], origin: Kit.origin, direction: Kit.oblique,
                       voxelType: .int16)
        v.data.withUnsafeMutableBytes { raw in
            let p = raw.bindMemory(to: Int16.self)
            for k in 0..<3 { for j in 0..<4 { for i in 0..<5 { p[i + 5 * (j + 4 * k)] = Int16(i + 10 * j + 100 * k) } } }
        }
        _ = try VolumeIO.write(v, to: dir + "/n.npy")
        let out = try python("""
            import json, numpy as np
            a = np.load('\(dir)/n.npy')
            s = json.load(open('\(dir)/n.json'))
            ok = all(a[k, j, i] == i + 10 * j + 100 * k for k in range(3) for j in range(4) for i in range(5))
            w = np.array(s['affine_lps']) @ np.array([4, 3, 2, 1])
            print(a.shape, a.dtype, ok, s['axes'], s['dtype'], ' '.join('%.6f' % x for x in w[:3]))
            """)
        let m = v.affineLPS
        let world: [Double] = (0..<3).map { r in
            let ijk: Double = m[r][0] * 4 + m[r][1] * 3 + m[r][2] * 2
            return ijk + m[r][3]
        }
        XCTAssertEqual(out, "(3, 4, 5) int16 True ['k', 'j', 'i'] <i2 " + world.map { String(format: "%.6f", $0) }.joined(separator: " "))
    }

    func testNumpyMadeFilesFortranBigEndianVersion2And2D() throws {
        _ = try python("""
            import numpy as np
            k, j, i = np.meshgrid(np.arange(3), np.arange(4), np.arange(5), indexing='ij')
            a = (i + 10 * j + 100 * k).astype('<i2')
            np.save('\(dir)/c.npy', a)
            np.save('\(dir)/f.npy', np.asfortranarray(a))
            np.save('\(dir)/b.npy', a.astype('>f8'))
            with open('\(dir)/v2.npy', 'wb') as fh:
                np.lib.format.write_array(fh, np.asfortranarray(a.astype('<u4')), version=(2, 0))
            np.save('\(dir)/two.npy', a[1])
            np.save('\(dir)/f4d.npy', np.asfortranarray(np.stack([a, a + 1000])))
            """)
        func check(_ name: String, _ type: VoxelType, size: [Int] = [5, 4, 3], offset: Int = 0, k0: Int = 0) throws {
            let v = try VolumeIO.read(path: dir + "/" + name)
            XCTAssertEqual(v.size, size, name)
            XCTAssertEqual(v.voxelType, type, name)
            Kit.assertGeometry(v, Volume(size: size, voxelType: .uint8), 0, "\(name): identity without a sidecar")
            var mismatches = 0
            for t in 0..<(size.count > 3 ? size[3] : 1) {
                for k in 0..<size[2] { for j in 0..<size[1] { for i in 0..<size[0] {
                    let n = i + size[0] * (j + size[1] * (k + size[2] * t))
                    let expect = Double(i + 10 * j + 100 * (k + k0) + 1000 * t + offset)
                    let got: Double = v.data.withUnsafeBytes { raw in
                        switch type {
                        case .int16: return Double(raw.load(fromByteOffset: 2 * n, as: Int16.self))
                        case .uint32: return Double(raw.load(fromByteOffset: 4 * n, as: UInt32.self))
                        default: return raw.load(fromByteOffset: 8 * n, as: Double.self)
                        }
                    }
                    if got != expect { mismatches += 1 }
                } } }
            }
            XCTAssertEqual(mismatches, 0, "\(name): voxel (i, j, k) must equal arr[k, j, i]")
        }
        try check("c.npy", .int16)
        try check("f.npy", .int16)
        try check("b.npy", .float64)
        try check("v2.npy", .uint32)
        try check("two.npy", .int16, size: [5, 4, 1], k0: 1)
        try check("f4d.npy", .int16, size: [5, 4, 3, 2])
    }

    func testErrorsNameThePathAndReason() throws {
        func message(_ path: String) -> String {
            do { _ = try VolumeIO.read(path: path); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message(dir + "/absent.npy"), dir + "/absent.npy: no such file")
        try FileBytes.write(Array("not numpy at all".utf8), to: dir + "/junk.npy")
        XCTAssertTrue(message(dir + "/junk.npy").hasPrefix(dir + "/junk.npy: not a NumPy .npy file"))

        let v = Kit.volume([5, 4, 3])
        _ = try VolumeIO.write(v, to: dir + "/t.npy")
        try Kit.patch(dir + "/t.npy") { $0.removeLast(7) }
        XCTAssertTrue(message(dir + "/t.npy").hasPrefix(dir + "/t.npy: file is truncated"), message(dir + "/t.npy"))

        _ = try VolumeIO.write(v, to: dir + "/h.npy")
        try Kit.patch(dir + "/h.npy") { $0.replaceSubrange(10..<20, with: Array("{'descr':(".utf8)) }
        XCTAssertTrue(message(dir + "/h.npy").hasPrefix(dir + "/h.npy: malformed .npy header"), message(dir + "/h.npy"))

        _ = try VolumeIO.write(v, to: dir + "/d.npy")
        try Kit.patch(dir + "/d.npy") { $0.replaceSubrange(21..<24, with: Array("<i8".utf8)) }
        XCTAssertTrue(message(dir + "/d.npy").contains("unsupported NumPy dtype '<i8'"), message(dir + "/d.npy"))

        _ = try VolumeIO.write(v, to: dir + "/w.npy")
        try Kit.patch(dir + "/w.json") { json in
            json = Array(String(decoding: json, as: UTF8.self).replacingOccurrences(of: "\"shape\": [3,", with: "\"shape\": [2,").utf8)
        }
        XCTAssertTrue(message(dir + "/w.npy").hasPrefix(dir + "/w.json: sidecar describes shape [2, 4, 5]"), message(dir + "/w.npy"))

        _ = try VolumeIO.write(v, to: dir + "/big.npy")
        try Kit.patch(dir + "/big.npy") { $0.replaceSubrange(60..<69, with: Array("(3, 4, 5)".utf8).map { $0 == 0x33 ? 0x39 : $0 }) }
        XCTAssertTrue(message(dir + "/big.npy").hasPrefix(dir + "/big.npy: file is truncated"), message(dir + "/big.npy"))

        _ = try VolumeIO.write(v, to: dir + "/s.npy")
        try FileBytes.write(Array("{\"affine_lps\": [1, 2]}".utf8), to: dir + "/s.json")
        XCTAssertTrue(message(dir + "/s.npy").hasPrefix(dir + "/s.json: sidecar has no valid 4x4"), message(dir + "/s.npy"))
    }
}
