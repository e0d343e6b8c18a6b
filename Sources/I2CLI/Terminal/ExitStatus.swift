// The one exit-status enum. The README table and the man pages' EXIT STATUS sections come from here.
// 3 and 4 belong to `i2 send`, 5 to `i2 nifti2seg`: a command lists the statuses it can return (Command.exitStatuses).

public enum ExitStatus: Int32, CaseIterable, Sendable {
    case success = 0
    case partialFailure = 1
    case usage = 2
    case unreachable = 3    // send: the peer could not be reached, so nothing was sent
    case rejected = 4       // send: the peer rejected the association, so nothing was sent
    case emptyResult = 5    // nifti2seg: every label is empty, so no SEG was written

    /// What every subcommand can return; only `i2 send` adds 3 and 4.
    public static let general: [ExitStatus] = [.success, .partialFailure, .usage]

    public var meaning: String {
        switch self {
        case .success: return "everything asked for was done"
        case .partialFailure: return "some inputs failed (each was reported on stderr with its path); the others were done"
        case .usage: return "usage error: unknown option, bad value, missing argument, or an unusable tool description"
        case .unreachable: return "send only: the destination could not be reached (connection refused, no route, host unknown, or no DICOM answer within the timeouts), after the retries; nothing was stored"
        case .rejected: return "send only: the destination rejected the association (for example an unknown called or calling AE title); nothing was stored"
        case .emptyResult: return "nifti2seg only: every label of the input is empty, so no SEG was written (--empty-result seg writes one that records it)"
        }
    }
}
