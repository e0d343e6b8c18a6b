// i2 retrieve: fetch studies, series or instances from a DICOM node into a directory (C-GET SCU), or
// have the node send them to another node (C-MOVE SCU).
import I2Core

enum Retrieve {
    static let from = Flag("from", value: "NODE", summary: "The node that holds the data: AET@HOST:PORT, a DICOMweb base URL, or a node name from the node file",
                           details: "As `i2 send --to` takes it (see NODE FILE in i2-send(1)).")
    static let via = Flag("via", value: "METHOD", summary: "How to retrieve: get (C-GET into -o DIR), move (C-MOVE to --move-to or to --port) or wado (WADO-RS into -o DIR)",
                          details: "`get` (the default without --move-to or --port): the node sends the instances on our own association; they are stored under -o DIR as i2 receive stores them. `move` (the default with --move-to or --port): with --move-to, the node sends each item by C-STORE to that AE title, which it must know (host and port in its configuration); with -o DIR --port PORT, to i2 itself: a storage node listens on PORT as our AE title (--aet) for the duration, and the node must know that AE title with this host and PORT. Use move where the node does not offer C-GET. `wado` (the default, and the only method, for a DICOMweb node): the instances are listed by QIDO-RS and fetched by WADO-RS (a whole study or series in one request, instance by instance on a rerun), in the transfer syntax the node holds them in, and stored under -o DIR as i2 receive stores them.",
                          choices: ["get", "move", "wado"])
    static let output = Flag("output", short: "o", value: "DIR", summary: "Where C-GET stores the instances: DIR/PatientID/StudyUID/SeriesUID/SOPUID.dcm, as i2 receive",
                             details: "Each file is written to DIR/.i2-incoming, made durable (fsync) and renamed into place, so nothing half-written is ever visible. Instances already there are not fetched again (a rerun resumes): their paths are printed all the same, so the output is always the whole item.",
                             completion: .directory)
    static let port = Flag("port", value: "PORT", summary: "C-MOVE to i2 itself: listen on PORT (as --aet) for the duration; the node must know that AE title at this host and PORT")
    static let moveWait = Flag("move-wait", value: "SECONDS", summary: "C-MOVE to i2 itself: wait this long after the node's final answer for instances it reports sent",
                               details: "Some nodes answer a C-MOVE before every instance they sent has arrived: i2 waits for the count the node reports, at most this long; what is still missing then fails the item.",
                               defaultValue: "30")
    static let moveTo = Flag("move-to", value: "AETITLE", summary: "The AE title the node sends to (C-MOVE destination), e.g. another PACS",
                             details: "Re-sends from archive A to PACS B: `i2 retrieve --from A --move-to B_AET UID`. The node must know B_AET.")
    static let noFsync = Flag("no-fsync", summary: "Do not make fetched instances durable before they are moved into place (faster; a power loss may lose printed ones)")
    static let level = Flag("level", value: "LEVEL", summary: "What the UIDs (and tab-separated lines on stdin) are: study, series or instance",
                            details: "i2 query's JSON lines carry their level and need none. Lines of i2 query's tab-separated output carry the UIDs of the levels above too (strict archives need them for series and instance retrieves); UIDs given as arguments carry only their own.",
                            choices: ["study", "series", "instance"], defaultValue: "study")
    static let aet = Flag("aet", short: "a", value: "AETITLE", summary: "Our (calling) AE title, as the node knows us", defaultValue: "I2")
    static let connectTimeout = Flag("connect-timeout", value: "SECONDS", summary: "Give up a TCP connection attempt after this long", defaultValue: "10")
    static let acseTimeout = Flag("acse-timeout", value: "SECONDS", summary: "Wait this long for the node to accept, reject or release the association", defaultValue: "30")
    static let dimseTimeout = Flag("dimse-timeout", value: "SECONDS", summary: "Wait this long for each C-MOVE response (a large study may take long between them)", defaultValue: "600")

    static let command = Command(
        name: "retrieve",
        summary: "Fetch studies, series or instances from a DICOM node (C-GET or C-MOVE SCU, or WADO-RS), or have it send them to another node (C-MOVE SCU)",
        description: """
        For each UID (arguments, or with '-' the lines of `i2 query` output on stdin: tab-separated or --json):
        With -o DIR: the item's instances are listed (C-FIND; QIDO-RS on a DICOMweb node), those already under DIR skipped, the others fetched (C-GET over one association, the storage SOP classes listed proposed uncompressed with i2 as their SCP; with --port, C-MOVE to a storage node of i2's own that listens for the duration; from a DICOMweb node, WADO-RS) and stored as i2 receive stores them. stdout gets the path of every instance of the item, stored now or before, as the pipeline contract has it (`i2 query … | i2 retrieve --from pacs -o in/ - | i2 convert - out/`).
        With --move-to AE (C-MOVE): the node sends each item to that AE title; stdout gets the UID of each item sent completely (with --json: an object with the counts).
        Each item's counts (fetched or sent, already present, failed) go to stderr. An item with failed sub-operations, one that did not arrive whole, or one the node found nothing for fails that item (exit 1) and the others are still retrieved. A node that cannot be reached, rejects the association or does not know the destination ends the run (exit 3 or 4, as i2 send).
        """,
        flags: [from, via, output, port, moveWait, moveTo, noFsync, level, aet, CommonFlags.json, CommonFlags.null, connectTimeout, acseTimeout, dimseTimeout]
            + TLSFlags.flags(serving: true),
        positionals: [Positional("UID", summary: "Study (or --level series/instance) UIDs; '-' reads i2 query output from stdin", variadic: true, optional: true)],
        examples: [
            ("i2 retrieve --from pacs -o in/ 1.2.3.4", "fetch one study into in/ (a rerun fetches only what is missing)"),
            ("i2 query --from pacs --modality CT --study-date 20260101- | i2 retrieve --from pacs -o in/ - | i2 convert - nii/", "fetch and convert this year's CTs"),
            ("i2 retrieve --from pacs -o in/ --port 11112 1.2.3.4", "the same by C-MOVE to i2 (the PACS knows AE I2 at this host, port 11112)"),
            ("i2 retrieve --from archive --move-to PACS_B 1.2.3.4", "re-send one study from the archive to PACS B"),
            ("i2 retrieve --from https://pacs.example.org/dicom-web -o in/ 1.2.3.4", "fetch one study by WADO-RS"),
            ("i2 query --from archive --patient-id 12345 | i2 retrieve --from archive --move-to PACS_B -", "every study of a patient"),
            ("i2 query --from archive --level series --study 1.2.3.4 --modality CT --json | i2 retrieve --from archive --move-to WS -", "the CT series of a study"),
        ],
        extraManSections: [("Environment", "I2_NODES: path of the node file (see i2-send(1)).")],
        exitStatuses: [.success, .partialFailure, .usage, .unreachable, .rejected, .interrupted],
        run: run)

    @Sendable static func run(_ args: ParsedArguments, _ run: Invocation) throws -> Report {
        guard let node = args.given(from) else { throw I2Error(.usage, "needs --from AET@HOST:PORT or --from NODE") }
        let resolved = try Node.resolve(node)
        var isWeb = false
        if case .web = resolved { isWeb = true }
        let method = args.given(via) ?? (isWeb ? "wado" : args.given(moveTo) == nil && args.given(port) == nil ? "get" : "move")
        guard !args.positionals.isEmpty else { throw I2Error(.usage, "needs at least one UID (or '-' to read i2 query output from stdin)") }
        guard (method == "wado") == isWeb else {
            throw I2Error(.usage, isWeb ? "\(node) is a DICOMweb node: it is retrieved by WADO-RS (--via wado) into -o DIR"
                                        : "--via wado needs a DICOMweb node: an http(s):// base URL, or a node file entry with \"url\"")
        }
        var o = RetrieveOptions(node: resolved)
        if isWeb {
            guard args.given(moveTo) == nil, args.given(port) == nil else { throw I2Error(.usage, "--move-to and --port are C-MOVE's: WADO-RS fetches into -o DIR") }
            guard let dir = args.given(output) else { throw I2Error(.usage, "needs -o DIR (where the instances are stored)") }
            o.output = dir
        } else if let destination = args.given(moveTo) {
            guard method == "move" else { throw I2Error(.usage, "--move-to is for --via move") }
            guard args.given(output) == nil, args.given(port) == nil else { throw I2Error(.usage, "-o and --port are for retrieving here: with --move-to the node sends elsewhere") }
            try Destination.validateAETitle(destination, what: "--move-to")
            o.moveTo = destination
        } else {
            guard let dir = args.given(output) else { throw I2Error(.usage, "needs -o DIR (where the instances are stored) or --move-to AETITLE") }
            o.output = dir
            if method == "move" {
                guard args.given(port) != nil else { throw I2Error(.usage, "--via move into -o DIR needs --port PORT (where i2 listens for the node's C-STOREs)") }
                o.port = try args.int(port, range: 1...65535)
                o.moveWait = try args.seconds(moveWait, max: 86400)
            } else if args.given(port) != nil {
                throw I2Error(.usage, "--port is for --via move")
            }
        }
        o.durable = !args.has(noFsync)
        o.callingAE = try Send.callingAE(args, aet, node: o.node)
        if o.web == nil { try TLSFlags.apply(args, to: &o.node) } else { try TLSFlags.refuseForWeb(args) }
        if let tls = o.node.tls {
            // C-MOVE to i2 itself over TLS: the node's C-STOREs come over TLS too, so we serve with a certificate.
            if o.port != nil { try tls.validate(serving: true, source: "--port with TLS") }
            else if tls.requirePeerCertificate { throw I2Error(.usage, "--tls-require-client-cert is for --port (where i2 serves)") }
        }
        (o.connectTimeout, o.acseTimeout, o.dimseTimeout) = try Send.timeouts(args, connectTimeout, acseTimeout, dimseTimeout)
        let l = QueryLevel(rawValue: args.value(level)!) ?? .study
        o.streamLevel = l
        for u in args.positionals where u != "-" {
            o.items.append(try RetrieveItem.uid(u, level: l).checked("argument"))
        }
        o.stream = args.positionals.contains("-") ? 0 : nil
        run.terminal.json = args.has(CommonFlags.json)
        run.terminal.nulSeparated = args.has(CommonFlags.null)
        Allocator.tuneForBatch()   // one data set after another: heap blocks reused, not mapped and faulted in each time
        return RetrieveEngine.run(o, run.context)
    }
}
