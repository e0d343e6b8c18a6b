// gzip compression and decompression for every format that needs it (.nii.gz, NRRD gzip encoding,
// MetaImage compressed data). Compression runs libdeflate on fixed-size chunks on all cores and emits
// one gzip member per chunk (RFC 1952 §2.2 allows concatenated members; zlib, Python and nifticlib
// read them as one stream). Decompression uses zlib's inflate, which follows members too.
internal import CNIfTI
import Dispatch
import I2Model

public enum Gzip {
    /// Chunk of input per gzip member: large enough that the ratio matches one stream within ~0.1%.
    static let chunkSize = 4 << 20

    /// Compresses `input` into a list of gzip members, in order. `threads` 1 compresses on the calling
    /// thread; anything else uses every core.
    public static func compress(_ input: UnsafeRawBufferPointer, level: Int, threads: Int = 0) -> [[UInt8]] {
        let n = input.count
        let chunks = max(1, (n + chunkSize - 1) / chunkSize)
        var out = [[UInt8]](repeating: [], count: chunks)
        let lvl = Int32(min(max(level, 0), 12))
        let source = input.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!   // empty input: one empty member
        out.withUnsafeMutableBufferPointer { outs in
            let outBase = outs.baseAddress!
            let work = { (c: Int) in
                guard let compressor = libdeflate_alloc_compressor(lvl) else { return }
                defer { libdeflate_free_compressor(compressor) }
                let start = c * chunkSize
                let len = min(chunkSize, n - start)
                let bound = libdeflate_gzip_compress_bound(compressor, len)
                var buf = [UInt8](repeating: 0, count: bound)
                let written = buf.withUnsafeMutableBytes {
                    libdeflate_gzip_compress(compressor, source + start, len, $0.baseAddress, bound)
                }
                // A right-sized copy: removeLast keeps the bound's capacity, doubling peak memory.
                (outBase + c).pointee = Array(buf[0..<written])
            }
            if threads == 1 { (0..<chunks).forEach(work) } else { DispatchQueue.concurrentPerform(iterations: chunks, execute: work) }
        }
        return out
    }

    public static func compress(_ input: [UInt8], level: Int) -> [[UInt8]] {
        input.withUnsafeBytes { compress($0, level: level) }
    }

    /// True when `bytes` start with the gzip magic number.
    public static func isGzip(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.count >= 2 && bytes[bytes.startIndex] == 0x1f && bytes[bytes.startIndex + 1] == 0x8b
    }

    /// Inflates gzip (any number of members) or zlib data. `expected` sizes the output when known.
    public static func decompress(_ input: ArraySlice<UInt8>, expected: Int? = nil) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: max(expected ?? input.count * 4, 1024))
        var total = 0
        var stream = z_stream()
        var rc = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw I2Error(.io, "zlib initialisation failed") }
        defer { inflateEnd(&stream) }
        try input.withUnsafeBytes { inBuf in
            var consumed = 0
            while consumed < inBuf.count {
                stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress!.assumingMemoryBound(to: Bytef.self) + consumed)
                stream.avail_in = uInt(min(inBuf.count - consumed, Int(UInt32.max)))
                let before = Int(stream.avail_in)
                repeat {
                    if total == out.count { out.append(contentsOf: [UInt8](repeating: 0, count: out.count)) }
                    rc = out.withUnsafeMutableBytes { o -> Int32 in
                        stream.next_out = o.baseAddress!.assumingMemoryBound(to: Bytef.self) + total
                        stream.avail_out = uInt(min(o.count - total, Int(UInt32.max)))
                        let room = Int(stream.avail_out)
                        let r = inflate(&stream, Z_NO_FLUSH)
                        total += room - Int(stream.avail_out)
                        return r
                    }
                } while rc == Z_OK && (stream.avail_in > 0 || total == out.count)
                consumed += before - Int(stream.avail_in)
                if rc == Z_STREAM_END {
                    // Another member may follow; skip trailing zero padding.
                    if consumed < inBuf.count, inBuf[consumed] == 0x1f { inflateReset(&stream); continue }
                    break
                }
                if rc != Z_OK && rc != Z_BUF_ERROR {
                    throw I2Error(.invalidInput, "corrupt compressed data (zlib status \(rc))")
                }
                if rc == Z_BUF_ERROR || stream.avail_in == 0 && consumed >= inBuf.count {
                    throw I2Error(.invalidInput, "compressed data ends early (truncated file?)")
                }
            }
        }
        out.removeLast(out.count - total)
        return out
    }
}
