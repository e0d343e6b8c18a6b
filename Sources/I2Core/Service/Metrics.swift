// Prometheus text exposition (format 0.0.4) for --metrics-file on receive and watch: one registry of
// counters, gauges and histograms that the engines feed, and a writer thread that renders it every few
// seconds into a file, atomically, for node_exporter's textfile collector. Counters only ever grow
// within a process (a restart starts them at 0 again, which Prometheus' rate() understands).
// Which metrics exist is declared in one place each: ReceiveMetrics and WatchMetrics below.
import Foundation

public final class Metrics: @unchecked Sendable {
    public enum Kind: String { case counter, gauge, histogram }
    public typealias Labels = [(String, String)]

    final class Family {
        let name: String, help: String, kind: Kind
        let buckets: [Double]
        /// Samples by their rendered label set, in first-use order (stable output).
        var order: [String] = []
        var values: [String: Double] = [:]
        var histograms: [String: (counts: [UInt64], sum: Double, count: UInt64)] = [:]
        init(_ name: String, _ kind: Kind, _ help: String, _ buckets: [Double]) {
            self.name = name; self.kind = kind; self.help = help; self.buckets = buckets
        }
    }

    private let lock = NSLock()
    private var families: [Family] = []
    private var byName: [String: Family] = [:]

    public init() {}

    /// Declares a family once (HELP and TYPE); histograms take their upper bounds (+Inf is added).
    public func declare(_ name: String, _ kind: Kind, _ help: String, buckets: [Double] = []) {
        lock.lock(); defer { lock.unlock() }
        guard byName[name] == nil else { return }
        let f = Family(name, kind, help, buckets.sorted())
        families.append(f)
        byName[name] = f
    }

    /// Adds to a counter (creating the sample at 0 first: `add(name, labels, 0)` makes a series visible).
    public func add(_ name: String, _ labels: Labels = [], _ value: Double = 1) {
        update(name, labels) { f, key in f.values[key, default: 0] += max(value, 0) }
    }

    public func set(_ name: String, _ labels: Labels = [], _ value: Double) {
        update(name, labels) { f, key in f.values[key] = value }
    }

    /// Resets every sample of a gauge family (before setting a fresh breakdown, e.g. series by state).
    public func clear(_ name: String) {
        lock.lock(); defer { lock.unlock() }
        guard let f = byName[name] else { return }
        f.values = [:]; f.order = []
    }

    public func observe(_ name: String, _ labels: Labels = [], _ value: Double) {
        update(name, labels) { f, key in
            var h = f.histograms[key] ?? (Array(repeating: 0, count: f.buckets.count), 0, 0)
            for (i, b) in f.buckets.enumerated() where value <= b { h.counts[i] += 1 }
            h.sum += value
            h.count += 1
            f.histograms[key] = h
        }
    }

    private func update(_ name: String, _ labels: Labels, _ body: (Family, String) -> Void) {
        lock.lock(); defer { lock.unlock() }
        guard let f = byName[name] else { preconditionFailure("metric \(name) used before it was declared") }
        let key = Self.render(labels)
        if f.values[key] == nil && f.histograms[key] == nil { f.order.append(key) }
        body(f, key)
    }

    /// The value of one sample (tests, and gauges derived from counters); nil when never set.
    public func value(_ name: String, _ labels: Labels = []) -> Double? {
        lock.lock(); defer { lock.unlock() }
        return byName[name]?.values[Self.render(labels)]
    }

    /// The whole registry as text exposition: HELP and TYPE per family, then its samples.
    public func text() -> String {
        lock.lock(); defer { lock.unlock() }
        var out = ""
        for f in families {
            out += "# HELP \(f.name) \(Self.escapeHelp(f.help))\n# TYPE \(f.name) \(f.kind.rawValue)\n"
            for key in f.order {
                if f.kind == .histogram, let h = f.histograms[key] {
                    for (i, b) in f.buckets.enumerated() {
                        out += "\(f.name)_bucket\(Self.join(key, "le=\"\(Self.number(b))\"")) \(h.counts[i])\n"
                    }
                    out += "\(f.name)_bucket\(Self.join(key, "le=\"+Inf\"")) \(h.count)\n"
                    out += "\(f.name)_sum\(key) \(Self.number(h.sum))\n\(f.name)_count\(key) \(h.count)\n"
                } else if let v = f.values[key] {
                    out += "\(f.name)\(key) \(Self.number(v))\n"
                }
            }
        }
        return out
    }

    static func render(_ labels: Labels) -> String {
        labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(escapeValue($0.1))\"" }.joined(separator: ",") + "}"
    }

    /// A rendered label set with one more label (a histogram bucket's `le`).
    static func join(_ key: String, _ extra: String) -> String { key.isEmpty ? "{\(extra)}" : String(key.dropLast()) + ",\(extra)}" }

    static func escapeValue(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
    static func escapeHelp(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Integers without a fraction (counts read as counts), others in Swift's shortest exact form.
    static func number(_ v: Double) -> String {
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v.isNaN { return "NaN" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}

/// Rewrites a metrics file every `interval` seconds on its own thread, and once more at stop. Before
/// each rewrite `refresh` sets the gauges that are read rather than counted (free space, series by
/// state) and writes what else goes with them (receive's heartbeat). Without a path only `refresh`
/// runs. A failed write is logged once per kind of failure, never fatal: the service matters more
/// than its metrics.
public final class MetricsWriter: @unchecked Sendable {
    public let path: String?
    public let metrics: Metrics
    public let interval: Double
    private let refresh: @Sendable () -> Void
    private let events: EventSink
    private let wake = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var lastError: String?
    private var started = false

    public init(path: String?, metrics: Metrics, interval: Double = 5, events: EventSink, refresh: @escaping @Sendable () -> Void) {
        self.path = path
        self.metrics = metrics
        self.interval = interval
        self.events = events
        self.refresh = refresh
        metrics.declare("i2_metrics_write_duration_seconds", .gauge, "Time the previous rewrite of this metrics file took (refresh, render, write)")
        metrics.declare("i2_metrics_writes_total", .counter, "Rewrites of this metrics file")
    }

    /// Writes once now (so the file exists when the service is ready), then every `interval` seconds.
    public func start() {
        write()
        started = true
        let t = Thread { [self] in
            while wake.wait(timeout: .now() + interval) == .timedOut { write() }
            exited.signal()
        }
        t.name = "i2-metrics"
        t.start()
    }

    /// Stops the thread (waiting for a rewrite in progress) and writes the final values.
    public func stop() {
        if started { wake.signal(); exited.wait(); started = false }
        write()
    }

    /// One rewrite: refresh the read gauges, render, write atomically (a temporary file in the same
    /// directory, named so that the textfile collector, which reads *.prom only, never sees it; then rename).
    public func write() {
        lock.lock(); defer { lock.unlock() }
        let t0 = DispatchTime.now().uptimeNanoseconds
        refresh()
        guard let path else { return }
        metrics.add("i2_metrics_writes_total")
        do {
            try AtomicFile.write(Array(metrics.text().utf8), to: path)
            if lastError != nil { events.info("metrics: writing \(path) again") }
            lastError = nil
        } catch {
            let why = "\(error)"
            if why != lastError { events.warning("metrics: cannot write \(path): \(why) (the service goes on)") }
            lastError = why
        }
        metrics.set("i2_metrics_write_duration_seconds", [], Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
}

/// Free bytes for unprivileged users on the filesystem holding `path` (statvfs f_bavail), nil when unknown.
public func freeBytes(_ path: String) -> UInt64? {
    var vfs = statvfs()
    guard statvfs(path, &vfs) == 0 else { return nil }
    return UInt64(vfs.f_bavail) * UInt64(vfs.f_frsize)
}
