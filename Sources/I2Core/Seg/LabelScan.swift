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

    /// Runs `body` with the volume's voxels typed.
    static func typed<R>(_ v: Volume, _ body: (LabelBuffer) throws -> R) rethrows -> R {
        try v.data.withUnsafeBytes { raw in
            switch v.voxelType {
            case .uint8: return try body(LabelBuffer(raw.bindMemory(to: UInt8.self)))
            case .int8: return try body(LabelBuffer(raw.bindMemory(to: Int8.self)))
            case .uint16: return try body(LabelBuffer(raw.bindMemory(to: UInt16.self)))
            case .int16: return try body(LabelBuffer(raw.bindMemory(to: Int16.self)))
            case .uint32: return try body(LabelBuffer(raw.bindMemory(to: UInt32.self)))
            case .int32: return try body(LabelBuffer(raw.bindMemory(to: Int32.self)))
            case .float32: return try body(LabelBuffer(raw.bindMemory(to: Float.self)))
            case .float64: return try body(LabelBuffer(raw.bindMemory(to: Double.self)))
            }
        }
    }

    /// For each slice, the label values (> 0) present, ascending. Throws on a voxel that is not a label
    /// (negative, fractional, above 65535), naming its value and position.
    static func presence(_ v: Volume, path: String) throws -> [[Int]] {
        let npix = v.size[0] * v.size[1], nz = v.size[2]
        var present = [[Int]](repeating: [], count: nz)
        var bad = [Int?](repeating: nil, count: nz)
        typed(v) { buf in
            present.withUnsafeMutableBufferPointer { out in
                bad.withUnsafeMutableBufferPointer { badOut in
                    let o = out.baseAddress!, b = badOut.baseAddress!
                    let chunks = min(nz, Processors.active * 2)
                    DispatchQueue.concurrentPerform(iterations: max(chunks, 1)) { c in
                        var stamp = [Int32](repeating: -1, count: maxLabel + 1)
                        var k = c
                        while k < nz {
                            let (labels, invalid) = buf.slice(k, npix: npix, stamp: &stamp)
                            (o + k).pointee = labels
                            (b + k).pointee = invalid
                            k += chunks
                        }
                    }
                }
            }
        }
        if let index = bad.lazy.compactMap({ $0 }).first {
            let i = index % npix
            let k = index / npix
            throw I2Error(.badInput, path: path, "voxel (\(i % v.size[0]), \(i / v.size[0]), \(k)) holds \(typed(v) { $0.value(at: index) }), not a label value: labels must be whole numbers from 0 to \(maxLabel)")
        }
        return present
    }
}

/// A typed view of a label map's voxels; the passes are written once over `T`. Each skips runs of
/// background (8 zero bytes at a time): most of a label map is 0.
struct LabelBuffer {
    private let visitSlice: (Int, Int, inout [Int32]) -> ([Int], Int?)
    private let valueAt: (Int) -> String
    private let packBits: (Int, Int, UnsafePointer<Int32>, UnsafePointer<Int32>, Int, UnsafeMutablePointer<UInt8>) -> Void
    private let occupy: (Int, Int, UnsafePointer<Int32>, UnsafeMutablePointer<UInt8>) -> Bool
    private let fillLabels: (Int, Int, UnsafePointer<Int32>, UnsafeMutableRawPointer, Bool) -> Void

    init<T: LabelVoxel>(_ p: UnsafeBufferPointer<T>) {
        let raw = UnsafeRawPointer(p.baseAddress ?? UnsafePointer(bitPattern: 8)!)
        let perWord = max(1, 8 / MemoryLayout<T>.stride)
        /// Calls `body(i)` for the voxels i of base..<base+n except those in all-zero 8-byte words.
        @inline(__always) func nonzero(_ base: Int, _ n: Int, _ body: (Int) -> Bool) {
            var i = base
            let end = base + n
            while i + perWord <= end {
                if raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.stride, as: UInt64.self) != 0 {
                    for j in i..<(i + perWord) where !body(j) { return }
                }
                i += perWord
            }
            while i < end { if !body(i) { return }; i += 1 }
        }
        visitSlice = { k, npix, stamp in
            var labels: [Int] = []
            var invalid: Int?
            let stampCount = stamp.count
            stamp.withUnsafeMutableBufferPointer { st in
                nonzero(k * npix, npix) { i in
                    let l = p[i].label
                    if l == 0 { return true }
                    if l < 0 || l >= stampCount { invalid = i; return false }
                    if st[l] != Int32(k) { st[l] = Int32(k); labels.append(l) }
                    return true
                }
            }
            return invalid == nil ? (labels.sorted(), nil) : (labels, invalid)
        }
        valueAt = { "\(p[$0])" }
        // Sets bit (frameOf[segment] * frameBits + pixel) for every voxel of slice k whose label is a segment
        // with a frame there (frameOf: per segment index, -1 for none).
        packBits = { k, npix, segmentOf, frameOf, frameBits, bits in
            nonzero(k * npix, npix) { v in
                let l = p[v].label
                if l <= 0 { return true }
                let s = Int(segmentOf[l])
                if s < 0 { return true }
                let f = Int(frameOf[s])
                if f < 0 { return true }
                let bit = f * frameBits + v - k * npix
                bits[bit >> 3] |= 1 << UInt8(bit & 7)
                return true
            }
        }
        // Marks the segment voxels of slice k in `occupied` (one bit per voxel of the volume); true when one was set already.
        occupy = { k, npix, segmentOf, occ in
            var overlap = false
            nonzero(k * npix, npix) { v in
                let l = p[v].label
                if l <= 0 || segmentOf[l] < 0 { return true }
                if occ[v >> 3] & (1 << UInt8(v & 7)) != 0 { overlap = true }
                occ[v >> 3] |= 1 << UInt8(v & 7)
                return true
            }
            return overlap
        }
        // Writes the segment numbers (`numberOf[label]`, 0 when not a segment) of slice k to `out`.
        fillLabels = { k, npix, numberOf, out, sixteen in
            let base = k * npix
            if sixteen {
                let o = out.assumingMemoryBound(to: UInt16.self)
                for i in 0..<npix { let l = p[base + i].label; o[i] = l > 0 ? UInt16(numberOf[l]) : 0 }
            } else {
                let o = out.assumingMemoryBound(to: UInt8.self)
                for i in 0..<npix { let l = p[base + i].label; o[i] = l > 0 ? UInt8(numberOf[l]) : 0 }
            }
        }
    }

    func slice(_ k: Int, npix: Int, stamp: inout [Int32]) -> ([Int], Int?) { visitSlice(k, npix, &stamp) }
    func value(at i: Int) -> String { valueAt(i) }
    func pack(slice k: Int, npix: Int, segmentOf: UnsafePointer<Int32>, frameOf: UnsafePointer<Int32>, frameBits: Int,
              bits: UnsafeMutablePointer<UInt8>) {
        packBits(k, npix, segmentOf, frameOf, frameBits, bits)
    }
    func occupy(slice k: Int, npix: Int, segmentOf: UnsafePointer<Int32>, occupied: UnsafeMutablePointer<UInt8>) -> Bool {
        occupy(k, npix, segmentOf, occupied)
    }
    func labels(slice k: Int, npix: Int, numberOf: UnsafePointer<Int32>, into out: UnsafeMutableRawPointer, sixteen: Bool) {
        fillLabels(k, npix, numberOf, out, sixteen)
    }
}
