// i2 retrieve as an engine: for each study, series or instance (UIDs as arguments, or i2 query's
// output on stdin), one C-MOVE on one association, telling the node to send it to another AE title
// (--move-to: re-send a study from archive A to PACS B). The sub-operation counts of each item go to
// stderr, each item fully moved to stdout; failed sub-operations fail the item (exit 1), a node that
// cannot be reached or refuses us ends the run as for i2 send.
import Foundation
import I2DICOM
import I2Model

/// One thing to retrieve: its level and the unique keys known for it (the level's own, and the levels
/// above when the query output gave them: strict archives want them).
public struct RetrieveItem: Sendable, Equatable {
    public var level: QueryLevel
    public var study: String?
    public var series: String?
    public var instance: String?

    public init(level: QueryLevel, study: String? = nil, series: String? = nil, instance: String? = nil) {
        (self.level, self.study, self.series, self.instance) = (level, study, series, instance)
    }

    /// The level's own UID.
    public var uid: String { (level == .study ? study : level == .series ? series : instance) ?? "" }

    /// An item from a UID given for `level`.
    public static func uid(_ u: String, level: QueryLevel) -> RetrieveItem {
        switch level {
        case .series: return RetrieveItem(level: .series, series: u)
        case .instance: return RetrieveItem(level: .instance, instance: u)
        default: return RetrieveItem(level: .study, study: u)
        }
    }

    /// One line of i2 query's output: a JSON object (its QueryRetrieveLevel says the level), or
    /// tab-separated columns of `level` (the UIDs of the levels above follow the first column). Empty
    /// and '#' lines give nil.
    public static func parse(_ line: String, level: QueryLevel) throws -> RetrieveItem? {
        let text = line.trimmingCharacters(in: .whitespaces)
        if text.isEmpty || text.hasPrefix("#") { return nil }
        if text.hasPrefix("{") {
            guard let o = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                throw I2Error(.badInput, path: "stdin", "not a JSON object: \(text.prefix(80))")
            }
            let l: QueryLevel
            switch o["QueryRetrieveLevel"] as? String {
            case "STUDY"?: l = .study
            case "SERIES"?: l = .series
            case "IMAGE"?: l = .instance
            default: throw I2Error(.badInput, path: "stdin", "a JSON line without QueryRetrieveLevel STUDY, SERIES or IMAGE: \(text.prefix(80))")
            }
            let item = RetrieveItem(level: l, study: o["StudyInstanceUID"] as? String, series: o["SeriesInstanceUID"] as? String,
                                    instance: o["SOPInstanceUID"] as? String)
            return try item.checked()
        }
        let c = text.components(separatedBy: "\t")
        func at(_ i: Int) -> String? { i < c.count && !c[i].isEmpty ? c[i] : nil }
        switch level {
        case .series: return try RetrieveItem(level: .series, study: at(1), series: at(0)).checked()
        case .instance: return try RetrieveItem(level: .instance, study: at(2), series: at(1), instance: at(0)).checked()
        default: return try RetrieveItem(level: .study, study: at(0)).checked()
        }
    }

    /// The item, or an error naming `source` when a UID is malformed.
    public func checked(_ source: String = "stdin") throws -> RetrieveItem {
        for u in [study, series, instance].compactMap({ $0 }) + [uid] where !StoreLayout.isUID(u) {
            throw I2Error(source == "stdin" ? .badInput : .usage, path: source == "stdin" ? source : nil, "'\(u)' is not a UID")
        }
        return self
    }

    /// The C-MOVE identifier.
    var keys: [(Tag, String)] {
        var k: [(Tag, String)] = [(.queryRetrieveLevel, level.dicom)]
        if let s = study { k.append((.studyInstanceUID, s)) }
        if let s = series, level != .study { k.append((.seriesInstanceUID, s)) }
        if let s = instance, level == .instance { k.append((.sopInstanceUID, s)) }
        return k
    }
}

public struct RetrieveOptions: Sendable {
    public var node: Destination
    public var callingAE = "I2"
    /// The AE title the node sends to (C-MOVE destination).
    public var moveTo: String
    public var items: [RetrieveItem] = []
    /// Read more items (i2 query output) from this descriptor.
    public var stream: Int32?
    public var streamLevel = QueryLevel.study
    public var connectTimeout = 10
    public var acseTimeout = 30
    public var dimseTimeout = 600
    public init(node: Destination, moveTo: String) { (self.node, self.moveTo) = (node, moveTo) }
}

public enum RetrieveEngine: Engine {
    static let studyRootMove = "1.2.840.10008.5.1.4.1.2.2.2"

    public static func run(_ o: RetrieveOptions, _ context: EngineContext) -> Report {
        let result = Reporter(context)
        do {
            var items = o.items
            if let fd = o.stream {
                let text = String(decoding: FileHandle(fileDescriptor: fd, closeOnDealloc: false).readDataToEndOfFile(), as: UTF8.self)
                for line in text.split(separator: "\n") { if let i = try RetrieveItem.parse(String(line), level: o.streamLevel) { items.append(i) } }
            }
            guard !items.isEmpty else {
                context.events.warning("nothing to retrieve")
                return result.finish()
            }
            let association = try NodeRequest.open(o.node, callingAE: o.callingAE, connect: o.connectTimeout, acse: o.acseTimeout,
                                                   dimse: o.dimseTimeout, model: studyRootMove)
            defer { association.release() }
            var moved = 0
            for item in items {
                if context.stop.isStopped { break }
                let r = try NodeRequest.refusing(o.node, callingAE: o.callingAE, "C-MOVE") {
                    try association.move(model: studyRootMove, keys: item.keys, destination: o.moveTo)
                }
                let counts = "\(r.completed) sent, \(r.failed) failed, \(r.warning) with warnings"
                let what = "\(item.level.rawValue) \(item.uid)"
                switch r.status {
                case 0x0000:
                    moved += 1
                    context.events.info("\(what): \(counts) to \(o.moveTo)")
                    result.record(item.uid, ["QueryRetrieveLevel": .string(item.level.dicom), "uid": .string(item.uid),
                                             "completed": .int(r.completed), "failed": .int(0), "warning": .int(r.warning),
                                             "destination": .string(o.moveTo)])
                case 0xA801:
                    throw I2Error(.rejected, peer: o.node.address, "the node does not know the move destination \(o.moveTo): add that AE title (with its host and port) to the node's modalities")
                case 0xB000, 0xA702, 0xA900, 0xFE00:
                    result.failed(I2Error(.badInput, peer: o.node.address, "\(what): \(counts); not all of it reached \(o.moveTo) (status 0x\(String(r.status, radix: 16, uppercase: true)))"
                                          + (r.failedInstances.isEmpty ? "" : "; failed: " + r.failedInstances.joined(separator: ", "))
                                          + (r.comment.isEmpty ? "" : ": " + r.comment)))
                default:
                    if r.completed == 0 && r.failed == 0 && r.warning == 0 && r.status & 0xF000 == 0xC000 {
                        // Nothing matched, the identifier could not be processed, or (Orthanc answers so, where
                        // the standard has 0xA801) the destination is unknown: the node does not say which.
                        result.failed(I2Error(.badInput, peer: o.node.address, "\(what): nothing was moved (status 0x\(String(r.status, radix: 16, uppercase: true))): the node holds no such \(item.level.rawValue), or does not know the move destination \(o.moveTo)" + (r.comment.isEmpty ? "" : ": " + r.comment)))
                    } else {
                        result.failed(I2Error(.badInput, peer: o.node.address, "\(what): C-MOVE failed with status 0x\(String(r.status, radix: 16, uppercase: true)) (\(counts))" + (r.comment.isEmpty ? "" : ": " + r.comment)))
                    }
                }
            }
            context.events.info("\(moved) of \(items.count) item\(items.count == 1 ? "" : "s") moved from \(o.node.label) to \(o.moveTo)")
        } catch let e as I2Error {
            return result.fatal(e)
        } catch {
            return result.fatal(I2Error(.internal, peer: o.node.address, "\(error)"))
        }
        return result.finish()
    }
}
