// The engine of `i2 send`: files → header probe → presentation contexts → one association for the
// batch (more only past 128 contexts, or when the peer drops it) → one C-STORE per file.
// Transient failures (refused connection, transient rejection, abort, timeouts) are retried with
// exponential backoff; permanent ones (rejection, refused SOP class, unreadable file) are not.
// The retries are counted per batch, not per file: `streak` counts transient failures in a row with no
// answer from the peer in between, and when it passes --retries every file not yet sent fails at once,
// so an unresponsive peer costs (retries+1) timeouts plus the backoff whatever the number of files.
import Foundation
import I2DICOM
import I2Model

public struct SendOptions: Sendable {
    public var destination: Destination
    /// A DICOMweb node: the files go by STOW-RS (`destination` is then only its label).
    public var web: WebEndpoint?
    /// STOW-RS: at most this many bytes of files per request (one larger file goes alone).
    public var batchBytes = 64 << 20
    public var callingAE = "I2"
    public var connectTimeout = 10
    public var acseTimeout = 30
    public var dimseTimeout = 60
    /// An open association with nothing to send for this long (waiting on stdin) is released.
    public var idleTimeout = 30
    public var retries = 3
    /// Seconds before the first retry; doubled for each further one, at most `maxRetryDelay`.
    public var retryDelay = 1.0
    public var maxRetryDelay = 30.0
    public var maxPDU = 131072
    /// Files and directories to send (directories searched recursively).
    public var paths: [String] = []
    /// Then the paths arriving on this descriptor ('-': stdin), sent as they come.
    public var stream: Int32?
    /// Only check the destination with C-ECHO.
    public var echoOnly = false
    /// Where the JSON report goes (atomically, at the end).
    public var reportPath: String?
    public init(destination: Destination) { self.destination = destination }

    /// Options for either kind of node.
    public init(node: Node) {
        switch node {
        case .dimse(let d): destination = d
        case .web(let w):
            destination = Destination(aeTitle: "", host: URL(string: w.url)?.host ?? "", port: URL(string: w.url)?.port ?? 0, name: w.name)
            web = w
        }
    }

    /// Seconds before retry `n` (1, 2, …): --retry-delay doubled for each further one, at most `maxRetryDelay`.
    func backoff(_ n: Int) -> Double { min(retryDelay * pow(2, Double(n - 1)), maxRetryDelay) }

    /// The node as messages name it.
    public var peerLabel: String { web?.label ?? destination.label }
    public var peerAddress: String { web?.url ?? destination.address }

    var parameters: AssociationParameters {
        var p = AssociationParameters(calledAE: destination.aeTitle, host: destination.host, port: destination.port)
        p.callingAE = callingAE
        p.connectTimeout = connectTimeout
        p.acseTimeout = acseTimeout
        p.dimseTimeout = dimseTimeout
        p.maxPDU = maxPDU
        p.tls = destination.tls
        return p
    }
}

public final class Sender {
    public let options: SendOptions
    let context: EngineContext
    public private(set) var summary: SendSummary
    private var association: Association?
    private let readAhead = ReadAhead()
    private var total = 0, done = 0, nextIndex = 0
    private var storedAny = false
    /// Set when this batch could get no association (after the retries): its other files fail with it.
    private var gaveUp: String?
    private var lastFailure: I2Error.NetworkCause?
    /// Transient failures in a row (opening or storing) without any answer from the peer in between.
    private var streak = 0

    public init(options: SendOptions, context: EngineContext) {
        self.options = options
        self.context = context
        summary = SendSummary(destination: options.destination, callingAE: options.callingAE)
    }

    /// The stop token: finish the file in hand, then stop.
    var stopping: Bool { context.stop.isStopped }

    private func log(_ level: LogLevel, _ message: String) { context.events.send(.log(level, message)) }

    /// Sends `paths` (files, directories searched recursively), then everything `stream` delivers.
    public func run(paths: [String], stream: PathStream?) -> SendSummary {
        summary.started = Date()
        if !paths.isEmpty { send(paths) }
        while let stream, !stopping {
            // While an association is open and idle, release it after the idle timeout.
            let waitLimit: Double? = association == nil ? nil : Double(options.idleTimeout)
            guard let batch = stream.next(timeout: waitLimit, stop: { stopping }) else { break }
            if batch.isEmpty {
                log(.info, "idle for \(options.idleTimeout) s: releasing the association")
                association?.release()
                association = nil
                continue
            }
            send(batch)
        }
        readAhead.settle()
        association?.release()
        association = nil
        if stopping { summary.end = .interrupted }
        else if !storedAny, let kind = lastFailure { summary.end = [.rejected, .tls].contains(kind) ? .rejected : .unreachable }
        summary.finished = Date()
        return summary
    }

    /// C-ECHO: returns when the peer answered success; throws unreachable or rejected otherwise.
    public func echo() throws {
        let peer = options.destination.address
        let verification = PresentationContext(SOPClass.verification, SendPlan.fallback)
        guard let a = open([verification]) else {
            throw I2Error([.rejected, .tls].contains(lastFailure) ? .rejected : .unreachable, peer: peer, gaveUp ?? "no association")
        }
        defer { a.release() }
        let status: UInt16
        do {
            status = try a.echo()
        } catch var e as I2Error {
            e.peer = peer
            e.detail = "C-ECHO failed: " + e.detail
            throw e
        }
        if status != 0 { throw I2Error(.rejected, peer: peer, "answered C-ECHO with status 0x\(String(format: "%04X", status))") }
    }

    // MARK: one batch

    private func send(_ inputs: [String]) {
        gaveUp = nil
        streak = 0
        var items: [SendItem] = []
        for (path, p) in Sender.probed(inputs, log: log, finish: finish) {
            items.append(SendItem(index: nextIndex, path: path, sopClassUID: p.sopClassUID, sopInstanceUID: p.sopInstanceUID,
                                  transferSyntax: p.transferSyntax))
            nextIndex += 1
        }
        total += items.count
        // What the open association already covers goes first, on it; the rest gets new associations.
        let current = association?.proposed ?? []
        let now = items.filter { association != nil && SendPlan.covers(current, $0) }
        if !now.isEmpty { store(now, contexts: current) }
        let later = items.filter { !(association != nil && SendPlan.covers(current, $0)) }
        for group in SendPlan.groups(later) {
            store(group.items, contexts: SendPlan.merged(group.contexts, keeping: current))
        }
    }

    private func store(_ items: [SendItem], contexts: [PresentationContext]) {
        var queue = items[...]
        while let item = queue.first {
            if stopping { for i in queue { finish(failed(i, "interrupted before it was sent")) }; return }
            if let why = gaveUp { for i in queue { finish(failed(i, why)) }; return }
            readAhead.start(item.path)   // the first file of a queue is read while the association is negotiated
            if association == nil || !SendPlan.covers(association!.proposed, item) {
                association?.release()
                association = open(contexts)
                guard association != nil else { continue }   // gaveUp says why
            }
            do {
                let file = try readAhead.take(item.path)
                if let next = queue.dropFirst().first { readAhead.start(next.path) }
                let r = try association!.store(file)
                streak = 0   // the peer answered: it is alive, whatever the status
                var o = FileOutcome(path: item.path, status: FileOutcome.classify(r.status))
                o.sopClassUID = r.sopClassUID; o.sopInstanceUID = r.sopInstanceUID
                o.dimseStatus = r.status; o.comment = r.comment
                o.transferSyntax = r.transferSyntax; o.decompressed = r.decompressed
                if o.wasStored { storedAny = true }
                if o.status == .warning { log(.warning, "\(item.path): stored with a warning: \(o.reason)") }
                finish(o)
                queue.removeFirst()
            } catch let e as I2Error where Explain.isTransient(e) {
                // The association is gone (timeout or abort). The file goes again on a new one after the
                // backoff; past --retries failures in a row the peer is given up for the whole batch.
                association = nil
                streak += 1
                if stopping { continue }   // the loop's top fails the rest as interrupted
                if streak > options.retries {
                    let why = e.detail + (streak > 1 ? " (gave up after \(streak) attempts in a row without an answer)" : "")
                    summary.associationError = why
                    lastFailure = e.cause
                    gaveUp = why
                } else {
                    let delay = backoff(streak)
                    log(.warning, "\(item.path): \(e.detail); re-establishing the association in \(format(delay)) s (retry \(streak) of \(options.retries))")
                    pause(delay)
                }
            } catch let e as I2Error {
                finish(failed(item, e.detail))
                queue.removeFirst()
            } catch {
                finish(failed(item, "\(error)"))
                queue.removeFirst()
            }
        }
    }

    /// Seconds to wait before retry `n` (1, 2, …): --retry-delay doubled for each further one, at most `maxRetryDelay`.
    private func backoff(_ n: Int) -> Double { options.backoff(n) }

    /// Opens an association, retrying transient failures with backoff while the batch's streak of
    /// failures allows. nil when it gave up (`gaveUp` says why).
    private func open(_ contexts: [PresentationContext]) -> Association? {
        let d = options.destination
        while true {
            do {
                let a = try Association(options.parameters, contexts: contexts)
                summary.associations += 1
                log(.info, "association \(summary.associations) with \(d.label) as \(options.callingAE): \(a.acceptedCount) of \(contexts.count) presentation contexts accepted")
                return a
            } catch let e as I2Error where e.cause != nil {
                let message = Explain.association(e, to: d, callingAE: options.callingAE,
                                                  timeouts: (options.connectTimeout, options.acseTimeout))
                if Explain.isTransient(e) && streak < options.retries && !stopping {
                    streak += 1
                    let delay = backoff(streak)
                    log(.warning, "\(message); retry \(streak) of \(options.retries) in \(format(delay)) s")
                    pause(delay)
                    continue
                }
                // Not logged here: the run's end reports it once (fatal, or listed with the files it failed).
                let why = message + (streak > 0 ? " (after \(streak + 1) attempts)" : "")
                summary.associationError = why
                gaveUp = why
                lastFailure = e.cause
                return nil
            } catch {
                gaveUp = "\(error)"
                return nil
            }
        }
    }

    // MARK: helpers

    /// The DICOM files behind `inputs` with their probes; every other input finished here: missing or
    /// unreadable ones failed, files that are not DICOM skipped with a warning. Shared by both senders.
    static func probed(_ inputs: [String], log: (LogLevel, String) -> Void, finish: (FileOutcome) -> Void) -> [(String, DicomProbe)] {
        func failed(_ path: String, _ why: String) -> FileOutcome {
            var o = FileOutcome(path: path, status: .failed)
            o.comment = why
            return o
        }
        let (files, missing) = InputFiles.expand(inputs)
        for e in missing { finish(failed(e.path ?? "", e.detail)) }
        var found: [(String, DicomProbe)] = []
        for (path, probe) in zip(files, probeAll(files)) {
            switch probe {
            case .success(let p): found.append((path, p))
            case .failure(let e) where e.kind == .notDICOM:
                log(.warning, "\(path): skipped, not a DICOM file")
                finish(FileOutcome(path: path, status: .skipped))
            case .failure(let e): finish(failed(path, e.detail))
            }
        }
        return found
    }

    static func probeAll(_ files: [String]) -> [Result<DicomProbe, I2Error>] {
        var results = [Result<DicomProbe, I2Error>](repeating: .failure(I2Error(.badInput, "not probed")), count: files.count)
        results.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            DispatchQueue.concurrentPerform(iterations: files.count) { i in
                do { (base + i).pointee = .success(try DicomProbe(path: files[i])) }
                catch let e as I2Error { (base + i).pointee = .failure(e) }
                catch { (base + i).pointee = .failure(I2Error(.badInput, path: files[i], "\(error)")) }
            }
        }
        return results
    }

    private func failed(_ path: String, _ why: String) -> FileOutcome {
        var o = FileOutcome(path: path, status: .failed)
        o.comment = why
        return o
    }

    private func failed(_ item: SendItem, _ why: String) -> FileOutcome {
        var o = failed(item.path, why)
        o.sopClassUID = item.sopClassUID
        o.sopInstanceUID = item.sopInstanceUID
        return o
    }

    /// Records a file's outcome: a stored file is an output (stdout); a failure is reported at once,
    /// unless it is the association's (then it is listed once for all its files at the end).
    private func finish(_ o: FileOutcome) {
        summary.outcomes.append(o)
        if o.wasStored { context.events.output(o.path, o.fields) }
        if o.status == .failed && (gaveUp == nil || o.comment != gaveUp) {
            context.events.failed(o.error)
        }
        if o.status != .skipped && !o.path.isEmpty {
            done += 1
            context.events.send(.progress(done: done, total: max(total, done), unit: "files sent"))
        }
    }

    private func pause(_ seconds: Double) { Self.pause(seconds, stop: context.stop) }

    /// Sleeps `seconds`, waking early on a stop request (both senders' backoff).
    static func pause(_ seconds: Double, stop: StopToken) {
        let until = Date().addingTimeInterval(seconds)
        while !stop.isStopped, Date() < until { usleep(UInt32(min(0.05, max(0, until.timeIntervalSinceNow)) * 1_000_000)) }
    }

    private func format(_ s: Double) -> String { s == s.rounded() ? String(Int(s)) : String(format: "%.1f", s) }
}
