// gzip compression and decompression for every format that needs it (.nii.gz, NRRD gzip encoding,
// MetaImage compressed data). Compression runs libdeflate on fixed-size chunks on all cores and emits
// one gzip member per chunk, or several where long zero runs are split off (RFC 1952 §2.2 allows
// concatenated members; zlib, Python and nifticlib read them as one stream). Decompression uses zlib's inflate, which follows members too; whole files
// of known size (.nii.gz) are inflated by libdeflate, 2-3x faster.
internal import CNIfTI
import Dispatch
import Foundation
import Synchronization
import I2Model

public enum Gzip {
    /// Chunk of input per gzip member: large enough that the ratio matches one stream within ~0.1%.
    static let chunkSize = 4 << 20

    /// Compresses `input` into gzip members, one entry per chunk, in order. `threads` 1 compresses on the calling
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
                let compressor = Condition.require(libdeflate_alloc_compressor(lvl), .libdeflateAllocation)
                defer { libdeflate_free_compressor(compressor) }
                let start = c * chunkSize
                (outBase + c).pointee = compressChunk(compressor, UnsafeRawBufferPointer(start: source + start, count: min(chunkSize, n - start)))
            }
            if threads == 1 { (0..<chunks).forEach(work) } else { DispatchQueue.concurrentPerform(iterations: chunks, execute: work) }
        }
        return out
    }

    /// Zero runs at least this long are written by `zeroMember`, not libdeflate.
    static let zeroRun = 4 << 10

    /// One chunk as gzip members: zero runs of `zeroRun` bytes or more (most of a label map, which
    /// libdeflate takes as long as any data) as `zeroMember`s, the bytes between them with libdeflate.
    static func compressChunk(_ compressor: OpaquePointer, _ chunk: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        func deflate(_ range: Range<Int>) {
            let bound = libdeflate_gzip_compress_bound(compressor, range.count)
            let buf = [UInt8](unsafeUninitializedCapacity: bound) { b, count in
                count = libdeflate_gzip_compress(compressor, chunk.baseAddress! + range.lowerBound, range.count, b.baseAddress, bound)
            }
            out += buf
        }
        var pending = 0   // start of the bytes not yet written
        var w = 0, words = chunk.count / 8
        let word = { (i: Int) in chunk.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self) }
        while w < words {
            if word(w) != 0 { w += 1; continue }
            // The end of the zero run: 64 bytes at a time (one OR of eight words), then word by word.
            var end = w + 1
            while end + 8 <= words {
                var any: UInt64 = 0
                for i in end..<(end + 8) { any |= word(i) }
                if any != 0 { break }
                end += 8
            }
            while end < words && word(end) == 0 { end += 1 }
            if (end - w) * 8 >= zeroRun {
                if pending < 8 * w { deflate(pending..<(8 * w)) }
                let run = ((end - w) * 8 - 1) / 258 * 258 + 1   // what zeroMember encodes exactly
                out += zeroMember(run)
                pending = 8 * w + run
            }
            w = end
        }
        if pending < chunk.count || out.isEmpty { deflate(pending..<chunk.count) }
        return out
    }

    /// A gzip member holding `count` zero bytes (count = 1 + 258k): one dynamic-Huffman block (RFC 1951
    /// §3.2.7) whose only codes are literal 0, end of block and length 258 (symbol 285), and distance 1:
    /// a literal 0, then k copies of "258 bytes at distance 1", 2 bits each.
    static func zeroMember(_ count: Int) -> [UInt8] {
        // Runs of one length recur (a whole chunk of zeros: most of a sparse mask): made once each.
        zeroMembers.withLock { cache in
            if let m = cache[count] { return m }
            let m = zeroMember(count, crc: zeroCRC(count))
            if cache.count < 64 { cache[count] = m }
            return m
        }
    }
    private static let zeroMembers = Mutex<[Int: [UInt8]]>([:])

    /// CRC-32 of `count` zero bytes, from a zero page at a time.
    static func zeroCRC(_ count: Int) -> UInt32 {
        let page = [UInt8](repeating: 0, count: 1 << 16)
        var crc: UInt32 = 0, left = count
        page.withUnsafeBytes { p in
            while left > 0 {
                let n = min(left, p.count)
                crc = libdeflate_crc32(crc, p.baseAddress, n)
                left -= n
            }
        }
        return crc
    }

    static func zeroMember(_ count: Int, crc: UInt32) -> [UInt8] {
        var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]   // gzip header, OS unknown (RFC 1952)
        out.reserveCapacity(count / 1032 + 40)
        var bits: UInt64 = 0, n = 0
        func put(_ value: UInt64, _ width: Int) {   // LSB first; Huffman codes are given bit-reversed
            bits |= value << UInt64(n); n += width
            while n >= 8 { out.append(UInt8(truncatingIfNeeded: bits)); bits >>= 8; n -= 8 }
        }
        put(1, 1); put(2, 2)                  // BFINAL, BTYPE 10 (dynamic Huffman)
        put(29, 5); put(0, 5); put(14, 4)     // 286 literal/length codes, 1 distance code, 18 code length codes
        // Code length code lengths in the order 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1: symbol 18 gets
        // 1 bit (code 0), lengths 1 and 2 get 2 bits (codes 10, 11).
        for len: UInt64 in [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2] { put(len, 3) }
        // Literal/length code lengths: 0 → 2, 1...255 → none, 256 → 2, 257...284 → none, 285 → 1; distance 0 → 1.
        put(0b11, 2); put(0, 1); put(138 - 11, 7); put(0, 1); put(117 - 11, 7)
        put(0b11, 2); put(0, 1); put(28 - 11, 7)
        put(0b01, 2); put(0b01, 2)
        // Codes: 285 → 0, literal 0 → 10, end of block → 11; distance 0 → 0.
        put(0b01, 2)
        for _ in 0..<(count - 1) / 258 { put(0, 2) }
        put(0b11, 2)
        if n > 0 { put(0, 8 - n) }
        for v in [crc, UInt32(truncatingIfNeeded: count)] { for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * k))) } }
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
    /// Errors name `path` when given (callers reading from a file pass it, or add it with I2Error.at).
    public static func decompress(_ input: ArraySlice<UInt8>, expected: Int? = nil, path: String? = nil) throws -> [UInt8] {
        // `expected` is the header's claim; deflate cannot expand more than 1032-fold (RFC 1951: a
        // 258-byte match costs at least 2 bits), so no more than that is allocated up front: a 134-byte
        // gzip NRRD claiming 64 GiB used to abort here. The output still grows if a claim was low.
        let bound = input.count.multipliedReportingOverflow(by: 1032)
        let claim = min(expected ?? input.count * 4, bound.overflow ? Int.max : bound.partialValue + 1024)
        var out = [UInt8](repeating: 0, count: max(claim, 1024))
        var total = 0
        var stream = z_stream()
        var rc = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw Condition.error(.zlib(rc), path: path) }
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
                if rc != Z_OK && rc != Z_BUF_ERROR { throw Condition.error(.zlib(rc), path: path) }
                if rc == Z_BUF_ERROR || stream.avail_in == 0 && consumed >= inBuf.count {
                    throw Condition.error(.compressedEndsEarly, path: path)
                }
            }
        }
        out.removeLast(out.count - total)
        return out
    }

    /// Bytes `skip ..< skip + count` of the decompressed gzip file at `path`, inflated with libdeflate
    /// member by member straight into the result. nil when the stream does not decompress to exactly
    /// skip + count bytes (callers then read with zlib, which says what is wrong).
    public static func inflateFile(_ path: String, skip: Int, count: Int) -> [UInt8]? {
        guard count > 0 else { return nil }
        // i2 writes the NIfTI header as a member of its own: when the first member is exactly the
        // skipped part, the rest inflates straight into place (a failure there is final: .some(nil));
        // otherwise (nil) the whole stream is inflated and moved down afterwards.
        let separate: [UInt8]?? = withMembers(path) { inflate in
            var header = [UInt8](repeating: 0, count: skip)
            guard skip > 0, header.withUnsafeMutableBytes(inflate) else { return nil }
            var out = [UInt8].uninitialized(count)
            return .some(out.withUnsafeMutableBytes(inflate) ? out : nil)
        }
        if let result = separate { return result }
        return withMembers(path) { inflate in
            var out = [UInt8].uninitialized(skip + count)
            guard out.withUnsafeMutableBytes(inflate) else { return nil }
            if skip > 0 {
                out.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: $0.baseAddress! + skip, byteCount: count) }
                out.removeLast(skip)
            }
            return out
        }
    }

    /// The decompressed gzip file at `path` into `out`, which its members must fill (with libdeflate);
    /// false when they do not.
    public static func inflateFile(_ path: String, into out: UnsafeMutableRawBufferPointer) -> Bool {
        out.count > 0 && withMembers(path) { inflate in inflate(out) ? true : nil } == true
    }

    /// Maps the file and runs `body` with a function that inflates the next members until they fill a
    /// buffer exactly (false when they do not); nil when the file cannot be mapped or `body` gives nil.
    private static func withMembers<R>(_ path: String, _ body: ((UnsafeMutableRawBufferPointer) -> Bool) -> R?) -> R? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0,
              let map = mmap(nil, Int(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else { return nil }
        defer { munmap(map, Int(st.st_size)) }
        guard let d = libdeflate_alloc_decompressor() else { return nil }
        defer { libdeflate_free_decompressor(d) }
        let input = UnsafeRawBufferPointer(start: map, count: Int(st.st_size))
        var consumed = 0
        return body { out in
            var filled = 0
            while filled < out.count && consumed < input.count {
                var used = 0, made = 0
                guard libdeflate_gzip_decompress_ex(d, input.baseAddress! + consumed, input.count - consumed,
                                                    out.baseAddress! + filled, out.count - filled, &used, &made) == LIBDEFLATE_SUCCESS
                else { return false }
                consumed += used
                filled += made
            }
            return filled == out.count
        }
    }
}
