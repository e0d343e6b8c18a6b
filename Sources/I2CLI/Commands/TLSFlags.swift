// The DICOM TLS flags of receive, send, query and retrieve: one definition, one place that turns them
// (and a node file's "tls") into the engines' TLSOptions.
import I2Core

enum TLSFlags {
    static let tls = Flag("tls", summary: "DICOM TLS (TLS 1.2 or newer, DICOM's BCP 195 profile) instead of plain TCP",
                          details: "Through DCMTK's dcmtls and OpenSSL. Connecting (send, query, retrieve), the peer's certificate must verify against --tls-ca (its chain; DCMTK does not match the host name), and --tls-cert/--tls-key present ours when the peer asks for one. Serving (receive, retrieve --port), --tls-cert and --tls-key are required and every connection must speak TLS. A node whose node-file entry has \"tls\" always uses TLS. A TLS failure (an untrusted certificate, a plain-TCP peer) is permanent: it is not retried, and ends the run with exit status 4.")
    static let cert = Flag("tls-cert", value: "PEM", summary: "Our certificate (PEM) for TLS",
                           completion: .file(extensions: ["pem", "crt"]))
    static let key = Flag("tls-key", value: "PEM", summary: "The private key of --tls-cert (PEM, not passphrase-protected)",
                          details: "i2 runs unattended and cannot ask for a passphrase: a protected key is refused with a message. Keep the file readable by i2's user only. Only its path is ever passed on.",
                          completion: .file(extensions: ["pem", "key"]))
    static let ca = Flag("tls-ca", value: "PEM|DIR", summary: "The CA certificates to trust: a PEM bundle, or a directory of hashed certificates (openssl rehash)",
                         details: "Connecting, required: the peer's certificate must be signed by one of them. Serving, clients that present a certificate must be signed by one of them.",
                         completion: .file(extensions: ["pem", "crt"]))
    static let requireClientCert = Flag("tls-require-client-cert", summary: "Serving TLS: refuse clients without a certificate signed by --tls-ca")

    /// The flags of a command that connects; `serving` adds --tls-require-client-cert.
    static func flags(serving: Bool) -> [Flag] { [tls, cert, key, ca] + (serving ? [requireClientCert] : []) }

    static let nodeFile = """
        A DIMSE node that requires DICOM TLS says so with "tls": either true (the certificates then come from --tls-ca, --tls-cert, --tls-key) or an object naming them, { "ca": PEM-or-DIR, "cert": PEM, "key": PEM } (each optional; a flag on the command line overrides it): { "secure-pacs": { "aet": "PACS", "host": "pacs.example.org", "port": 2762, "tls": { "ca": "/etc/i2/ca.pem", "cert": "/etc/i2/i2.pem", "key": "/etc/i2/i2.key" } } }. i2 never talks plain TCP to such a node.
        """

    /// The options given by the flags alone (nil when none was given).
    private static func given(_ args: ParsedArguments) -> TLSOptions? {
        let o = TLSOptions(certificate: args.given(cert), privateKey: args.given(key), trusted: args.given(ca),
                           requirePeerCertificate: args.has(requireClientCert))
        return o == TLSOptions() && !args.has(tls) ? nil : o
    }

    /// A DICOMweb node: no DICOM TLS flags (its TLS is its https:// URL and the node file's "ca").
    static func refuseForWeb(_ args: ParsedArguments) throws {
        if given(args) != nil {
            throw I2Error(.usage, "--tls and its options are for DIMSE nodes: a DICOMweb node's TLS follows its https:// URL (and \"ca\" in the node file)")
        }
    }

    /// Connecting to `node`: TLS when --tls is given or the node requires it, the flags over the node file's settings.
    static func apply(_ args: ParsedArguments, to node: inout Destination) throws {
        let flags = given(args)
        guard args.has(tls) || node.tls != nil else {
            if flags != nil { throw I2Error(.usage, "--tls-cert, --tls-key, --tls-ca and --tls-require-client-cert apply only with --tls (or a node whose node-file entry has \"tls\")") }
            return
        }
        let o = (flags ?? TLSOptions()).merged(over: node.tls ?? TLSOptions())
        try o.validate(serving: false, source: node.name.map { "node '\($0)' (TLS)" } ?? "--tls")
        node.tls = o
    }

    /// Serving (i2 receive): nil without --tls.
    static func serving(_ args: ParsedArguments) throws -> TLSOptions? {
        guard let o = given(args) else { return nil }
        guard args.has(tls) else { throw I2Error(.usage, "--tls-cert, --tls-key, --tls-ca and --tls-require-client-cert apply only with --tls") }
        try o.validate(serving: true)
        return o
    }
}
