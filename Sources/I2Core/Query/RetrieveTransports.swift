// How i2 retrieve's instances arrive (C-GET on our association, C-MOVE to a storage SCP of our own,
// WADO-RS in WadoRetrieve.swift), and the one way they are made durable and put in place: GroupCommit.
import Foundation
import I2DICOM
import I2Model

/// What one request brought: instances stored (now in place and printed), sub-operations the node
/// reports failed, why some were not stored, the final status, and how many the node reports it sent
/// (nil where it does not say: WADO-RS).
struct Fetched {
    var stored = 0, failed = 0
    var refused: [String] = []
    var status: UInt16 = 0
    var sent: Int?
}

protocol Transport: AnyObject {
    func fetch(_ keys: [(Tag, String)]) throws -> Fetched
    func close()
}

/// Arrived instances made durable together and then stored as i2 receive stores them (rename into the
/// layout) and printed: one syncfs per 32 instances or 64 MiB, and at the end of each request, where an
/// fsync each costs one journal commit per instance. A full group is committed on a queue of its own
/// while the next one arrives, so the flush to disk overlaps the transfer. Nothing is printed before it
/// is durable; a crash leaves only hidden files in the incoming directory; the node keeps its copy, so a
/// rerun fetches whatever did not make it.
final class GroupCommit: @unchecked Sendable {
    private let store: InstanceStore
    private let durable: Bool
    private let incoming: String
    private let result: Reporter
    private let lock = NSLock()
    /// Serial: groups are committed in arrival order, one at a time.
    private let queue = DispatchQueue(label: "i2.retrieve.commit")
    private var pending: [(path: String, sop: String)] = []
    private var bytes = 0
    private var stored = 0, refused: [String] = []

    init(store: InstanceStore, incoming: String, result: Reporter) {
        var s = store
        durable = s.durable
        s.durable = false   // the group's syncfs instead of the store's fsync each
        (self.store, self.incoming, self.result) = (s, incoming, result)
    }

    /// An arrived file (the data set complete); commits when the group is full. `sop` may be "" (unknown yet).
    func add(_ path: String, sop: String) {
        // stat(2), not FileManager's attributes: those read /etc/passwd and /etc/group for the owner's names.
        var st = stat()
        let size = stat(path, &st) == 0 ? Int(st.st_size) : 0
        lock.lock()
        pending.append((path, sop))
        bytes += size
        let full = pending.count >= 32 || bytes >= 64 << 20
        lock.unlock()
        if full { queue.async { self.commitPending() } }
    }

    /// Makes everything that arrived durable, moves it into place and prints it; returns when done.
    func commit() { queue.sync { commitPending() } }

    private func commitPending() {
        lock.lock()
        let group = pending
        (pending, bytes) = ([], 0)
        lock.unlock()
        guard !group.isEmpty else { return }
        if durable {
            do { try AtomicFile.syncGroup(group.map(\.path), on: incoming) } catch {
                for g in group { unlink(g.path) }
                lock.lock()
                refused += group.map { "\($0.sop.isEmpty ? $0.path : $0.sop): \((error as? I2Error)?.detail ?? "\(error)")" }
                lock.unlock()
                return
            }
        }
        for g in group {
            let answer = RetrieveEngine.place(g.path, sop: g.sop, store: store, result: result)
            lock.lock()
            if answer.status == 0 { stored += 1 } else { refused.append((g.sop.isEmpty ? "" : g.sop + ": ") + answer.comment) }
            lock.unlock()
        }
    }

    /// Counts so far: a request's share is the difference over it.
    var counts: (stored: Int, refused: Int) { lock.lock(); defer { lock.unlock() }; return (stored, refused.count) }
    func refusals(since index: Int) -> [String] { lock.lock(); defer { lock.unlock() }; return Array(refused[index...]) }

    /// Runs `request`, commits what arrived (also when it throws: those instances are whole), and fills
    /// in what it stored and refused.
    func measuring(_ request: () throws -> Fetched) throws -> Fetched {
        let before = counts
        var f: Fetched
        do { f = try request() } catch { commit(); throw error }
        commit()
        f.stored = counts.stored - before.stored
        f.refused += refusals(since: before.refused)
        return f
    }
}

/// C-GET: the instances come on our own association, each answered as soon as it is written.
final class GetHere: Transport {
    let association: Association
    let o: RetrieveOptions, commit: GroupCommit, incoming: String
    /// The storage SOP classes proposed with us as SCP.
    let classes: Set<String>

    init(_ o: RetrieveOptions, classes: [String], commit: GroupCommit, incoming: String) throws {
        association = try NodeRequest.open(o.node, callingAE: o.callingAE, connect: o.connectTimeout, acse: o.acseTimeout, dimse: o.dimseTimeout,
                                           model: RetrieveEngine.studyRootGet,
                                           more: classes.map { PresentationContext($0, NodeRequest.plain, scpRole: true) })
        (self.o, self.commit, self.incoming, self.classes) = (o, commit, incoming, Set(classes))
    }

    func fetch(_ keys: [(Tag, String)]) throws -> Fetched {
        try commit.measuring {
            let r = try NodeRequest.refusing(o.node, callingAE: o.callingAE, "C-GET") {
                try association.get(model: RetrieveEngine.studyRootGet, keys: keys, incoming: incoming) { tmp, _, sop in
                    self.commit.add(tmp, sop: sop)
                    return (0, "")
                }
            }
            return Fetched(failed: r.failed, status: r.status, sent: r.completed + r.warning)
        }
    }

    func close() { association.release() }
}

/// C-MOVE to i2 itself: a storage SCP of our own (our calling AE title, o.port) runs for the duration;
/// each request waits until the instances the node reports sent have arrived, at most o.moveWait.
final class MoveHere: Transport, @unchecked Sendable {
    let association: Association
    let o: RetrieveOptions
    let commit: GroupCommit
    let stop = StopToken()
    let thread: Thread
    let lock = NSCondition()
    var arrived = 0, listening = false, failure: Error?

    init(_ o: RetrieveOptions, port: Int, commit: GroupCommit, incoming: String, result: Reporter) throws {
        (self.o, self.commit) = (o, commit)
        var config = StoreSCPConfig(incomingDirectory: incoming)
        config.aeTitle = o.callingAE
        config.port = port
        config.drainSeconds = 5
        config.tls = o.node.tls   // the node's C-STOREs to us: as secure as our association to it
        let scpBox = Box()
        let scp = StoreSCP(config: config, stopFlag: stop.flag, handler: { [scpBox] received in
            commit.add(received.temporaryPath, sop: received.sopInstanceUID)
            scpBox.owner?.arrive()
            return .success
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
    func arrive() { lock.lock(); arrived += 1; lock.broadcast(); lock.unlock() }

    func fetch(_ keys: [(Tag, String)]) throws -> Fetched {
        try commit.measuring {
            lock.lock()
            let before = arrived
            lock.unlock()
            let r = try NodeRequest.refusing(o.node, callingAE: o.callingAE, "C-MOVE") {
                try association.move(model: RetrieveEngine.studyRootMove, keys: keys, destination: o.callingAE)
            }
            // The node may report success before every sub-operation's instance has reached us.
            let expected = r.completed + r.warning
            let deadline = Date().addingTimeInterval(o.moveWait)
            lock.lock()
            while arrived - before < expected && Date() < deadline { _ = lock.wait(until: deadline) }
            lock.unlock()
            return Fetched(failed: r.failed, status: r.status, sent: expected)
        }
    }

    func close() {
        association.release()
        stop.stop()
        while !thread.isFinished { usleep(10_000) }
    }
}
