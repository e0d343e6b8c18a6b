// The storage SCU: one DICOM association (CDCMTKSCU.h) owned from Swift, plus the cheap header probe
// used to plan presentation contexts. Mechanics only: which contexts, retries and wording live in I2Core.
internal import CDCMTK
import Foundation
import I2Model

public enum SOPClass {
    public static let verification = "1.2.840.10008.1.1"
}

public enum TransferSyntaxUID {
    public static let implicitLittle = "1.2.840.10008.1.2"
    public static let explicitLittle = "1.2.840.10008.1.2.1"
    public static let explicitBig = "1.2.840.10008.1.2.2"

    public static func isUncompressed(_ uid: String) -> Bool { [implicitLittle, explicitLittle, explicitBig].contains(uid) }
}

public enum UIDName {
    /// DCMTK's name for a UID, e.g. "CTImageStorage"; nil when unknown.
    public static func of(_ uid: String) -> String? { i2dcm_uid_name(uid).map { String(cString: $0) } }
    /// "CTImageStorage (1.2.840.10008.5.1.4.1.1.2)", or the bare UID.
    public static func describe(_ uid: String) -> String { of(uid).map { "\($0) (\(uid))" } ?? uid }
    /// DCMTK's wording of a C-STORE status, e.g. "Refused: OutOfResources".
    public static func storeStatus(_ status: UInt16) -> String { String(cString: i2dcm_status_text(status)) }
}

public struct AssociationParameters: Sendable {
    public var callingAE = "I2"
    public var calledAE: String
    public var host: String
    public var port: Int
    public var connectTimeout = 10
    public var acseTimeout = 30
    public var dimseTimeout = 60
    public var maxPDU = 131072
    /// nil: plain TCP.
    public var tls: TLSOptions?
    public init(calledAE: String, host: String, port: Int) {
        self.calledAE = calledAE
        self.host = host
        self.port = port
    }
}

public struct PresentationContext: Hashable, Sendable {
    public var abstractSyntax: String
    public var transferSyntaxes: [String]
    /// We propose to be the SCP: storage SOP classes whose C-STOREs a C-GET brings us.
    public var scpRole = false
    public init(_ abstractSyntax: String, _ transferSyntaxes: [String], scpRole: Bool = false) {
        self.abstractSyntax = abstractSyntax
        self.transferSyntaxes = transferSyntaxes
        self.scpRole = scpRole
    }
}

public struct StoreResponse: Sendable {
    public var status: UInt16
    public var comment: String
    public var sopClassUID: String
    public var sopInstanceUID: String
    public var transferSyntax: String
    public var decompressed: Bool
}

/// How a C-MOVE (or C-GET) ended: its final status and sub-operation counts.
public struct RetrieveResponse: Sendable {
    public var status: UInt16
    public var comment: String
    public var completed, failed, warning, remaining: Int
    public var failedInstances: [String]
}

public final class Association {
    private var handle: OpaquePointer?
    public let proposed: [PresentationContext]
    /// "AE@host:port" of the peer, for the errors.
    public let peer: String

    /// Connects and negotiates; throws I2Error(network:) with the cause (and the rejection, if any).
    public init(_ p: AssociationParameters, contexts: [PresentationContext]) throws {
        let peer = "\(p.calledAE)@\(p.host):\(p.port)"
        self.peer = peer
        var rej = i2dcm_scu_rejection(result: 0, source: 0, reason: 0)
        // C strings for the call, freed after it (DCMTK copies what it keeps).
        var owned: [UnsafeMutablePointer<CChar>?] = []
        var lists: [UnsafeMutablePointer<UnsafePointer<CChar>?>] = []
        defer { owned.forEach { free($0) }; lists.forEach { $0.deallocate() } }
        func dup(_ s: String) -> UnsafePointer<CChar>? { let c = strdup(s); owned.append(c); return UnsafePointer(c) }
        var cs: [i2dcm_scu_context] = contexts.map { c in
            let list = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: Swift.max(c.transferSyntaxes.count, 1))
            for (i, ts) in c.transferSyntaxes.enumerated() { list[i] = dup(ts) }
            lists.append(list)
            return i2dcm_scu_context(abstract_syntax: dup(c.abstractSyntax), transfer_syntaxes: UnsafePointer(list),
                                     count: Int32(c.transferSyntaxes.count), scp_role: c.scpRole ? 1 : 0)
        }
        var h: OpaquePointer?
        let rejection = { I2Error.Rejection(result: Int(rej.result), source: Int(rej.source), reason: Int(rej.reason)) }
        try TLSOptions.withC(p.tls) { tls in
            var params = i2dcm_scu_params(calling_ae: dup(p.callingAE), called_ae: dup(p.calledAE), host: dup(p.host), port: Int32(p.port),
                                          connect_timeout: Int32(p.connectTimeout), acse_timeout: Int32(p.acseTimeout),
                                          dimse_timeout: Int32(p.dimseTimeout), max_pdu: p.maxPDU, tls: tls)
            try Condition.network(peer: peer, rejection: rejection) { err, len in
                var outcome = Int32(I2DCM_NET_ABORTED)
                h = i2dcm_scu_open(&params, &cs, Int32(cs.count), &outcome, &rej, err, len)
                return h != nil ? Int32(I2DCM_OK) : outcome == Int32(I2DCM_OK) ? Int32(I2DCM_NET_ABORTED) : outcome
            }
        }
        handle = h
        proposed = contexts
    }

    deinit { if let h = handle { i2dcm_scu_close(h, 1) } }

    public var isOpen: Bool { handle != nil }
    public var acceptedCount: Int { handle.map { Int(i2dcm_scu_accepted_count($0)) } ?? 0 }

    /// C-STOREs one file. A thrown .timeout or .aborted cause means the association is gone (it is closed here).
    public func store(_ file: FileToSend) throws -> StoreResponse {
        guard let h = handle else { throw I2Error(network: .aborted, peer: peer, "association already closed") }
        var r = i2dcm_scu_store_result()
        let message: String
        do {
            message = try Condition.network(peer: peer, path: file.path) { i2dcm_scu_store(h, file.handle, &r, $0, $1) }
        } catch let e as I2Error {
            if e.cause == .timeout || e.cause == .aborted { abort() }
            throw e
        }
        func text<T>(_ t: inout T) -> String { withUnsafeBytes(of: &t) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
        return StoreResponse(status: r.status, comment: message, sopClassUID: text(&r.sop_class),
                             sopInstanceUID: text(&r.sop_instance), transferSyntax: text(&r.transfer_syntax),
                             decompressed: r.decompressed != 0)
    }

    /// C-ECHO; returns the DIMSE status.
    public func echo() throws -> UInt16 {
        guard let h = handle else { throw I2Error(network: .aborted, peer: peer, "association already closed") }
        var status: UInt16 = 0
        do {
            try Condition.network(peer: peer) { i2dcm_scu_echo(h, &status, $0, $1) }
        } catch {
            abort()
            throw error
        }
        return status
    }

    /// C-FIND with `keys` (an empty value asks for the attribute) on the context of `model`. Returns the
    /// final DIMSE status, the peer's error comment, and each match's attributes by tag (hex group and
    /// element), values decoded as UTF-8, else Latin-1.
    public func find(model: String, keys: [(Tag, String)]) throws -> (status: UInt16, comment: String, matches: [[Tag: String]]) {
        guard let h = handle else { throw I2Error(network: .aborted, peer: peer, "association already closed") }
        let query = keys.map { String(format: "%04x,%04x=", $0.0.group, $0.0.element) + $0.1 }.joined(separator: "\n")
        var results: UnsafeMutablePointer<CChar>?
        var count: Int32 = 0, status: UInt16 = 0
        let comment: String
        do {
            comment = try Condition.network(peer: peer) { i2dcm_scu_find(h, model, query, &results, &count, &status, $0, $1) }
        } catch let e as I2Error {
            if e.cause == .timeout || e.cause == .aborted { abort() }
            throw e
        }
        defer { free(results) }
        let known = Dictionary(keys.map { (UInt32($0.0.group) << 16 | UInt32($0.0.element), $0.0) }, uniquingKeysWith: { a, _ in a })
        var matches: [[Tag: String]] = []
        let bytes = results.map { UnsafeRawBufferPointer(start: $0, count: strlen($0)) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
        for record in bytes.split(separator: 0x1e, omittingEmptySubsequences: false).dropLast() {
            var m: [Tag: String] = [:]
            for field in record.split(separator: 0x1f) {
                guard let eq = field.firstIndex(of: UInt8(ascii: "=")),
                      let code = UInt32(String(decoding: field[field.startIndex..<eq], as: UTF8.self).replacingOccurrences(of: ",", with: ""), radix: 16),
                      let tag = known[code] else { continue }
                let raw = Array(field[(eq + 1)...])
                let text = String(validating: raw, as: UTF8.self) ?? String(raw.map { Character(Unicode.Scalar($0)) })
                m[tag] = text.trimmingCharacters(in: .whitespaces)
            }
            matches.append(m)
        }
        return (status, comment, matches)
    }

    /// C-MOVE of what `keys` identify to the AE title `destination`, on the context of `model`.
    public func move(model: String, keys: [(Tag, String)], destination: String) throws -> RetrieveResponse {
        guard let h = handle else { throw I2Error(network: .aborted, peer: peer, "association already closed") }
        let query = keys.map { String(format: "%04x,%04x=", $0.0.group, $0.0.element) + $0.1 }.joined(separator: "\n")
        var r = i2dcm_scu_retrieve_result()
        let comment: String
        do {
            comment = try Condition.network(peer: peer) { i2dcm_scu_move(h, model, query, destination, &r, $0, $1) }
        } catch let e as I2Error {
            if e.cause == .timeout || e.cause == .aborted { abort() }
            throw e
        }
        return response(&r, comment)
    }

    private func response(_ r: inout i2dcm_scu_retrieve_result, _ comment: String) -> RetrieveResponse {
        let failed = withUnsafeBytes(of: &r.failed_uids) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return RetrieveResponse(status: r.status, comment: comment, completed: Int(r.completed), failed: Int(r.failed),
                                warning: Int(r.warning), remaining: Int(r.remaining),
                                failedInstances: failed.split(separator: "\\").map(String.init))
    }

    /// C-GET of what `keys` identify, on the context of `model`: each instance the node sends is written
    /// to a file in `incoming` and handed to `store` (temporary path, SOP class, SOP instance), whose
    /// answer (status, comment) the node gets; `store` owns the file.
    public func get(model: String, keys: [(Tag, String)], incoming: String,
                    store: @escaping (String, String, String) -> (status: UInt16, comment: String)) throws -> RetrieveResponse {
        guard let h = handle else { throw I2Error(network: .aborted, peer: peer, "association already closed") }
        let query = keys.map { String(format: "%04x,%04x=", $0.0.group, $0.0.element) + $0.1 }.joined(separator: "\n")
        final class Box { let store: (String, String, String) -> (status: UInt16, comment: String); init(_ s: @escaping (String, String, String) -> (status: UInt16, comment: String)) { store = s } }
        let box = Unmanaged.passRetained(Box(store))
        defer { box.release() }
        let callback: i2dcm_scu_get_store_fn = { ctx, tmp, sopClass, sop, comment, length in
            let b = Unmanaged<Box>.fromOpaque(ctx!).takeUnretainedValue()
            let answer = b.store(String(cString: tmp!), String(cString: sopClass!), String(cString: sop!))
            if let comment, length > 0 { _ = answer.comment.withCString { strncpy(comment, $0, length - 1) }; comment[length - 1] = 0 }
            return answer.status
        }
        var r = i2dcm_scu_retrieve_result()
        let comment: String
        do {
            comment = try Condition.network(peer: peer) {
                i2dcm_scu_get(h, model, query, incoming, callback, box.toOpaque(), &r, $0, $1)
            }
        } catch let e as I2Error {
            if e.cause == .timeout || e.cause == .aborted { abort() }
            throw e
        }
        return response(&r, comment)
    }

    public func release() { if let h = handle { i2dcm_scu_close(h, 0); handle = nil } }
    public func abort() { if let h = handle { i2dcm_scu_close(h, 1); handle = nil } }
}

/// A DICOM file parsed for sending (on any thread; sent on the association's).
public final class FileToSend: @unchecked Sendable {
    let handle: OpaquePointer
    public let path: String

    /// `inMemory` reads the bulk data now too (read-ahead); otherwise it is read while sending.
    /// Throws I2Error(network: .unreadable) naming `path` when the file cannot be read as DICOM.
    public init(path: String, inMemory: Bool) throws {
        do {
            handle = try Condition.open(path: path) { i2dcm_scu_load(path, inMemory ? 1 : 0, $0, $1, $2) }
        } catch let e as I2Error {
            // For sending, any file that cannot be read is the network's "unreadable" (permanent) cause.
            throw Condition.networkError(Int32(I2DCM_NET_UNREADABLE), e.detail, peer: nil, path: path)
        }
        self.path = path
    }

    deinit { i2dcm_scu_file_free(handle) }
}

/// SOP class, SOP instance and transfer syntax of a file, read from its meta header when it has one.
public struct DicomProbe: Sendable {
    public var sopClassUID: String
    public var sopInstanceUID: String
    public var transferSyntax: String

    /// Throws I2Error(.notDICOM) for a file that is not DICOM at all, .notFound when missing,
    /// .badInput when unreadable.
    public init(path: String) throws {
        var cls = [CChar](repeating: 0, count: 80), inst = cls, ts = cls
        try Condition.check(path: path) { i2dcm_probe(path, &cls, &inst, &ts, cls.count, $0, $1) }
        sopClassUID = String(cString: cls)
        sopInstanceUID = String(cString: inst)
        transferSyntax = String(cString: ts)
    }
}
