// RLE Lossless (PS3.5 Annex G) for SEG frames, both ways. Each frame is one fragment: the 64-byte header
// (number of segments, their offsets), then one PackBits-coded Byte Segment per byte of the pixel, most
// significant first, each padded to even length.
// BINARY (Bits Allocated 1): Annex G pads every Composite Pixel Code to whole bytes, so each pixel is one
// byte, 0 or 1, in a single segment (CP 2301). That is what pylibjpeg-rle (2.2+, pydicom's RLE plugin,
// so highdicom) decodes; pydicom's own decoder and DCMTK (3.6.7, so dcmqi) refuse RLE with 1 bit allocated.
// The decoder also takes a segment holding the frame's packed bits, as some writers made them.
import Foundation
import I2Model

enum SegRLE {
    /// PackBits output, row by row (no run crosses a row: Annex G's encoder does the same).
    struct PackBits {
        var out: [UInt8] = []
        private var literal = 0, literalAt = 0

        /// `n` bytes of value `v`.
        mutating func run(_ v: UInt8, _ n: Int) {
            var n = n
            while n > 0 {
                let c = min(n, 128)
                if c == 1 {
                    if literal == 0 || literal == 128 { literal = 0; literalAt = out.count; out.append(0) }
                    out.append(v)
                    literal += 1
                    out[literalAt] = UInt8(literal - 1)
                } else {
                    literal = 0
                    out += [UInt8(257 - c), v]   // -(c - 1) as a signed byte
                }
                n -= c
            }
        }
        mutating func endRow() { literal = 0 }
    }

    /// The fragment of one frame from its Byte Segments.
    static func fragment(_ segments: [[UInt8]]) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 64)
        func put(_ v: Int, at i: Int) { for b in 0..<4 { header[i + b] = UInt8(truncatingIfNeeded: v >> (8 * b)) } }
        put(segments.count, at: 0)
        var offset = 64
        for (i, s) in segments.enumerated() { put(offset, at: 4 + 4 * i); offset += s.count + s.count % 2 }
        var out = header
        out.reserveCapacity(offset)
        for s in segments { out += s; if s.count % 2 == 1 { out.append(0) } }
        return out
    }

    /// A BINARY frame given as bits (LSB first, starting at the buffer's first bit): one byte per pixel.
    static func encode(bits: UnsafeRawBufferPointer, rows: Int, columns: Int) -> [UInt8] {
        var w = PackBits()
        /// 64 bits from bit `i` on (fewer valid near the end; the rest read as zero).
        func word(_ i: Int) -> UInt64 {
            let byte = i >> 3
            var v: UInt64 = 0
            if byte + 8 <= bits.count {
                v = UInt64(littleEndian: bits.loadUnaligned(fromByteOffset: byte, as: UInt64.self))
            } else {
                for b in 0..<max(0, bits.count - byte) { v |= UInt64(bits[byte + b]) << UInt64(8 * b) }
            }
            return v >> UInt64(i & 7)
        }
        for r in 0..<rows {
            var i = r * columns
            let end = i + columns
            while i < end {
                let v = UInt8(truncatingIfNeeded: word(i) & 1)
                // The next pixel of the other value: the first set bit of the words flipped to v = 0.
                var j = i
                while j < end {
                    let x = v == 1 ? ~word(j) : word(j)
                    let valid = 64 - (j & 7)
                    let t = x.trailingZeroBitCount
                    if t < valid { j += t; break }
                    j += valid
                }
                j = min(j, end)
                w.run(v, j - i)
                i = j
            }
            w.endRow()
        }
        return fragment([w.out])
    }

    /// A LABELMAP frame of `bytesPerPixel` (1 or 2, little endian) bytes per pixel: one segment per byte.
    static func encode(bytes: UnsafeRawBufferPointer, bytesPerPixel: Int, rows: Int, columns: Int) -> [UInt8] {
        var segments: [[UInt8]] = []
        for plane in (0..<bytesPerPixel).reversed() {   // most significant byte first
            var w = PackBits()
            for r in 0..<rows {
                var i = r * columns
                let end = i + columns
                while i < end {
                    let v = bytes[i * bytesPerPixel + plane]
                    var j = i + 1
                    while j < end && bytes[j * bytesPerPixel + plane] == v { j += 1 }
                    w.run(v, j - i)
                    i = j
                }
                w.endRow()
            }
            segments.append(w.out)
        }
        return fragment(segments)
    }

    /// Decodes the fragments of a BINARY SEG (one per frame) into its native form: bits LSB first, frames
    /// packed one after another across byte boundaries.
    static func decodeBinary(_ fragments: [UnsafeRawBufferPointer], rows: Int, columns: Int, path: String) throws -> [UInt8] {
        try checkExpansion(fragments, rows: rows, columns: columns, path: path)
        var out = [UInt8](repeating: 0, count: (rows * columns * fragments.count + 7) / 8)
        try out.withUnsafeMutableBytes { o in
            try decodeBinary(fragments, frames: 0..<fragments.count, rows: rows, columns: columns, into: o, origin: 0, path: path)
        }
        return out
    }

    /// PackBits expands 2 bytes into at most 128: a frame of rows x columns one-byte pixels needs a
    /// fragment of at least rows x columns / 64 bytes past its header. Checked before allocating by the
    /// claimed size, so 3 frames "of 65535 x 65535" in a few bytes are refused, not a 1.6 GB buffer.
    static func checkExpansion(_ fragments: [UnsafeRawBufferPointer], rows: Int, columns: Int, path: String) throws {
        let (npix, overflow) = rows.multipliedReportingOverflow(by: columns)
        for (f, src) in fragments.enumerated() where overflow || npix > 64 * max(src.count - 64, 0) + 64 {
            throw I2Error(.badInput, path: path, "frame \(f + 1): RLE: a fragment of \(src.count) bytes cannot hold \(columns)x\(rows) pixels")
        }
    }

    /// Decodes `frames` into `out`, a zeroed window of the native bit stream starting at its byte `origin`.
    static func decodeBinary(_ fragments: [UnsafeRawBufferPointer], frames: Range<Int>, rows: Int, columns: Int,
                             into out: UnsafeMutableRawBufferPointer, origin: Int, path: String) throws {
        let npix = rows * columns
        for f in frames {
            let src = fragments[f]
            func bad(_ why: String) -> I2Error { I2Error(.badInput, path: path, "frame \(f + 1): RLE: \(why)") }
            guard src.count >= 64 else { throw bad("fragment shorter than its 64-byte header") }
            let segments = Int(src.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian)
            let start = Int(src.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian)
            guard segments == 1 else { throw bad("\(segments) segments, 1 expected for BINARY") }
            guard start >= 64 && start <= src.count else { throw bad("segment offset \(start) outside the fragment") }
            // PackBits: n in 0...127 copies n + 1 bytes, n in 129...255 repeats the next byte 257 - n times,
            // 128 is a no-op. `run(at, count, byte)` gets each run of decoded bytes (literals one by one).
            func decode(limit: Int, _ run: (Int, Int, UInt8) -> Void) -> Int {
                var n = 0, i = start
                while i < src.count && n < limit {
                    let h = Int(src[i]); i += 1
                    if h < 128 {
                        let c = min(h + 1, limit - n, src.count - i)
                        for k in 0..<c { run(n + k, 1, src[i + k]) }
                        n += c; i += h + 1
                    } else if h > 128, i < src.count {
                        let c = min(257 - h, limit - n)
                        run(n, c, src[i])
                        n += c; i += 1
                    }
                }
                return n
            }
            let bit0 = f * npix - 8 * origin   // the frame's first pixel in `out`
            @inline(__always) func set(_ p: Int) { let b = bit0 + p; out[b >> 3] |= 1 << UInt8(b & 7) }
            // One byte per pixel (Annex G), or the frame's bits packed, as some writers made them.
            let length = decode(limit: npix) { _, _, _ in }
            if length == npix {
                _ = decode(limit: npix) { at, count, v in if v != 0 { for p in at..<(at + count) { set(p) } } }
            } else if length == (npix + 7) / 8 {
                _ = decode(limit: length) { at, count, v in
                    guard v != 0 else { return }
                    for q in at..<(at + count) { for b in 0..<8 where v & (1 << b) != 0 && 8 * q + b < npix { set(8 * q + b) } }
                }
            } else {
                throw bad("decodes to \(length) bytes, \(npix) expected (one per pixel)")
            }
        }
    }
}
