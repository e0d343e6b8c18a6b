// i2 receive as an engine: the store's crash recovery, then the storage SCP answering each C-STORE
// from what the store did with it, until the stop token is set (then it drains and returns).
import Foundation
import I2DICOM

public struct ReceiveOptions: Sendable {
    public var root: String
    /// The storage SCP's settings (AE title, port, timeouts, limits); its incomingDirectory follows `root`.
    public var network: StoreSCPConfig
    public var durable = true
    public var onDuplicate = DuplicatePolicy.keepBoth
    /// Where to write Prometheus text exposition every `metricsInterval` seconds (nil: none). The
    /// heartbeat ROOT/.i2-receive-PORT.json is written at the same pace either way.
    public var metricsFile: String?
    public var metricsInterval: Double = 5
    public init(root: String) {
        self.root = root
        network = StoreSCPConfig(incomingDirectory: StoreLayout.incoming(root))
    }
}

public enum ReceiveService: Engine {
    /// Serves until `context.stop`; each stored instance is an output (with its identifiers as fields).
    public static func run(_ o: ReceiveOptions, _ context: EngineContext) -> Report {
        let result = Reporter(context)
        let events = context.events
        var config = o.network
        config.incomingDirectory = StoreLayout.incoming(o.root)
        var store = InstanceStore(root: o.root)
        store.durable = o.durable
        store.onDuplicate = o.onDuplicate
        let instances = store

        do {
            try FileManager.default.createDirectory(atPath: config.incomingDirectory, withIntermediateDirectories: true)
        } catch {
            return result.fatal(I2Error(.storage, path: o.root, "cannot create the store: \(error.localizedDescription)"))
        }
        store.recover(incoming: config.incomingDirectory, quarantine: StoreLayout.quarantine(o.root), stored: { path in
            events.info("recovered \(path), acknowledged before a crash")
            result.output(path)
        }, quarantined: { path, why in
            events.error("quarantined \(path), acknowledged before a crash but it cannot be stored: \(why)")
        })

        let metrics = ReceiveMetrics()
        let beat = Heartbeat(ReceiveHeartbeat(aeTitle: config.aeTitle, port: config.port, minFreeBytes: config.minFreeBytes,
                                              interval: o.metricsInterval))
        let root = o.root, stop = context.stop, minFree = config.minFreeBytes
        let writer = MetricsWriter(path: o.metricsFile, metrics: metrics.metrics, interval: o.metricsInterval, events: events) {
            let free = freeBytes(root)
            let accepting = beat.update(free: free, stopped: stop.isStopped, root: root, events: events)
            metrics.storage(free: free, minFree: minFree, accepting: accepting)
        }
        writer.start()
        defer {
            beat.stopped()
            writer.stop()
        }

        let limiter = PeerLogLimiter()
        let listening = "listening as \(config.aeTitle) on \(config.bindAddress.isEmpty ? "*" : config.bindAddress) port \(config.port), storing under \(o.root)"
        let scp = StoreSCP(config: config, stopFlag: context.stop.flag, handler: { received in
            switch instances.store(temporary: received.temporaryPath, sopInstanceUID: received.sopInstanceUID) {
            case .stored(let path, let patient, let study, let series):
                var st = stat()
                metrics.stored(bytes: stat(path, &st) == 0 ? UInt64(st.st_size) : 0)
                result.output(path, [
                    "event": .string("stored"), "patient_id": .string(patient), "study_instance_uid": .string(study),
                    "series_instance_uid": .string(series), "sop_instance_uid": .string(received.sopInstanceUID),
                    "sop_class_uid": .string(received.sopClassUID), "calling_ae": .string(received.callingAE),
                    "peer": .string(received.peer)])
                return .success
            case .identical:
                metrics.identical()
                return .success
            case .refused(let answer, let why):
                metrics.rejected(why.rawValue)
                let line = "\(received.callingAE)@\(received.peer): \(received.sopInstanceUID) not stored (status 0x\(String(answer.status, radix: 16, uppercase: true))): \(answer.comment)"
                for (l, text) in limiter.admit(.error, peer: received.peer, line) { events.send(.log(l, text)) }
                return answer
            }
        }, log: { level, peer, message in
            for (l, line) in limiter.admit(level, peer: peer, message) { events.send(.log(l, line)) }
        }, ready: {
            beat.listening()
            writer.write()   // the heartbeat says accepting before anyone is told the node is ready
            events.info(listening)
        }, event: { e in
            switch e {
            case .associationAccepted: metrics.associationAccepted()
            case .associationEnded: metrics.associationEnded()
            case .associationRejected(let why): metrics.associationRejected(why)
            case .instanceRefused(let why): metrics.rejected(why)
            }
        })
        do {
            try scp.run()
        } catch let e as I2Error {
            return result.fatal(e)
        } catch {
            return result.fatal(I2Error(.internal, "\(error)"))
        }
        for (l, line) in limiter.flush() { events.send(.log(l, line)) }
        events.info("stopped")
        // A stop is how a service ends: not an interruption of something asked for.
        return result.finish(interruptible: false)
    }
}

/// The heartbeat a running receive keeps under ROOT (see ReceiveHeartbeat), updated by the metrics thread.
final class Heartbeat: @unchecked Sendable {
    private let lock = NSLock()
    private var value: ReceiveHeartbeat
    private var ready = false, ended = false
    private var lastError: String?
    init(_ v: ReceiveHeartbeat) { value = v }

    func listening() { lock.lock(); ready = true; lock.unlock() }
    func stopped() { lock.lock(); ended = true; lock.unlock() }

    /// Rewrites the heartbeat; returns whether receive is accepting. A write that fails is logged once.
    func update(free: UInt64?, stopped: Bool, root: String, events: EventSink) -> Bool {
        lock.lock(); defer { lock.unlock() }
        value.accepting = ready && !ended && !stopped
        value.freeBytes = free
        value.updated = WatchClock.now()
        do {
            try value.save(root)
            lastError = nil
        } catch {
            let why = "\(error)"
            if why != lastError { events.warning("cannot write the heartbeat \(ReceiveHeartbeat.path(root, port: value.port)): \(why)") }
            lastError = why
        }
        return value.accepting
    }
}
