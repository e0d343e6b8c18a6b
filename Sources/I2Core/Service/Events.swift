// What an engine tells the world while it runs: log lines at one set of levels, progress, the paths it
// produced and per-item outcomes. The CLI turns events into stderr lines and stdout records; tests
// collect them. Engines never print.
import Foundation

/// One value of a JSON record (stdout with --json, reports).
public enum JSONValue: Sendable, Equatable {
    case string(String), int(Int), double(Double), bool(Bool), null

    var any: Any {
        switch self {
        case .string(let s): return s
        case .int(let i): return i
        case .double(let d): return d
        case .bool(let b): return b
        case .null: return NSNull()
        }
    }
}

/// A path an engine produced (a file written, an instance stored, a file sent), with the fields its
/// `--json` record carries.
public struct Output: Sendable {
    public var path: String
    public var fields: [String: JSONValue]
    /// False for a record that is not a path (a query's match): `path` is its text line, and its JSON
    /// object is `fields` alone.
    public var isPath = true
    public init(_ path: String, _ fields: [String: JSONValue] = [:]) { self.path = path; self.fields = fields }

    /// One JSON object on one line, keys sorted; "path" is present for a path.
    public var jsonLine: String {
        var object = fields.mapValues(\.any)
        if isPath { object["path"] = path }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

public enum Event: Sendable {
    case log(LogLevel, String)
    /// `done` of `total` items (total 0: unknown).
    case progress(done: Int, total: Int, unit: String)
    /// A path produced, ready for the next command in a pipeline.
    case output(Output)
    /// An item failed (reported once, with its path or peer); the run goes on with the others.
    case failed(I2Error)
}

/// Where an engine's events go. Thread-safe: receive reports from one thread per association.
public final class EventSink: @unchecked Sendable {
    private let lock = NSLock()
    private let handler: (Event) -> Void

    public init(_ handler: @escaping (Event) -> Void) { self.handler = handler }

    /// A sink that drops everything (in-process callers that only want the report).
    public static var none: EventSink { EventSink { _ in } }

    public func send(_ e: Event) { lock.lock(); defer { lock.unlock() }; handler(e) }

    public func info(_ m: String) { send(.log(.info, m)) }
    public func warning(_ m: String) { send(.log(.warning, m)) }
    public func error(_ m: String) { send(.log(.error, m)) }
    public func output(_ path: String, _ fields: [String: JSONValue] = [:]) { send(.output(Output(path, fields))) }
    /// A record that is not a path: `line` on stdout, `fields` as its JSON object.
    public func record(_ line: String, _ fields: [String: JSONValue]) {
        var o = Output(line, fields)
        o.isPath = false
        send(.output(o))
    }
    public func failed(_ e: I2Error) { send(.failed(e)) }
}
