// In-process checks of seg2nifti's decoding: bits packed across frame boundaries (frames of 23x3
// pixels, not a multiple of 8), frames in any order, sparse slices on the regular grid, overlaps,
// restored label values, and fractional thresholds.
import XCTest
@testable import I2Core
@testable import I2DICOM
import I2Model

final class Seg2NiftiFramesTests: XCTestCase {
    let rows = 3, cols = 23

    func segment(_ n: Int, label: Int? = nil) -> SegmentEntry {
        let code = CodedConcept(codeValue: "1", codingSchemeDesignator: "SCT", codeMeaning: "x")
        var d = SegmentDescription(labelID: label ?? n, segmentAlgorithmType: .manual, segmentedPropertyCategory: code, segmentedPropertyType: code)
        d.segmentLabel = "s\(n)"
        return SegmentEntry(number: n, description: d, originalLabel: label ?? n)
    }

    /// A SEG whose frame i is at z = zs[i] and belongs to segments[i].
    func seg(type: SegmentationTypeValues = .binary, zs: [Double], segments: [Int], entries: [SegmentEntry]) -> SegmentationObject {
        SegmentationObject(path: "test.dcm", sopClassUID: SegmentationSOPClass.segmentation, type: type, fractionalType: nil,
                           maximumFractionalValue: 255, rows: rows, columns: cols, frameCount: zs.count,
                           bitsAllocated: type == .binary ? 1 : 8, orientation: [1, 0, 0, 0, 1, 0], pixelSpacing: [0.5, 0.7],
                           spacingBetweenSlices: 2, sliceThickness: 2, frameOfReferenceUID: nil, referencedSeriesUIDs: [],
                           segments: entries,
                           frames: SegmentationFrames(segment: segments, position: zs.map { Vector3(10, 20, $0) },
                                                      sourceUID: zs.map { _ in nil }, dimensionIndex: zs.map { _ in [] }),
                           seriesMetadata: SegmentMetadata(segmentAttributes: []))
    }

    /// Packs per-frame boolean planes into one bit stream, LSB first, running across frame boundaries.
    func pack(_ frames: [[Bool]]) -> [UInt8] {
        let bits = frames.flatMap { $0 }
        var out = [UInt8](repeating: 0, count: (bits.count + 7) / 8)
        for (i, b) in bits.enumerated() where b { out[i >> 3] |= 1 << UInt8(i & 7) }
        return out
    }

    /// SegFrames.labelMap's result (dcm2niix order: each frame's rows reversed) back in the frames' row order.
    func labelMap(_ s: SegmentationObject, pixels: [UInt8], grid: SegGrid, threshold: Double) throws -> Volume {
        var v = try pixels.withUnsafeBufferPointer { try SegFrames.labelMap(s, pixels: $0, grid: grid, threshold: threshold) }
        v.reverse(axis: 1)
        return v
    }
    func segmentMask(_ s: SegmentationObject, _ n: Int, pixels: [UInt8], grid: SegGrid, threshold: Double, probability: Bool) throws -> Volume {
        try pixels.withUnsafeBufferPointer { try SegFrames.segment(s, n, pixels: $0, grid: grid, threshold: threshold, probability: probability) }
    }

    func testBitsAcrossFrameBoundariesAnyOrderSparse() throws {
        let plane = rows * cols   // 69: every frame after the first starts mid-byte
        let a = (0..<plane).map { $0 % 3 == 0 }, b = (0..<plane).map { $0 % 5 == 1 && $0 % 3 != 0 }
        // Frames out of order; z = 4 mm has no frame (a gap on the 2 mm grid); label 42 restored for segment 2.
        let s = seg(zs: [6, 0, 2], segments: [1, 2, 1], entries: [segment(1), segment(2, label: 42)])
        let grid = try SegGrid.own(s)
        XCTAssertEqual(grid.volume.size, [cols, rows, 4])
        XCTAssertEqual(grid.volume.spacing, [0.7, 0.5, 2])
        XCTAssertEqual(grid.sliceOfFrame, [3, 0, 1])
        let v = try labelMap(s, pixels: pack([a, b, a]), grid: grid, threshold: 0.5)
        XCTAssertEqual(v.voxelType, .uint8)
        for p in 0..<plane {
            XCTAssertEqual(v.data[3 * plane + p], a[p] ? 1 : 0)
            XCTAssertEqual(v.data[0 * plane + p], b[p] ? 42 : 0)
            XCTAssertEqual(v.data[1 * plane + p], a[p] ? 1 : 0)
            XCTAssertEqual(v.data[2 * plane + p], 0)
        }
        // As decoded: rows reversed, the grid with them (what `i2 convert` gives the series).
        let raw = try pack([a, b, a]).withUnsafeBufferPointer { try SegFrames.labelMap(s, pixels: $0, grid: grid, threshold: 0.5) }
        var reversed = grid.volume
        reversed.reverse(axis: 1, voxels: false)
        XCTAssertEqual(raw.origin, reversed.origin)
        XCTAssertEqual(raw.direction, reversed.direction)
        XCTAssertEqual(raw.data[3 * plane + (rows - 1) * cols + 3], a[3] ? 1 : 0)
        XCTAssertEqual(raw.data[3 * plane + 3], a[(rows - 1) * cols + 3] ? 1 : 0)
    }

    func testOverlapNamesBothSegments() throws {
        let plane = rows * cols
        let a = (0..<plane).map { $0 == 30 }
        let s = seg(zs: [0, 0], segments: [1, 2], entries: [segment(1), segment(2)])
        let grid = try SegGrid.own(s)
        XCTAssertThrowsError(try labelMap(s, pixels: pack([a, a]), grid: grid, threshold: 0.5)) { e in
            XCTAssertTrue("\(e)".contains("segments 1 (s1) and 2 (s2) overlap"), "\(e)")
        }
        let m = try segmentMask(s, 2, pixels: pack([a, a]), grid: grid, threshold: 0.5, probability: false)
        XCTAssertEqual(m.data.reduce(0) { $0 + Int($1) }, 1)
    }

    func testSlabsInParallelGiveTheSequentialResultAndFirstOverlap() throws {
        let plane = rows * cols
        let a = (0..<plane).map { $0 % 3 == 0 }, b = (0..<plane).map { $0 % 5 == 1 && $0 % 3 != 0 }
        let s = seg(zs: [6, 0, 2, 0], segments: [1, 2, 1, 1], entries: [segment(1), segment(2, label: 42)])
        let grid = try SegGrid.own(s)
        let px = pack([a, b, a, a])
        // One slice per slab: every slice decoded on its own, in any order.
        let slabbed = try px.withUnsafeBufferPointer { p in
            try SegFrames.labelMap(s, frames: { _, _ in (p, 0) }, grid: grid, threshold: 0.5, slabBytes: plane)
        }
        XCTAssertEqual(slabbed.data, try px.withUnsafeBufferPointer { try SegFrames.labelMap(s, pixels: $0, grid: grid, threshold: 0.5).data })
        // Overlaps on slice 0 (frame 4) and slice 3 (frame 3): a sequential pass meets frame 3's first.
        let bit = (0..<plane).map { $0 == 30 }
        let o = seg(zs: [6, 0, 6, 0], segments: [1, 1, 2, 2], entries: [segment(1), segment(2)])
        XCTAssertThrowsError(try pack([bit, bit, bit, bit]).withUnsafeBufferPointer { p in
            try SegFrames.labelMap(o, frames: { _, _ in (p, 0) }, grid: try SegGrid.own(o), threshold: 0.5, slabBytes: plane)
        }) { e in
            XCTAssertTrue("\(e)".contains("first at voxel 7,1,3"), "\(e)")
        }
    }

    func testLargeLabelsWiden() throws {
        let s = seg(zs: [0], segments: [1], entries: [segment(1, label: 300)])
        let v = try labelMap(s, pixels: pack([[true] + Array(repeating: false, count: rows * cols - 1)]),
                                       grid: try SegGrid.own(s), threshold: 0.5)
        XCTAssertEqual(v.voxelType, .uint16)
        XCTAssertEqual(Array(v.data.prefix(2)), [44, 1])   // 300 little-endian
    }

    func testFractionalThreshold() throws {
        var s = seg(type: .fractional, zs: [0], segments: [1], entries: [segment(1)])
        s.maximumFractionalValue = 255
        var px = [UInt8](repeating: 0, count: rows * cols)
        px[0] = 127; px[1] = 128; px[2] = 255
        let v = try labelMap(s, pixels: px, grid: try SegGrid.own(s), threshold: 0.5)
        XCTAssertEqual(Array(v.data.prefix(3)), [0, 1, 1])
        let p = try segmentMask(s, 1, pixels: px, grid: try SegGrid.own(s), threshold: 0.5, probability: true)
        XCTAssertEqual(p.voxelType, .float32)
        XCTAssertEqual(p.data.withUnsafeBytes { $0.load(fromByteOffset: 8, as: Float.self) }, 1)
    }

    func testIrregularPositionsRefused() {
        let s = seg(zs: [0, 2, 4.9], segments: [1, 1, 1], entries: [segment(1)])
        XCTAssertThrowsError(try SegGrid.own(s)) { e in XCTAssertTrue("\(e)".contains("not on a regular grid"), "\(e)") }
    }
}
