// Resample.swift tests: untilt (in-plane shift onto an orthogonal grid), equalize (irregular slice
// offsets onto the smallest gap) and VoxelValues (any type ⇄ Double with rounding and clamping).
// The volumes are sheared by whole voxels per slice so the expected voxels are known exactly.
import Foundation
import XCTest
@testable import I2Core
import I2Model

final class ResampleTests: XCTestCase {
    func assertVector(_ a: Vector3, _ b: Vector3, accuracy: Double = 1e-9, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual((a - b).length, 0, accuracy: accuracy, "\(a) vs \(b)", file: file, line: line)
    }

    /// Voxel value from its indices: unique, all ≥ 100 so the minimum (the fill) is 100.
    func value(_ i: Int, _ j: Int, _ k: Int, _ t: Int = 0) -> Double { Double(100 + i + 10 * j + 100 * k + 1000 * t) }

    func sheared(size: [Int], spacing: [Double], sliceAxis: Vector3) -> Volume {
        let (nx, ny, nz, nt) = (size[0], size[1], size[2], size.count > 3 ? size[3] : 1)
        var values: [Double] = []
        for t in 0..<nt { for k in 0..<nz { for j in 0..<ny { for i in 0..<nx { values.append(value(i, j, k, t)) } } } }
        var v = VoxelBytes.volume(values, .int16, size: size)
        v.spacing = spacing
        v.origin = Vector3(-7, 8, 9)
        v.direction = Matrix3(columns: [Vector3(1, 0, 0), Vector3(0, 1, 0), sliceAxis])
        return v
    }

    func testUntiltShiftsEachSliceByOneVoxelAlongRows() {
        // Slice step (3, 0, 4) mm = one 3 mm voxel along the row per slice, 4 mm along the normal.
        let v = sheared(size: [5, 3, 3], spacing: [3, 1, 5], sliceAxis: Vector3(0.6, 0, 0.8))
        let u = Resample.untilt(v)
        // The grid grows by the total shift (2 voxels) so no pixel is lost.
        XCTAssertEqual(u.size, [7, 3, 3])
        XCTAssertEqual(u.voxelType, .int16)
        XCTAssertEqual(u.spacing[0], 3)
        XCTAssertEqual(u.spacing[1], 1)
        XCTAssertEqual(u.spacing[2], 4, accuracy: 1e-12)
        assertVector(u.origin, Vector3(-7, 8, 9), accuracy: 0)
        assertVector(u.direction.column(0), Vector3(1, 0, 0), accuracy: 0)
        assertVector(u.direction.column(1), Vector3(0, 1, 0), accuracy: 0)
        assertVector(u.direction.column(2), Vector3(0, 0, 1))
        // Output voxel (i, j, k) at world i*3 + 4k·n holds source (i − k, j, k); outside the slice: the minimum.
        var expected: [Double] = []
        for k in 0..<3 { for j in 0..<3 { for i in 0..<7 { expected.append(i - k >= 0 && i - k < 5 ? value(i - k, j, k) : 100) } } }
        XCTAssertEqual(VoxelBytes.decode(u), expected)
    }

    func testUntiltShiftsBackwardsAlongColumnsInFourD() {
        // Slice step (0, −2, 4): one 2 mm voxel towards −column per slice; two volumes shifted alike.
        let len = (4.0 + 16).squareRoot()
        let v = sheared(size: [2, 4, 3, 2], spacing: [1, 2, len], sliceAxis: Vector3(0, -2 / len, 4 / len))
        let u = Resample.untilt(v)
        // Two extra rows before the first (the shift is towards −column), origin moved by them.
        XCTAssertEqual(u.size, [2, 6, 3, 2])
        XCTAssertEqual(u.spacing[2], 4, accuracy: 1e-9)
        assertVector(u.direction.column(2), Vector3(0, 0, 1))
        assertVector(u.origin, Vector3(-7, 8 - 4, 9))
        var expected: [Double] = []
        for t in 0..<2 {
            for k in 0..<3 { for j in 0..<6 { for i in 0..<2 {
                let y = j - 2 + k
                expected.append(y >= 0 && y < 4 ? value(i, y, k, t) : 100)
            } } }
        }
        XCTAssertEqual(VoxelBytes.decode(u), expected)
    }

    func testUntiltOfHalfVoxelShiftAveragesNeighbours() {
        // Step (1.5, 0, 4) with 3 mm columns: half a voxel per slice; float32 keeps the exact mean.
        let len = (1.5 * 1.5 + 16).squareRoot()
        var v = sheared(size: [4, 1, 2], spacing: [3, 1, len], sliceAxis: Vector3(1.5 / len, 0, 4 / len))
        v = VoxelBytes.volume([0, 10, 30, 70, 1, 3, 7, 15], .float32, size: [4, 1, 2]).with(geometryOf: v)
        let out = VoxelBytes.decode(Resample.untilt(v))
        // Rows grow to 5 (half a voxel of shift rounds up to one column); the new column holds the minimum.
        XCTAssertEqual(Array(out.prefix(5)), [0, 10, 30, 70, 0])
        // Slice 1 at output i samples source x = i − 0.5: the mean of source i−1 and i (i = 0 is half
        // outside the slice, where the 0.5 weight threshold makes the result depend on rounding).
        XCTAssertEqual(out[6], 2, accuracy: 1e-6)
        XCTAssertEqual(out[7], 5, accuracy: 1e-6)
        XCTAssertEqual(out[8], 11, accuracy: 1e-6)
    }

    func testEqualizeFillsTheMissingSliceWithTheMeanOfItsNeighbours() {
        // Offsets 0, 1, 2, 4 → smallest gap 1 → slices at 0, 1, 2, 3, 4; the one at 3 is new.
        var v = VoxelBytes.volume([1, 2, 3, 4, 10, 20, 30, -40], .int16, size: [2, 1, 4])
        v.origin = Vector3(1, 2, 3)
        let e = Resample.equalize(v, offsets: [0, 1, 2, 4])
        XCTAssertEqual(e.size, [2, 1, 5])
        XCTAssertEqual(e.voxelType, .int16)
        XCTAssertEqual(e.spacing[2], 1, accuracy: 1e-12)
        XCTAssertEqual(e.origin, Vector3(1, 2, 3))
        XCTAssertEqual(VoxelBytes.decode(e), [1, 2, 3, 4, 10, 20, 20, -10, 30, -40])
    }

    func testEqualizeInterpolatesAWideFirstGapAndEveryVolume() {
        // Offsets 0, 2, 3 → slices at 0, 1, 2, 3; two volumes.
        let values: [Double] = [0, 4, 8, 100, 6, 9, 1000, 1004, 1008]
        let v = VoxelBytes.volume(values + values.map { -$0 }, .float32, size: [3, 1, 3, 2])
        let e = Resample.equalize(v, offsets: [0, 2, 3])
        XCTAssertEqual(e.size, [3, 1, 4, 2])
        let first: [Double] = [0, 4, 8, 50, 5, 8.5, 100, 6, 9, 1000, 1004, 1008]
        XCTAssertEqual(VoxelBytes.decode(e), first + first.map { -$0 })
    }

    func testEqualizeOfShearedStackScalesSpacingAlongTheSliceAxis() {
        // Offsets are along the normal; a slice axis (0.6, 0, 0.8) covers 1 mm of normal in 1.25 mm.
        var v = VoxelBytes.volume([0, 0, 0, 0], .uint8, size: [1, 1, 4])
        v.direction = Matrix3(columns: [Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0.6, 0, 0.8)])
        let e = Resample.equalize(v, offsets: [0, 1, 2, 4])
        XCTAssertEqual(e.spacing[2], 1.25, accuracy: 1e-12)
    }

    func testVoxelValuesRoundTripEveryType() {
        for t in VoxelType.allCases {
            let values: [Double] = t.isSigned ? [-3, 0, 7, 100] : [0, 3, 7, 100]
            let v = VoxelBytes.volume(values, t, size: [4, 1, 1])
            let vv = VoxelValues(v)
            XCTAssertEqual((0..<4).map { vv[$0] }, values, "\(t)")
            XCTAssertEqual(vv.minimum, values.min(), "\(t)")
            let back = vv.volume(with: values)
            XCTAssertEqual(back.voxelType, t)
            XCTAssertEqual(back.data, v.data, "\(t)")
        }
    }

    func testVoxelValuesRoundsAndClampsIntegers() {
        let u8 = VoxelValues(VoxelBytes.volume([0, 0, 0, 0, 0], .uint8, size: [5, 1, 1]))
        XCTAssertEqual(VoxelBytes.decode(u8.volume(with: [-1.4, 300.6, 2.5, 2.49, 254.5])), [0, 255, 3, 2, 255])
        let i16 = VoxelValues(VoxelBytes.volume([0, 0, 0], .int16, size: [3, 1, 1]))
        XCTAssertEqual(VoxelBytes.decode(i16.volume(with: [-40000, 40000, -2.5])), [-32768, 32767, -3])
        let f32 = VoxelValues(VoxelBytes.volume([0, 0], .float32, size: [2, 1, 1]))
        XCTAssertEqual(VoxelBytes.decode(f32.volume(with: [-2.5, 0.25])), [-2.5, 0.25])
    }
}

private extension Volume {
    /// This volume's voxels on `other`'s grid.
    func with(geometryOf other: Volume) -> Volume {
        var v = self
        v.spacing = other.spacing; v.origin = other.origin; v.direction = other.direction
        return v
    }
}
