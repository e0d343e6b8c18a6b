import Foundation
// The ASCII protocol ("### ASCCONV BEGIN … ### ASCCONV END") inside the Siemens series CSA element
// MrPhoenixProtocol (MrProtocol on VB): `key = value` lines. Read the way dcm2niix's siemensCsaAscii
// (nii_dicom_batch.cpp) reads it, so the sidecar gives the same values: a key is found as the first
// occurrence of its text anywhere in the protocol (not only at a line start), and the value is taken
// from the characters after it up to the end of that line.
public struct SiemensASCCONV: Sendable {
    public let text: [UInt8]

    public init?(_ protocolText: String) {
        let all = Array(protocolText.utf8)
        guard let begin = Self.find(Array("### ASCCONV BEGIN".utf8), in: all[...]) else { return nil }
        var body = all[begin...]
        if let end = Self.find(Array("### ASCCONV END".utf8), in: body) { body = all[begin..<end] }
        text = Array(body)
    }

    /// GE's protocol data block: the same `KEY value` reading over the whole text (dcm2niix's geProtocolBlock).
    public init?(protocolBlock: [UInt8]) {
        guard !protocolBlock.isEmpty else { return nil }
        text = protocolBlock
    }

    /// Characters after `key` up to the end of the line, or nil when the key is absent.
    private func rest(_ key: String) -> ArraySlice<UInt8>? {
        let k = Array(key.utf8)
        guard let at = Self.find(k, in: text[...]) else { return nil }
        var end = at + k.count
        while end < text.count && text[end] != 0x0A { end += 1 }
        return text[(at + k.count)..<end]
    }

    /// The decimal digits after the key read as one integer (dcm2niix's readKey/readKeyN1: "0x1" reads 1).
    public func int(_ key: String) -> Int? {
        guard let r = rest(key) else { return nil }
        var v = 0
        for c in r where c >= 0x30 && c <= 0x39 { v = v &* 10 &+ Int(c - 0x30) }
        return v
    }

    /// Digits, '.' and '-' after the key read as a number (dcm2niix's readKeyFloat/readKeyFloatNan).
    public func double(_ key: String) -> Double? {
        guard let r = rest(key) else { return nil }
        let s = String(decoding: r.filter { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D }, as: UTF8.self)
        return s.isEmpty ? nil : Self.atof(s)
    }

    /// The first quoted text after the key, doubled quotes skipped (`""Head_32""` reads Head_32; readKeyStr).
    public func string(_ key: String) -> String? {
        guard let r = rest(key) else { return nil }
        var out: [UInt8] = []
        var inQuote = false
        for c in r {
            if c == 0x22 {
                if !out.isEmpty { break }
                inQuote = true
            } else if inQuote {
                out.append(c)
            }
        }
        return out.isEmpty ? nil : String(decoding: out, as: UTF8.self)
    }

    /// C's atof on the filtered text: the longest leading number ("1.5-2" reads 1.5).
    static func atof(_ s: String) -> Double? {
        var best: Double?
        var prefix = ""
        for ch in s {
            prefix.append(ch)
            if let v = Double(prefix) { best = v }
        }
        return best ?? 0
    }

    /// The first index of `needle` in `hay` (memchr for the first byte, then memcmp: each key is looked
    /// up anywhere in a protocol of ~100 KB, ~40 keys per sidecar, as dcm2niix does with memmem).
    static func find(_ needle: [UInt8], in hay: ArraySlice<UInt8>) -> Int? {
        guard !needle.isEmpty, hay.count >= needle.count else { return nil }
        // glibc's memmem (two-way search): a protocol is ~100 KB and a sidecar looks up ~40 keys.
        return hay.withUnsafeBytes { h -> Int? in
            needle.withUnsafeBytes { n -> Int? in
                guard let hit = glibcMemmem(h.baseAddress!, h.count, n.baseAddress!, n.count) else { return nil }
                return hay.startIndex + h.baseAddress!.distance(to: UnsafeRawPointer(hit))
            }
        }
    }
}

/// glibc's memmem, which Swift's Glibc module leaves out (a GNU extension).
@_silgen_name("memmem")
private func glibcMemmem(_ hay: UnsafeRawPointer, _ hayCount: Int, _ needle: UnsafeRawPointer, _ needleCount: Int) -> UnsafeMutableRawPointer?

extension DicomFile {
    /// The ASCCONV protocol of a Siemens file (series CSA MrPhoenixProtocol, or MrProtocol on VB), or nil.
    /// XA enhanced files have no CSA: the protocol is in (0021,1019), nested in a private shared group.
    public var siemensASCCONV: SiemensASCCONV? {
        if let csa = siemensSeriesCSA(only: ["MrPhoenixProtocol", "MrProtocol"]) {
            for name in ["MrPhoenixProtocol", "MrProtocol"] {
                if let text = csa[name]?.first, let p = SiemensASCCONV(text) { return p }
            }
        }
        if let b = nestedBytes(.siemensXAProtocol) { return SiemensASCCONV(String(decoding: b, as: UTF8.self)) }
        return nil
    }

    /// A vendor's private element as text or number, whether the file gives it a VR (explicit VR, or a
    /// private dictionary entry) or leaves it UN (implicit VR without a dictionary entry: raw bytes).
    public func privateString(_ tag: Tag) -> String? {
        if let b = bytes(tag) {
            let text = String(decoding: b.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            return text.isEmpty ? nil : text
        }
        return string(tag)
    }

    /// A private SS element (2-byte little-endian when UN), or a number read as text.
    public func privateShort(_ tag: Tag) -> Int? {
        if let b = bytes(tag) {
            return b.count == 2 ? Int(Int16(bitPattern: UInt16(b[0]) | UInt16(b[1]) << 8)) : nil
        }
        return doubles(tag)?.first.map { Int($0) }
    }

    /// A private FD/FL element (8- or 4-byte little-endian when UN), or a DS/FD/FL read as text.
    public func privateDouble(_ tag: Tag) -> Double? {
        if let b = bytes(tag) {
            if b.count == 4 { return Double(Float(bitPattern: UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24)) }
            if b.count == 8 {
                var bits: UInt64 = 0
                for (i, byte) in b.enumerated() { bits |= UInt64(byte) << (8 * UInt64(i)) }
                return Double(bitPattern: bits)
            }
            return Double(String(decoding: b.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces))
        }
        return doubles(tag)?.first
    }
}
