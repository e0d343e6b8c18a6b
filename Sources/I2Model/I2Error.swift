// The one error type every layer maps into: what failed, on which path, and why, in plain words.

public struct I2Error: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        case notDICOM        // input is not a DICOM file (skipped with a warning inside series folders)
        case invalidInput    // truncated, inconsistent, unsupported
        case io              // reading or writing failed
        case usage           // a combination of options that cannot work
    }
    public var kind: Kind
    public var path: String?
    public var detail: String

    public init(_ kind: Kind = .invalidInput, path: String? = nil, _ detail: String) {
        self.kind = kind
        self.path = path
        self.detail = detail
    }

    /// "path: detail", or just the detail when no path applies.
    public var description: String { path.map { "\($0): \(detail)" } ?? detail }

    /// The same error, attributed to `path` when it had none.
    public func at(_ path: String) -> I2Error {
        var e = self
        if e.path == nil { e.path = path }
        return e
    }
}
