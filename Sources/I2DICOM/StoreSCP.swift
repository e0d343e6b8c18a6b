// The storage SCP: DCMTK runs the protocol on its threads (CDCMTKSCP.h); Swift decides what happens
// to each received data set through `handler`, which may be called from several threads at once.
internal import CDCMTK
import Foundation
import I2Model

public struct StoreSCPConfig: Sendable {
    public var aeTitle = "I2"
    public var bindAddress = ""
    public var port = 11112
    public var incomingDirectory: String
    public var maxPDU = 131072
    public var acseTimeout = 30
    public var dimseTimeout = 60
    public var idleTimeout = 300
    public var maxAssociations = 16
    public var allowedCallers: [String] = []
    public var minFreeBytes: UInt64 = 0
    public var drainSeconds = 30
    public var maxPerPeer = 8
    public var pduTimeout = 30
    public var evictIdle = 10
    /// nil: plain TCP; else TLS only.
    public var tls: TLSOptions?
    public init(incomingDirectory: String) { self.incomingDirectory = incomingDirectory }
}

/// One received instance, complete in a temporary file the handler now owns.
public struct ReceivedInstance: Sendable {
    public var temporaryPath: String
    public var callingAE: String
    public var peer: String
    public var sopClassUID: String
    public var sopInstanceUID: String
}

/// What to answer the sender: success, or a failure status with a short reason.
public enum StoreAnswer: Sendable {
    case success
    case outOfResources(String)          // 0xA700: the sender may retry later
    case cannotUnderstand(String)        // 0xC000: retrying the same data will not help

    public var status: UInt16 {
        switch self {
        case .success: return 0
        case .outOfResources: return 0xA700
        case .cannotUnderstand: return 0xC000
        }
    }
    public var comment: String {
        switch self {
        case .success: return ""
        case .outOfResources(let s), .cannotUnderstand(let s): return s
        }
    }
}

/// What the SCP did before or around the handler, for receive's metrics.
public enum StoreSCPEvent: Sendable, Equatable {
    case associationAccepted, associationEnded
    case associationRejected(reason: String)
    /// A C-STORE answered with a failure before the handler saw it (free space, spool write).
    case instanceRefused(reason: String)
}

public final class StoreSCP: @unchecked Sendable {
    let config: StoreSCPConfig
    let handler: @Sendable (ReceivedInstance) -> StoreAnswer
    /// Level, the peer address the line concerns (nil for none), the line.
    let log: @Sendable (LogLevel, String?, String) -> Void
    let ready: @Sendable () -> Void
    let event: @Sendable (StoreSCPEvent) -> Void
    /// The caller's stop flag (a StopToken's): non-zero asks `run` to stop accepting and drain.
    private let stopFlag: UnsafeMutablePointer<Int32>

    public init(config: StoreSCPConfig, stopFlag: UnsafeMutablePointer<Int32>,
                handler: @escaping @Sendable (ReceivedInstance) -> StoreAnswer,
                log: @escaping @Sendable (LogLevel, String?, String) -> Void, ready: @escaping @Sendable () -> Void = {},
                event: @escaping @Sendable (StoreSCPEvent) -> Void = { _ in }) {
        self.config = config
        self.stopFlag = stopFlag
        self.handler = handler
        self.log = log
        self.ready = ready
        self.event = event
    }

    /// Serves until the stop flag is set; throws when the port cannot be opened.
    public func run() throws {
        let callers = config.allowedCallers.map { strdup($0) }
        defer { callers.forEach { free($0) } }
        try Condition.check(path: nil) { err, errLength in
            config.aeTitle.withCString { ae in
                config.bindAddress.withCString { bind in
                    config.incomingDirectory.withCString { incoming in
                        callers.map { UnsafePointer($0) }.withUnsafeBufferPointer { list in
                            TLSOptions.withC(config.tls) { tls in
                                var c = i2dcm_scp_config(
                                    ae_title: ae, bind_address: bind, port: Int32(config.port), incoming_dir: incoming,
                                    max_pdu: config.maxPDU, acse_timeout: Int32(config.acseTimeout),
                                    dimse_timeout: Int32(config.dimseTimeout), idle_timeout: Int32(config.idleTimeout),
                                    max_associations: Int32(config.maxAssociations),
                                    allowed_callers: list.baseAddress, allowed_count: Int32(list.count),
                                    min_free_bytes: config.minFreeBytes, drain_seconds: Int32(config.drainSeconds),
                                    max_per_peer: Int32(config.maxPerPeer), pdu_timeout: Int32(config.pduTimeout),
                                    evict_idle: Int32(config.evictIdle), tls: tls, event: eventTrampoline)
                                let ctx = Unmanaged.passUnretained(self).toOpaque()
                                return i2dcm_scp_run(&c, storeTrampoline, logTrampoline, readyTrampoline, ctx, stopFlag, err, errLength)
                            }
                        }
                    }
                }
            }
        }
    }
}

private func instance(_ ctx: UnsafeMutableRawPointer?) -> StoreSCP {
    Unmanaged<StoreSCP>.fromOpaque(ctx!).takeUnretainedValue()
}

private let storeTrampoline: i2dcm_scp_store_fn = { ctx, tmp, caller, peer, sopClass, sopInstance, comment, commentLength in
    let scp = instance(ctx)
    let answer = scp.handler(ReceivedInstance(temporaryPath: String(cString: tmp!), callingAE: String(cString: caller!),
                                              peer: String(cString: peer!), sopClassUID: String(cString: sopClass!),
                                              sopInstanceUID: String(cString: sopInstance!)))
    if let comment, commentLength > 0 {
        _ = answer.comment.withCString { strncpy(comment, $0, commentLength - 1) }
        comment[commentLength - 1] = 0
    }
    return answer.status
}

private let logTrampoline: i2dcm_scp_log_fn = { ctx, level, peer, message in
    let from = peer.map { String(cString: $0) } ?? ""
    instance(ctx).log(LogLevel(rawValue: Int(level) + 1) ?? .info, from.isEmpty ? nil : from, String(cString: message!))
}

private let eventTrampoline: i2dcm_scp_event_fn = { ctx, kind, reason in
    let why = reason.map { String(cString: $0) } ?? ""
    let e: StoreSCPEvent? = switch UInt32(kind) {
    case I2DCM_SCP_ASSOCIATION_ACCEPTED.rawValue: .associationAccepted
    case I2DCM_SCP_ASSOCIATION_ENDED.rawValue: .associationEnded
    case I2DCM_SCP_ASSOCIATION_REJECTED.rawValue: .associationRejected(reason: why)
    case I2DCM_SCP_INSTANCE_REFUSED.rawValue: .instanceRefused(reason: why)
    default: nil
    }
    if let e { instance(ctx).event(e) }
}

private let readyTrampoline: @convention(c) (UnsafeMutableRawPointer?) -> Void = { ctx in instance(ctx).ready() }
