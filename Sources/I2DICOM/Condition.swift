// The one place a CDCMTK status becomes an I2Error. The shim (CDCMTK.h) reports every failure as a
// status (I2DCM_BAD_INPUT, I2DCM_NOT_DICOM, I2DCM_NOT_FOUND, I2DCM_STORAGE, I2DCM_INTERNAL; for the
// network, I2DCM_NET_* = I2Error.NetworkCause) and a reason in an error buffer; every call into it that
// can fail goes through `check`, `open` or `network` here, so each status has one kind everywhere.
internal import CDCMTK
import I2Model

enum Condition {
    /// Bytes of the error buffer each call gets (the shim truncates longer reasons).
    static let bufferSize = 512

    /// The kind of a failure status; nil for success (0 or a non-negative count).
    static func kind(_ status: Int32) -> I2Error.Kind? {
        switch Int(status) {
        case _ where status >= 0: return nil
        case I2DCM_NOT_DICOM: return .notDICOM
        case I2DCM_NOT_FOUND: return .notFound
        case I2DCM_STORAGE: return .storage
        case I2DCM_INTERNAL: return .internal
        default: return .badInput
        }
    }

    /// The error for a failure status, naming the file (or peer) it concerns.
    static func error(_ status: Int32, _ reason: String, path: String?, peer: String? = nil) -> I2Error {
        I2Error(kind(status) ?? .internal, path: path, peer: peer,
                reason.isEmpty ? "DICOM toolkit call failed (status \(status))" : reason)
    }

    /// Runs a shim call that returns a status and writes its reason into the buffer it is given.
    /// Returns the status when it is success (0, or a count or answer >= 0); throws its I2Error otherwise.
    @discardableResult
    static func check(path: String?, _ call: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws -> Int32 {
        var err = [CChar](repeating: 0, count: bufferSize)
        let status = err.withUnsafeMutableBufferPointer { call($0.baseAddress!, $0.count) }
        guard status < 0 else { return status }
        throw error(status, String(cString: err), path: path)
    }

    /// Runs a shim call that returns a handle, or NULL with a status through its pointer and a reason.
    static func open<T>(path: String?, _ call: (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<CChar>, Int) -> T?) throws -> T {
        var err = [CChar](repeating: 0, count: bufferSize)
        var status = Int32(I2DCM_BAD_INPUT)
        let handle = err.withUnsafeMutableBufferPointer { call(&status, $0.baseAddress!, $0.count) }
        if let handle { return handle }
        throw error(status < 0 ? status : Int32(I2DCM_BAD_INPUT), String(cString: err), path: path)
    }

    /// Runs a network call of the SCU (an outcome: I2DCM_OK or I2DCM_NET_*); throws I2Error(network:)
    /// for any other outcome, with `rejection` for an association the peer rejected.
    @discardableResult
    static func network(peer: String?, path: String? = nil, rejection: (() -> I2Error.Rejection)? = nil,
                        _ call: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws -> String {
        var err = [CChar](repeating: 0, count: bufferSize)
        let outcome = err.withUnsafeMutableBufferPointer { call($0.baseAddress!, $0.count) }
        let reason = String(cString: err)
        if outcome == Int32(I2DCM_OK) { return reason }
        throw networkError(outcome, reason, peer: peer, path: path, rejection: rejection)
    }

    /// The I2Error for a network outcome (an unknown one counts as an abort).
    static func networkError(_ outcome: Int32, _ reason: String, peer: String?, path: String? = nil,
                             rejection: (() -> I2Error.Rejection)? = nil) -> I2Error {
        let cause = I2Error.NetworkCause(rawValue: outcome) ?? .aborted
        var e = I2Error(network: cause, peer: peer, reason, rejection: cause == .rejected ? rejection?() : nil)
        e.path = path
        return e
    }
}
