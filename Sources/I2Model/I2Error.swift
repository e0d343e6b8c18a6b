// The one error type every layer maps into: what kind of failure, which file or peer it concerns, and
// why, in plain words. The CLI maps kinds to exit statuses in one place (I2CLI ExitStatus).

public struct I2Error: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case usage          // options that cannot work together, a bad value, an unusable tool description
        case badInput       // truncated, inconsistent or unsupported input
        case notDICOM       // not a DICOM file at all (skipped with a warning inside series folders)
        case notFound       // a named file, series, node or tool does not exist
        case unreachable    // the peer could not be reached (refused, unresolved, timed out, aborted)
        case rejected       // the peer refused the association or the operation
        case storage        // reading or writing our own files failed (permissions, disk full)
        case toolFailed     // an external tool exited non-zero, timed out or wrote nothing usable
        case emptyResult    // the result would be empty (nifti2seg: every label empty)
        case interrupted    // stopped by SIGINT/SIGTERM before the item was finished
        case `internal`     // a broken invariant: a bug in i2
    }

    /// For network failures: what exactly happened, so a caller can tell transient from permanent.
    public enum NetworkCause: Int32, Sendable {
        case unresolved = 1, unreachable, timeout, rejected, aborted, noContext, unreadable, tls
    }

    /// An A-ASSOCIATE-RJ: result (1 permanent, 2 transient), source (1-3) and reason, as in the PDU.
    public struct Rejection: Sendable, Equatable {
        public var result: Int, source: Int, reason: Int
        public init(result: Int, source: Int, reason: Int) { self.result = result; self.source = source; self.reason = reason }
    }

    public var kind: Kind
    public var path: String?
    public var peer: String?
    public var detail: String
    public var cause: NetworkCause?
    public var rejection: Rejection?

    public init(_ kind: Kind = .badInput, path: String? = nil, peer: String? = nil, _ detail: String) {
        self.kind = kind
        self.path = path
        self.peer = peer
        self.detail = detail
    }

    /// A network failure; the kind follows from the cause.
    public init(network cause: NetworkCause, peer: String? = nil, _ detail: String, rejection: Rejection? = nil) {
        let kind: Kind
        switch cause {
        case .rejected, .noContext, .tls: kind = .rejected
        case .unreadable: kind = .badInput
        default: kind = .unreachable
        }
        self.init(kind, peer: peer, detail)
        self.cause = cause
        self.rejection = rejection
    }

    /// "path: detail", "peer: detail", or just the detail when neither applies.
    public var description: String {
        if let p = path { return "\(p): \(detail)" }
        if let p = peer { return "\(p): \(detail)" }
        return detail
    }

    /// The same error, attributed to `path` when it had none.
    public func at(_ path: String) -> I2Error {
        var e = self
        if e.path == nil { e.path = path }
        return e
    }
}

/// The one log level type (engines' events, DCMTK's log lines, the CLI's --quiet/--verbose).
public enum LogLevel: Int, Comparable, Sendable, CaseIterable {
    case debug, info, warning, error
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}
