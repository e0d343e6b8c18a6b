// i2 send: C-STORE files to a DICOM node over one association (C-STORE SCU), or check it with C-ECHO.
import Foundation
import I2Core
import I2DICOM

enum Send {
    static let to = Flag("to", value: "DEST", summary: "Destination: AET@HOST:PORT, or a node name from the node file",
                         details: "The called AE title is case-sensitive. HOST may be a name, an IPv4 address or an IPv6 address in brackets. A name without '@' is looked up in the node file (see NODE FILE).")
    static let aet = Flag("aet", short: "a", value: "AETITLE", summary: "Our (calling) AE title, as the peer knows us",
                          details: "Default: the node's calling_aet when the node file gives one, else I2.", defaultValue: "I2")
    static let echo = Flag("echo", summary: "Only check the destination with C-ECHO: exit 0 when it answers, 1 otherwise")
    static let json = Flag("json", summary: "Print one JSON object per file instead of a tab-separated line")
    static let report = Flag("report", value: "FILE", summary: "Write a JSON report of every file to FILE (atomically, at the end)",
                             details: "An object with the destination, the result (completed, unreachable, rejected, interrupted), counts, and per file: file, sop_instance_uid, sop_class_uid, status, dimse_status, error_comment, transfer_syntax, decompressed.",
                             completion: .file(extensions: ["json"]))
    static let retries = Flag("retries", value: "N", summary: "Retry transient failures this many times, with exponential backoff",
                              details: "Transient: connection refused or timed out, association rejected as transient, aborted, or no answer within a timeout. Permanent rejections and per-file failure statuses are not retried.",
                              defaultValue: "3")
    static let retryDelay = Flag("retry-delay", value: "SECONDS", summary: "Wait before the first retry; doubled for each further one (at most 30 s)", defaultValue: "1")
    static let connectTimeout = Flag("connect-timeout", value: "SECONDS", summary: "Give up a TCP connection attempt after this long", defaultValue: "10")
    static let acseTimeout = Flag("acse-timeout", value: "SECONDS", summary: "Wait this long for the peer to accept, reject or release an association", defaultValue: "30")
    static let dimseTimeout = Flag("dimse-timeout", value: "SECONDS", summary: "Wait this long for each C-STORE or C-ECHO response (and for a stalled send)", defaultValue: "60")
    static let idleTimeout = Flag("idle-timeout", value: "SECONDS", summary: "Release an open association after this long without paths on stdin", defaultValue: "30")
    static let maxPDU = Flag("max-pdu", value: "BYTES", summary: "Maximum PDU length we receive", defaultValue: "131072")

    static let nodeFile = """
        `--to NAME` looks NAME up in a JSON file: the one named by the environment variable I2_NODES when it is set; otherwise `$XDG_CONFIG_HOME/i2/nodes.json` (default `~/.config/i2/nodes.json`), then `/etc/i2/nodes.json`, whichever exists first. It maps node names to nodes:
        { "pacs": { "aet": "ORTHANC", "host": "pacs.example.org", "port": 4242, "calling_aet": "I2" }, "lab": "LAB_AE@10.0.0.5:104" }
        `calling_aet` is optional: it sets our AE title for that node (--aet still overrides it).
        """
    static let behaviour = """
        All files go over one association (a new one only when the peer drops it, or when more than 128 presentation contexts are needed: then the SOP classes are split over successive associations). For every SOP class present, i2 proposes one presentation context per transfer syntax present, plus explicit and implicit VR little endian as a separate fallback context. Each file is sent as stored when the peer accepted its transfer syntax; otherwise its pixel data is decoded to an accepted uncompressed syntax (JPEG, JPEG-LS, RLE; not JPEG 2000).
        A success or warning status counts as stored. A failure status, a SOP class or transfer syntax the peer refused, or an unreadable file fails that file only; the others are still sent.
        stdout gets one line per file: PATH, a tab, the status (stored, warning, failed, skipped), and for warnings and failures a tab and the reason. With --json: one object per line with the same keys as the report's files. Progress goes to stderr when it is a terminal; at the end, the files not stored are listed on stderr.
        """

    static let command = Command(
        name: "send",
        summary: "Send DICOM files to a PACS (C-STORE SCU), or check it with C-ECHO",
        description: """
        C-STOREs DICOM files to a DICOM node: files and directories (searched recursively; hidden files skipped), and with '-' paths read from stdin one per line, sent as they arrive. Files that are not DICOM are skipped with a warning.
        With --echo, only checks that the node answers C-ECHO.
        """,
        flags: [to, aet, echo, json, report, retries, retryDelay, connectTimeout, acseTimeout, dimseTimeout, idleTimeout, maxPDU],
        positionals: [Positional("PATH", summary: "DICOM files or directories; '-' reads paths from stdin", variadic: true, optional: true)],
        examples: [
            ("i2 send --to ORTHANC@pacs.example.org:4242 results/", "send a folder over one association"),
            ("i2 send --to pacs --report sent.json seg.dcm", "send to the node 'pacs' of the node file, keep a JSON report"),
            ("find out -name '*.dcm' | i2 send --to pacs -", "send the paths read from stdin"),
            ("i2 send --echo --to pacs", "check that the node answers"),
        ],
        extraManSections: [("Behaviour", behaviour), ("Node file", nodeFile),
                           ("Environment", "I2_NODES: path of the node file (see NODE FILE). TCP_NODELAY: i2 sets it to 1 for DCMTK unless it is already set.")],
        exitStatuses: ExitStatus.allCases,
        run: run)

    nonisolated(unsafe) static var stopFlag: UnsafeMutablePointer<Int32>?

    @Sendable static func run(_ args: ParsedArguments) throws -> ExitStatus {
        guard let target = args.value("to") else { throw UsageError("needs --to AET@HOST:PORT or --to NODE") }
        var options = SendOptions(destination: try Destination.resolve(target))
        options.callingAE = args.value("aet") ?? options.destination.callingAE ?? "I2"
        try Destination.validateAETitle(options.callingAE, what: "--aet")
        options.retries = try Numbers.int(args, "retries", 3, range: 0...100)
        options.retryDelay = try Numbers.seconds(args, "retry-delay", 1, max: 3600)
        options.connectTimeout = try Numbers.int(args, "connect-timeout", 10, range: 1...3600)
        options.acseTimeout = try Numbers.int(args, "acse-timeout", 30, range: 1...3600)
        options.dimseTimeout = try Numbers.int(args, "dimse-timeout", 60, range: 1...86400)
        options.idleTimeout = try Numbers.int(args, "idle-timeout", 30, range: 1...86400)
        options.maxPDU = try Numbers.int(args, "max-pdu", 131072, range: 4096...131072)
        let asJSON = args.has("json")

        let progress = Progress(enabled: isatty(2) != 0)
        let sender = Sender(options: options, log: { level, message in
            progress.clear()
            Diagnostics.log(level, message)
        }, report: { o in
            progress.clear()
            if asJSON { StandardOutput.record(JSONLine.encode(o.json)) }
            else { StandardOutput.record(([o.path, o.status.rawValue] + (o.status == .warning || o.status == .failed ? [o.reason] : [])).joined(separator: "\t")) }
        }, progress: progress.show)
        stopFlag = sender.stopFlag
        for sig in [SIGINT, SIGTERM] { signal(sig) { _ in Send.stopFlag?.pointee = 1 } }

        if args.has("echo") {
            guard args.positionals.isEmpty else { throw UsageError("--echo takes no PATH") }
            let start = Date()
            let ok = sender.echo()
            let ms = Int(Date().timeIntervalSince(start) * 1000)
            if ok {
                StandardOutput.record(asJSON ? JSONLine.encode(["destination": options.destination.address, "echo": "ok", "milliseconds": ms])
                                             : "\(options.destination.address)\techo ok\t\(ms) ms")
            }
            return ok ? .success : .partialFailure
        }
        guard !args.positionals.isEmpty else { throw UsageError("needs at least one PATH (or '-' to read paths from stdin)") }
        let paths = args.positionals.filter { $0 != "-" }
        let summary = sender.run(paths: paths, stream: args.positionals.contains("-") ? PathStream(fd: 0) : nil)
        progress.clear()

        var status = ExitStatus.success
        switch summary.end {
        case .unreachable: status = .unreachable
        case .rejected: status = .rejected
        case .interrupted: status = .partialFailure
        case .completed: status = summary.failed.isEmpty ? .success : .partialFailure
        }
        let failed = summary.failed
        if !failed.isEmpty {
            Diagnostics.error("\(failed.count) of \(summary.outcomes.filter { $0.status != .skipped }.count) files not stored on \(options.destination.label):")
            listFailures(failed)
        } else if summary.count(.stored) + summary.count(.warning) > 0 {
            let n = summary.count(.stored) + summary.count(.warning)
            Diagnostics.info("\(n) file\(n == 1 ? "" : "s") stored on \(options.destination.label)")
        } else if summary.end == .completed {
            Diagnostics.warning("nothing to send: no DICOM files among the inputs")
        }
        if let path = args.value("report") {
            do { try SendReport.write(summary, to: path) } catch {
                Diagnostics.error("\(path): cannot write the report: \(error)")
                if status == .success { status = .partialFailure }
            }
        }
        return status
    }

    /// Every failed file, its reason given once for all the files that share it (an unreachable peer).
    static func listFailures(_ failed: [FileOutcome]) {
        var order: [String] = []
        var paths: [String: [String]] = [:]
        for o in failed {
            if paths[o.reason] == nil { order.append(o.reason) }
            paths[o.reason, default: []].append(o.path)
        }
        for reason in order {
            let list = paths[reason]!
            if list.count == 1 { Diagnostics.write("  \(list[0]): \(reason)\n"); continue }
            Diagnostics.write("  \(list.count) files: \(reason)\n" + list.map { "    \($0)\n" }.joined())
        }
    }

    /// A non-negative number of seconds, fractions allowed.
}

/// "i2: sent 12 of 300 files" on one rewritten stderr line, only on a terminal.
private final class Progress: @unchecked Sendable {
    let enabled: Bool
    private var shown = false
    init(enabled: Bool) { self.enabled = enabled }

    func show(_ done: Int, _ total: Int) {
        guard enabled else { return }
        Diagnostics.write("\r\u{1b}[Ki2: sent \(done) of \(total) files")
        shown = true
    }

    func clear() {
        guard enabled, shown else { return }
        Diagnostics.write("\r\u{1b}[K")
        shown = false
    }
}
