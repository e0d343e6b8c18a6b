// i2 send: C-STORE files to a DICOM node over one association (C-STORE SCU), or check it with C-ECHO.
import I2Core

enum Send {
    static let to = Flag("to", value: "DEST", summary: "Destination: AET@HOST:PORT, a DICOMweb base URL (http(s)://…), or a node name from the node file",
                         details: "The called AE title is case-sensitive. HOST may be a name, an IPv4 address or an IPv6 address in brackets. A name without '@' is looked up in the node file (see NODE FILE). A URL (or a node with \"url\") is a DICOMweb node: the files go by STOW-RS (see DICOMWEB).")
    static let batchSize = Flag("batch-size", value: "SIZE", summary: "STOW-RS: at most SIZE of files per request (e.g. 64M); a larger file goes alone",
                                details: "Each request is one multipart/related body streamed from the files, so memory does not grow with SIZE.", defaultValue: "64M")
    static let aet = Flag("aet", short: "a", value: "AETITLE", summary: "Our (calling) AE title, as the peer knows us",
                          details: "A node of the node file may give its own calling_aet, which then replaces this default for that node.", defaultValue: "I2")
    static let echo = Flag("echo", summary: "Only check the destination (C-ECHO, or a QIDO-RS search on a DICOMweb node): exit 0 when it answers, 3 when it cannot be reached, 4 when it rejects us")
    static let report = Flag("report", value: "FILE", summary: "Write a JSON report of every file to FILE (atomically, at the end)",
                             details: "An object with the destination, the result (completed, unreachable, rejected, interrupted), counts, and per file: file, sop_instance_uid, sop_class_uid, status, dimse_status, error_comment, transfer_syntax, decompressed. Every entry has every key, failed or not: the UIDs are null for a file that could not be read, dimse_status is null when the peer gave no answer, transfer_syntax and decompressed are null for a file that was not sent.",
                             completion: .file(extensions: ["json"]))
    static let retries = Flag("retries", value: "N", summary: "Retry transient failures this many times in a row, with exponential backoff (see --retry-delay)",
                              details: "Transient: connection refused or timed out, association rejected as transient, aborted (also mid-transfer), or no answer within a timeout. Every retry, a reconnection after an abort included, waits for the backoff first. The count is per run of files, not per file: it restarts whenever the peer answers a C-STORE. After N+1 transient failures in a row every file not yet sent fails at once (with '-': every path read so far; later paths start a new count), so a peer that never answers costs at most (N+1) times the timeout that applies plus the backoff, however many files there are (with the defaults and a peer that accepts the association but never answers: 4 × 60 s + 7 s). Permanent rejections and per-file failure statuses are not retried.",
                              defaultValue: "3")
    static let retryDelay = Flag("retry-delay", value: "SECONDS", summary: "Wait before the first retry; doubled for each further one in a row (at most 30 s)", defaultValue: "1")
    static let connectTimeout = Flag("connect-timeout", value: "SECONDS", summary: "Give up a TCP connection attempt after this long", defaultValue: "10")
    static let acseTimeout = Flag("acse-timeout", value: "SECONDS", summary: "Wait this long for the peer to accept, reject or release an association", defaultValue: "30")
    static let dimseTimeout = Flag("dimse-timeout", value: "SECONDS", summary: "Wait this long for each C-STORE or C-ECHO response, and for a stalled send", defaultValue: "60")
    static let idleTimeout = Flag("idle-timeout", value: "SECONDS", summary: "Release an open association after this long without paths on stdin", defaultValue: "30")
    static let maxPDU = Flag("max-pdu", value: "BYTES", summary: "Maximum PDU length we receive", defaultValue: "131072")

    static let nodeFile = """
        `--to NAME` looks NAME up in a JSON file: the one named by the environment variable I2_NODES when it is set; otherwise `$XDG_CONFIG_HOME/i2/nodes.json` (default `~/.config/i2/nodes.json`), then `/etc/i2/nodes.json`, whichever exists first. It maps node names to nodes:
        { "pacs": { "aet": "ORTHANC", "host": "pacs.example.org", "port": 4242, "calling_aet": "I2" }, "lab": "LAB_AE@10.0.0.5:104" }
        `calling_aet` is optional: it sets our AE title for that node (--aet still overrides it).
        A DICOMweb node has a base URL instead, and its credentials live only here (never on a command line, where `ps` shows them): { "archive": { "url": "https://pacs.example.org/dicom-web", "username": "i2", "password": "…" } }, or "token": "…" for a bearer token, and optionally "ca": a CA bundle (PEM) to trust for it; or just the URL as a string. i2 query (QIDO-RS), i2 send (STOW-RS, --echo: a QIDO-RS search) and i2 retrieve (WADO-RS) take DICOMweb nodes.
        """
    static let behaviour = """
        All files go over one association (a new one only when the peer drops it, or when more than 128 presentation contexts are needed: then the SOP classes are split over successive associations). For every SOP class present, i2 proposes one presentation context per transfer syntax present, plus explicit and implicit VR little endian as a separate fallback context. Each file is sent as stored when the peer accepted its transfer syntax; otherwise its pixel data is decoded to an accepted uncompressed syntax (JPEG, JPEG-LS, RLE, JPEG 2000 through OpenJPEG; not High-Throughput JPEG 2000, which DCMTK 3.6.7 cannot read).
        A success or warning status counts as stored. A failure status, a SOP class or transfer syntax the peer refused, or an unreadable file fails that file only; the others are still sent.
        stdout gets the path of each file stored (success or warning status), one per line as the pipeline contract has it; with --json one object per line (path, status, sop_instance_uid, sop_class_uid, dimse_status, error_comment, transfer_syntax, decompressed). Files not stored are reported on stderr with the reason (and in --report); progress goes to stderr when it is a terminal.
        """

    static let dicomweb = """
        To a DICOMweb node, the files go by STOW-RS: POST BASE/studies, multipart/related; type="application/dicom", in requests of at most --batch-size bytes of files, each streamed from disk. Only DICOM Part 10 files (with file meta information) can go; others fail with that reason. Each file's outcome comes from the answer's Referenced SOP Sequence (stored; with a Warning Reason: stored with a warning) and Failed SOP Sequence (failed, its Failure Reason as dimse_status); a file the answer does not mention fails. A request answered 413 (too large) is split in two. No answer, HTTP 5xx and 429 are transient and retried as --retries says; HTTP 401 and 403 (wrong credentials) end the run: exit 4 when nothing was stored. The report's destination is the URL, and its "requests" counts the POSTs.
        """

    static let command = Command(
        name: "send",
        summary: "Send DICOM files to a PACS (C-STORE SCU), or check it with C-ECHO",
        description: """
        C-STOREs DICOM files to a DICOM node: files and directories (searched recursively; hidden files skipped), and with '-' paths read from stdin one per line, sent as they arrive. Files that are not DICOM are skipped with a warning.
        To a DICOMweb node (a URL, or a node file entry with "url"), the files go by STOW-RS (see DICOMWEB).
        With --echo, only checks that the node answers C-ECHO (a DICOMweb node: a QIDO-RS search).
        """,
        flags: [to, aet, echo, CommonFlags.json, CommonFlags.null, report, retries, retryDelay, connectTimeout, acseTimeout, dimseTimeout, idleTimeout, maxPDU, batchSize]
            + TLSFlags.flags(serving: false),
        positionals: [Positional("PATH", summary: "DICOM files or directories; '-' reads paths from stdin", variadic: true, optional: true)],
        examples: [
            ("i2 send --to ORTHANC@pacs.example.org:4242 results/", "send a folder over one association"),
            ("i2 send --to pacs --report sent.json seg.dcm", "send to the node 'pacs' of the node file, keep a JSON report"),
            ("find out -name '*.dcm' | i2 send --to pacs -", "send the paths read from stdin"),
            ("i2 send --echo --to pacs", "check that the node answers"),
            ("i2 send --to archive seg.dcm", "STOW-RS to the DICOMweb node 'archive' of the node file (its credentials stay there)"),
            ("i2 send --to PACS@pacs.example.org:2762 --tls --tls-ca ca.pem --tls-cert i2.pem --tls-key i2.key seg.dcm", "send over DICOM TLS"),
        ],
        extraManSections: [("Behaviour", behaviour), ("DICOMweb", dicomweb), ("Node file", nodeFile + "\n" + TLSFlags.nodeFile),
                           ("Environment", "I2_NODES: path of the node file (see NODE FILE). TCP_NODELAY: i2 sets it to 1 for DCMTK unless it is already set.")],
        exitStatuses: [.success, .partialFailure, .usage, .unreachable, .rejected, .interrupted], stop: .graceful,
        run: run)

    @Sendable static func run(_ args: ParsedArguments, _ run: Invocation) throws -> Report {
        guard let target = args.given(to) else { throw I2Error(.usage, "needs --to AET@HOST:PORT or --to NODE") }
        var options = SendOptions(node: try Node.resolve(target))
        options.callingAE = try callingAE(args, aet, node: options.destination)
        let batch = try args.size(batchSize)
        guard batch >= 1 << 20, batch <= 1 << 40 else { throw I2Error(.usage, "--batch-size: at least 1M") }
        options.batchBytes = Int(batch)
        if options.web == nil { try TLSFlags.apply(args, to: &options.destination) } else { try TLSFlags.refuseForWeb(args) }
        options.retries = try args.int(retries, range: 0...100)
        options.retryDelay = try args.seconds(retryDelay, max: 3600)
        (options.connectTimeout, options.acseTimeout, options.dimseTimeout) = try timeouts(args, connectTimeout, acseTimeout, dimseTimeout)
        options.idleTimeout = try args.int(idleTimeout, range: 1...86400)
        options.maxPDU = try args.int(maxPDU, range: 4096...131072)
        options.reportPath = args.given(report)
        run.terminal.json = args.has(CommonFlags.json)
        run.terminal.nulSeparated = args.has(CommonFlags.null)
        if args.has(echo) {
            guard args.positionals.isEmpty else { throw I2Error(.usage, "--echo takes no PATH") }
            options.echoOnly = true
        } else {
            guard !args.positionals.isEmpty else { throw I2Error(.usage, "needs at least one PATH (or '-' to read paths from stdin)") }
            options.paths = args.positionals.filter { $0 != "-" }
            options.stream = args.positionals.contains("-") ? 0 : nil
        }
        return SendEngine.run(options, run.context)
    }

    /// Our AE title towards `node`: --aet, else the node file's calling_aet, else the default.
    static func callingAE(_ args: ParsedArguments, _ aet: Flag, node: Destination) throws -> String {
        let title = args.given(aet) ?? node.callingAE ?? args.value(aet)!
        try Destination.validateAETitle(title, what: "--aet")
        return title
    }

    /// The connect, ACSE and DIMSE timeouts of a network command, in seconds.
    static func timeouts(_ args: ParsedArguments, _ connect: Flag, _ acse: Flag, _ dimse: Flag) throws -> (Int, Int, Int) {
        (try args.int(connect, range: 1...3600), try args.int(acse, range: 1...3600), try args.int(dimse, range: 1...86400))
    }
}
