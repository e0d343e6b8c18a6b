// i2 receive: a DICOM storage node (C-STORE and C-ECHO SCP) that a PACS sends studies to.
import Foundation
import I2Core
import I2DICOM

enum Receive {
    static let aet = Flag("aet", short: "a", value: "AETITLE", summary: "Our AE title (case-sensitive)", defaultValue: "I2")
    static let port = Flag("port", short: "p", value: "PORT", summary: "TCP port to listen on", defaultValue: "11112")
    static let bind = Flag("bind", value: "ADDRESS", summary: "Listen on this address only (e.g. 127.0.0.1 or ::1)",
                           details: "By default i2 listens on every interface, IPv4 and IPv6.")
    static let allow = Flag("allow", value: "AETITLE", summary: "Accept only this calling AE title (repeatable)",
                            details: "Anyone else is rejected at association time (calling AE title not recognized).", repeatable: true)
    static let maxAssociations = Flag("max-associations", value: "N", summary: "Simultaneous associations; more are rejected as transient", defaultValue: "16")
    static let maxPDU = Flag("max-pdu", value: "BYTES", summary: "Maximum PDU length we receive", defaultValue: "131072")
    static let acseTimeout = Flag("acse-timeout", value: "SECONDS", summary: "Wait this long for an association request or release", defaultValue: "30")
    static let dimseTimeout = Flag("dimse-timeout", value: "SECONDS", summary: "A data set may stall this long mid-transfer", defaultValue: "60")
    static let idleTimeout = Flag("idle-timeout", value: "SECONDS", summary: "Abort an association idle this long between commands", defaultValue: "300")
    static let onDuplicate = Flag("on-duplicate", value: "POLICY", summary: "Same SOP Instance UID, different content",
                                  details: "`keep-both` (default) stores the new one beside the old as <SOPInstanceUID>_2.dcm, so nothing is lost; `overwrite` replaces the old one; `reject` answers the sender with a failure status (0xC000) and keeps the old one. A re-sent identical instance is always a no-op.",
                                  choices: DuplicatePolicy.allCases.map(\.rawValue), defaultValue: "keep-both")
    static let noFsync = Flag("no-fsync", summary: "Do not fsync before answering (faster; a power loss may lose acknowledged instances)")
    static let minFree = Flag("min-free", value: "SIZE", summary: "Refuse instances (status 0xA700) while free space is below SIZE (e.g. 500M, 2G)", defaultValue: "0")
    static let drain = Flag("drain", value: "SECONDS", summary: "On SIGINT/SIGTERM, let transfers in flight finish for at most this long", defaultValue: "30")
    static let json = Flag("json", summary: "Print one JSON object per stored instance instead of its path")

    static let command = Command(
        name: "receive",
        summary: "DICOM storage node: receive studies from a PACS (C-STORE/C-ECHO SCP)",
        description: """
        Listens for DICOM associations and stores every received instance, as received (no transcoding), under ROOT/<PatientID>/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm. Accepts C-ECHO and C-STORE for every storage SOP class, in the usual transfer syntaxes (implicit/explicit little endian, big endian, deflated, JPEG family, JPEG-LS, JPEG 2000, RLE).
        Each data set is streamed to a hidden temporary file under ROOT/.i2-incoming, fsync'ed, renamed into place, and only then answered with success (an instance acknowledged just before a crash is moved into place at the next start); when it cannot be stored (disk full, permissions, free space below --min-free) the sender gets 0xA700 (out of resources). PatientID is made safe as a path component; UIDs must be UIDs.
        Each stored file's path is printed on stdout when it becomes visible (--json: one object per line); associations and errors go to stderr. Runs until SIGINT or SIGTERM, then stops accepting, lets transfers in flight finish (--drain) and exits 0.
        """,
        flags: [aet, port, bind, allow, maxAssociations, maxPDU, acseTimeout, dimseTimeout, idleTimeout, onDuplicate, noFsync, minFree, drain, json, CommonFlags.null],
        positionals: [Positional("ROOT", summary: "Directory the instances are stored under (created if missing)", completion: .directory)],
        examples: [
            ("i2 receive --aet I2 --port 11112 /data/incoming", "store what a PACS sends to I2@this-host:11112"),
            ("i2 receive --bind 127.0.0.1 --allow ORTHANC /data/incoming", "only local, only from ORTHANC"),
        ],
        run: run)

    nonisolated(unsafe) static var stopFlag: UnsafeMutablePointer<Int32>?

    @Sendable static func run(_ args: ParsedArguments) throws -> ExitStatus {
        guard args.positionals.count == 1 else { throw UsageError("needs exactly one ROOT directory") }
        let root = args.positionals[0]
        var config = StoreSCPConfig(incomingDirectory: StoreLayout.incoming(root))
        config.aeTitle = args.value("aet") ?? "I2"
        guard !config.aeTitle.isEmpty, config.aeTitle.count <= 16 else { throw UsageError("--aet: an AE title has 1 to 16 characters") }
        config.port = try Numbers.int(args, "port", 11112, range: 1...65535)
        config.bindAddress = args.value("bind") ?? ""
        config.allowedCallers = args.all("allow")
        config.maxAssociations = try Numbers.int(args, "max-associations", 16, range: 1...1000)
        config.maxPDU = try Numbers.int(args, "max-pdu", 131072, range: 4096...131072 * 128)
        config.acseTimeout = try Numbers.int(args, "acse-timeout", 30, range: 1...86400)
        config.dimseTimeout = try Numbers.int(args, "dimse-timeout", 60, range: 1...86400)
        config.idleTimeout = try Numbers.int(args, "idle-timeout", 300, range: 1...86400)
        config.drainSeconds = try Numbers.int(args, "drain", 30, range: 0...86400)
        config.minFreeBytes = try Numbers.size(args.value("min-free") ?? "0", flag: "min-free")
        var store = InstanceStore(root: root)
        store.durable = !args.has("no-fsync")
        store.onDuplicate = DuplicatePolicy(rawValue: args.value("on-duplicate") ?? "keep-both") ?? .keepBoth
        let asJSON = args.has("json")
        let settings = config, instances = store
        StandardOutput.nulSeparated = args.has("null")

        do {
            try FileManager.default.createDirectory(atPath: config.incomingDirectory, withIntermediateDirectories: true)
        } catch {
            Diagnostics.error("\(root): cannot create the store: \(error.localizedDescription)")
            return .partialFailure
        }
        store.recover(incoming: config.incomingDirectory) { path in
            Diagnostics.info("recovered \(path), acknowledged before a crash")
            StandardOutput.record(path)
        }

        let scp = StoreSCP(config: settings, handler: { received in
            switch instances.store(temporary: received.temporaryPath, sopInstanceUID: received.sopInstanceUID) {
            case .stored(let path, let patient, let study, let series):
                if asJSON {
                    StandardOutput.record(JSONLine.encode([
                        "event": "stored", "path": path, "patient_id": patient, "study_instance_uid": study,
                        "series_instance_uid": series, "sop_instance_uid": received.sopInstanceUID,
                        "sop_class_uid": received.sopClassUID, "calling_ae": received.callingAE, "peer": received.peer]))
                } else {
                    StandardOutput.record(path)
                }
                return .success
            case .identical:
                return .success
            case .refused(let answer):
                Diagnostics.error("\(received.callingAE)@\(received.peer): \(received.sopInstanceUID) not stored (status 0x\(String(answer.status, radix: 16, uppercase: true))): \(answer.comment)")
                return answer
            }
        }, log: { level, message in
            Diagnostics.log(level, message)
        }, ready: {
            let at = settings.bindAddress.isEmpty ? "*" : settings.bindAddress
            Diagnostics.info("listening as \(settings.aeTitle) on \(at) port \(settings.port), storing under \(root)")
        })
        stopFlag = scp.stopPointer
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { _ in Receive.stopFlag?.pointee = 1 }
        }
        do {
            try scp.run()
        } catch {
            Diagnostics.error("\(error)")
            return .partialFailure
        }
        Diagnostics.info("stopped")
        return .success
    }
}

/// Parsing numbers and sizes from flag values (stage two: the parser only checks syntax).
enum Numbers {
    static func int(_ args: ParsedArguments, _ flag: String, _ fallback: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = args.value(flag) else { return fallback }
        guard let v = Int(text), range.contains(v) else {
            throw UsageError("--\(flag): '\(text)' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return v
    }

    static func seconds(_ args: ParsedArguments, _ flag: String, _ fallback: Double, max: Double) throws -> Double {
        guard let text = args.value(flag) else { return fallback }
        guard let v = Double(text), v.isFinite, v >= 0, v <= max else {
            throw UsageError("--\(flag): '\(text)' is not a number of seconds from 0 to \(Int(max))")
        }
        return v
    }

    /// "500M", "2G", "1024" (bytes), with K/M/G/T as powers of 1024.
    static func size(_ text: String, flag: String) throws -> UInt64 {
        let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var digits = text.uppercased()
        var scale: UInt64 = 1
        if let last = digits.last, let u = units[last] { scale = u; digits.removeLast() }
        if digits.hasSuffix("I") || digits.hasSuffix("B") { throw UsageError("--\(flag): '\(text)' should look like 500M or 2G") }
        guard let n = UInt64(digits) else { throw UsageError("--\(flag): '\(text)' should look like 500M or 2G") }
        return n * scale
    }
}

/// One JSON object on one line, keys sorted (for --json event streams).
enum JSONLine {
    static func encode(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
