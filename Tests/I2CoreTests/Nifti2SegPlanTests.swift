// nifti2seg in-process: label scanning (presence per slice, invalid voxels), segment numbering and frame
// choice (SegPlan), bit packing across frame boundaries, overlap detection for several masks, and the
// grid check's messages.
import Foundation
import XCTest
@testable import I2Core
import I2Model

final class Nifti2SegPlanTests: XCTestCase {
    /// A 3x3x2 int16 label map with the given voxel values (x fastest).
    func volume(_ values: [Int16], size: [Int] = [3, 3, 2]) -> Volume {
        var bytes: [UInt8] = []
        for v in values { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        return Volume(size: size, spacing: [1, 1, 1], origin: .zero, direction: .identity, voxelType: .int16, data: bytes)
    }

    func metadata(_ labels: [Int]) -> SegmentMetadata {
        let c = CodedConcept(codeValue: "85756007", codingSchemeDesignator: "SCT", codeMeaning: "Tissue")
        return SegmentMetadata(segmentAttributes: [labels.map {
            var d = SegmentDescription(labelID: $0, segmentAlgorithmType: .manual, segmentedPropertyCategory: c, segmentedPropertyType: c)
            d.segmentLabel = "L\($0)"
            return d
        }])
    }

    let map: [Int16] = [0, 42, 0, 0, 0, 0, 300, 0, 0,
                        5, 5, 0, 0, 0, 0, 0, 0, 42]

    func testPresencePerSlice() throws {
        XCTAssertEqual(try LabelScan.presence(volume(map), path: "m"), [[42, 300], [5, 42]])
        XCTAssertThrowsError(try LabelScan.presence(volume([0, -1] + Array(repeating: 0, count: 16)), path: "m")) { e in
            XCTAssertTrue("\(e)".contains("voxel (1, 0, 0) holds -1"), "\(e)")
        }
    }

    func testSegmentsNumberedByLabelValueFramesBySegmentThenSlice() throws {
        let o = Nifti2SegOptions(inputs: ["m"], reference: "r", output: "o")
        let plan = try SegPlan(options: o, metadata: metadata([300, 5, 42, 7]), presence: [LabelScan.presence(volume(map), path: "m")], warn: { _ in })
        XCTAssertEqual(plan.segments.map(\.number), [1, 2, 3])
        XCTAssertEqual(plan.segments.map(\.originalLabel), [5, 42, 300])
        XCTAssertEqual(plan.frames, [SegmentationFrame(segmentNumber: 1, slice: 1), SegmentationFrame(segmentNumber: 2, slice: 0),
                                     SegmentationFrame(segmentNumber: 2, slice: 1), SegmentationFrame(segmentNumber: 3, slice: 0)])
        var keep = o
        keep.keepEmptySegments = true
        keep.keepEmptyFrames = true
        let all = try SegPlan(options: keep, metadata: metadata([300, 5, 42, 7]), presence: [LabelScan.presence(volume(map), path: "m")], warn: { _ in })
        XCTAssertEqual(all.segments.map(\.originalLabel), [5, 7, 42, 300])
        XCTAssertEqual(all.frames.count, 8)
    }

    func testUndescribedLabelIsAnErrorOrGeneric() throws {
        var o = Nifti2SegOptions(inputs: ["m"], reference: "r", output: "o")
        o.meta = "meta.json"
        let presence = [try LabelScan.presence(volume(map), path: "m")]
        XCTAssertThrowsError(try SegPlan(options: o, metadata: metadata([5, 42]), presence: presence, warn: { _ in })) { e in
            XCTAssertTrue("\(e)".contains("label value 300 not described in meta.json"), "\(e)")
        }
        o.genericUnknownLabels = true
        var warnings: [String] = []
        let plan = try SegPlan(options: o, metadata: metadata([5, 42]), presence: presence, warn: { warnings.append($0) })
        XCTAssertEqual(plan.segments.last?.description.segmentLabel, "Label 300")
        XCTAssertEqual(warnings.count, 1)
    }

    /// 3x3 frames (9 pixels): frame 2 starts at bit 9, inside the second byte.
    func testBitsPackedAcrossFrameBoundaries() throws {
        let o = Nifti2SegOptions(inputs: ["m"], reference: "r", output: "o")
        let v = volume(map)
        let plan = try SegPlan(options: o, metadata: metadata([5, 42, 300]), presence: [LabelScan.presence(v, path: "m")], warn: { _ in })
        var seg = Segmentation(segmentationType: .binary, segments: plan.segments, frames: plan.frames, sourceSlices: [], rows: 3, columns: 3)
        seg.segmentsOverlap = .no
        let buffer = plan.packed([v], seg: seg)
        var bits: [Int] = []
        for i in 0..<(plan.frames.count * 9) where buffer[i / 8] & (1 << (i % 8)) != 0 { bits.append(i) }
        // frame 0: segment 1 (label 5) on slice 1 → pixels 0, 1; frame 1: label 42 slice 0 → pixel 1;
        // frame 2: label 42 slice 1 → pixel 8; frame 3: label 300 slice 0 → pixel 6.
        XCTAssertEqual(bits, [0, 1, 9 + 1, 18 + 8, 27 + 6])
        XCTAssertEqual(seg.pixelDataLength, 6)
        // Decoded from RLE (frames byte-aligned there, one byte per pixel): the same bits.
        var fragments = [[UInt8]](repeating: [], count: plan.frames.count)
        let lock = NSLock()
        try plan.produce([v], seg: seg) { f, bytes in
            let fragment = SegRLE.encode(bits: bytes, rows: 3, columns: 3)
            lock.lock(); fragments[f] = fragment; lock.unlock()
        }
        let decoded = try fragments.flatMap { $0 }.withUnsafeBytes { raw in
            var at = 0
            let parts = fragments.map { f -> UnsafeRawBufferPointer in
                defer { at += f.count }
                return UnsafeRawBufferPointer(rebasing: raw[at..<(at + f.count)])
            }
            return try SegRLE.decodeBinary(parts, rows: 3, columns: 3, path: "x")
        }
        XCTAssertEqual(decoded, Array(buffer.prefix(decoded.count)))
    }

    /// PackBits as Annex G defines it: runs of 2...128 as (1 - n, byte), others literal (n - 1, bytes...),
    /// rows separately; one byte per pixel for BINARY; segments padded to even length.
    func testRLEFragments() {
        let bits: [UInt8] = [0b0000_0110, 0b1111_1111, 0b0000_0001]   // 20 pixels: 0 1 1 0 0 0 0 0 | 1 x8 | 1 0 0 0
        let f = bits.withUnsafeBytes { SegRLE.encode(bits: $0, rows: 2, columns: 10) }
        XCTAssertEqual(Array(f[0..<8]), [1, 0, 0, 0, 64, 0, 0, 0])
        // Row 0: 0, 1 1, 0 0 0 0 0, 1 1 ; row 1: 1 1 1 1 1 1 1, 0 0 0
        XCTAssertEqual(Array(f[64...]), [0, 0, 255, 1, 252, 0, 255, 1, 250, 1, 254, 0])
        let wide: [UInt8] = [1, 2, 1, 2, 1, 2]   // 3 pixels of 0x0201
        let g = wide.withUnsafeBytes { SegRLE.encode(bytes: $0, bytesPerPixel: 2, rows: 1, columns: 3) }
        XCTAssertEqual(Array(g[0..<12]), [2, 0, 0, 0, 64, 0, 0, 0, 66, 0, 0, 0])
        XCTAssertEqual(Array(g[64...]), [254, 2, 254, 1])
    }

    func testOverlapOfSeveralMasks() throws {
        let a = volume([1, 1, 0, 0, 0, 0, 0, 0, 0] + Array(repeating: 0, count: 9))
        let b = volume([0, 1, 1, 0, 0, 0, 0, 0, 0] + Array(repeating: 0, count: 9))
        var o = Nifti2SegOptions(inputs: ["a", "b"], reference: "r", output: "o")
        o.meta = "m"
        var m = metadata([1])
        m.segmentAttributes.append(metadata([1]).segmentAttributes[0])
        let plan = try SegPlan(options: o, metadata: m, presence: [a, b].map { try LabelScan.presence($0, path: "x") }, warn: { _ in })
        let seg = Segmentation(segmentationType: .binary, segments: plan.segments, frames: plan.frames, sourceSlices: [], rows: 3, columns: 3)
        XCTAssertTrue(plan.overlap([a, b], npix: seg.rows * seg.columns))
        let c = volume([0, 0, 1, 0, 0, 0, 0, 0, 0] + Array(repeating: 0, count: 9))
        XCTAssertFalse(plan.overlap([a, c], npix: seg.rows * seg.columns))
    }
}
