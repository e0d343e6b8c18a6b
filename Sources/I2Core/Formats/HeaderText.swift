// Shared plumbing for the text-header formats (NRRD, MetaImage): splitting a header into lines,
// parsing numbers with errors that name the field, slicing the sample bytes that follow, and turning
// foreign byte order or ASCII samples into the little-endian layout `Volume.data` holds.
import Foundation
import I2Model

/// Parsing context of one header: every error it raises names the file and the header kind.
struct HeaderText {
    let kind: String      // "NRRD header", "MetaImage header"
    let path: String

    func fail(_ detail: String) -> I2Error { I2Error(.badInput, path: path, "\(kind): \(detail)") }

    /// Splits `bytes` (from `start`) into lines without their terminators, stopping after the line for
    /// which `stop` returns true. Returns the lines, the offset just past the last line read, and
    /// whether `stop` fired (false: the header ran to the end of the file).
    static func lines(_ bytes: [UInt8], from start: Int = 0,
                      stop: (String) -> Bool) -> (lines: [String], end: Int, stopped: Bool) {
        var out: [String] = []
        var i = start
        while i < bytes.count {
            var j = i
            while j < bytes.count && bytes[j] != 0x0A { j += 1 }
            var e = j
            if e > i && bytes[e - 1] == 0x0D { e -= 1 }
            let line = String(decoding: bytes[i..<e], as: UTF8.self)
            i = min(j + 1, bytes.count)
            out.append(line)
            if stop(line) { return (out, i, true) }
        }
        return (out, i, false)
    }

    /// Whitespace-separated numbers of a field; `count` (when given) must match exactly.
    func doubles(_ text: some StringProtocol, field: String, count: Int? = nil) throws -> [Double] {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," })
        var out: [Double] = []
        out.reserveCapacity(parts.count)
        for p in parts {
            guard let d = Double(p) else { throw fail("'\(field)' has a bad number '\(p)'") }
            out.append(d)
        }
        if let n = count, out.count != n {
            throw fail("'\(field)' has \(out.count) values, expected \(n)")
        }
        return out
    }

    func ints(_ text: some StringProtocol, field: String, count: Int? = nil) throws -> [Int] {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        var out: [Int] = []
        for p in parts {
            guard let v = Int(p) else { throw fail("'\(field)' has a bad integer '\(p)'") }
            out.append(v)
        }
        if let n = count, out.count != n {
            throw fail("'\(field)' has \(out.count) values, expected \(n)")
        }
        return out
    }

    func int(_ text: some StringProtocol, field: String) throws -> Int {
        guard let v = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw fail("'\(field)' is not an integer: '\(text)'")
        }
        return v
    }

    /// Checks image sizes and returns the sample byte count, refusing values that would overflow.
    func byteCount(sizes: [Int], type: VoxelType, field: String) throws -> Int {
        var n = type.byteCount
        for s in sizes {
            guard s >= 1 else { throw fail("'\(field)' must be positive, got \(s)") }
            let (m, overflow) = n.multipliedReportingOverflow(by: s)
            guard !overflow, m <= Int(Int32.max) * 64 else { throw fail("'\(field)' is implausibly large") }
            n = m
        }
        return n
    }
}

/// Sample bytes: slicing with truncation checks, byte swapping, ASCII decoding.
enum Samples {
    /// `count` bytes of `bytes` at `offset`; offset -1 means "the last `count` bytes" (data at the end).
    static func slice(_ bytes: [UInt8], at offset: Int, count: Int, path: String) throws -> [UInt8] {
        let start = offset < 0 ? bytes.count - count : offset
        let available = max(0, bytes.count - max(start, 0))
        guard start >= 0, available >= count else {
            throw I2Error(.badInput, path: path, "data ends after \(min(available, count)) of \(count) bytes")
        }
        return Array(bytes[start..<(start + count)])
    }

    /// Reverses the bytes of every `width`-byte sample in place (big-endian → little-endian).
    static func swap(_ data: inout [UInt8], width: Int) {
        guard width > 1 else { return }
        data.withUnsafeMutableBytes { buf in
            let n = buf.count / width
            switch width {
            case 2:
                for i in 0..<n {
                    let v = buf.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)
                    buf.storeBytes(of: v.byteSwapped, toByteOffset: i * 2, as: UInt16.self)
                }
            case 4:
                for i in 0..<n {
                    let v = buf.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)
                    buf.storeBytes(of: v.byteSwapped, toByteOffset: i * 4, as: UInt32.self)
                }
            default:
                for i in 0..<n {
                    let v = buf.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                    buf.storeBytes(of: v.byteSwapped, toByteOffset: i * 8, as: UInt64.self)
                }
            }
        }
    }

    /// Decodes `count` whitespace-separated ASCII samples into little-endian bytes of `type`.
    static func parseText(_ bytes: ArraySlice<UInt8>, count: Int, type: VoxelType, path: String) throws -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count * type.byteCount)
        var got = 0
        var i = bytes.startIndex
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x2C }
        while got < count {
            while i < bytes.endIndex && isSpace(bytes[i]) { i += 1 }
            guard i < bytes.endIndex else { break }
            var j = i
            while j < bytes.endIndex && !isSpace(bytes[j]) { j += 1 }
            let token = String(decoding: bytes[i..<j], as: UTF8.self)
            guard let d = Double(token) else {
                throw I2Error(.badInput, path: path, "bad sample '\(token)' in ASCII data")
            }
            if let r = type.integerRange, !(r.contains(d) && d.rounded() == d) {
                throw I2Error(.badInput, path: path, "ASCII sample \(token) does not fit \(type.rawValue)")
            }
            append(d, as: type, to: &out)
            got += 1
            i = j
        }
        guard got == count else {
            throw I2Error(.badInput, path: path, "data ends after \(got) of \(count) samples")
        }
        return out
    }

    private static func append(_ d: Double, as type: VoxelType, to out: inout [UInt8]) {
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        switch type {
        case .uint8: put(UInt8(d))
        case .int8: put(Int8(d))
        case .uint16: put(UInt16(d))
        case .int16: put(Int16(d))
        case .uint32: put(UInt32(d))
        case .int32: put(Int32(d))
        case .float32: put(Float(d).bitPattern)
        case .float64: put(d.bitPattern)
        }
    }
}

/// Numbers as written into headers: Swift's shortest representation that reads back to the same Double.
func headerNumber(_ d: Double) -> String {
    if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }   // "1" rather than "1.0"
    return "\(d)"
}
