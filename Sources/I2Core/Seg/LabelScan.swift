// LabelScan: the voxel passes of nifti2seg over an integer label map (any stored type): which labels
// occur on which slice, overlaps between masks, and a slice's SEG frames (BINARY bits, or LABELMAP
// segment numbers). Each pass touches every voxel once, generic over the voxel type so the compiler
// specializes the inner loops.
import Foundation
import I2Model

/// A stored voxel type read as a label: non-negative integers; anything else maps to -1 (invalid).
protocol LabelVoxel { var label: Int { get } }
extension UInt8: LabelVoxel { @inline(__always) var label: Int { Int(self) } }
extension Int8: LabelVoxel { @inline(__always) var label: Int { self < 0 ? -1 : Int(self) } }
extension UInt16: LabelVoxel { @inline(__always) var label: Int { Int(self) } }
extension Int16: LabelVoxel { @inline(__always) var label: Int { self < 0 ? -1 : Int(self) } }
extension UInt32: LabelVoxel { @inline(__always) var label: Int { Int(self) } }
extension Int32: LabelVoxel { @inline(__always) var label: Int { self < 0 ? -1 : Int(self) } }
extension Float: LabelVoxel {
    @inline(__always) var label: Int { self >= 0 && self < 4e9 && self == self.rounded(.towardZero) ? Int(self) : -1 }
}
extension Double: LabelVoxel {
    @inline(__always) var label: Int { self >= 0 && self < 4e9 && self == self.rounded(.towardZero) ? Int(self) : -1 }
}

enum LabelScan {
    /// The largest label value a SEG can record (dcmqi labelID, and LABELMAP's 16-bit pixels).
    static let maxLabel = 65535

    /// Runs `body` with the map's voxels typed, laid onto the frames.
    static func typed<R>(_ m: LabelMap, _ body: (LabelBuffer) throws -> R) rethrows -> R {
        let layout = LabelBuffer.Layout(nx: m.grid.size[0], ny: m.grid.size[1], nz: m.grid.size[2],
                                        rowsReversed: m.rowsReversed, slicesReversed: m.slicesReversed)
        return try m.withVoxels { raw in
            switch m.voxelType {
            case .uint8: return try body(LabelBuffer(raw.bindMemory(to: UInt8.self), layout))
            case .int8: return try body(LabelBuffer(raw.bindMemory(to: Int8.self), layout))
            case .uint16: return try body(LabelBuffer(raw.bindMemory(to: UInt16.self), layout))
            case .int16: return try body(LabelBuffer(raw.bindMemory(to: Int16.self), layout))
            case .uint32: return try body(LabelBuffer(raw.bindMemory(to: UInt32.self), layout))
            case .int32: return try body(LabelBuffer(raw.bindMemory(to: Int32.self), layout))
            case .float32: return try body(LabelBuffer(raw.bindMemory(to: Float.self), layout))
            case .float64: return try body(LabelBuffer(raw.bindMemory(to: Double.self), layout))
            }
        }
    }

    /// For each frame slice, the label values (> 0) present, ascending, and the map's content hash (the
    /// label part of the default UID seed). Throws on a voxel that is not a label (negative, fractional,
    /// above 65535), naming its value and its position in the file's own order.
    ///
    /// The hash is made in the same pass: per frame slice, the sum of a bijective mix of (pixel in the
    /// frame, label) over its labelled voxels; then Hash of the grid's size and those sums. Any changed
    /// label changes it; the order the map is stored in, its voxel type and whether it was mapped, read or
    /// moved do not, and slices are summed in parallel without reading the background twice.
    static func presence(_ m: LabelMap, path: String) throws -> (labels: [[Int]], hash: String) {
        let nz = m.grid.size[2]
        var present = [[Int]](repeating: [], count: nz)
        var bad = [Int?](repeating: nil, count: nz)
        var sums = [UInt64](repeating: 0, count: nz)
        typed(m) { buf in
            present.withUnsafeMutableBufferPointer { out in
                bad.withUnsafeMutableBufferPointer { badOut in
                    sums.withUnsafeMutableBufferPointer { sumOut in
                        let o = out.baseAddress!, b = badOut.baseAddress!, s = sumOut.baseAddress!
                        let chunks = min(nz, Processors.active * 2)
                        DispatchQueue.concurrentPerform(iterations: max(chunks, 1)) { c in
                            var stamp = [Int32](repeating: -1, count: maxLabel + 1)
                            var k = c
                            while k < nz {
                                let (labels, invalid, sum) = buf.slice(k, stamp: &stamp)
                                (o + k).pointee = labels
                                (b + k).pointee = invalid
                                (s + k).pointee = sum
                                k += chunks
                            }
                        }
                    }
                }
            }
        }
        if let index = bad.lazy.compactMap({ $0 }).first {
            let npix = m.grid.size[0] * m.grid.size[1]
            let i = index % npix
            throw I2Error(.badInput, path: path, "voxel (\(i % m.grid.size[0]), \(i / m.grid.size[0]), \(index / npix)) holds \(typed(m) { $0.value(at: index) }), not a label value: labels must be whole numbers from 0 to \(maxLabel)")
        }
        var hashed: [UInt8] = []
        for x in m.grid.size.prefix(3).map(UInt64.init) + sums { withUnsafeBytes(of: x.littleEndian) { hashed += $0 } }
        return (present, Hash.hex(hashed))
    }

    /// Hash.fmix (murmur3's fmix64) of (pixel, label) packed into one word: a bijection, so two
    /// labelled voxels never mix alike.
    @inline(__always) static func mix(pixel: Int, label: Int) -> UInt64 {
        Hash.fmix((UInt64(truncatingIfNeeded: pixel) << 16 | UInt64(truncatingIfNeeded: label)) &+ 0x9E37_79B9_7F4A_7C15)
    }
}

/// A typed view of a label map's voxels, laid onto the frames; the passes are written once over `T`.
/// Slice k and row y of a frame are stored slice and row `slice(k)`, `row(y)`. Each pass skips runs of
/// background (64, then 8 zero bytes at a time): most of a label map is 0.
struct LabelBuffer {
    struct Layout {
        var nx: Int, ny: Int, nz: Int
        var rowsReversed: Bool, slicesReversed: Bool
        var npix: Int { nx * ny }
        /// The stored slice of frame slice k.
        @inline(__always) func slice(_ k: Int) -> Int { slicesReversed ? nz - 1 - k : k }
        /// The first stored voxel of frame row y of frame slice k.
        @inline(__always) func rowStart(_ k: Int, _ y: Int) -> Int { slice(k) * npix + (rowsReversed ? ny - 1 - y : y) * nx }
    }

    private let visitSlice: (Int, inout [Int32]) -> ([Int], Int?, UInt64)
    private let valueAt: (Int) -> String
    private let packBits: (Int, UnsafePointer<Int32>, UnsafePointer<Int32>, Int, UnsafeMutablePointer<UInt8>) -> Void
    private let occupy: (Int, UnsafePointer<Int32>, UnsafeMutablePointer<UInt8>) -> Bool
    private let fillLabels: (Int, UnsafePointer<Int32>, UnsafeMutableRawPointer, Bool) -> Void

    init<T: LabelVoxel>(_ p: UnsafeBufferPointer<T>, _ layout: Layout) {
        let raw = UnsafeRawPointer(p.baseAddress ?? UnsafePointer(bitPattern: 8)!)
        let stride = MemoryLayout<T>.stride
        let perWord = max(1, 8 / stride), perBlock = max(1, 64 / stride)
        let (nx, npix) = (layout.nx, layout.npix)
        /// Calls `body(i)` for the stored voxels i of base..<base+n except those in all-zero 64- and 8-byte runs.
        @inline(__always) func nonzero(_ base: Int, _ n: Int, _ body: (Int) -> Bool) {
            var i = base
            let end = base + n
            while i < end {
                if i + perBlock <= end {
                    let q = raw + i * stride
                    var any: UInt64 = 0
                    for w in 0..<8 { any |= q.loadUnaligned(fromByteOffset: w * 8, as: UInt64.self) }
                    if any != 0 {
                        for w in 0..<8 where q.loadUnaligned(fromByteOffset: w * 8, as: UInt64.self) != 0 {
                            let j0 = i + w * perWord
                            for j in j0..<(j0 + perWord) where !body(j) { return }
                        }
                    }
                    i += perBlock
                } else if i + perWord <= end {
                    if raw.loadUnaligned(fromByteOffset: i * stride, as: UInt64.self) != 0 {
                        for j in i..<(i + perWord) where !body(j) { return }
                    }
                    i += perWord
                } else {
                    if !body(i) { return }
                    i += 1
                }
            }
        }
        /// `nonzero` over frame slice k row by row: `body(stored index, pixel index in the frame)`.
        @inline(__always) func frameVoxels(_ k: Int, _ body: (Int, Int) -> Void) {
            for y in 0..<layout.ny {
                let start = layout.rowStart(k, y), pixel0 = y * nx - start
                nonzero(start, nx) { i in body(i, pixel0 + i); return true }
            }
        }
        visitSlice = { k, stamp in
            var labels: [Int] = []
            var invalid: Int?
            var sum: UInt64 = 0
            let stampCount = stamp.count
            stamp.withUnsafeMutableBufferPointer { st in
                // Rows as stored (one forward pass), each voxel summed at its pixel in the frame.
                let stored = layout.slice(k)
                for y in 0..<layout.ny {
                    let start = stored * npix + y * nx
                    let pixel0 = (layout.rowsReversed ? layout.ny - 1 - y : y) * nx - start
                    nonzero(start, nx) { i in
                        let l = p[i].label
                        if l == 0 { return true }
                        if l < 0 || l >= stampCount { invalid = i; return false }
                        if st[l] != Int32(k) { st[l] = Int32(k); labels.append(l) }
                        sum &+= LabelScan.mix(pixel: pixel0 + i, label: l)
                        return true
                    }
                    if invalid != nil { break }
                }
            }
            return invalid == nil ? (labels.sorted(), nil, sum) : (labels, invalid, sum)
        }
        valueAt = { "\(p[$0])" }
        // Sets bit (frameOf[segment] * frameBits + pixel) for every voxel of frame slice k whose label is a
        // segment with a frame there (frameOf: per segment index, -1 for none).
        packBits = { k, segmentOf, frameOf, frameBits, bits in
            frameVoxels(k) { i, pixel in
                let l = p[i].label
                if l <= 0 { return }
                let s = Int(segmentOf[l])
                if s < 0 { return }
                let f = Int(frameOf[s])
                if f < 0 { return }
                let bit = f * frameBits + pixel
                bits[bit >> 3] |= 1 << UInt8(bit & 7)
            }
        }
        // Marks the segment voxels of frame slice k in `occupied` (one bit per voxel of the frames); true
        // when one was set already.
        occupy = { k, segmentOf, occ in
            var overlap = false
            frameVoxels(k) { i, pixel in
                let l = p[i].label
                if l <= 0 || segmentOf[l] < 0 { return }
                let v = k * npix + pixel
                if occ[v >> 3] & (1 << UInt8(v & 7)) != 0 { overlap = true }
                occ[v >> 3] |= 1 << UInt8(v & 7)
            }
            return overlap
        }
        // Writes the segment numbers (`numberOf[label]`, 0 when not a segment) of frame slice k to `out`.
        fillLabels = { k, numberOf, out, sixteen in
            for y in 0..<layout.ny {
                let base = layout.rowStart(k, y)
                if sixteen {
                    let o = out.assumingMemoryBound(to: UInt16.self) + y * nx
                    for x in 0..<nx { let l = p[base + x].label; o[x] = l > 0 ? UInt16(numberOf[l]) : 0 }
                } else {
                    let o = out.assumingMemoryBound(to: UInt8.self) + y * nx
                    for x in 0..<nx { let l = p[base + x].label; o[x] = l > 0 ? UInt8(numberOf[l]) : 0 }
                }
            }
        }
    }

    /// Frame slice k's labels, its first invalid voxel (stored index) if any, and its hash sum.
    func slice(_ k: Int, stamp: inout [Int32]) -> ([Int], Int?, UInt64) { visitSlice(k, &stamp) }
    func value(at i: Int) -> String { valueAt(i) }
    func pack(slice k: Int, segmentOf: UnsafePointer<Int32>, frameOf: UnsafePointer<Int32>, frameBits: Int,
              bits: UnsafeMutablePointer<UInt8>) {
        packBits(k, segmentOf, frameOf, frameBits, bits)
    }
    func occupy(slice k: Int, segmentOf: UnsafePointer<Int32>, occupied: UnsafeMutablePointer<UInt8>) -> Bool {
        occupy(k, segmentOf, occupied)
    }
    func labels(slice k: Int, numberOf: UnsafePointer<Int32>, into out: UnsafeMutableRawPointer, sixteen: Bool) {
        fillLabels(k, numberOf, out, sixteen)
    }
}
