// Substring tests and a character swap over UTF-8 bytes, for the header scan's per-file string work:
// with Foundation imported, String.contains and replacingOccurrences go through NSString (a few
// microseconds each, thousands of times a scan). A byte match of valid UTF-8 is a character match.

extension String {
    /// Whether `needle` occurs in this string (byte for byte; "" always occurs).
    public func includes(_ needle: String) -> Bool {
        var hay = self, pin = needle
        return hay.withUTF8 { h in
            pin.withUTF8 { n in
                guard n.count <= h.count else { return false }
                if n.isEmpty { return true }
                let first = n[0], last = h.count - n.count
                var i = 0
                while i <= last {
                    if h[i] == first {
                        var k = 1
                        while k < n.count && h[i + k] == n[k] { k += 1 }
                        if k == n.count { return true }
                    }
                    i += 1
                }
                return false
            }
        }
    }

    /// Every ASCII `old` byte replaced by ASCII `new`.
    public func swapping(_ old: UInt8, for new: UInt8) -> String {
        precondition(old < 0x80 && new < 0x80)
        guard utf8.contains(old) else { return self }
        return String(decoding: utf8.map { $0 == old ? new : $0 }, as: UTF8.self)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// C's printf formatting (vsnprintf) of numbers: String(format:) goes through NSString, several
/// microseconds a call, and the sidecar formats hundreds of values per series. No %@ here.
public func cFormat(_ format: String, _ args: CVarArg...) -> String {
    var size = 64
    while true {
        var buf = [CChar](repeating: 0, count: size)
        let n = withVaList(args) { vsnprintf(&buf, size, format, $0) }
        if n < 0 { return "" }
        if Int(n) < size { return String(cString: buf) }
        size = Int(n) + 1
    }
}
