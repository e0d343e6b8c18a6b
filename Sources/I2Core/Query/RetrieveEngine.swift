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
    /// A DICOMweb node: listed by QIDO-RS, fetched by WADO-RS (`node` is then only its label).
    public var web: WebEndpoint?
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
    /// Make each instance durable before it is moved into place and printed (--no-fsync: not).
    public var durable = true
    public var items: [RetrieveItem] = []
    /// Read more items (i2 query output) from this descriptor.
    public var stream: Int32?
    public var streamLevel = QueryLevel.study
    public var connectTimeout = 10
    public var acseTimeout = 30
    public var dimseTimeout = 600
    public init(node: Destination) { self.node = node }

    /// Options for either kind of node.
    public init(node: Node) {
        switch node {
        case .dimse(let d): self.node = d
        case .web(let w):
            self.node = Destination(aeTitle: "", host: URL(string: w.url)?.host ?? "", port: URL(string: w.url)?.port ?? 0, name: w.name)
            web = w
        }
    }

    /// The node as messages name it.
    var peerLabel: String { web?.label ?? node.label }
    var peerAddress: String { web?.url ?? node.address }
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
                    case 0x0000 where r.completed + r.warning + r.failed == 0:
                        // Success without a single sub-operation (dcmqrscp's answer when it cannot reach the
                        // destination): nothing reached it.
                        result.failed(I2Error(.badInput, peer: o.node.address, "\(what): the node answered success but sent nothing: it holds no such \(item.level.rawValue), or could not reach \(destination)"))
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

    /// The storage SOP classes a C-GET proposes when the listing did not name them all: images of every
    /// modality, SEG, RT, SR, presentation states, encapsulated documents, waveforms (PS3.4 B.5).
    static let commonStorageClasses: [String] = [
        "1", "1.1", "1.1.1", "1.2", "1.2.1", "1.3", "2", "2.1", "2.2", "3.1", "4", "4.1", "4.2", "4.3", "4.4", "6.1", "6.2",
        "7", "7.1", "7.2", "7.3", "7.4", "9.1.1", "9.1.2", "11.1", "11.2", "12.1", "12.1.1", "12.2", "12.2.1", "13.1.1", "13.1.2", "13.1.3",
        "20", "30", "66", "66.1", "66.3", "66.4", "66.5", "67", "77.1.1", "77.1.2", "77.1.4", "77.1.5.1", "77.1.6",
        "88.11", "88.22", "88.33", "88.34", "88.50", "88.59", "88.67", "104.1", "104.2", "128", "128.1", "130",
        "481.1", "481.2", "481.3", "481.5", "481.8",
    ].map { "1.2.840.10008.5.1.4.1.1." + $0 }

    /// One instance of an item, as the C-FIND listed it.
    struct Listed { var sopClass, sop, series, study, patient: String }

    /// Each item into the store at o.output, what is there already skipped: by C-GET, or (o.port) by
    /// C-MOVE to a storage SCP of our own that runs for the duration.
    static func fetch(_ items: [RetrieveItem], _ o: RetrieveOptions, _ result: Reporter) throws {
        let context = result.context
        let root = o.output!
        var store = InstanceStore(root: root)
        store.durable = o.durable
        store.onDuplicate = .keepBoth
        let incoming = StoreLayout.incoming(root)
        do { try FileManager.default.createDirectory(atPath: incoming, withIntermediateDirectories: true) } catch {
            throw I2Error(.storage, path: root, "cannot create the store: \(error.localizedDescription)")
        }
        // What a killed retrieve (or receive) left in the incoming directory: partial files removed, as receive does at start.
        store.recover(incoming: incoming, quarantine: StoreLayout.quarantine(root), stored: { _ in }, quarantined: { path, why in
            context.events.warning("quarantined \(path): \(why)")
        })
        let commit = GroupCommit(store: store, incoming: incoming, result: result)
        // Listing (C-FIND or QIDO-RS at the instance level) can cost the node more than the fetch: only
        // what the store may hold part of, or whose study UID the request needs, is listed first. The
        // rest comes whole in one request, listed afterwards only if it did not arrive whole.
        func listing(_ subset: [RetrieveItem]) throws -> [[Listed]] {
            try o.web.map { try list(subset, web: $0, o) } ?? list(subset, o)
        }
        var listed = [[Listed]?](repeating: nil, count: items.count)
        let toList = items.indices.filter { items[$0].study == nil || storeHolds(items[$0], root: root) }
        for (i, l) in zip(toList, toList.isEmpty ? [] : try listing(toList.map { items[$0] })) { listed[i] = l }

        // C-GET: one association for the instances: the GET model, and every storage SOP class listed with
        // us as its SCP, uncompressed (a node decompresses what it holds compressed; nothing lossy); the
        // common storage classes too for what was not listed or listed without SOPClassUID (dcmqrscp).
        func getHere(_ listedNow: [Listed], unlisted: Bool) throws -> GetHere {
            var known = Set(listedNow.map(\.sopClass).filter { !$0.isEmpty })
            if unlisted || listedNow.contains(where: { $0.sopClass.isEmpty }) { known.formUnion(commonStorageClasses) }
            guard known.count < 128 else { throw I2Error(.usage, "the items hold \(known.count) SOP classes: more than one association carries (127); retrieve them in parts") }
            return try GetHere(o, classes: known.sorted(), commit: commit, incoming: incoming)
        }
        let transport: Transport
        if let web = o.web {
            transport = WadoHere(o, node: web, commit: commit, incoming: incoming)
        } else if let port = o.port {
            transport = try MoveHere(o, port: port, commit: commit, incoming: incoming, result: result)
        } else {
            transport = try getHere(listed.compactMap { $0 }.flatMap { $0 }, unlisted: listed.contains { $0 == nil })
        }
        defer { transport.close() }
        var fetchedTotal = 0, presentTotal = 0
        for (index, item) in items.enumerated() {
            if context.stop.isStopped { break }
            let what = "\(item.level.rawValue) \(item.uid)"
            var early = 0   // fetched whole before any listing
            if listed[index] == nil {
                let r = try transport.fetch(item.keys)
                early = r.stored
                fetchedTotal += r.stored
                if r.status == 0 && r.failed == 0 && r.refused.isEmpty && r.stored > 0 && r.stored >= (r.sent ?? 0) {
                    context.events.info("\(what): \(r.stored) fetched, 0 already present, 0 failed")
                    continue
                }
                // Not whole (or nothing): listed now, and what is missing fetched instance by instance.
                listed[index] = try listing([item])[0]
            }
            let instances = listed[index]!
            guard !instances.isEmpty else {
                result.failed(I2Error(.badInput, peer: o.peerAddress, "\(what): the node lists no instance of it"))
                continue
            }
            func path(_ i: Listed) -> String { [root, StoreLayout.patientComponent(i.patient), i.study, i.series, i.sop + ".dcm"].joined(separator: "/") }
            let present = instances.filter { FileManager.default.fileExists(atPath: path($0)) }
            for i in present { result.output(path(i), ["event": .string("present"), "sop_instance_uid": .string(i.sop)]) }
            presentTotal += present.count - early
            let presentSet = Set(present.map(\.sop))
            let missing = instances.filter { !presentSet.contains($0.sop) }
            if missing.isEmpty {
                context.events.info("\(what): \(early) fetched, \(present.count - early) already present, 0 failed")
                continue
            }
            // The whole item in one request when none of it is here, else instance by instance. The keys
            // of the levels above come from the listing when the item did not carry them (WADO-RS paths
            // need them; strict archives want them).
            var whole = item
            whole.study = whole.study ?? instances[0].study
            if whole.level == .instance { whole.series = whole.series ?? instances[0].series }
            let requests: [[(Tag, String)]] = present.isEmpty ? [whole.keys]
                : missing.map { [(.queryRetrieveLevel, "IMAGE"), (.studyInstanceUID, $0.study), (.seriesInstanceUID, $0.series), (.sopInstanceUID, $0.sop)] }
            // A C-GET association without the SOP class of a missing instance: one more that has it.
            var itemTransport = transport
            if let g = transport as? GetHere, !Set(missing.map(\.sopClass).filter { !$0.isEmpty }).isSubset(of: g.classes) {
                itemTransport = try getHere(missing, unlisted: false)
            }
            defer { if itemTransport !== transport { itemTransport.close() } }
            var stored = 0, failed = 0, refused: [String] = []
            var status: UInt16 = 0
            for keys in requests {
                let r = try itemTransport.fetch(keys)
                stored += r.stored
                failed += r.failed
                refused += r.refused
                if r.status != 0 { status = r.status }
            }
            fetchedTotal += stored
            context.events.info("\(what): \(stored + early) fetched, \(present.count - early) already present, \(failed) failed")
            if stored < missing.count || status != 0 {
                result.failed(I2Error(.badInput, peer: o.peerAddress, "\(what): \(stored) of the \(missing.count) missing instances arrived"
                                      + (status != 0 ? " (status 0x\(String(status, radix: 16, uppercase: true)))" : "")
                                      + (refused.isEmpty ? "" : "; not stored: " + refused.prefix(5).joined(separator: "; "))))
            }
        }
        context.events.info("\(fetchedTotal) instance\(fetchedTotal == 1 ? "" : "s") fetched from \(o.peerLabel) into \(root), \(presentTotal) already there")
    }
}

extension RetrieveEngine {
    /// What each item holds, by one C-FIND at the instance level.
    static func list(_ items: [RetrieveItem], _ o: RetrieveOptions) throws -> [[Listed]] {
        let finder = try NodeRequest.open(o.node, callingAE: o.callingAE, connect: o.connectTimeout, acse: o.acseTimeout,
                                          dimse: o.dimseTimeout, model: studyRootFind)
        defer { finder.release() }
        return try items.map { item in
            let answer = try NodeRequest.refusing(o.node, callingAE: o.callingAE, "C-FIND") { try finder.find(model: studyRootFind, keys: [(.queryRetrieveLevel, "IMAGE")] + listingKeys(item)) }
            guard answer.status == 0 else {
                throw I2Error(.rejected, peer: o.node.address, "listing \(item.level.rawValue) \(item.uid) failed with status 0x\(String(answer.status, radix: 16, uppercase: true))")
            }
            return listed(answer.matches)
        }
    }

    /// What each item holds, by QIDO-RS of its instances, page after page (offset) while pages bring new ones:
    /// archives cap the matches of one search.
    static func list(_ items: [RetrieveItem], web: WebEndpoint, _ o: RetrieveOptions) throws -> [[Listed]] {
        try items.map { item in
            var all: [Listed] = [], seen = Set<String>()
            while true {
                let page = listed(try QueryEngine.search(web, resource: "instances", keys: listingKeys(item), offset: all.count,
                                                         connectTimeout: o.connectTimeout, timeout: o.dimseTimeout))
                let new = page.filter { seen.insert($0.sop).inserted }
                if new.isEmpty { return all }
                all += new
            }
        }
    }

    /// Whether the store may hold part of `item`: its study's directory exists under some patient.
    static func storeHolds(_ item: RetrieveItem, root: String) -> Bool {
        guard let study = item.study else { return true }
        let patients = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return patients.contains { !$0.hasPrefix(".") && FileManager.default.fileExists(atPath: root + "/" + $0 + "/" + study) }
    }

    /// The instance-level identifier that lists an item: its UIDs matched, the others returned.
    static func listingKeys(_ item: RetrieveItem) -> [(Tag, String)] {
        [(.studyInstanceUID, item.study ?? ""), (.seriesInstanceUID, item.level == .study ? "" : item.series ?? ""),
         (.sopInstanceUID, item.level == .instance ? item.instance ?? "" : ""), (.sopClassUID, ""), (.patientID, "")]
    }

    static func listed(_ matches: [[Tag: String]]) -> [Listed] {
        matches.compactMap { m in
            guard let sop = m[.sopInstanceUID], let series = m[.seriesInstanceUID], let study = m[.studyInstanceUID],
                  [sop, series, study].allSatisfy(StoreLayout.isUID) else { return nil }
            return Listed(sopClass: m[.sopClassUID] ?? "", sop: sop, series: series, study: study, patient: m[.patientID] ?? "")
        }
    }

    /// An arrived instance into the store, its path printed: the answer its sender gets.
    static func place(_ tmp: String, sop: String, store: InstanceStore, result: Reporter) -> (status: UInt16, comment: String) {
        switch store.store(temporary: tmp, sopInstanceUID: sop) {
        case .stored(let path, _, _, _), .identical(let path):
            // Unknown before (WADO-RS): the stored name is the UID (a second copy's has "_N" after it).
            let uid = sop.isEmpty ? String(path.split(separator: "/").last!.prefix { $0 != "_" && $0 != "." } ) : sop
            result.output(path, ["event": .string("stored"), "sop_instance_uid": .string(uid)])
            return (0, "")
        case .refused(let answer, _):
            return (answer.status, answer.comment)
        }
    }
}
