// The one exit-status table, and the one adapter from an engine's report to a status. The README's
// table and the man pages' EXIT STATUS sections are generated from here (Docs/ManPage.swift,
// Docs/ReadmeTable.swift); a command lists the statuses it can return (Command.exitStatuses).
import I2Core

public enum ExitStatus: Int32, CaseIterable, Sendable {
    case success = 0
    case partialFailure = 1
    case usage = 2
    case unreachable = 3    // the peer could not be reached, so nothing was sent
    case rejected = 4       // the peer rejected the association, so nothing was sent
    case emptyResult = 5    // nifti2seg: every label is empty, so no SEG was written
    case interrupted = 130  // 128 + the signal: stopped before everything asked for was done

    /// What every subcommand can return.
    public static let general: [ExitStatus] = [.success, .partialFailure, .usage]

    /// How the table shows the code (interrupted is a family: 130 for SIGINT, 143 for SIGTERM).
    public var code: String { self == .interrupted ? "128+N" : String(rawValue) }

    public var meaning: String {
        switch self {
        case .success: return "everything asked for was done"
        case .partialFailure: return "some inputs failed (each was reported on stderr with its path); the others were done"
        case .usage: return "usage error: unknown option, bad value, missing argument, or an unusable tool description"
        case .unreachable: return "the node could not be reached (connection refused, no route, host unknown, no answer within the timeouts, HTTP 5xx or 429 from a DICOMweb node) or aborted every association, after the retries; send: nothing was stored"
        case .rejected: return "the node refused us: it rejected the association (for example an unknown called or calling AE title), the TLS handshake failed (an untrusted certificate, a plain-TCP peer), or a DICOMweb node answered 401, 403 or another refusal (wrong credentials); send: nothing was stored"
        case .emptyResult: return "nifti2seg only: every label of the input is empty, so no SEG was written (--empty-result seg writes one that records it)"
        case .interrupted: return "stopped by signal N (130: SIGINT, 143: SIGTERM) before everything asked for was done; the item in hand was finished or rolled back. receive and watch exit 0 after a clean stop"
        }
    }

    /// The one mapping from what an engine reports to the process's exit status.
    public static func of(_ report: Report) -> Int32 {
        if let e = report.fatal { return of(e).rawValue }
        if report.interruptedBy != 0 { return 128 + report.interruptedBy }
        return report.failures.isEmpty ? success.rawValue : partialFailure.rawValue
    }

    /// An error that ended a run.
    public static func of(_ e: I2Error) -> ExitStatus {
        switch e.kind {
        case .usage: return .usage
        case .unreachable: return .unreachable
        case .rejected: return .rejected
        case .emptyResult: return .emptyResult
        case .interrupted: return .interrupted
        default: return .partialFailure
        }
    }
}
