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

        let limiter = PeerLogLimiter()
        let listening = "listening as \(config.aeTitle) on \(config.bindAddress.isEmpty ? "*" : config.bindAddress) port \(config.port), storing under \(o.root)"
        let scp = StoreSCP(config: config, stopFlag: context.stop.flag, handler: { received in
            switch instances.store(temporary: received.temporaryPath, sopInstanceUID: received.sopInstanceUID) {
            case .stored(let path, let patient, let study, let series):
                result.output(path, [
                    "event": .string("stored"), "patient_id": .string(patient), "study_instance_uid": .string(study),
                    "series_instance_uid": .string(series), "sop_instance_uid": .string(received.sopInstanceUID),
                    "sop_class_uid": .string(received.sopClassUID), "calling_ae": .string(received.callingAE),
                    "peer": .string(received.peer)])
                return .success
            case .identical:
                return .success
            case .refused(let answer):
                let line = "\(received.callingAE)@\(received.peer): \(received.sopInstanceUID) not stored (status 0x\(String(answer.status, radix: 16, uppercase: true))): \(answer.comment)"
                for (l, text) in limiter.admit(.error, peer: received.peer, line) { events.send(.log(l, text)) }
                return answer
            }
        }, log: { level, peer, message in
            for (l, line) in limiter.admit(level, peer: peer, message) { events.send(.log(l, line)) }
        }, ready: { events.info(listening) })
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
