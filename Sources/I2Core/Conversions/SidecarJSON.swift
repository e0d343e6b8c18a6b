// The sidecar's JSON text, written by hand: the same bytes as JSONSerialization with .prettyPrinted,
// .sortedKeys and .withoutEscapingSlashes (swift-corelibs-foundation's JSONWriter), at a fraction of the
// cost (its key sort runs ICU collation on boxed values: ~8% of a conversion of a small series).
// Only the value types the sidecar holds are written here; anything else (a merged .npy JSON, whose
// values come from JSONSerialization) makes `data` return nil, and the caller uses JSONSerialization.
import Foundation

enum SidecarJSON {
    /// The text of `object`, or nil when it holds a value this writer does not handle.
    static func data(_ object: [String: Any]) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        return write(object, indent: 0, into: &out) ? out : nil
    }

    private static func write(_ value: Any, indent: Int, into out: inout [UInt8]) -> Bool {
        switch value {
        case let s as String: string(s, into: &out)
        case let b as Bool: out += Array((b ? "true" : "false").utf8)
        case let i as Int: out += Array(String(i).utf8)
        case let d as Double:
            guard d.isFinite else { return false }
            // JSONWriter: the Swift description without a trailing ".0" (1e+20, 2500000000000000, 0.1).
            var text = d.description
            if text.hasSuffix(".0") { text.removeLast(2) }
            out += Array(text.utf8)
        case let a as [Any]:
            if a.isEmpty { out += Array("[\n\n".utf8); pad(indent, &out); out.append(UInt8(ascii: "]")); return true }
            out += Array("[\n".utf8)
            for (i, v) in a.enumerated() {
                pad(indent + 2, &out)
                guard write(v, indent: indent + 2, into: &out) else { return false }
                out += Array((i + 1 < a.count ? ",\n" : "\n").utf8)
            }
            pad(indent, &out)
            out.append(UInt8(ascii: "]"))
        case let o as [String: Any]:
            if o.isEmpty { out += Array("{\n\n".utf8); pad(indent, &out); out.append(UInt8(ascii: "}")); return true }
            out += Array("{\n".utf8)
            let keys = o.keys.sorted(by: ordered)
            for (i, k) in keys.enumerated() {
                pad(indent + 2, &out)
                string(k, into: &out)
                out += Array(" : ".utf8)
                guard write(o[k]!, indent: indent + 2, into: &out) else { return false }
                out += Array((i + 1 < keys.count ? ",\n" : "\n").utf8)
            }
            pad(indent, &out)
            out.append(UInt8(ascii: "}"))
        default:
            return false
        }
        return true
    }

    private static func pad(_ n: Int, _ out: inout [UInt8]) { out += [UInt8](repeating: 0x20, count: n) }

    /// JSONWriter's string escapes: quote, backslash, \n \r \t \b \f, other controls as \u00XX
    /// (lowercase hex); "/" and non-ASCII as they are.
    static func string(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for c in s.utf8 {
            switch c {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0x08: out += [0x5C, UInt8(ascii: "b")]
            case 0x0C: out += [0x5C, UInt8(ascii: "f")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(c >> 4)], hex[Int(c & 15)]]
            default: out.append(c)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// JSONWriter's key order: NSString compare with .numeric, .caseInsensitive and .forcedOrdering (ICU
    /// collation). For keys of ASCII letters and digits, which every sidecar key is, that is: letters
    /// compared without case, digits before letters, runs of digits by their value; anything else
    /// (other characters, or keys equal under those rules) is left to Foundation's compare itself.
    static func ordered(_ a: String, _ b: String) -> Bool {
        if let r = asciiOrder(Array(a.utf8), Array(b.utf8)) { return r }
        let options: NSString.CompareOptions = [.numeric, .caseInsensitive, .forcedOrdering]
        return a.compare(b, options: options, range: a.startIndex..<a.endIndex, locale: NSLocale.system) == .orderedAscending
    }

    private static func asciiOrder(_ a: [UInt8], _ b: [UInt8]) -> Bool? {
        func alnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A) }
        func digit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        guard a.allSatisfy(alnum), b.allSatisfy(alnum) else { return nil }
        var i = 0, j = 0
        while i < a.count && j < b.count {
            if digit(a[i]) && digit(b[j]) {
                var ie = i, je = j
                while ie < a.count && digit(a[ie]) { ie += 1 }
                while je < b.count && digit(b[je]) { je += 1 }
                // Leading zeros: the numeric option's ties and ranks are ICU's business.
                if (ie - i > 1 && a[i] == 0x30) || (je - j > 1 && b[j] == 0x30) || ie - i > 18 || je - j > 18 { return nil }
                let x = Int(String(decoding: a[i..<ie], as: UTF8.self))!, y = Int(String(decoding: b[j..<je], as: UTF8.self))!
                if x != y { return x < y }
                i = ie; j = je
                continue
            }
            let x = a[i] | (digit(a[i]) ? 0 : 0x20), y = b[j] | (digit(b[j]) ? 0 : 0x20)
            if x != y { return x < y }   // digits (0x30...) sort before letters (0x61...)
            i += 1; j += 1
        }
        if i == a.count && j == b.count { return nil }   // equal without case: forcedOrdering decides
        return i == a.count
    }
}
