// i2 send to a DICOMweb node: STOW-RS (PS3.18 10.5). The files, probed as for DIMSE (Part 10 files
// only: that is what application/dicom carries), go in batches bounded in bytes, one multipart/related
// POST each, streamed from disk so memory stays flat whatever the batch; the answer's Referenced and
// Failed SOP sequences give each file its outcome. Transient failures (no connection, timeout, HTTP
// 5xx and 429) are retried with the backoff and the per-run streak of DIMSE send; 401 and 403 reject
// the run (wrong credentials); 413 splits the batch in two.
import Foundation
import I2DICOM
import I2Model

final class StowSender {
    struct Item {
        var path: String
        var size: Int
        var probe: DicomProbe
    }

    let options: SendOptions
    let node: WebEndpoint
    let context: EngineContext
    private(set) var summary: SendSummary
    private var total = 0, done = 0
    private var storedAny = false
    /// Set when this run of files was given up (rejected, or past --retries): its other files fail with it.
    private var gaveUp: String?
    private var lastFailure: I2Error.NetworkCause?
    private var streak = 0

    init(options: SendOptions, node: WebEndpoint, context: EngineContext) {
        (self.options, self.node, self.context) = (options, node, context)
        summary = SendSummary(destination: options.destination, callingAE: options.callingAE)
        summary.web = node
    }

    var stopping: Bool { context.stop.isStopped }

    func run(paths: [String], stream: PathStream?) -> SendSummary {
        summary.started = Date()
        if !paths.isEmpty { send(paths) }
        while let stream, !stopping, let batch = stream.next(timeout: nil, stop: { self.stopping }) {
            if !batch.isEmpty { send(batch) }
        }
        if stopping { summary.end = .interrupted }
        else if !storedAny, let kind = lastFailure { summary.end = kind == .rejected ? .rejected : .unreachable }
        summary.finished = Date()
        return summary
    }

    /// The node answers a one-study QIDO-RS search: the check --echo makes of a DICOMweb node.
    func echo() throws {
        let r = try HTTP.request("GET", node.url + "/studies?limit=1", peer: node.label, headers: ["Accept: application/dicom+json"],
                                 auth: node.auth, connectTimeout: options.connectTimeout, timeout: options.dimseTimeout,
                                 maxBody: 16 << 20, caFile: node.caFile)
        guard r.isSuccess else { throw WebStatus.error(r, node: node, what: "a QIDO-RS search (the check of --echo)") }
    }

    // MARK: one run of files

    private func send(_ inputs: [String]) {
        gaveUp = nil
        streak = 0
        var items: [Item] = []
        let found = Sender.probed(inputs, log: { self.context.events.send(.log($0, $1)) }, finish: finish)
        for (path, p) in found {
            guard Self.isPart10(path) else {
                finish(failed(path, "not a DICOM Part 10 file (no file meta information): STOW-RS carries Part 10 files only", probe: p))
                continue
            }
            items.append(Item(path: path, size: Int(InputFiles.size(path) ?? 0), probe: p))
        }
        total += items.count
        var batch: [Item] = [], bytes = 0
        for item in items {
            if !batch.isEmpty && bytes + item.size > options.batchBytes {
                post(batch)
                (batch, bytes) = ([], 0)
            }
            batch.append(item)
            bytes += item.size
        }
        if !batch.isEmpty { post(batch) }
    }

    /// One POST of `batch`, retried while transient failures allow; every file of it finished.
    private func post(_ batch: [Item]) {
        while true {
            if stopping { for i in batch { finish(failed(i.path, "interrupted before it was sent", probe: i.probe)) }; return }
            if let why = gaveUp { for i in batch { finish(failed(i.path, why, probe: i.probe)) }; return }
            do {
                let body = MultipartUpload(batch.map { ($0.path, $0.size) })
                summary.associations += 1
                let r = try HTTP.request("POST", node.url + "/studies", peer: node.label,
                                         headers: ["Content-Type: multipart/related; type=\"application/dicom\"; boundary=" + body.boundary,
                                                   "Accept: application/dicom+json", "Expect:"],
                                         auth: node.auth, upload: body.upload, connectTimeout: options.connectTimeout,
                                         timeout: options.dimseTimeout + batch.count, maxBody: 64 << 20, caFile: node.caFile)
                if r.status == 413 && batch.count > 1 {
                    context.events.send(.log(.info, "\(node.label) refused a batch of \(batch.count) files as too large (HTTP 413): sending it in halves"))
                    post(Array(batch[..<(batch.count / 2)]))
                    post(Array(batch[(batch.count / 2)...]))
                    return
                }
                if r.status == 429 || (500...599).contains(r.status) { throw WebStatus.error(r, node: node, what: "the STOW-RS request") }
                streak = 0
                if r.isSuccess || r.status == 409 {
                    outcomes(r, batch)
                } else {
                    let e = WebStatus.error(r, node: node, what: "the STOW-RS request")
                    if r.status == 401 || r.status == 403 {
                        // Wrong credentials: every later request would be refused too.
                        summary.associationError = e.detail
                        lastFailure = .rejected
                        gaveUp = e.detail
                    }
                    for i in batch { finish(failed(i.path, e.detail, probe: i.probe)) }
                }
                return
            } catch let e as I2Error where e.cause != nil && e.cause != .rejected {
                streak += 1
                if stopping { continue }
                if streak > options.retries {
                    let why = e.detail + (streak > 1 ? " (gave up after \(streak) attempts in a row without an answer)" : "")
                    summary.associationError = why
                    lastFailure = e.cause
                    gaveUp = why
                } else {
                    let delay = options.backoff(streak)
                    context.events.send(.log(.warning, "\(e.detail); sending the batch of \(batch.count) again in \(delay) s (retry \(streak) of \(options.retries))"))
                    Sender.pause(delay, stop: context.stop)
                }
            } catch let e as I2Error where e.kind == .rejected {
                // Refused without an HTTP answer (an untrusted certificate): later requests would be too.
                summary.associationError = e.detail
                lastFailure = .rejected
                gaveUp = e.detail
            } catch {
                let why = (error as? I2Error)?.detail ?? "\(error)"
                for i in batch { finish(failed(i.path, why, probe: i.probe)) }
                return
            }
        }
    }

    /// Each file's outcome from the answer's Referenced SOP Sequence (stored, with a Warning Reason when
    /// there is one) and Failed SOP Sequence (with its Failure Reason, a DIMSE status).
    private func outcomes(_ r: HTTPResponse, _ batch: [Item]) {
        let answer = StowAnswer(r.body)
        if answer == nil && r.status == 200 {
            context.events.send(.log(.warning, "\(node.label) answered HTTP 200 without a DICOM JSON body: taking every file of the batch as stored"))
        }
        for i in batch {
            var o = FileOutcome(path: i.path, status: .failed)
            o.sopClassUID = i.probe.sopClassUID
            o.sopInstanceUID = i.probe.sopInstanceUID
            o.transferSyntax = i.probe.transferSyntax
            if let reason = answer?.failed[i.probe.sopInstanceUID] {
                o.dimseStatus = reason
                o.comment = "the node's Failure Reason"
            } else if let warning = answer?.stored[i.probe.sopInstanceUID] {
                o.status = warning == 0 ? .stored : .warning
                o.dimseStatus = warning
                if o.status == .warning { context.events.send(.log(.warning, "\(i.path): stored with a warning: \(o.reason)")) }
            } else if answer == nil && r.status == 200 {
                o.status = .stored
                o.dimseStatus = 0
            } else {
                o.comment = "the node's answer (HTTP \(r.status)) does not mention it"
            }
            if o.wasStored { storedAny = true }
            finish(o)
        }
    }

    static func isPart10(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        let head = (try? h.read(upToCount: 132)) ?? Data()
        return head.count == 132 && head.suffix(4) == Data("DICM".utf8)
    }

    private func failed(_ path: String, _ why: String, probe: DicomProbe? = nil) -> FileOutcome {
        var o = FileOutcome(path: path, status: .failed)
        o.comment = why
        o.sopClassUID = probe?.sopClassUID ?? ""
        o.sopInstanceUID = probe?.sopInstanceUID ?? ""
        return o
    }

    /// As DIMSE send records an outcome: stored files on stdout, failures at once unless the run's.
    private func finish(_ o: FileOutcome) {
        summary.outcomes.append(o)
        if o.wasStored { context.events.output(o.path, o.fields) }
        if o.status == .failed && (gaveUp == nil || o.comment != gaveUp) { context.events.failed(o.error) }
        if o.status != .skipped && !o.path.isEmpty {
            done += 1
            context.events.send(.progress(done: done, total: max(total, done), unit: "files sent"))
        }
    }
}

/// A STOW-RS answer (PS3.18 10.5.3): SOP Instance UIDs stored (with their Warning Reason, if any) and
/// failed (with their Failure Reason). nil when the body is not DICOM JSON.
struct StowAnswer {
    /// The Warning Reason, 0 when there is none.
    var stored: [String: UInt16] = [:]
    var failed: [String: UInt16] = [:]

    init?(_ body: [UInt8]) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else { return nil }
        func items(_ tag: String) -> [[String: Any]] { ((object[tag] as? [String: Any])?["Value"] as? [[String: Any]]) ?? [] }
        func value(_ item: [String: Any], _ tag: String) -> Any? { ((item[tag] as? [String: Any])?["Value"] as? [Any])?.first }
        for item in items("00081199") {
            guard let uid = value(item, "00081155") as? String else { continue }
            stored[uid] = (value(item, "00081196") as? NSNumber).map { UInt16(truncatingIfNeeded: $0.intValue) } ?? 0
        }
        for item in items("00081198") {
            guard let uid = value(item, "00081155") as? String else { continue }
            failed[uid] = (value(item, "00081197") as? NSNumber).map { UInt16(truncatingIfNeeded: $0.intValue) } ?? 0xC000
        }
    }
}

/// A multipart/related body of DICOM files, read from disk as it is sent.
final class MultipartUpload {
    enum Segment { case bytes([UInt8]), file(String, Int) }
    let boundary = "i2-" + UUID().uuidString
    private var segments: [Segment] = []
    private var index = 0, offset = 0
    private var fd: Int32 = -1
    let length: Int

    init(_ files: [(path: String, size: Int)]) {
        for f in files {
            segments.append(.bytes(Array("--\(boundary)\r\nContent-Type: application/dicom\r\n\r\n".utf8)))
            segments.append(.file(f.path, f.size))
            segments.append(.bytes(Array("\r\n".utf8)))
        }
        segments.append(.bytes(Array("--\(boundary)--\r\n".utf8)))
        length = segments.reduce(0) { n, s in
            switch s { case .bytes(let b): return n + b.count; case .file(_, let size): return n + size }
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    var upload: HTTPUpload { HTTPUpload(length: length) { [self] buffer in try read(into: buffer) } }

    private func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while index < segments.count {
            switch segments[index] {
            case .bytes(let b):
                let n = min(buffer.count, b.count - offset)
                if n > 0 {
                    b.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
                    offset += n
                    return n
                }
            case .file(let path, let size):
                if offset < size {
                    if fd < 0 {
                        fd = open(path, O_RDONLY | O_CLOEXEC)
                        guard fd >= 0 else { throw I2Error(.badInput, path: path, "cannot open it to send: \(String(cString: strerror(errno)))") }
                    }
                    let n = Foundation.read(fd, buffer.baseAddress, min(buffer.count, size - offset))
                    guard n > 0 else { throw I2Error(.badInput, path: path, n < 0 ? "cannot read it: \(String(cString: strerror(errno)))" : "it shrank while being sent") }
                    offset += n
                    return n
                }
                close(fd)
                fd = -1
            }
            index += 1
            offset = 0
        }
        return 0
    }
}
