// i2 receive: a DICOM storage node (C-STORE and C-ECHO SCP) that a PACS sends studies to.
import I2Core

enum Receive {
    static let aet = Flag("aet", short: "a", value: "AETITLE", summary: "Our AE title (case-sensitive)", defaultValue: "I2")
    static let port = Flag("port", short: "p", value: "PORT", summary: "TCP port to listen on", defaultValue: "11112")
    static let bind = Flag("bind", value: "ADDRESS", summary: "Listen on this address only (e.g. 127.0.0.1 or ::1)",
                           details: "By default i2 listens on every interface, IPv4 and IPv6.")
    static let allow = Flag("allow", value: "AETITLE", summary: "Accept only this calling AE title (repeatable)",
                            details: "Anyone else is rejected at association time (calling AE title not recognized).", repeatable: true)
    static let maxAssociations = Flag("max-associations", value: "N", summary: "Simultaneous associations; more are rejected as transient", defaultValue: "16")
    static let maxPerPeer = Flag("max-per-peer", value: "N", summary: "Simultaneous associations from one peer address; more are rejected as transient",
                                 details: "Counted per IP address, so one host (or one hostile client) cannot take every --max-associations slot. 0: no per-peer limit.",
                                 defaultValue: "8")
    static let evictIdle = Flag("evict-idle", value: "SECONDS", summary: "When every slot is taken, abort the association idle longest if idle this long",
                                details: "An association idle between commands has nothing in flight, so aborting it loses nothing (its sender reconnects when it has more to send); this way idle connections cannot lock senders out until --idle-timeout. 0: never evict.",
                                defaultValue: "10")
    static let pduTimeout = Flag("pdu-timeout", value: "SECONDS", summary: "Drop a connection whose PDU has not completed this long after it started",
                                 details: "Bounds how long one PDU (at most --max-pdu bytes) may take to arrive, so a peer dripping bytes cannot hold a connection and an association slot indefinitely.",
                                 defaultValue: "30")
    static let maxPDU = Flag("max-pdu", value: "BYTES", summary: "Maximum PDU length we receive", defaultValue: "131072")
    static let acseTimeout = Flag("acse-timeout", value: "SECONDS", summary: "Wait this long for an association request or release", defaultValue: "30")
    static let dimseTimeout = Flag("dimse-timeout", value: "SECONDS", summary: "A data set may stall this long mid-transfer", defaultValue: "60")
    static let idleTimeout = Flag("idle-timeout", value: "SECONDS", summary: "Abort an association idle this long between commands", defaultValue: "300")
    static let onDuplicate = Flag("on-duplicate", value: "POLICY", summary: "Same SOP Instance UID, different content",
                                  details: "`keep-both` (default) stores the new one beside the old as <SOPInstanceUID>_2.dcm, so nothing is lost; `overwrite` replaces the old one; `reject` answers the sender with a failure status (0xC000) and keeps the old one. A re-sent identical instance is always a no-op.",
                                  choices: DuplicatePolicy.allCases.map(\.rawValue), defaultValue: DuplicatePolicy.keepBoth.rawValue)
    static let noFsync = Flag("no-fsync", summary: "Do not fsync before answering (faster; a power loss may lose acknowledged instances)")
    static let minFree = Flag("min-free", value: "SIZE", summary: "Refuse instances (status 0xA700) while free space is below SIZE (e.g. 500M, 2G)", defaultValue: "0")
    static let drain = Flag("drain", value: "SECONDS", summary: "On SIGINT/SIGTERM, let transfers in flight finish for at most this long", defaultValue: "30")

    static let command = Command(
        name: "receive",
        summary: "DICOM storage node: receive studies from a PACS (C-STORE/C-ECHO SCP)",
        description: """
        Listens for DICOM associations and stores every received instance, as received (no transcoding), under ROOT/<PatientID>/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm. Accepts C-ECHO and C-STORE for every storage SOP class, in the usual transfer syntaxes (implicit/explicit little endian, big endian, deflated, JPEG family, JPEG-LS, JPEG 2000, RLE).
        Each data set is streamed to a hidden temporary file under ROOT/.i2-incoming, fsync'ed, renamed into place, and only then answered with success (an instance acknowledged just before a crash is moved into place at the next start); when it cannot be stored (disk full, permissions, free space below --min-free) the sender gets 0xA700 (out of resources). PatientID is made safe as a path component; UIDs must be UIDs.
        Hostile or broken senders cannot take the node down or lock others out: an association request with a blank AE title, a presentation context without transfer syntax or an over-long UID is rejected at once; one host holds at most --max-per-peer associations; when every slot is taken, the association idle longest (at least --evict-idle seconds) is aborted for the newcomer; a PDU that stalls mid-way for --pdu-timeout seconds drops its connection; a data set nested more than 256 sequences deep is refused (0xC000) before it is parsed; a command set holding anything but group 0000 elements of defined length, in one PDV of at most 64 kB, aborts its association before DCMTK parses it. stderr takes at most 20 lines per peer address a minute; past that the lines are counted, and one line says how many were suppressed (with the first line logged after that minute, or at exit). At the open-file limit, receive says so on stderr and backs off instead of spinning.
        With --tls, every connection must open with a TLS handshake (TLS 1.2 or newer): a plain-TCP sender, a failed handshake or (with --tls-require-client-cert) a client certificate that --tls-ca does not verify is logged with the peer's address and the connection closed. The handshake runs on the connection's own thread, so a client stalling in it holds no one else up (--pdu-timeout bounds it). The association request and command sets then arrive encrypted, so the raw checks above (blank AE titles, malformed presentation contexts, command sets) are left to DCMTK's own parser; with --tls-require-client-cert only holders of a certificate your CA signed reach it.
        An acknowledged instance that cannot be stored at the next start (it cannot be parsed, or parsing it ended the previous start) is moved unchanged to ROOT/.i2-quarantine/ and reported on stderr, never deleted and never parsed again.
        Health: every --metrics-interval seconds (5 by default) receive rewrites a heartbeat, ROOT/.i2-receive-PORT.json (its pid, host, AE title, whether it is accepting, free bytes, --min-free), atomically; when it stops it writes it once more with accepting false. i2 status --health reads it (see i2-status(1)). With --metrics-file the same thread writes the metrics (see i2-status(1), METRICS).
        Each stored file's path is printed on stdout when it becomes visible (--json: one object per line); associations and errors go to stderr. Runs until SIGINT or SIGTERM, then stops accepting, lets transfers in flight finish (--drain) and exits 0.
        """,
        flags: [aet, port, bind, allow, maxAssociations, maxPerPeer, evictIdle, maxPDU, pduTimeout, acseTimeout, dimseTimeout, idleTimeout, onDuplicate, noFsync, minFree, drain, CommonFlags.metricsFile, CommonFlags.metricsInterval, CommonFlags.json, CommonFlags.null]
            + TLSFlags.flags(serving: true),
        positionals: [Positional("ROOT", summary: "Directory the instances are stored under (created if missing)", completion: .directory)],
        examples: [
            ("i2 receive --aet I2 --port 11112 /data/incoming", "store what a PACS sends to I2@this-host:11112"),
            ("i2 receive --bind 127.0.0.1 --allow ORTHANC /data/incoming", "only local, only from ORTHANC"),
            ("i2 receive --tls --tls-cert i2.pem --tls-key i2.key --tls-ca ca.pem --tls-require-client-cert --port 2762 /data/incoming", "DICOM TLS, only for clients with a certificate from ca.pem"),
            ("i2 receive --min-free 2G --metrics-file /var/lib/prometheus/node-exporter/i2-receive.prom /data/incoming", "metrics for node_exporter's textfile collector"),
        ],
        stop: .graceful,
        run: run)

    @Sendable static func run(_ args: ParsedArguments, _ run: Invocation) throws -> Report {
        guard args.positionals.count == 1 else { throw I2Error(.usage, "needs exactly one ROOT directory") }
        var o = ReceiveOptions(root: args.positionals[0])
        o.network.aeTitle = args.value(aet)!
        guard !o.network.aeTitle.isEmpty, o.network.aeTitle.count <= 16 else { throw I2Error(.usage, "--aet: an AE title has 1 to 16 characters") }
        o.network.port = try args.int(port, range: 1...65535)
        o.network.bindAddress = args.given(bind) ?? ""
        o.network.allowedCallers = args.all(allow)
        o.network.maxAssociations = try args.int(maxAssociations, range: 1...1000)
        o.network.maxPerPeer = try args.int(maxPerPeer, range: 0...1000)
        o.network.evictIdle = try args.int(evictIdle, range: 0...86400)
        o.network.pduTimeout = try args.int(pduTimeout, range: 2...86400)
        o.network.maxPDU = try args.int(maxPDU, range: 4096...131072 * 128)
        o.network.acseTimeout = try args.int(acseTimeout, range: 1...86400)
        o.network.dimseTimeout = try args.int(dimseTimeout, range: 1...86400)
        o.network.idleTimeout = try args.int(idleTimeout, range: 1...86400)
        o.network.drainSeconds = try args.int(drain, range: 0...86400)
        o.network.minFreeBytes = try args.size(minFree)
        o.network.tls = try TLSFlags.serving(args)
        o.durable = !args.has(noFsync)
        o.onDuplicate = args.choice(onDuplicate)
        (o.metricsFile, o.metricsInterval) = try args.metrics()
        run.terminal.json = args.has(CommonFlags.json)
        run.terminal.nulSeparated = args.has(CommonFlags.null)
        return ReceiveService.run(o, run.context)
    }
}
