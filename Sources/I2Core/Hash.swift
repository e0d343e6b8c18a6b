// The one place for hashing in i2. The hash is MD5 (RFC 1321): every new use (a UID, a stable name
// on disk) calls `Hash.md5` / `Hash.hex`. Nothing here is cryptographic, so there is no dependency.
//
// Two older functions live on here, frozen, because what they produced is already stored elsewhere:
// - `Hash.contentFingerprint`: the fingerprint of voxel/PDF bytes inside the default UID seeds of
//   nifti2seg and `i2 process` (SEG, PDF, derived series). The UIDs of objects already sent to a PACS
//   depend on its exact output (including its unpadded hex), so a re-run must reproduce it.
// - `Hash.fnv1a64`: the key in the names of `i2 watch` state, log and lock files (.i2-watch-KEY.*);
//   another function would make a restarted watcher lose its state and run every series again.
// Their values are pinned by Tests/I2CoreTests/HashTests.swift. Do not use them for anything new.

enum Hash {
    /// The MD5 digest (16 bytes) of `message`.
    static func md5(_ message: [UInt8]) -> [UInt8] {
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

    /// MD5 of `text`'s UTF-8 as 32 lowercase hex digits.
    static func hex(_ text: String) -> String {
        md5(Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    private static let shifts: [UInt32] = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                           5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
                                           4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                           6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21]
    // K[i] = floor(2^32 * |sin(i + 1)|)
    private static let k: [UInt32] = (0..<64).map { UInt32(truncatingIfNeeded: Int64(abs(sin(Double($0 + 1))) * 4_294_967_296)) }

    // MARK: frozen (see the top of the file)

    /// Frozen: the content fingerprint of UID seeds (formerly `ContentHash.hex`). Two 64-bit
    /// multiply-xorshift lanes over the bytes, written as two unpadded hex numbers; fast on whole volumes.
    static func contentFingerprint(_ bytes: [UInt8]) -> String {
        var a: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count), b: UInt64 = 0xC2B2_AE3D_27D4_EB4F
        bytes.withUnsafeBytes { raw in
            let words = raw.count / 8
            for i in 0..<words {
                let w = raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                a = (a ^ w) &* 0xFF51_AFD7_ED55_8CCD; a ^= a >> 29
                b = (b &+ w) &* 0xC4CE_B9FE_1A85_EC53; b ^= b >> 31
            }
            for i in (words * 8)..<raw.count { a = (a ^ UInt64(raw[i])) &* 0x100_0000_01B3 }
        }
        return String(a, radix: 16) + String(b, radix: 16)
    }

    /// Frozen: FNV-1a 64 of `text`'s UTF-8 as 16 hex digits (the watch key).
    static func fnv1a64(_ text: String) -> String {
        var h: UInt64 = 0xcbf29ce484222325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
