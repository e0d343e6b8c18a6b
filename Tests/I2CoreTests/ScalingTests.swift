// Scaling.swift tests: one rescale for all slices is kept as the volume's slope/intercept over the
// stored integers (dcm2niix's scl_*); differing ones give float32 values; Philips' precise scaling.
// Volume.applyScale: values written out as the narrowest exact type (stored, int16, int32, else float32).
// Expected values are computed here by hand (or are dcm2niix's header values), never read back from
// the code under test.
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
        Scaling.apply(to: &v, scales: Array(zip(slopes, intercepts)).map { (slope: $0.0, intercept: $0.1) }, sliceVoxels: sliceVoxels)
        XCTAssertEqual(v.data.count, v.voxelCount * v.voxelType.byteCount, "buffer matches the type")
        return v
    }

    /// `stored * slope + intercept` written out by Volume.applyScale.
    func applied(_ values: [Double], _ type: VoxelType, slope: Double, intercept: Double) -> Volume {
        var v = VoxelBytes.volume(values, type, size: size)
        (v.slope, v.intercept) = (slope, intercept)
        v.applyScale()
        XCTAssertEqual(v.data.count, v.voxelCount * v.voxelType.byteCount, "buffer matches the type")
        XCTAssertFalse(v.isScaled)
        return v
    }

    // MARK: Scaling.apply (DICOM → volume)

    func testOneRescaleForAllSlicesKeepsStoredValuesAndSetsSlopeIntercept() {
        let values: [Double] = [0, 1, 1024, 4095, 100, 2000, 3000, 100]
        let v = scaled(values, .int16, slopes: [1, 1], intercepts: [-1024, -1024])
        XCTAssertEqual(v.voxelType, .int16)
        XCTAssertEqual(VoxelBytes.decode(v), values)
        XCTAssertEqual(v.slope, 1)
        XCTAssertEqual(v.intercept, -1024)
    }

    func testRescaleDifferingBetweenSlicesGivesFloat32Values() {
        let v = scaled([1, 2, 3, 4, 1, 2, 3, 4], .uint16, slopes: [2, 0.5], intercepts: [1, -10])
        XCTAssertEqual(v.voxelType, .float32)
        XCTAssertEqual(VoxelBytes.decode(v), [3, 5, 7, 9, -9.5, -9, -8.5, -8])
        XCTAssertFalse(v.isScaled)
    }

    func testFourDimensionalVolumeScalesEverySliceOfEveryVolume() {
        // 2x1 slices, 2 slices x 2 volumes: slopes/intercepts are per stored slice, volume-major.
        var v = VoxelBytes.volume([1, 2, 3, 4, 5, 6, 7, 8], .int16, size: [2, 1, 2, 2])
        Scaling.apply(to: &v, scales: [(1, 0), (1, -10), (2, 0), (2, -10)], sliceVoxels: 2)
        XCTAssertEqual(v.voxelType, .float32)
        XCTAssertEqual(VoxelBytes.decode(v), [1, 2, -7, -6, 10, 12, 4, 6])
    }

    /// dcm2niix's scl_slope/scl_inter for dcm_qa_enh's Philips B0 map (its two image types).
    func testPhilipsPreciseMatchesDcm2niixHeaders() throws {
        let magnitude = try XCTUnwrap(Scaling.philipsPrecise(rs: 1.27985347985347, ri: 0, ss: 8.44864007e-06))
        XCTAssertEqual(Float(magnitude.slope), 118362.2421875)
        XCTAssertEqual(Float(magnitude.intercept), 0)
        let fieldMap = try XCTUnwrap(Scaling.philipsPrecise(rs: 0.24420024420024, ri: -500, ss: 4.095000267))
        XCTAssertEqual(Float(fieldMap.slope), 0.24420166015625)
        XCTAssertEqual(Float(fieldMap.intercept), -499.99993896484375)
        XCTAssertNil(Scaling.philipsPrecise(rs: 1, ri: 0, ss: 0), "no scale slope: display scaling stays")
    }

    // MARK: Volume.applyScale (writers without a scaling field)

    func testInt16WithInterceptMinus1024StaysInt16Shifted() {
        let v = applied([0, 1, 1024, 4095, -1000, 2000, 3000, 100], .int16, slope: 1, intercept: -1024)
        XCTAssertEqual(v.voxelType, .int16)
        XCTAssertEqual(VoxelBytes.decode(v), [-1024, -1023, 0, 3071, -2024, 976, 1976, -924])
    }

    func testTwelveBitUInt16WithNegativeInterceptBecomesInt16() {
        let v = applied([0, 1, 1024, 4095, 4095, 2048, 12, 1023], .uint16, slope: 1, intercept: -1024)
        XCTAssertEqual(v.voxelType, .int16)
        XCTAssertEqual(VoxelBytes.decode(v), [-1024, -1023, 0, 3071, 3071, 1024, -1012, -1])
    }

    func testFullRangeUInt16WithNegativeInterceptBecomesInt32() {
        // 65535 − 1024 = 64511 does not fit int16 and −1024 does not fit uint16.
        let v = applied([0, 65535, 40000, 32768, 7, 8, 9, 10], .uint16, slope: 1, intercept: -1024)
        XCTAssertEqual(v.voxelType, .int32)
        XCTAssertEqual(VoxelBytes.decode(v), [-1024, 64511, 38976, 31744, -1017, -1016, -1015, -1014])
    }

    func testPositiveInterceptThatStillFitsKeepsTheStoredType() {
        let v = applied([0, 1, 2, 3, 60000, 5, 6, 7], .uint16, slope: 1, intercept: 24)
        XCTAssertEqual(v.voxelType, .uint16)
        XCTAssertEqual(VoxelBytes.decode(v), [24, 25, 26, 27, 60024, 29, 30, 31])
    }

    func testFractionalSlopeGivesFloat32WithExactValues() {
        let v = applied([0, 1, 3, 4095, 2, 5, 7, 1001], .int16, slope: 0.5, intercept: -1024)
        XCTAssertEqual(v.voxelType, .float32)
        XCTAssertEqual(VoxelBytes.decode(v), [-1024, -1023.5, -1022.5, 1023.5, -1023, -1021.5, -1020.5, -523.5])
    }

    func testFractionalInterceptGivesFloat32() {
        let v = applied([0, 1, 2, 3, 4, 5, 6, 7], .uint8, slope: 1, intercept: 0.5)
        XCTAssertEqual(v.voxelType, .float32)
        XCTAssertEqual(VoxelBytes.decode(v), [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5])
    }

    func testForEachValueAppliesTheScale() {
        var v = VoxelBytes.volume([0, 1, 2, 3, 4, 5, 6, 7], .int16, size: size)
        (v.slope, v.intercept) = (2, -1)
        var seen: [Double] = []
        v.forEachValue(in: 0..<8) { _, x in seen.append(x) }
        XCTAssertEqual(seen, [-1, 1, 3, 5, 7, 9, 11, 13])
    }

    func testIdentityLeavesDataAndTypeUntouched() {
        let values: [Double] = [0, 65535, 40000, 1, 2, 3, 4, 5]
        var v = VoxelBytes.volume(values, .uint16, size: size)
        let before = v.data
        v.applyScale()
        XCTAssertEqual(v.voxelType, .uint16)
        XCTAssertEqual(v.data, before)
    }
}
