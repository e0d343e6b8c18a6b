// The one hash in i2: 128 bits, fast enough for whole volumes (content fingerprints in UID seeds) and
// used for everything else that needs a stable name (UIDs, watch keys, work directories). Not
// cryptographic, and it need not be: nothing here defends against a chosen collision, and seeds come
// from our own inputs. Two 64-bit multiply-xorshift lanes run over 8-byte words (one pass, no
// allocation); the tail, the length and murmur3's 64-bit finalizer, applied across both lanes, make
// every input byte reach every output bit.

enum Hash {
    /// 16 bytes.
    static func digest(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var a: UInt64 = 0x9E37_79B9_7F4A_7C15, b: UInt64 = 0xC2B2_AE3D_27D4_EB4F
        let words = bytes.count / 8
        for i in 0..<words {
            let w = bytes.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
            a = (a ^ w) &* 0xFF51_AFD7_ED55_8CCD; a ^= a >> 29
            b = (b &+ w) &* 0xC4CE_B9FE_1A85_EC53; b ^= b >> 31
        }
        var tail: UInt64 = 0
        for i in (words * 8)..<bytes.count { tail |= UInt64(bytes[i]) << (8 * UInt64(i - words * 8)) }
        a = (a ^ tail) &* 0xFF51_AFD7_ED55_8CCD; a ^= a >> 29
        b = (b &+ tail) &* 0xC4CE_B9FE_1A85_EC53; b ^= b >> 31
        a ^= UInt64(bytes.count)
        b ^= UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15
        a = fmix(a &+ b)
        b = fmix(b ^ a)
        return (0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? a : b) >> (8 * UInt64(i % 8))) }
    }

    static func digest(_ bytes: [UInt8]) -> [UInt8] { bytes.withUnsafeBytes { digest($0) } }

    /// The digest as 32 lowercase hex digits.
    static func hex(_ bytes: [UInt8]) -> String {
        digest(bytes).map { String(format: "%02x", $0) }.joined()
    }

    static func hex(_ text: String) -> String { hex(Array(text.utf8)) }

    /// murmur3's fmix64: every input bit flips each output bit with probability about 1/2.
    @inline(__always) static func fmix(_ x: UInt64) -> UInt64 {
        var k = x
        k ^= k >> 33; k = k &* 0xFF51_AFD7_ED55_8CCD
        k ^= k >> 33; k = k &* 0xC4CE_B9FE_1A85_EC53
        k ^= k >> 33
        return k
    }
}
