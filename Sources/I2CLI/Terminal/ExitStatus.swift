// The one exit-status enum. The README table and the man pages' EXIT STATUS sections come from here.

public enum ExitStatus: Int32, CaseIterable, Sendable {
    case success = 0
    case partialFailure = 1
    case usage = 2

    public var meaning: String {
        switch self {
        case .success: return "everything asked for was done"
        case .partialFailure: return "some inputs failed (each was reported on stderr with its path); the others were done"
        case .usage: return "usage error: unknown option, bad value, missing argument, or a subcommand not built yet"
        }
    }
}
