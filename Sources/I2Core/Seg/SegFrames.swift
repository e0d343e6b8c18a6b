// Decoding SEG frames onto a grid: BINARY (bits packed across frame boundaries, LSB first), FRACTIONAL
// (one byte per pixel, 0 ... MaximumFractionalValue) and LABELMAP (pixel value = Segment Number).
// Frames may come in any order; each lands on the slice SegGrid found for it.
import Foundation
import I2DICOM
import I2Model

enum SegFrames {
    /// How FRACTIONAL pixels become membership: on when value >= cutoff (and > 0).
    static func cutoff(_ seg: SegmentationObject, threshold: Double) -> Int {
        max(1, Int((threshold * Double(seg.maximumFractionalValue)).rounded(.up)))
    }

    /// The segment a BINARY/FRACTIONAL frame belongs to.
    static func segmentNumber(_ seg: SegmentationObject, frame i: Int) throws -> Int {
        if let s = seg.frames.segment[i] { return s }
        if seg.segments.count == 1 { return seg.segments[0].number }
        throw I2Error(.badInput, path: seg.path, "frame \(i + 1) has no ReferencedSegmentNumber (Segment Identification macro)")
    }

    /// Calls `on(offset)` for every pixel of frame `i` that belongs to its segment; offset within the frame.
    /// `px` starts at byte `byteOrigin` of the pixel data (a window of it; BINARY only, else 0).
    @inline(__always)
    static func forEachSetPixel(_ seg: SegmentationObject, _ px: UnsafeBufferPointer<UInt8>, frame i: Int,
                                cutoff: Int, byteOrigin: Int = 0, _ on: (Int) throws -> Void) rethrows {
        let plane = seg.rows * seg.columns
        if seg.type == .binary {
            // 64 bits at a time: empty words (most of a mask) cost one compare, and set bits are
            // visited by their trailing-zero count. Words at the frame's ends are masked to it.
            let start = i * plane - 8 * byteOrigin, end = start + plane
            let raw = UnsafeRawPointer(px.baseAddress!)
            for word in (start >> 6)...((end - 1) >> 6) {
                let offset = word << 3
                var w: UInt64 = 0
                if offset + 8 <= px.count {
                    w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                } else {
                    for b in 0..<(px.count - offset) { w |= UInt64(px[offset + b]) << UInt64(8 * b) }
                }
                if w == 0 { continue }
                let base = word << 6
                if base < start { w &= UInt64.max << UInt64(start - base) }
                if end - base < 64 { w &= (1 << UInt64(end - base)) - 1 }
                while w != 0 {
                    try on(base + w.trailingZeroBitCount - start)
                    w &= w - 1
                }
            }
        } else {
            let base = i * plane
            for p in 0..<plane where px[base + p] != 0 && Int(px[base + p]) >= cutoff { try on(p) }
        }
    }

    /// The smallest unsigned type that holds every label.
    static func labelType(_ labels: [Int]) -> VoxelType {
        let m = labels.max() ?? 0
        return m <= 255 ? .uint8 : m <= 65535 ? .uint16 : .uint32
    }

    /// Gives frame `i`'s pixels: a buffer and the byte of the pixel data it starts at. Sources that copy
    /// (file, RLE) fill `scratch`, the caller's buffer, large enough for `frameBytes` of any frame.
    typealias FrameSource = (_ i: Int, _ scratch: UnsafeMutableRawBufferPointer) throws -> (UnsafeBufferPointer<UInt8>, Int)

    /// The bytes of the pixel data holding frame `i` (BINARY frames share their boundary bytes).
    static func frameBytes(_ seg: SegmentationObject, _ i: Int) -> Range<Int> {
        let plane = seg.rows * seg.columns
        return seg.type == .binary ? (i * plane / 8)..<(((i + 1) * plane + 7) / 8)
            : (i * plane * seg.bitsAllocated / 8)..<((i + 1) * plane * seg.bitsAllocated / 8)
    }

    /// One label map: each segment's voxels get its label (`labelID`). An overlap is an error naming both segments.
    /// The label maps are in dcm2niix order (SegToNifti.dcm2niixOrder), made so as the frames are decoded:
    /// reversing the whole volume afterwards is another pass over it.
    static func labelMap(_ seg: SegmentationObject, pixels: UnsafeBufferPointer<UInt8>, grid: SegGrid, threshold: Double) throws -> Volume {
        if seg.type == .labelmap {
            var v = grid.volume
            let labels = seg.segments.map(\.description.labelID)
            v.voxelType = labelType(labels)
            v.data = [UInt8].zeroed(v.voxelCount * v.voxelType.byteCount)
            switch v.voxelType {
            case .uint8: try fillLabelMap(seg, pixels, grid, &v.data, UInt8.self)
            case .uint16: try fillLabelMap(seg, pixels, grid, &v.data, UInt16.self)
            default: try fillLabelMap(seg, pixels, grid, &v.data, UInt32.self)
            }
            v.reverse(axis: 1, voxels: false)
            v.data.withUnsafeBytes([UInt8].mapUntouched)   // for the writer's zero scan
            return v
        }
        return try labelMap(seg, frames: { _, _ in (pixels, 0) }, grid: grid, threshold: threshold)
    }

    /// The label map of a BINARY SEG read from `stream` frame by frame, so the pixel data is never held whole.
    static func labelMap(_ seg: SegmentationObject, stream: SegmentationReader.PixelStream, grid: SegGrid, threshold: Double) throws -> Volume {
        precondition(seg.type == .binary)
        let dcmtk = NSLock()   // reads through DCMTK (not detached) are not thread-safe; pread is
        return try labelMap(seg, frames: { i, scratch in
            let r = frameBytes(seg, i)
            let window = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<min(r.count, stream.count - r.lowerBound)])
            if stream.isDetached { try stream.read(offset: r.lowerBound, into: window) }
            else { try dcmtk.withLock { try stream.read(offset: r.lowerBound, into: window) } }
            return (UnsafeBufferPointer(window.bindMemory(to: UInt8.self)), r.lowerBound)
        }, grid: grid, threshold: threshold)
    }

    /// BINARY or FRACTIONAL frames onto one label map, decoded in parallel by slabs of slices: each slab
    /// takes the frames that land on it in frame order, so the result (and the first overlap reported) is
    /// the same as decoding the frames one after another.
    static func labelMap(_ seg: SegmentationObject, frames: FrameSource, grid: SegGrid, threshold: Double,
                         slabBytes: Int = 4 << 20) throws -> Volume {
        var v = grid.volume
        let labels = seg.segments.map(\.description.labelID)
        v.voxelType = labelType(labels)
        // Zero pages not yet touched: only the slices that frames land on are written (by all cores).
        v.data = [UInt8].zeroed(v.voxelCount * v.voxelType.byteCount)
        switch v.voxelType {
        case .uint8: try fill(UInt8.self, seg, frames, grid, &v.data, threshold, slabBytes)
        case .uint16: try fill(UInt16.self, seg, frames, grid, &v.data, threshold, slabBytes)
        default: try fill(UInt32.self, seg, frames, grid, &v.data, threshold, slabBytes)
        }
        v.reverse(axis: 1, voxels: false)
        v.data.withUnsafeBytes([UInt8].mapUntouched)   // for the writer's zero scan
        return v
    }

    /// Segment number → label and back; two segments with one label cannot share a label map.
    static func labelTables<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, _ seg: SegmentationObject) throws -> ([Int: T], [T: Int]) {
        var labelOf: [Int: T] = [:]
        var segmentOf: [T: Int] = [:]
        for s in seg.segments {
            let l = T(s.description.labelID)
            if let other = segmentOf[l], l != 0 {
                throw I2Error(.badInput, path: seg.path, "segments \(other) and \(s.number) both have label value \(l): they cannot share one label map; use --per-segment")
            }
            labelOf[s.number] = l
            segmentOf[l] = s.number
        }
        return (labelOf, segmentOf)
    }

    static func fill<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, _ seg: SegmentationObject, _ frames: FrameSource,
                                                             _ grid: SegGrid, _ data: inout [UInt8], _ threshold: Double, _ slabBytes: Int) throws {
        let plane = seg.rows * seg.columns
        let (labelOf, segmentOf) = try labelTables(T.self, seg)
        let cut = cutoff(seg, threshold: threshold)
        var onSlice = [[Int]](repeating: [], count: grid.slices)
        for i in 0..<seg.frameCount { onSlice[grid.sliceOfFrame[i]].append(i) }
        let slabSlices = max(1, slabBytes / max(plane * MemoryLayout<T>.size, 1))
        let slabs = (grid.slices + slabSlices - 1) / slabSlices
        let scratchBytes = frameBytes(seg, 0).count + 1
        // Each slab's first failure, as (frame, pixel, error): the smallest is the one a sequential pass meets first.
        var failures = [(Int, Int, Error)?](repeating: nil, count: slabs)
        data.withUnsafeMutableBytes { raw in
            let out = raw.bindMemory(to: T.self)
            failures.withUnsafeMutableBufferPointer { failed in
                DispatchQueue.concurrentPerform(iterations: slabs) { slab in
                    let slices = (slab * slabSlices)..<min(grid.slices, (slab + 1) * slabSlices)
                    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: scratchBytes, alignment: 8)
                    defer { scratch.deallocate() }
                    for k in slices {
                        // A slice frames land on is written whole (its rows reversed below): its pages
                        // taken by writing first, so none is first mapped to the zero page by a read.
                        if !onSlice[k].isEmpty { (out.baseAddress! + k * plane).update(repeating: 0, count: plane) }
                        for i in onSlice[k] {
                            var pixel = -1
                            do {
                                let number = try segmentNumber(seg, frame: i)
                                guard let label = labelOf[number] else {
                                    throw I2Error(.badInput, path: seg.path, "frame \(i + 1) references segment \(number), which SegmentSequence does not describe")
                                }
                                let (px, origin) = try frames(i, scratch)
                                let base = k * plane
                                try forEachSetPixel(seg, px, frame: i, cutoff: cut, byteOrigin: origin) { p in
                                    let old = out[base + p]
                                    if old != 0 && old != label {
                                        pixel = p
                                        throw overlap(seg, segmentOf[old] ?? Int(old), number, voxel: base + p, grid: grid)
                                    }
                                    out[base + p] = label
                                }
                            } catch {
                                failed[slab] = (i, pixel, error)
                                return
                            }
                        }
                        // Rows reversed while the slice is in cache (dcm2niix order).
                        if !onSlice[k].isEmpty {
                            Volume.reverseRuns(UnsafeMutableRawPointer(out.baseAddress! + k * plane), run: seg.columns * MemoryLayout<T>.size, count: seg.rows)
                        }
                    }
                }
            }
        }
        if let first = failures.compactMap({ $0 }).min(by: { ($0.0, $0.1) < ($1.0, $1.1) }) { throw first.2 }
    }

    static func fillLabelMap<T: FixedWidthInteger & UnsignedInteger>(_ seg: SegmentationObject, _ px: UnsafeBufferPointer<UInt8>,
                                                                     _ grid: SegGrid, _ data: inout [UInt8], _: T.Type) throws {
        let labelOf = try labelTables(T.self, seg).0
        try data.withUnsafeMutableBytes { try fillLabelMap(seg, px, grid, $0.bindMemory(to: T.self), labelOf) }
    }

    static func fillLabelMap<T: FixedWidthInteger & UnsignedInteger>(_ seg: SegmentationObject, _ px: UnsafeBufferPointer<UInt8>,
                                                                     _ grid: SegGrid, _ out: UnsafeMutableBufferPointer<T>, _ labelOf: [Int: T]) throws {
        let plane = seg.rows * seg.columns
        let maxValue = seg.bitsAllocated == 16 ? 65535 : 255
        // Pixel value → label; nil for a value no segment describes. Value 0 without a segment is background.
        var table = [T?](repeating: nil, count: maxValue + 1)
        table[0] = 0
        for (n, l) in labelOf where n <= maxValue { table[n] = l }
        let wide = seg.bitsAllocated == 16
        for i in 0..<seg.frameCount {
            let base = grid.sliceOfFrame[i] * plane
            for y in 0..<seg.rows {
                let row = base + (seg.rows - 1 - y) * seg.columns   // rows reversed: dcm2niix order
                for x in 0..<seg.columns {
                    let value = labelmapValue(px, i * plane + y * seg.columns + x, wide: wide)
                    if value == 0 && table[0] == 0 { continue }
                    guard let label = table[value] else {
                        throw I2Error(.badInput, path: seg.path, "frame \(i + 1) holds pixel value \(value), a segment number SegmentSequence does not describe")
                    }
                    out[row + x] = label
                }
            }
        }
    }

    /// Pixel `o` of LABELMAP pixel data: 8 bits, or 16 bits little endian.
    @inline(__always)
    static func labelmapValue(_ px: UnsafeBufferPointer<UInt8>, _ o: Int, wide: Bool) -> Int {
        wide ? Int(px[2 * o]) | Int(px[2 * o + 1]) << 8 : Int(px[o])
    }

    static func overlap(_ seg: SegmentationObject, _ a: Int, _ b: Int, voxel: Int, grid: SegGrid) -> I2Error {
        let name = { (n: Int) -> String in
            let label = seg.segments.first { $0.number == n }?.description.segmentLabel
            return label.map { "\(n) (\($0))" } ?? "\(n)"
        }
        let plane = grid.volume.size[0] * grid.volume.size[1]
        let x = voxel % grid.volume.size[0], y = (voxel % plane) / grid.volume.size[0], z = voxel / plane
        return I2Error(.badInput, path: seg.path,
                       "segments \(name(a)) and \(name(b)) overlap (first at voxel \(x),\(y),\(z)): one label map cannot hold both; use --per-segment for one file per segment")
    }

    /// One segment alone: a uint8 mask (1 inside), or with `probability` the FRACTIONAL values
    /// scaled to 0...1 as float32.
    static func segment(_ seg: SegmentationObject, _ number: Int, pixels: UnsafeBufferPointer<UInt8>, grid: SegGrid,
                        threshold: Double, probability: Bool) throws -> Volume {
        var v = grid.volume
        v.voxelType = probability ? .float32 : .uint8
        v.data = [UInt8].zeroed(v.voxelCount * v.voxelType.byteCount)
        let plane = seg.rows * seg.columns
        let cut = probability ? 1 : cutoff(seg, threshold: threshold)
        let scale = 1 / Float(seg.maximumFractionalValue)
        let px = pixels
        do {
            try v.data.withUnsafeMutableBytes { raw in
                if seg.type == .labelmap {
                    let wide = seg.bitsAllocated == 16
                    for i in 0..<seg.frameCount {
                        let base = grid.sliceOfFrame[i] * plane
                        for p in 0..<plane {
                            let o = i * plane + p
                            if labelmapValue(px, o, wide: wide) == number { raw[base + p] = 1 }
                        }
                    }
                    return
                }
                for i in 0..<seg.frameCount where try segmentNumber(seg, frame: i) == number {
                    let base = grid.sliceOfFrame[i] * plane
                    if probability {
                        for p in 0..<plane {
                            raw.storeBytes(of: Float(px[i * plane + p]) * scale, toByteOffset: 4 * (base + p), as: Float.self)
                        }
                    } else {
                        forEachSetPixel(seg, px, frame: i, cutoff: cut) { p in raw[base + p] = 1 }
                    }
                }
            }
        }
        v.data.withUnsafeBytes([UInt8].mapUntouched)   // for the writer's zero scan
        return v
    }
}
