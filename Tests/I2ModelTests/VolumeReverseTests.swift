// Volume.reverse(axis:): the voxel order along one axis reversed in place while every voxel keeps its
// world position (dcm2niix's row order is built with it), and the grid-only form (GE epi_pepolar).
import XCTest
@testable import I2Model

final class VolumeReverseTests: XCTestCase {
    /// 3x2x2x2 int16 volume, voxel value = its linear index, on an oblique sheared grid.
    func volume() -> Volume {
        let size = [3, 2, 2, 2]
        let values = (0..<size.reduce(1, *)).map { Int16($0) }
        let data = values.withUnsafeBytes { Array($0) }
        let d = Matrix3(columns: [Vector3(0.6, 0.8, 0), Vector3(-0.8, 0.6, 0), Vector3(0.1, 0, 1).normalized])
        return Volume(size: size, spacing: [0.5, 2, 3], origin: Vector3(10, -20, 30), direction: d, voxelType: .int16, data: data)
    }

    func value(_ v: Volume, _ i: Int, _ j: Int, _ k: Int, _ t: Int) -> Int16 {
        let n = ((t * v.size[2] + k) * v.size[1] + j) * v.size[0] + i
        return v.data.withUnsafeBytes { $0.load(fromByteOffset: n * 2, as: Int16.self) }
    }

    func world(_ v: Volume, _ i: Int, _ j: Int, _ k: Int) -> Vector3 {
        v.origin + v.direction.column(0) * (Double(i) * v.spacing[0]) + v.direction.column(1) * (Double(j) * v.spacing[1])
            + v.direction.column(2) * (Double(k) * v.spacing[2])
    }

    func testEveryVoxelKeepsItsValueAtItsWorldPosition() {
        for axis in 0..<3 {
            let a = volume()
            var b = a
            b.reverse(axis: axis)
            for t in 0..<2 { for k in 0..<2 { for j in 0..<2 { for i in 0..<3 {
                var m = [i, j, k]
                m[axis] = a.size[axis] - 1 - m[axis]
                XCTAssertEqual(value(b, m[0], m[1], m[2], t), value(a, i, j, k, t), "axis \(axis)")
                XCTAssertLessThan((world(b, m[0], m[1], m[2]) - world(a, i, j, k)).length, 1e-9, "axis \(axis)")
            } } } }
            var back = b
            back.reverse(axis: axis)
            XCTAssertEqual(back.data, a.data)
            XCTAssertLessThan((back.origin - a.origin).length, 1e-9)
        }
    }

    func testGridOnlyReversalKeepsTheArray() {
        let a = volume()
        var b = a
        b.reverse(axis: 1, voxels: false)
        XCTAssertEqual(b.data, a.data)
        XCTAssertLessThan((b.direction.column(1) + a.direction.column(1)).length, 1e-12)
        XCTAssertLessThan((b.origin - world(a, 0, 1, 0)).length, 1e-9)
    }
}
