// What `i2 send` did with each file, and the JSON report (--report) written atomically at the end.
import Foundation
import I2DICOM
import I2Model

public struct FileOutcome: Sendable {
    public enum Status: String, Sendable {
        case stored     // the peer answered success
        case warning    // stored, with a warning status (0x0001, 0xBxxx)
        case failed     // not stored: failure status, refused context, unreadable, or the peer unreachable
        case skipped    // not a DICOM file
    }
    public var path: String
    public var status: Status
    public var sopClassUID = ""
    public var sopInstanceUID = ""
    public var dimseStatus: UInt16?
    /// The peer's error comment, or why the file was not sent.
    public var comment = ""
    public var transferSyntax = ""
    public var decompressed = false

    public init(path: String, status: Status) {
        self.path = path
        self.status = status
    }

    public var wasStored: Bool { status == .stored || status == .warning }

    /// A failed file as the error the report carries: rejected when the peer answered a failure status,
    /// bad input otherwise (unreadable, refused context, or never sent).
    public var error: I2Error {
        I2Error(dimseStatus == nil ? .badInput : .rejected, path: path, "not stored: " + reason)
    }

    /// One line for humans: the reason, with the DIMSE status when there is one.
    public var reason: String {
        guard let s = dimseStatus, s != 0 else { return comment }
        let text = "status 0x" + String(format: "%04X", s) + " (" + UIDName.storeStatus(s) + ")"
        return comment.isEmpty ? text : text + ": " + comment
    }

    /// The --json record of a file (its path is the record's "path"). Every documented key is always
    /// present: unknown UIDs (unreadable file), no DIMSE answer, and the syntax of a file never sent are null.
    public var fields: [String: JSONValue] {
        func text(_ s: String) -> JSONValue { s.isEmpty ? .null : .string(s) }
        let sent = !transferSyntax.isEmpty
        return ["status": .string(status.rawValue), "sop_instance_uid": text(sopInstanceUID),
                "sop_class_uid": text(sopClassUID), "error_comment": .string(comment),
                "dimse_status": dimseStatus.map { .string("0x" + String(format: "%04X", $0)) } ?? .null,
                "transfer_syntax": text(transferSyntax), "decompressed": sent ? .bool(decompressed) : .null]
    }

    /// The --report entry: the same keys as `fields`, with the path as "file".
    public var json: [String: Any] {
        func text(_ s: String) -> Any { s.isEmpty ? NSNull() : s }
        let sent = !transferSyntax.isEmpty
        return ["file": path, "status": status.rawValue, "sop_instance_uid": text(sopInstanceUID),
                "sop_class_uid": text(sopClassUID), "error_comment": comment,
                "dimse_status": dimseStatus.map { "0x" + String(format: "%04X", $0) } ?? NSNull(),
                "transfer_syntax": text(transferSyntax), "decompressed": sent ? decompressed : NSNull()]
    }

    /// Success and warnings are stored; 0x0001 and 0xBxxx are warnings (PS3.7 C); anything else failed.
    static func classify(_ status: UInt16) -> Status {
        if status == 0 { return .stored }
        if status == 0x0001 || status & 0xF000 == 0xB000 { return .warning }
        return .failed
    }
}

public struct SendSummary: Sendable {
    /// How the run ended as a whole (the exit status follows from it).
    public enum End: String, Sendable {
        case completed      // every file got an answer or a permanent per-file error
        case unreachable    // the peer could not be reached (or did not answer) and nothing was stored
        case rejected       // the peer rejected the association and nothing was stored
        case interrupted    // SIGINT/SIGTERM: the file in hand was finished, the rest not sent
    }
    public var destination: Destination
    /// Set when the destination was a DICOMweb node (STOW-RS).
    public var web: WebEndpoint?
    public var callingAE: String
    public var outcomes: [FileOutcome] = []
    public var end = End.completed
    /// Why associations failed, when they did (the last failure).
    public var associationError: String?
    public var associations = 0
    public var started = Date()
    public var finished = Date()

    public func count(_ status: FileOutcome.Status) -> Int { outcomes.filter { $0.status == status }.count }
    public var failed: [FileOutcome] { outcomes.filter { $0.status == .failed } }

    public var json: [String: Any] {
        let iso = ISO8601DateFormatter()
        var dest: [String: Any] = ["aet": destination.aeTitle, "host": destination.host, "port": destination.port]
        if let w = web { dest = ["url": w.url] }
        if let n = destination.name { dest["name"] = n }
        return [
            "destination": dest, "calling_aet": web == nil ? callingAE : NSNull(), "result": end.rawValue,
            "association_error": associationError ?? NSNull(), web == nil ? "associations" : "requests": associations,
            "started": iso.string(from: started), "finished": iso.string(from: finished),
            "counts": ["stored": count(.stored), "warning": count(.warning), "failed": count(.failed), "skipped": count(.skipped)],
            "files": outcomes.map(\.json),
        ]
    }
}

public enum SendReport {
    /// Writes the summary as pretty JSON to `path`, atomically (a reader never sees half a report).
    public static func write(_ summary: SendSummary, to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: summary.json, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write([UInt8](data) + [0x0A], to: path)
    }
}
