// DICOM UIDs under the "2.25" root (ITU-T X.667 / PS3.5 B.2): "2.25." followed by a UUID written as
// one decimal integer. This needs no registered organisation root, and is at most 44 characters.
// make() uses a random (version 4) UUID; derived(from:) a name-based one (version 8, RFC 9562: the
// 128 bits of Hash), so the same seed always gives the same UID (re-running a job re-creates, not
// duplicates, its objects).

enum UID {
    /// A new, random UID.
    static func make() -> String {
        var rng = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in bytes.indices { bytes[i] = rng.next() }
        return fromUUID(bytes, version: 4)
    }

    /// A deterministic UID for `seed`: equal seeds give equal UIDs, different seeds different ones
    /// (up to 122-bit hash collisions, irrelevant for non-adversarial seeds such as "<series UID>/seg").
    static func derived(from seed: String) -> String {
        fromUUID(Hash.digest(Array(seed.utf8)), version: 8)   // RFC 9562 v8: our own hash
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
