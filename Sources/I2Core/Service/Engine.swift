// The service contract every engine implements: typed options in, events out through one sink, one
// stop token honoured, one report back. A new subcommand is an Options value, an engine with this
// shape, and a flag table in I2CLI that builds the options and calls `run`.

/// What an engine is handed besides its options.
public struct EngineContext: Sendable {
    public let events: EventSink
    public let stop: StopToken
    public init(events: EventSink = .none, stop: StopToken = StopToken()) {
        self.events = events
        self.stop = stop
    }
}

public protocol Engine {
    associatedtype Options: Sendable
    /// Runs to completion (or until `context.stop`), reporting items as it goes; never throws:
    /// an error that ends the run is the report's `fatal`.
    static func run(_ options: Options, _ context: EngineContext) -> Report
}

/// What a run did. Item failures were already sent as `.failed` events; they are counted here too so
/// the exit status can be decided from the report alone.
public struct Report: Sendable {
    /// How many paths were produced (the paths themselves went out as events: a long-running
    /// receive must not keep every one).
    public var produced = 0
    /// Items that failed; the others were done.
    public var failures: [I2Error] = []
    /// An error that ended the whole run (usage, unreachable peer, empty result…).
    public var fatal: I2Error?
    /// Stopped by this signal before everything asked for was done (0: not interrupted).
    public var interruptedBy: Int32 = 0

    public init() {}
    public init(fatal: I2Error) { self.fatal = fatal }

    public var succeeded: Bool { fatal == nil && failures.isEmpty && interruptedBy == 0 }
}

/// Collects a report while forwarding events: engines call these instead of touching both.
public final class Reporter: @unchecked Sendable {
    public let context: EngineContext
    private let lock = NSLockShim()
    private var report = Report()

    public init(_ context: EngineContext) { self.context = context }

    public var events: EventSink { context.events }
    public var stop: StopToken { context.stop }

    public func output(_ path: String, _ fields: [String: JSONValue] = [:]) {
        lock.with { report.produced += 1 }
        context.events.output(path, fields)
    }

    /// A record that is not a path (see Output.isPath).
    public func record(_ line: String, _ fields: [String: JSONValue]) {
        lock.with { report.produced += 1 }
        context.events.record(line, fields)
    }

    public func failed(_ e: I2Error) {
        lock.with { report.failures.append(e) }
        context.events.failed(e)
    }

    public func fatal(_ e: I2Error) -> Report { lock.with { report.fatal = e }; return finish() }

    public var failureCount: Int { lock.with { report.failures.count } }

    /// The report; marked interrupted when the token was stopped by a signal.
    public func finish(interruptible: Bool = true) -> Report {
        lock.with {
            if interruptible && context.stop.isStopped && report.interruptedBy == 0 {
                report.interruptedBy = context.stop.signal == 0 ? 15 : context.stop.signal
            }
            return report
        }
    }
}
