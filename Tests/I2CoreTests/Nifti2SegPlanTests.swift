// nifti2seg in-process: label scanning (presence per slice, invalid voxels), segment numbering and frame
// choice (SegPlan), bit packing across frame boundaries, overlap detection for several masks, and the
// grid check's messages.
import Foundation
import XCTest
@testable import I2Core
import I2Model

final class Nifti2SegPlanTests: XCTestCase {
    /// A 3x3x2 int16 label map with the given voxel values (x fastest).
    func volume(_ values: [Int16], size: [Int] = [3, 3, 2]) -> LabelMap {
        var bytes: [UInt8] = []
        for v in values { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        return LabelMap(Volume(size: size, spacing: [1, 1, 1], origin: .zero, direction: .identity, voxelType: .int16, data: bytes))
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
        XCTAssertEqual(try LabelScan.presence(volume(map), path: "m").labels, [[42, 300], [5, 42]])
        XCTAssertThrowsError(try LabelScan.presence(volume([0, -1] + Array(repeating: 0, count: 16)), path: "m").labels) { e in
            XCTAssertTrue("\(e)".contains("voxel (1, 0, 0) holds -1"), "\(e)")
        }
    }

    /// The content hash (the default UID seed's label part): every change of one voxel's label, a label
    /// moved by one voxel or to another slice, and the grid's shape change it; the voxel type does not.
    func testContentHashChangesWithEveryLabelChange() throws {
        func hash(_ values: [Int16], size: [Int] = [3, 3, 2]) throws -> String { try LabelScan.presence(volume(values, size: size), path: "m").hash }
        let base = try hash(map)
        var seen: Set<String> = [base]
        for i in map.indices {
            for v: Int16 in [0, 1, 5, 42, 300, 301] where v != map[i] {
                var changed = map
                changed[i] = v
                seen.insert(try hash(changed))
            }
        }
        XCTAssertEqual(seen.count, 1 + map.count * 5, "one label changed anywhere: a new hash every time")
        XCTAssertNotEqual(try hash(map, size: [9, 1, 2]), base, "the same values on another grid")
        let bytes = map.map { UInt8($0 > 255 ? 7 : $0) }, wide = map.map { $0 > 255 ? 7 : $0 }
        let narrow = LabelMap(Volume(size: [3, 3, 2], spacing: [1, 1, 1], origin: .zero, direction: .identity, voxelType: .uint8, data: bytes))
        XCTAssertEqual(try LabelScan.presence(narrow, path: "m").hash, try hash(wide), "uint8 or int16, the same labels")
    }

    func testSegmentsNumberedByLabelValueFramesBySegmentThenSlice() throws {
        let o = Nifti2SegOptions(inputs: ["m"], reference: "r", output: "o")
        let plan = try SegPlan(options: o, metadata: metadata([300, 5, 42, 7]), presence: [LabelScan.presence(volume(map), path: "m").labels], warn: { _ in })
        XCTAssertEqual(plan.segments.map(\.number), [1, 2, 3])
        XCTAssertEqual(plan.segments.map(\.originalLabel), [5, 42, 300])
        XCTAssertEqual(plan.frames, [SegmentationFrame(segmentNumber: 1, slice: 1), SegmentationFrame(segmentNumber: 2, slice: 0),
                                     SegmentationFrame(segmentNumber: 2, slice: 1), SegmentationFrame(segmentNumber: 3, slice: 0)])
        var keep = o
        keep.keepEmptySegments = true
        keep.keepEmptyFrames = true
        let all = try SegPlan(options: keep, metadata: metadata([300, 5, 42, 7]), presence: [LabelScan.presence(volume(map), path: "m").labels], warn: { _ in })
        XCTAssertEqual(all.segments.map(\.originalLabel), [5, 7, 42, 300])
        XCTAssertEqual(all.frames.count, 8)
    }

    func testUndescribedLabelIsAnErrorOrGeneric() throws {
        var o = Nifti2SegOptions(inputs: ["m"], reference: "r", output: "o")
        o.meta = "meta.json"
        let presence = [try LabelScan.presence(volume(map), path: "m").labels]
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
        let plan = try SegPlan(options: o, metadata: metadata([5, 42, 300]), presence: [LabelScan.presence(v, path: "m").labels], warn: { _ in })
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
        let plan = try SegPlan(options: o, metadata: m, presence: [a, b].map { try LabelScan.presence($0, path: "x").labels }, warn: { _ in })
        XCTAssertTrue(plan.overlap([a, b]))
        let c = volume([0, 0, 1, 0, 0, 0, 0, 0, 0] + Array(repeating: 0, count: 9))
        XCTAssertFalse(plan.overlap([a, c]))
    }

    /// A map whose rows or slices run against the frames' is scanned where it lies (LabelBuffer follows
    /// the order); it must give exactly what the same map moved into the frames' order gives: labels per
    /// slice, BINARY and LABELMAP frames, overlaps and the content hash. 37x11x5 int16 (rows of 74 bytes
    /// cross the 64-byte runs the scans skip), random labels with long runs of 0.
    func testReversedRowsAndSlicesScanAsIfMoved() throws {
        var rng = SystemRandomNumberGenerator()
        let size = [37, 11, 5], n = 37 * 11 * 5
        let values = (0..<n).map { _ in Int16.random(in: 0...9, using: &rng) < 7 ? 0 : Int16.random(in: 1...4, using: &rng) }
        let other = (0..<n).map { _ in Int16.random(in: 0...9, using: &rng) < 8 ? 0 : Int16(1) }
        for (rows, slices) in [(true, false), (false, true), (true, true)] {
            let plan = [(axis: 0, reversed: false), (axis: 1, reversed: rows), (axis: 2, reversed: slices)]
            var followed = [volume(values, size: size), volume(other, size: size)]
            var moved = followed
            for i in 0..<2 { followed[i].align(plan, moveVoxels: false); moved[i].align(plan, moveVoxels: true) }
            XCTAssertEqual(followed[0].rowsReversed, rows)
            XCTAssertEqual(followed[0].slicesReversed, slices)
            XCTAssertFalse(moved[0].rowsReversed || moved[0].slicesReversed)
            XCTAssertEqual(followed[0].grid.origin, moved[0].grid.origin)
            XCTAssertEqual(try LabelScan.presence(followed[0], path: "m").hash, try LabelScan.presence(moved[0], path: "m").hash)
            XCTAssertEqual(try LabelScan.presence(followed[0], path: "m").labels, try LabelScan.presence(moved[0], path: "m").labels)
            for type in [SegmentationTypeValues.binary, .labelmap] {
                var o = Nifti2SegOptions(inputs: ["m"], reference: "r", output: "o")
                o.type = type
                let segPlan = try SegPlan(options: o, metadata: metadata([1, 2, 3, 4]), presence: [LabelScan.presence(moved[0], path: "m").labels], warn: { _ in })
                let seg = Segmentation(segmentationType: type, segments: segPlan.segments, frames: segPlan.frames, sourceSlices: [], rows: 11, columns: 37)
                func frames(_ maps: [LabelMap]) throws -> [[UInt8]] {
                    var out = [[UInt8]](repeating: [], count: segPlan.frames.count)
                    let lock = NSLock()
                    try segPlan.produce(maps, seg: seg) { f, bytes in lock.lock(); out[f] = Array(bytes); lock.unlock() }
                    return out
                }
                XCTAssertEqual(try frames([followed[0]]), try frames([moved[0]]), "\(type), rows \(rows), slices \(slices)")
                if type == .binary { XCTAssertEqual(segPlan.packed([followed[0]], seg: seg), segPlan.packed([moved[0]], seg: seg)) }
            }
            var o = Nifti2SegOptions(inputs: ["a", "b"], reference: "r", output: "o")
            o.meta = "m"
            var m = metadata([1, 2, 3, 4])
            m.segmentAttributes.append(metadata([1]).segmentAttributes[0])
            let twoPlan = try SegPlan(options: o, metadata: m, presence: moved.map { try LabelScan.presence($0, path: "x").labels }, warn: { _ in })
            XCTAssertEqual(twoPlan.overlap(followed), twoPlan.overlap(moved))
        }
    }
}
