// The environment DCMTK reads, fixed once at start-up (see DicomEnvironment.prepare).
internal import CDCMTK

/// DCMTK's environment, fixed once at start-up (i2dcm_prepare_environment): DCMDICTPATH=/dev/null when
/// the user set none, so DCMTK's set-up, on whichever thread, never changes the environment.
public enum DicomEnvironment {
    /// Whether i2 set DCMDICTPATH itself: then the commands it runs must not inherit it.
    nonisolated(unsafe) public private(set) static var setsDictionaryPath = false

    /// Call first thing, before any thread starts.
    public static func prepare() { setsDictionaryPath = i2dcm_prepare_environment() == 1 }

    /// Loads DCMTK on a thread of its own now, for a command that will write through it (i2dcm_preload).
    public static func preload() { i2dcm_preload() }

    /// `environment` for a command i2 runs: without the DCMDICTPATH i2 set for itself.
    public static func forChild(_ environment: [String: String]) -> [String: String] {
        guard setsDictionaryPath, environment["DCMDICTPATH"] == "/dev/null" else { return environment }
        var e = environment
        e["DCMDICTPATH"] = nil
        return e
    }
}
