// Scaling.swift tests: RescaleSlope/Intercept applied per slice, and the output type chosen so the
// written values equal slope*stored+intercept exactly (stored type, then int16, int32, else float32).
// Expected values are computed here by hand, never read back from the code under test.
import Foundation
import XCTest
@testable import I2Core
import I2Model

enum VoxelBytes {
    /// Little-endian bytes of integer or float values in `type`.
    static func encode(_ values: [Double], as type: VoxelType) -> [UInt8] {
        func bytes<T>(_ a: [T]) -> [UInt8] { a.withUnsafeBytes { Array($0) } }
        switch type {
        case .uint8: return bytes(values.map { UInt8($0) })
        case .int8: return bytes(values.map { Int8($0) })
        case .uint16: return bytes(values.map { UInt16($0) })
        case .int16: return bytes(values.map { Int16($0) })
        case .uint32: return bytes(values.map { UInt32($0) })
        case .int32: return bytes(values.map { Int32($0) })
        case .float32: return bytes(values.map { Float($0) })
        case .float64: return bytes(values)
        }
    }

    /// The values a volume holds, as Doubles.
    static func decode(_ v: Volume) -> [Double] {
        v.data.withUnsafeBytes { raw -> [Double] in
            switch v.voxelType {
            case .uint8: return raw.bindMemory(to: UInt8.self).map(Double.init)
            case .int8: return raw.bindMemory(to: Int8.self).map(Double.init)
            case .uint16: return raw.bindMemory(to: UInt16.self).map(Double.init)
            case .int16: return raw.bindMemory(to: Int16.self).map(Double.init)
            case .uint32: return raw.bindMemory(to: UInt32.self).map(Double.init)
            case .int32: return raw.bindMemory(to: Int32.self).map(Double.init)
            case .float32: return raw.bindMemory(to: Float.self).map(Double.init)
            case .float64: return Array(raw.bindMemory(to: Double.self))
            }
        }
    }

    /// A volume of `size` holding `values` (x fastest).
    static func volume(_ values: [Double], _ type: VoxelType, size: [Int]) -> Volume {
        precondition(values.count == size.reduce(1, *))
        return Volume(size: size, spacing: [1, 1, 1], origin: .zero, direction: .identity, voxelType: type,
                      data: encode(values, as: type))
    }
}

final class ScalingTests: XCTestCase {
    /// Two 2x2 slices.
    let size = [2, 2, 2]
    let sliceVoxels = 4

    func scaled(_ values: [Double], _ type: VoxelType, slopes: [Double], intercepts: [Double]) -> Volume {
        var v = VoxelBytes.volume(values, type, size: size)
        Scaling.apply(to: &v, slopes: slopes, intercepts: intercepts, sliceVoxels: sliceVoxels)
        XCTAssertEqual(v.data.count, v.voxelCount * v.voxelType.byteCount, "buffer matches the type")
        return v
    }

    func testInt16WithInterceptMinus1024StaysInt16Shifted() {
        let v = scaled([0, 1, 1024, 4095, -1000, 2000, 3000, 100], .int16, slopes: [1, 1], intercepts: [-1024, -1024])
        XCTAssertEqual(v.voxelType, .int16)
        XCTAssertEqual(VoxelBytes.decode(v), [-1024, -1023, 0, 3071, -2024, 976, 1976, -924])
    }

    func testTwelveBitUInt16WithNegativeInterceptBecomesInt16() {
        let v = scaled([0, 1, 1024, 4095, 4095, 2048, 12, 1023], .uint16, slopes: [1, 1], intercepts: [-1024, -1024])
        XCTAssertEqual(v.voxelType, .int16)
        XCTAssertEqual(VoxelBytes.decode(v), [-1024, -1023, 0, 3071, 3071, 1024, -1012, -1])
    }

    func testFullRangeUInt16WithNegativeInterceptBecomesInt32() {
        // 65535 − 1024 = 64511 does not fit int16 and −1024 does not fit uint16.
        let v = scaled([0, 65535, 40000, 32768, 7, 8, 9, 10], .uint16, slopes: [1, 1], intercepts: [-1024, -1024])
        XCTAssertEqual(v.voxelType, .int32)
        XCTAssertEqual(VoxelBytes.decode(v), [-1024, 64511, 38976, 31744, -1017, -1016, -1015, -1014])
    }

    func testPositiveInterceptThatStillFitsKeepsTheStoredType() {
        let v = scaled([0, 1, 2, 3, 60000, 5, 6, 7], .uint16, slopes: [1, 1], intercepts: [24, 24])
        XCTAssertEqual(v.voxelType, .uint16)
        XCTAssertEqual(VoxelBytes.decode(v), [24, 25, 26, 27, 60024, 29, 30, 31])
    }

    func testInt16OverflowingAfterInterceptBecomesInt32() {
        let v = scaled([32767, 0, 0, 0, 0, 0, 0, -32768], .int16, slopes: [1, 1], intercepts: [1, -1])
        XCTAssertEqual(v.voxelType, .int32)
        XCTAssertEqual(VoxelBytes.decode(v), [32768, 1, 1, 1, -1, -1, -1, -32769])
    }

    func testFractionalSlopeGivesFloat32WithExactValues() {
        let v = scaled([0, 1, 3, 4095, 2, 5, 7, 1001], .int16, slopes: [0.5, 0.5], intercepts: [-1024, -1024])
        XCTAssertEqual(v.voxelType, .float32)
        XCTAssertEqual(VoxelBytes.decode(v), [-1024, -1023.5, -1022.5, 1023.5, -1023, -1021.5, -1020.5, -523.5])
    }

    func testFractionalSlopeOnInt32ConvertsInPlaceToFloat32() {
        let v = scaled([0, 1, -3, 100_000, 2, 5, -7, 1001], .int32, slopes: [0.25, 0.25], intercepts: [0, 0])
        XCTAssertEqual(v.voxelType, .float32)
        XCTAssertEqual(VoxelBytes.decode(v), [0, 0.25, -0.75, 25000, 0.5, 1.25, -1.75, 250.25])
    }

    func testFractionalInterceptGivesFloat32() {
        let v = scaled([0, 1, 2, 3, 4, 5, 6, 7], .uint8, slopes: [1, 1], intercepts: [0.5, 0.5])
        XCTAssertEqual(v.voxelType, .float32)
        XCTAssertEqual(VoxelBytes.decode(v), [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5])
    }

    func testEachSliceUsesItsOwnIntegralIntercept() {
        let v = scaled([10, 20, 30, 40, 10, 20, 30, 40], .uint16, slopes: [1, 1], intercepts: [0, -1000])
        XCTAssertEqual(v.voxelType, .int16)
        XCTAssertEqual(VoxelBytes.decode(v), [10, 20, 30, 40, -990, -980, -970, -960])
    }

    func testEachSliceUsesItsOwnIntegralSlope() {
        let v = scaled([1, 2, 3, 4, 1, 2, 3, 4], .int16, slopes: [2, -3], intercepts: [1, 0])
        XCTAssertEqual(v.voxelType, .int16)
        XCTAssertEqual(VoxelBytes.decode(v), [3, 5, 7, 9, -3, -6, -9, -12])
    }

    func testRangeIsTakenOverAllSlicesNotJustTheFirst() {
        // Slice 0 alone fits uint16; slice 1's intercept takes it below zero.
        let v = scaled([100, 200, 300, 400, 0, 1, 2, 3], .uint16, slopes: [1, 1], intercepts: [0, -5])
        XCTAssertEqual(v.voxelType, .int16)
        XCTAssertEqual(VoxelBytes.decode(v), [100, 200, 300, 400, -5, -4, -3, -2])
    }

    func testIdentityLeavesDataAndTypeUntouched() {
        let values: [Double] = [0, 65535, 40000, 1, 2, 3, 4, 5]
        var v = VoxelBytes.volume(values, .uint16, size: size)
        let before = v.data
        Scaling.apply(to: &v, slopes: [1, 1], intercepts: [0, 0], sliceVoxels: sliceVoxels)
        XCTAssertEqual(v.voxelType, .uint16)
        XCTAssertEqual(v.data, before)
    }

    func testFourDimensionalVolumeScalesEverySliceOfEveryVolume() {
        // 2x1 slices, 2 slices x 2 volumes: slopes/intercepts are per stored slice, volume-major.
        var v = VoxelBytes.volume([1, 2, 3, 4, 5, 6, 7, 8], .int16, size: [2, 1, 2, 2])
        Scaling.apply(to: &v, slopes: [1, 1, 2, 2], intercepts: [0, -10, 0, -10], sliceVoxels: 2)
        XCTAssertEqual(v.voxelType, .int16)
        XCTAssertEqual(VoxelBytes.decode(v), [1, 2, -7, -6, 10, 12, 4, 6])
    }
}
