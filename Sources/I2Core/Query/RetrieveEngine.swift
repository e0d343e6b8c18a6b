// i2 retrieve as an engine, for each study, series or instance (UIDs as arguments, or i2 query's
// output on stdin), over one association:
// - C-GET into a directory: the instances are listed first (C-FIND), those already in the directory
//   skipped (a rerun resumes), the others fetched and stored as i2 receive stores (same layout, same
//   durability), each path printed as it is stored (present ones too: the output is the whole item);
// - C-MOVE to another AE title (--move-to: re-send a study from archive A to PACS B): each item fully
//   moved printed.
// The sub-operation counts of each item go to stderr; failed sub-operations fail the item (exit 1), a
// node that cannot be reached or refuses us ends the run as for i2 send.
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
    /// C-MOVE: the AE title the node sends to; nil: C-GET into `output`.
    public var moveTo: String?
    /// C-GET, or C-MOVE to i2 itself: the store's root (i2 receive's layout).
    public var output: String?
    /// C-MOVE to i2 itself: the port the node sends to (a storage SCP runs there for the duration, as
    /// our calling AE title, which the node must know with this host and port); nil: C-GET.
    public var port: Int?
    /// C-MOVE to i2 itself: how long to wait after the node's final response for the instances it
    /// reports sent (a node may answer before its sub-operations have all arrived).
    public var moveWait: Double = 30
    public var items: [RetrieveItem] = []
    /// Read more items (i2 query output) from this descriptor.
    public var stream: Int32?
    public var streamLevel = QueryLevel.study
    public var connectTimeout = 10
    public var acseTimeout = 30
    public var dimseTimeout = 600
    public init(node: Destination) { self.node = node }
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
            if let destination = o.moveTo { try move(items, to: destination, o, result) } else { try fetch(items, o, result) }
        } catch let e as I2Error {
            return result.fatal(e)
        } catch {
            return result.fatal(I2Error(.internal, peer: o.node.address, "\(error)"))
        }
        return result.finish()
    }

    /// C-MOVE of each item to `destination`.
    static func move(_ items: [RetrieveItem], to destination: String, _ o: RetrieveOptions, _ result: Reporter) throws {
        let context = result.context
                let association = try NodeRequest.open(o.node, callingAE: o.callingAE, connect: o.connectTimeout, acse: o.acseTimeout,
                                                       dimse: o.dimseTimeout, model: studyRootMove)
                defer { association.release() }
                var moved = 0
                for item in items {
                    if context.stop.isStopped { break }
                    let r = try NodeRequest.refusing(o.node, callingAE: o.callingAE, "C-MOVE") {
                        try association.move(model: studyRootMove, keys: item.keys, destination: destination)
                    }
                    let counts = "\(r.completed) sent, \(r.failed) failed, \(r.warning) with warnings"
                    let what = "\(item.level.rawValue) \(item.uid)"
                    switch r.status {
                    case 0x0000:
                        moved += 1
                        context.events.info("\(what): \(counts) to \(destination)")
                        result.record(item.uid, ["QueryRetrieveLevel": .string(item.level.dicom), "uid": .string(item.uid),
                                                 "completed": .int(r.completed), "failed": .int(0), "warning": .int(r.warning),
                                                 "destination": .string(destination)])
                    case 0xA801:
                        throw I2Error(.rejected, peer: o.node.address, "the node does not know the move destination \(destination): add that AE title (with its host and port) to the node's modalities")
                    case 0xB000, 0xA702, 0xA900, 0xFE00:
                        result.failed(I2Error(.badInput, peer: o.node.address, "\(what): \(counts); not all of it reached \(destination) (status 0x\(String(r.status, radix: 16, uppercase: true)))"
                                              + (r.failedInstances.isEmpty ? "" : "; failed: " + r.failedInstances.joined(separator: ", "))
                                              + (r.comment.isEmpty ? "" : ": " + r.comment)))
                    default:
                        if r.completed == 0 && r.failed == 0 && r.warning == 0 && r.status & 0xF000 == 0xC000 {
                            // Nothing matched, the identifier could not be processed, or (Orthanc answers so, where
                            // the standard has 0xA801) the destination is unknown: the node does not say which.
                            result.failed(I2Error(.badInput, peer: o.node.address, "\(what): nothing was moved (status 0x\(String(r.status, radix: 16, uppercase: true))): the node holds no such \(item.level.rawValue), or does not know the move destination \(destination)" + (r.comment.isEmpty ? "" : ": " + r.comment)))
                        } else {
                            result.failed(I2Error(.badInput, peer: o.node.address, "\(what): C-MOVE failed with status 0x\(String(r.status, radix: 16, uppercase: true)) (\(counts))" + (r.comment.isEmpty ? "" : ": " + r.comment)))
                        }
                    }
                }
                context.events.info("\(moved) of \(items.count) item\(items.count == 1 ? "" : "s") moved from \(o.node.label) to \(destination)")
    }

    static let studyRootFind = "1.2.840.10008.5.1.4.1.2.2.1", studyRootGet = "1.2.840.10008.5.1.4.1.2.2.3"

    /// One instance of an item, as the C-FIND listed it.
    struct Listed { var sopClass, sop, series, study, patient: String }

    /// Each item into the store at o.output, what is there already skipped: by C-GET, or (o.port) by
    /// C-MOVE to a storage SCP of our own that runs for the duration.
    static func fetch(_ items: [RetrieveItem], _ o: RetrieveOptions, _ result: Reporter) throws {
        let context = result.context
        let root = o.output!
        var store = InstanceStore(root: root)
        store.durable = true
        store.onDuplicate = .keepBoth
        let incoming = StoreLayout.incoming(root)
        do { try FileManager.default.createDirectory(atPath: incoming, withIntermediateDirectories: true) } catch {
            throw I2Error(.storage, path: root, "cannot create the store: \(error.localizedDescription)")
        }
        // What each item holds, by one C-FIND at the instance level.
        let finder = try NodeRequest.open(o.node, callingAE: o.callingAE, connect: o.connectTimeout, acse: o.acseTimeout,
                                          dimse: o.dimseTimeout, model: studyRootFind)
        var listed: [[Listed]] = []
        for item in items {
            var keys: [(Tag, String)] = [(.queryRetrieveLevel, "IMAGE"), (.studyInstanceUID, item.study ?? ""),
                                         (.seriesInstanceUID, item.series ?? ""), (.sopInstanceUID, item.instance ?? ""),
                                         (.sopClassUID, ""), (.patientID, "")]
            if item.level == .study { keys[2].1 = "" }
            let answer = try NodeRequest.refusing(o.node, callingAE: o.callingAE, "C-FIND") { try finder.find(model: studyRootFind, keys: keys) }
            guard answer.status == 0 else {
                throw I2Error(.rejected, peer: o.node.address, "listing \(item.level.rawValue) \(item.uid) failed with status 0x\(String(answer.status, radix: 16, uppercase: true))")
            }
            listed.append(answer.matches.compactMap { m in
                guard let sop = m[.sopInstanceUID], let series = m[.seriesInstanceUID], let study = m[.studyInstanceUID],
                      [sop, series, study].allSatisfy(StoreLayout.isUID) else { return nil }
                return Listed(sopClass: m[.sopClassUID] ?? "", sop: sop, series: series, study: study, patient: m[.patientID] ?? "")
            })
        }
        finder.release()
        let transport: Transport
        if let port = o.port {
            transport = try MoveHere(o, port: port, store: store, incoming: incoming, result: result)
        } else {
            // One association for the instances: the GET model, and every storage SOP class listed with us
            // as its SCP, uncompressed (a node decompresses what it holds compressed; nothing lossy).
            let classes = Array(Set(listed.joined().map(\.sopClass).filter { !$0.isEmpty })).sorted()
            guard classes.count < 128 else { throw I2Error(.usage, "the items hold \(classes.count) SOP classes: more than one association carries (127); retrieve them in parts") }
            transport = try GetHere(o, classes: classes, store: store, incoming: incoming, result: result)
        }
        defer { transport.close() }
        var fetchedTotal = 0, presentTotal = 0
        for (item, instances) in zip(items, listed) {
            if context.stop.isStopped { break }
            let what = "\(item.level.rawValue) \(item.uid)"
            guard !instances.isEmpty else {
                result.failed(I2Error(.badInput, peer: o.node.address, "\(what): the node lists no instance of it"))
                continue
            }
            func path(_ i: Listed) -> String { [root, StoreLayout.patientComponent(i.patient), i.study, i.series, i.sop + ".dcm"].joined(separator: "/") }
            let present = instances.filter { FileManager.default.fileExists(atPath: path($0)) }
            for i in present { result.output(path(i), ["event": .string("present"), "sop_instance_uid": .string(i.sop)]) }
            presentTotal += present.count
            let presentSet = Set(present.map(\.sop))
            let missing = instances.filter { !presentSet.contains($0.sop) }
            if missing.isEmpty {
                context.events.info("\(what): 0 fetched, \(present.count) already present, 0 failed")
                continue
            }
            // The whole item in one request when none of it is here, else instance by instance.
            let requests: [[(Tag, String)]] = present.isEmpty ? [item.keys]
                : missing.map { [(.queryRetrieveLevel, "IMAGE"), (.studyInstanceUID, $0.study), (.seriesInstanceUID, $0.series), (.sopInstanceUID, $0.sop)] }
            var stored = 0, failed = 0, refused: [String] = []
            var status: UInt16 = 0
            for keys in requests {
                let r = try transport.fetch(keys)
                stored += r.stored
                failed += r.failed
                refused += r.refused
                if r.status != 0 { status = r.status }
            }
            fetchedTotal += stored
            context.events.info("\(what): \(stored) fetched, \(present.count) already present, \(failed) failed")
            if stored < missing.count || status != 0 {
                result.failed(I2Error(.badInput, peer: o.node.address, "\(what): \(stored) of the \(missing.count) missing instances arrived"
                                      + (status != 0 ? " (status 0x\(String(status, radix: 16, uppercase: true)))" : "")
                                      + (refused.isEmpty ? "" : "; not stored: " + refused.prefix(5).joined(separator: "; "))))
            }
        }
        context.events.info("\(fetchedTotal) instance\(fetchedTotal == 1 ? "" : "s") fetched from \(o.node.label) into \(root), \(presentTotal) already there")
    }
}

/// How fetched instances arrive: what one request stored, failed, refused.
private protocol Transport {
    func fetch(_ keys: [(Tag, String)]) throws -> (stored: Int, failed: Int, refused: [String], status: UInt16)
    func close()
}

/// C-GET: the instances come on our own association.
private final class GetHere: Transport {
    let association: Association
    let o: RetrieveOptions, store: InstanceStore, incoming: String, result: Reporter

    init(_ o: RetrieveOptions, classes: [String], store: InstanceStore, incoming: String, result: Reporter) throws {
        association = try NodeRequest.open(o.node, callingAE: o.callingAE, connect: o.connectTimeout, acse: o.acseTimeout, dimse: o.dimseTimeout,
                                           model: RetrieveEngine.studyRootGet,
                                           more: classes.map { PresentationContext($0, NodeRequest.plain, scpRole: true) })
        (self.o, self.store, self.incoming, self.result) = (o, store, incoming, result)
    }

    func fetch(_ keys: [(Tag, String)]) throws -> (stored: Int, failed: Int, refused: [String], status: UInt16) {
        var stored = 0, refused: [String] = []
        let r = try NodeRequest.refusing(o.node, callingAE: o.callingAE, "C-GET") {
            try association.get(model: RetrieveEngine.studyRootGet, keys: keys, incoming: incoming) { tmp, _, sop in
                let answer = RetrieveEngine.place(tmp, sop: sop, store: self.store, result: self.result)
                if answer.status == 0 { stored += 1 } else { refused.append("\(sop): \(answer.comment)") }
                return answer
            }
        }
        return (stored, r.failed, refused, r.status)
    }

    func close() { association.release() }
}

/// C-MOVE to i2 itself: a storage SCP of our own (our calling AE title, o.port) runs for the duration;
/// each request waits until the instances the node reports sent have arrived, at most o.moveWait.
private final class MoveHere: Transport, @unchecked Sendable {
    let association: Association
    let o: RetrieveOptions
    let stop = StopToken()
    let thread: Thread
    let lock = NSCondition()
    var arrived = 0, refused: [String] = [], listening = false, failure: Error?

    init(_ o: RetrieveOptions, port: Int, store: InstanceStore, incoming: String, result: Reporter) throws {
        self.o = o
        var config = StoreSCPConfig(incomingDirectory: incoming)
        config.aeTitle = o.callingAE
        config.port = port
        config.drainSeconds = 5
        let scpBox = Box()
        let scp = StoreSCP(config: config, stopFlag: stop.flag, handler: { [scpBox] received in
            let answer = RetrieveEngine.place(received.temporaryPath, sop: received.sopInstanceUID, store: store, result: result)
            scpBox.owner?.arrive(answer.status == 0 ? nil : "\(received.sopInstanceUID): \(answer.comment)")
            return answer.status == 0 ? .success : .outOfResources(answer.comment)
        }, log: { level, peer, message in
            if level != .info { result.context.events.send(.log(level, (peer.map { $0 + ": " } ?? "") + message)) }
        }, ready: { [scpBox] in scpBox.owner?.ready() })
        thread = Thread { [scpBox] in
            do { try scp.run() } catch { scpBox.owner?.failed(error) }
        }
        association = try NodeRequest.open(o.node, callingAE: o.callingAE, connect: o.connectTimeout, acse: o.acseTimeout,
                                           dimse: o.dimseTimeout, model: RetrieveEngine.studyRootMove)
        scpBox.owner = self
        thread.start()
        lock.lock()
        while !listening && failure == nil { lock.wait() }
        let error = failure
        lock.unlock()
        if let error { association.abort(); throw error }
    }

    final class Box: @unchecked Sendable { weak var owner: MoveHere? }

    func ready() { lock.lock(); listening = true; lock.broadcast(); lock.unlock() }
    func failed(_ e: Error) { lock.lock(); failure = e; lock.broadcast(); lock.unlock() }
    func arrive(_ refusal: String?) {
        lock.lock()
        if let r = refusal { refused.append(r) } else { arrived += 1 }
        lock.broadcast()
        lock.unlock()
    }

    func fetch(_ keys: [(Tag, String)]) throws -> (stored: Int, failed: Int, refused: [String], status: UInt16) {
        lock.lock()
        let before = arrived, refusedBefore = refused.count
        lock.unlock()
        let r = try NodeRequest.refusing(o.node, callingAE: o.callingAE, "C-MOVE") {
            try association.move(model: RetrieveEngine.studyRootMove, keys: keys, destination: o.callingAE)
        }
        // The node may report success before every sub-operation's instance has reached us.
        let expected = r.completed + r.warning
        let deadline = Date().addingTimeInterval(o.moveWait)
        lock.lock()
        while arrived - before < expected && Date() < deadline { _ = lock.wait(until: deadline) }
        let stored = arrived - before, newRefused = Array(refused[refusedBefore...])
        lock.unlock()
        return (stored, r.failed, newRefused, r.status)
    }

    func close() {
        association.release()
        stop.stop()
        while !thread.isFinished { usleep(10_000) }
    }
}

extension RetrieveEngine {
    /// An arrived instance into the store, its path printed: the answer its sender gets.
    static func place(_ tmp: String, sop: String, store: InstanceStore, result: Reporter) -> (status: UInt16, comment: String) {
        switch store.store(temporary: tmp, sopInstanceUID: sop) {
        case .stored(let path, _, _, _), .identical(let path):
            result.output(path, ["event": .string("stored"), "sop_instance_uid": .string(sop)])
            return (0, "")
        case .refused(let answer, _):
            return (answer.status, answer.comment)
        }
    }
}
