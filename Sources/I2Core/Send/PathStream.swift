// Paths arriving on a file descriptor (stdin for `-`), one per line or NUL-separated, taken as they
// come: `i2 process … | i2 send --to pacs -` sends each result while the producer is still running,
// instead of waiting for end of input.
import Foundation

public final class PathStream {
    let fd: Int32
    private var pending: [UInt8] = []
    private var ended = false

    public init(fd: Int32 = 0) { self.fd = fd }

    /// Waits for at least one path, then gathers whatever else arrives within `linger` seconds (files
    /// of one series usually come in a burst). Returns [] when `timeout` passed first (nil waits
    /// forever), nil at end of input. `stop` is polled a few times a second.
    public func next(timeout: Double?, linger: Double = 0.1, stop: () -> Bool) -> [String]? {
        var lines = take()
        let start = Date()
        while lines.isEmpty {
            if ended { return leftover() }
            if stop() { return nil }
            if let t = timeout, Date().timeIntervalSince(start) >= t { return [] }
            _ = read(waiting: 0.2)
            lines = take()
        }
        let until = Date().addingTimeInterval(linger)
        while !ended, Date() < until, read(waiting: until.timeIntervalSinceNow) { lines += take() }
        return lines
    }

    /// Reads what is available within `waiting` seconds; false when nothing came.
    private func read(waiting: Double) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let r = poll(&p, 1, Int32(max(0, waiting) * 1000))
        guard r > 0 else { return false }
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = Foundation.read(fd, &buf, buf.count)
        if n < 0 && errno == EINTR { return false }
        if n <= 0 { ended = true; return false }
        pending += buf[0..<n]
        return true
    }

    /// Complete lines taken from the buffer (NUL-separated when the input uses NULs).
    private func take() -> [String] {
        let sep: UInt8 = pending.contains(0) ? 0 : 0x0A
        guard let last = pending.lastIndex(of: sep) else { return [] }
        let chunk = pending[..<last]
        pending.removeSubrange(...last)
        return split(chunk, sep)
    }

    private func leftover() -> [String]? {
        let rest = split(pending[...], pending.contains(0) ? 0 : 0x0A)
        pending = []
        return rest.isEmpty ? nil : rest
    }

    private func split(_ bytes: ArraySlice<UInt8>, _ sep: UInt8) -> [String] {
        bytes.split(separator: sep).map { line in
            var s = String(decoding: line, as: UTF8.self)
            if s.hasSuffix("\r") { s.removeLast() }
            return s
        }.filter { !$0.isEmpty }
    }
}
