// A multipart/related body (RFC 2046) read as it arrives, for WADO-RS: each part's content goes to the
// sink of that part as it comes, so an answer of any size is held in memory only a chunk at a time.
import Foundation
import I2Model

final class MultipartReader {
    /// What the reader calls: a part begins (with its header lines), continues, ends.
    struct Sink {
        var begin: ([String]) throws -> Void
        var data: (UnsafeRawBufferPointer) throws -> Void
        var end: () throws -> Void
    }

    private let delimiter: [UInt8]   // CRLF "--" boundary
    private let sink: Sink
    private var pending: [UInt8] = []
    private enum State { case preamble, headers, body, done }
    private var state = State.preamble
    private(set) var parts = 0

    /// The boundary from a Content-Type such as `multipart/related; type="application/dicom"; boundary=XYZ`;
    /// nil when it is not multipart or names none.
    static func boundary(_ contentType: String) -> String? {
        guard contentType.lowercased().hasPrefix("multipart/") else { return nil }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let kv = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2, kv[0].lowercased() == "boundary" {
                let v = kv[1].hasPrefix("\"") && kv[1].hasSuffix("\"") && kv[1].count >= 2 ? String(kv[1].dropFirst().dropLast()) : kv[1]
                return v.isEmpty ? nil : v
            }
        }
        return nil
    }

    init(boundary: String, sink: Sink) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        self.sink = sink
        pending = Array("\r\n".utf8)   // the first delimiter may open the body without a CRLF before it
    }

    /// Whether the closing delimiter was seen.
    var isComplete: Bool { state == .done }

    func feed(_ chunk: UnsafeRawBufferPointer) throws {
        pending.append(contentsOf: chunk)
        var start = 0
        defer { pending.removeFirst(start) }
        while start < pending.count {
            switch state {
            case .preamble, .body:
                guard let at = find(delimiter, from: start) else {
                    // Everything but a possible partial delimiter at the end is content.
                    let keep = max(start, pending.count - delimiter.count + 1)
                    if state == .body && keep > start { try emit(start, keep) }
                    start = max(start, keep)
                    return
                }
                if state == .body { try emit(start, at); try sink.end() }
                // After the delimiter: "--" closes, CRLF opens a part (transport padding allowed).
                guard let lineEnd = find(Array("\r\n".utf8), from: at + delimiter.count) else { start = at; return }
                let rest = pending[(at + delimiter.count)..<lineEnd]
                if rest.starts(with: Array("--".utf8)) { state = .done; start = pending.count; return }
                start = lineEnd + 2
                state = .headers
            case .headers:
                // Header lines up to an empty line (none at all: the part opens with that empty line).
                let end: Int
                if pending.count - start >= 2 && pending[start] == 0x0D && pending[start + 1] == 0x0A { end = start - 2 }
                else if let e = find(Array("\r\n\r\n".utf8), from: start) { end = e }
                else { return }
                let text = end > start ? String(decoding: pending[start..<end], as: UTF8.self) : ""
                try sink.begin(text.components(separatedBy: "\r\n").filter { !$0.isEmpty })
                parts += 1
                start = end + 4
                state = .body
            case .done:
                start = pending.count
            }
        }
    }

    private func emit(_ from: Int, _ to: Int) throws {
        try pending.withUnsafeBytes { try sink.data(UnsafeRawBufferPointer(rebasing: $0[from..<to])) }
    }

    private func find(_ needle: [UInt8], from: Int) -> Int? {
        guard pending.count - from >= needle.count else { return nil }
        return pending.withUnsafeBytes { hay in
            needle.withUnsafeBytes { n in
                let base = hay.baseAddress!, last = hay.count - n.count
                var i = from
                while i <= last {
                    guard let hit = memchr(base + i, Int32(n[0]), last - i + 1) else { return nil }
                    i = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + i, n.baseAddress!, n.count) == 0 { return i }
                    i += 1
                }
                return nil
            }
        }
    }
}
