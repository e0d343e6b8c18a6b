// Fast path for the common case: uncompressed little-endian pixel data, at the offset the scan's fast
// index found (SliceHeader.pixelOffset) or else as the last element of the file. It is read with one
// pread straight into the caller's buffer, skipping DCMTK's own copy; the element header just before it
// is checked first, and anything unexpected falls back to DCMTK.
import Foundation

public enum NativePixels {
    static let littleEndianSyntaxes: Set<String> = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1"]

    /// True when `transferSyntax` stores pixels natively in little-endian order.
    public static func applies(to transferSyntax: String) -> Bool { littleEndianSyntaxes.contains(transferSyntax) }

    /// Reads exactly `buffer.count` bytes of pixel data from the end of `path`. Returns false (and
    /// reads nothing useful) when the file does not end with a PixelData element of that length.
    public static func read(path: String, into buffer: UnsafeMutableRawBufferPointer, at offset: Int? = nil) -> Bool {
        read(path: path, length: buffer.count, parts: [(0, buffer)], at: offset)
    }

    /// Reads parts of pixel data of `length` bytes stored at the end of `path`: each part's buffer is
    /// filled from its byte offset in the value. For multi-frame files, so a stack reads only its own
    /// frames (decoding the whole file per stack made a many-stack enhanced file quadratic). The value
    /// starts at `offset` when given (elements may follow it), else it ends the file. Returns false when
    /// no PixelData element of that length is there, or a read fails.
    public static func read(path: String, length: Int, parts: [(offset: Int, buffer: UnsafeMutableRawBufferPointer)], at offset: Int? = nil) -> Bool {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        let size = Int(st.st_size)
        // The value may carry one byte of padding to an even length.
        for padded in [length, length + 1] where padded % 2 == 0 && size >= padded + 12 {
            let start = offset ?? size - padded
            guard start >= 12, start + padded <= size else { continue }
            var header = [UInt8](repeating: 0, count: 12)
            guard pread(fd, &header, 12, off_t(start - 12)) == 12 else { return false }
            let le = UInt32(padded).littleEndianBytes
            let explicit = Array(header[0...3]) == Tag.pixelData.littleEndianBytes && (header[4...5] == [0x4F, 0x57] || header[4...5] == [0x4F, 0x42])
                && header[6...7] == [0, 0] && Array(header[8...11]) == le
            let implicit = Array(header[4...7]) == Tag.pixelData.littleEndianBytes && Array(header[8...11]) == le
            guard explicit || implicit else { continue }
            for part in parts {
                guard part.offset >= 0, part.offset + part.buffer.count <= length else { return false }
                var done = 0
                while done < part.buffer.count {
                    let n = pread(fd, part.buffer.baseAddress! + done, part.buffer.count - done, off_t(start + part.offset + done))
                    if n <= 0 { return false }
                    done += n
                }
            }
            return true
        }
        return false
    }
}

extension UInt32 {
    var littleEndianBytes: [UInt8] { [UInt8(self & 0xFF), UInt8((self >> 8) & 0xFF), UInt8((self >> 16) & 0xFF), UInt8(self >> 24)] }
}
