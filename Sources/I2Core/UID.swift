// DICOM UIDs under the "2.25" root (ITU-T X.667 / PS3.5 B.2): "2.25." followed by a UUID written as
// one decimal integer. This needs no registered organisation root, and is at most 44 characters.
// make() uses a random (version 4) UUID; derived(from:) a name-based (version 3, MD5) UUID, so the
// same seed always gives the same UID (re-running a job re-creates, not duplicates, its objects).

enum UID {
    /// A new, random UID.
    static func make() -> String {
        var rng = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in bytes.indices { bytes[i] = rng.next() }
        return fromUUID(bytes, version: 4)
    }

    /// A deterministic UID for `seed`: equal seeds give equal UIDs, different seeds different ones
    /// (up to MD5 collisions, irrelevant for non-adversarial seeds such as "<series UID>/seg").
    static func derived(from seed: String) -> String {
        fromUUID(MD5.digest(Array(seed.utf8)), version: 3)
    }

    /// True when `uid` is a syntactically valid UID: dot-separated numeric components without
    /// leading zeros, at most 64 characters.
    static func isValid(_ uid: String) -> Bool {
        guard !uid.isEmpty, uid.utf8.count <= 64 else { return false }
        return uid.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { c in
            !c.isEmpty && c.allSatisfy(\.isASCIIDigit) && (c == "0" || c.first != "0")
        }
    }

    /// Sets the RFC 4122 version and variant bits, then writes the 128 bits as a decimal integer.
    static func fromUUID(_ raw: [UInt8], version: UInt8) -> String {
        var b = raw
        b[6] = (b[6] & 0x0F) | (version << 4)
        b[8] = (b[8] & 0x3F) | 0x80
        return "2.25." + decimal(b)
    }

    /// A big-endian unsigned integer of any length in decimal (no leading zeros).
    static func decimal(_ bytes: [UInt8]) -> String {
        // Long division by 10 over 32-bit limbs, least significant digit first.
        var limbs: [UInt32] = stride(from: 0, to: bytes.count, by: 4).map { i in
            bytes[i..<min(i + 4, bytes.count)].reduce(0) { $0 << 8 | UInt32($1) }
        }
        var digits: [UInt8] = []
        while limbs.contains(where: { $0 != 0 }) {
            var rem: UInt64 = 0
            for i in limbs.indices {
                let cur = rem << 32 | UInt64(limbs[i])
                limbs[i] = UInt32(cur / 10)
                rem = cur % 10
            }
            digits.append(UInt8(rem) + 48)
        }
        return digits.isEmpty ? "0" : String(decoding: digits.reversed(), as: UTF8.self)
    }
}

private extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

/// MD5 (RFC 1321), only for name-based UIDs: no cryptographic use, so no dependency for it.
enum MD5 {
    private static let shifts: [UInt32] = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                           5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
                                           4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                           6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21]
    // K[i] = floor(2^32 * |sin(i + 1)|)
    private static let k: [UInt32] = (0..<64).map { UInt32(truncatingIfNeeded: Int64(abs(sin(Double($0 + 1))) * 4_294_967_296)) }

    static func digest(_ message: [UInt8]) -> [UInt8] {
        var m = message
        let bitLength = UInt64(message.count) &* 8
        m.append(0x80)
        while m.count % 64 != 56 { m.append(0) }
        for i in 0..<8 { m.append(UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64(i)))) }

        var a0: UInt32 = 0x67452301, b0: UInt32 = 0xefcdab89, c0: UInt32 = 0x98badcfe, d0: UInt32 = 0x10325476
        for chunk in stride(from: 0, to: m.count, by: 64) {
            let w: [UInt32] = (0..<16).map { j in
                (0..<4).reduce(UInt32(0)) { $0 | UInt32(m[chunk + 4 * j + $1]) << (8 * UInt32($1)) }
            }
            var a = a0, b = b0, c = c0, d = d0
            for i in 0..<64 {
                var f: UInt32
                let g: Int
                switch i {
                case 0..<16: f = (b & c) | (~b & d); g = i
                case 16..<32: f = (d & b) | (~d & c); g = (5 * i + 1) % 16
                case 32..<48: f = b ^ c ^ d; g = (3 * i + 5) % 16
                default: f = c ^ (b | ~d); g = (7 * i) % 16
                }
                f = f &+ a &+ k[i] &+ w[g]
                a = d; d = c; c = b
                b = b &+ (f << shifts[i] | f >> (32 - shifts[i]))
            }
            a0 = a0 &+ a; b0 = b0 &+ b; c0 = c0 &+ c; d0 = d0 &+ d
        }
        return [a0, b0, c0, d0].flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
