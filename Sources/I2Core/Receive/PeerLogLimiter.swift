// i2 receive's log, bounded per peer (issue 11): every malformed connection writes a line, so one
// hostile peer could fill the journal. At most `limit` lines per peer in a window; past that the lines
// are counted, and one summary says how many were suppressed once the window ends (with the next line
// logged, or when receive stops).
import Foundation
import I2Model

final class PeerLogLimiter: @unchecked Sendable {
    let limit: Int
    let window: TimeInterval
    private let lock = NSLock()
    private var peers: [String: (start: Date, shown: Int, suppressed: Int)] = [:]

    init(limit: Int = 20, window: TimeInterval = 60) {
        self.limit = limit
        self.window = window
    }

    /// The lines to log now for `message` from `peer` (nil: a line about no peer, never limited): the
    /// summaries that are due, then the line itself unless it is over its peer's limit.
    func admit(_ level: LogLevel, peer: String?, _ message: String, now: Date = Date()) -> [(LogLevel, String)] {
        lock.lock()
        defer { lock.unlock() }
        var out = summaries(before: now)
        guard let peer else { return out + [(level, message)] }
        var entry = peers[peer] ?? (now, 0, 0)
        if entry.shown < limit {
            entry.shown += 1
            out.append((level, message))
            if entry.shown == limit {
                out.append((.warning, "\(peer): \(limit) log lines in \(Int(window)) s; further lines from this peer are counted, not logged, until then"))
            }
        } else {
            entry.suppressed += 1
        }
        peers[peer] = entry
        return out
    }

    /// Every pending summary (at stop).
    func flush() -> [(LogLevel, String)] {
        lock.lock()
        defer { lock.unlock() }
        return summaries(before: .distantFuture)
    }

    /// Summaries of windows ended by `now`, whose entries are dropped (so the table holds only recent peers).
    private func summaries(before now: Date) -> [(LogLevel, String)] {
        var out: [(LogLevel, String)] = []
        for (peer, e) in peers where now.timeIntervalSince(e.start) >= window {
            if e.suppressed > 0 {
                out.append((.warning, "\(peer): suppressed \(e.suppressed) more log lines from this peer (over \(limit) in \(Int(window)) s)"))
            }
            peers[peer] = nil
        }
        return out
    }
}
