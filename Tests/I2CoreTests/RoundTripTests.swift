// Orientation round trips: one physical volume expressed in all 48 axis orders and directions
// (3! permutations × 2³ flips), pushed through every writer and reader in a chain. Each hop must keep
// voxels and geometry, and a given voxel value must stay at the same place in the world.
import Foundation
import XCTest
@testable import I2Core
import I2Model
import I2TestSupport

final class RoundTripTests: XCTestCase {
    typealias Kit = NIfTITestKit
    var dir = ""
    override func setUp() { dir = TestSupport.tempDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// 4×3×5 int16, oblique, every voxel value unique (7n + 3), so a value identifies a physical voxel.
    static let base: Volume = {
        var v = Volume(size: [4, 3, 5], spacing: Kit.spacing, origin: Kit.origin, direction: Kit.oblique, voxelType: .int16)
        v.data.withUnsafeMutableBytes { raw in
            for n in 0..<60 { raw.storeBytes(of: Int16(7 * n + 3), toByteOffset: 2 * n, as: Int16.self) }
        }
        return v
    }()

    /// Base voxels whose world position is tracked through every hop.
    static let tracked: [[Int]] = [[0, 0, 0], [3, 2, 4], [1, 2, 3], [2, 0, 4], [3, 1, 0]]

    static func world(_ v: Volume, _ index: [Int]) -> Vector3 {
        (0..<3).reduce(v.origin) { $0 + v.direction.column($1) * (Double(index[$1]) * v.spacing[$1]) }
    }

    /// The base volume's voxels on a grid whose axis a runs along base axis perm[a], reversed if flips[a].
    static func reoriented(perm: [Int], flips: [Bool]) -> Volume {
        let b = base
        let size = perm.map { b.size[$0] }
        func baseIndex(_ n: [Int]) -> [Int] {
            var out = [0, 0, 0]
            for a in 0..<3 { out[perm[a]] = flips[a] ? size[a] - 1 - n[a] : n[a] }
            return out
        }
        var v = Volume(size: size, spacing: perm.map { b.spacing[$0] }, origin: world(b, baseIndex([0, 0, 0])),
                       direction: Matrix3(columns: (0..<3).map { b.direction.column(perm[$0]) * (flips[$0] ? -1 : 1) }),
                       voxelType: .int16)
        for k in 0..<size[2] { for j in 0..<size[1] { for i in 0..<size[0] {
            let s = baseIndex([i, j, k])
            let from = 2 * (s[0] + b.size[0] * (s[1] + b.size[1] * s[2]))
            let to = 2 * (i + size[0] * (j + size[1] * k))
            v.data[to] = b.data[from]
            v.data[to + 1] = b.data[from + 1]
        } } }
        return v
    }

    static var orientations: [(perm: [Int], flips: [Bool])] {
        let perms = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
        return perms.flatMap { p in (0..<8).map { f in (p, [f & 1 != 0, f & 2 != 0, f & 4 != 0]) } }
    }

    /// Every tracked base voxel's value must sit, in `v`, at the same world position as in the base volume.
    func assertWorldPositions(_ v: Volume, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let b = Self.base
        let values: [Int16] = v.data.withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        for t in Self.tracked {
            let value = Int16(7 * (t[0] + b.size[0] * (t[1] + b.size[1] * t[2])) + 3)
            guard let n = values.firstIndex(of: value) else {
                XCTFail("\(what): value \(value) is missing", file: file, line: line)
                continue
            }
            let index = [n % v.size[0], (n / v.size[0]) % v.size[1], n / (v.size[0] * v.size[1])]
            let d = Self.world(v, index) - Self.world(b, t)
            XCTAssertLessThan(d.length, 1e-6, "\(what): value \(value) moved by \(d)", file: file, line: line)
        }
    }

    /// Writes and reads back `v` through each extension in turn, checking every hop.
    func chain(_ v: Volume, _ extensions: [String], _ name: String) throws {
        assertWorldPositions(v, "\(name) as built")
        var current = v
        for (hop, ext) in extensions.enumerated() {
            let path = "\(dir)/\(name)-\(hop)\(ext)"
            _ = try VolumeIO.write(current, to: path)
            current = try VolumeIO.read(path: path)
            Kit.assertSame(current, v, 1e-6, "\(name) after \(ext)")
            assertWorldPositions(current, "\(name) after \(ext)")
        }
    }

    func testReorientedVolumesAreTheSamePhysicalVolume() {
        XCTAssertEqual(Self.orientations.count, 48)
        for (perm, flips) in Self.orientations {
            let v = Self.reoriented(perm: perm, flips: flips)
            assertWorldPositions(v, "perm \(perm) flips \(flips)")
            XCTAssertEqual(Set(v.data.indices.filter { $0 % 2 == 0 }.map { Int(v.data[$0]) | Int(v.data[$0 + 1]) << 8 }).count, 60)
        }
    }

    /// The chain through the codecs this suite owns: NIfTI (both forms) and NumPy.
    func testAll48OrientationsThroughNIfTIAndNumPy() throws {
        for (n, (perm, flips)) in Self.orientations.enumerated() {
            try chain(Self.reoriented(perm: perm, flips: flips), [".nii", ".npy", ".nii.gz"], "o\(n)")
        }
    }

    /// The full chain .nii → .nrrd → .mha → .nii.gz.
    func testAll48OrientationsThroughEveryFormat() throws {
        for (n, (perm, flips)) in Self.orientations.enumerated() {
            do {
                try chain(Self.reoriented(perm: perm, flips: flips), [".nii", ".nrrd", ".mha", ".nii.gz"], "o\(n)")
            } catch let e as I2Error where e.detail == "not implemented" {
                throw XCTSkip("a codec in the chain is not implemented yet: \(e)")
            }
        }
    }
}
