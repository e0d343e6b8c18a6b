// What a running i2 receive tells i2 status --health: ROOT/.i2-receive-PORT.json, rewritten atomically
// every few seconds while it serves (with the metrics file, by the same thread), and once more with
// accepting=false when it stops. A heartbeat older than `staleAfter` means the receiver is gone (killed,
// hung) or cannot write to ROOT; either way nothing is being received.
import Foundation

public struct ReceiveHeartbeat: Codable, Equatable, Sendable {
    public var pid: Int32
    public var host: String
    public var aeTitle: String
    public var port: Int
    /// Listening and accepting associations (false before the port is open and after a stop).
    public var accepting: Bool
    public var started: String
    public var updated: Double              // seconds since 1970
    public var interval: Double             // seconds between rewrites
    public var freeBytes: UInt64?
    public var minFreeBytes: UInt64

    enum CodingKeys: String, CodingKey {
        case pid, host, port, accepting, started, updated, interval
        case aeTitle = "ae_title", freeBytes = "free_bytes", minFreeBytes = "min_free_bytes"
    }

    public init(aeTitle: String, port: Int, minFreeBytes: UInt64, interval: Double) {
        pid = getpid()
        host = SeriesLock.hostname()
        self.aeTitle = aeTitle
        self.port = port
        accepting = false
        started = WatchClock.timestamp()
        updated = WatchClock.now()
        self.interval = interval
        self.minFreeBytes = minFreeBytes
    }

    public static func path(_ root: String, port: Int) -> String { root + "/.i2-receive-\(port).json" }

    /// Older than this, a heartbeat is stale: three missed rewrites, and never less than 15 s.
    public var staleAfter: Double { max(3 * interval, 15) }

    public func save(_ root: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        try AtomicFile.write([UInt8](try enc.encode(self)) + [10], to: Self.path(root, port: port))
    }

    /// Every heartbeat under ROOT, by path; an unreadable one is reported as such (health treats it as a problem).
    public static func all(_ root: String) -> [(path: String, heartbeat: Result<ReceiveHeartbeat, I2Error>)] {
        SeriesScanner.names(root).filter { $0.hasPrefix(".i2-receive-") && $0.hasSuffix(".json") }.map { name in
            let path = root + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else {
                return (path, .failure(I2Error(.storage, path: path, "cannot read the receive heartbeat")))
            }
            do { return (path, .success(try JSONDecoder().decode(ReceiveHeartbeat.self, from: data))) } catch {
                return (path, .failure(I2Error(.badInput, path: path, "unreadable receive heartbeat: \(error)")))
            }
        }
    }
}
