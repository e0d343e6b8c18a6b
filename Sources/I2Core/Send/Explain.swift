// Association failures in plain words: what happened, and what usually fixes it. DCMTK's own text
// ("Association Rejected: Result: Rejected Permanent, Source: Service User, Reason: Called AE Title
// Not Recognized") names the rule, not the remedy.
import I2DICOM

enum Explain {
    /// Whether trying again later can help.
    static func isTransient(_ e: I2Error) -> Bool {
        switch e.cause {
        case .unreachable, .timeout, .aborted: return true
        case .rejected: return e.rejection?.result == 2
        case .unresolved, .noContext, .unreadable, .tls, nil: return false
        }
    }

    static func association(_ e: I2Error, to d: Destination, callingAE: String, timeouts: (connect: Int, acse: Int)) -> String {
        let hostPort = "\(d.host.contains(":") ? "[\(d.host)]" : d.host):\(d.port)"
        switch e.cause {
        case .unresolved:
            return "\(e.detail) (check the host name in --to or the node file)"
        case .unreachable:
            let why = e.detail.replacingOccurrences(of: "TCP Initialization Error: ", with: "")
            if why.lowercased().contains("refused") {
                return "cannot connect to \(hostPort): connection refused (nothing is listening on that port: is the peer running, and is the port right?)"
            }
            if why.lowercased().contains("timed out") || why.lowercased().contains("timeout") || why.lowercased().contains("in progress") {
                return "cannot connect to \(hostPort): no answer within the connect timeout (\(timeouts.connect) s; a firewall may be dropping the connection)"
            }
            return "cannot connect to \(hostPort): \(why)"
        case .timeout:
            return "connected to \(hostPort), but no association answer within the ACSE timeout (\(timeouts.acse) s): is this a DICOM port, and is the peer overloaded?"
        case .aborted where d.tls == nil && plainOnTLS(e.detail):
            return "\(hostPort) answered the association request with a TLS alert: is it a TLS port? (use --tls, or \"tls\" in the node file; \(e.detail))"
        case .aborted:
            return "\(hostPort) closed or aborted the connection during association negotiation (\(e.detail)); it may not speak DICOM, or may refuse our address" + (d.tls == nil ? " (if the port speaks TLS, use --tls)"
                : " (over TLS 1.3 a peer refuses a client certificate only after the handshake: it may not trust --tls-cert, or require one)")
        case .tls:
            return tls(e, hostPort: hostPort, d.tls)
        case .rejected:
            return rejection(e, d: d, callingAE: callingAE)
        case .noContext, .unreadable, nil:
            return e.detail
        }
    }

    /// A TLS handshake that failed, from OpenSSL's reason: whose certificate, or which side speaks plain TCP.
    static func tls(_ e: I2Error, hostPort: String, _ o: TLSOptions?) -> String {
        let why = e.detail.lowercased()
        if why.contains("certificate verify failed") {
            return "the peer's certificate is not trusted by --tls-ca \(o?.trusted ?? "?") (\(hostPort): \(e.detail)): is its CA in that bundle or directory, and is the certificate current?"
        }
        if why.contains("alert") && (why.contains("certificate") || why.contains("unknown ca") || why.contains("handshake failure")) {
            let ours = o?.certificate.map { "our certificate \($0)" } ?? "our connection without a client certificate"
            return "\(hostPort) refused \(ours) in the TLS handshake (\(e.detail)): the peer must trust its CA, or may require a client certificate (--tls-cert, --tls-key)"
        }
        if why.contains("wrong version number") || why.contains("unexpected eof") || why.contains("packet length") || why.contains("record layer")
            || why.contains("connection closed") || why.contains("syscall") || why.contains("did not complete") {
            return "\(hostPort) did not complete a TLS handshake: is it a plain-TCP port? (\(e.detail))"
        }
        if e.detail.hasPrefix("cannot ") || e.detail.hasPrefix("the private key") { return "TLS settings: \(e.detail)" }
        return "TLS handshake with \(hostPort) failed: \(e.detail)"
    }

    /// What DCMTK reports when a TLS server answered our plain association request: its alert record
    /// (type 21) read as a PDU type, or the connection closed at once.
    static func plainOnTLS(_ detail: String) -> Bool {
        let d = detail.lowercased()
        return d.contains("pdu type") && (d.contains("15") || d.contains("21"))
    }

    static func rejection(_ e: I2Error, d: Destination, callingAE: String) -> String {
        guard let r = e.rejection else { return "association rejected: \(e.detail)" }
        let kind = r.result == 2 ? "transient" : "permanent"
        let head = "\(d.address) rejected the association (\(kind))"
        switch r.reason {
        case 0x0107:
            return "\(head): it does not know the called AE title '\(d.aeTitle)'. AE titles are case-sensitive: use the exact AE title the peer is configured with, in --to AET@HOST:PORT or the node file"
        case 0x0103:
            return "\(head): it does not accept our calling AE title '\(callingAE)'. Register '\(callingAE)' (this host and port) as a known node on the peer, or pass the AE title it expects with --aet"
        case 0x0102:
            return "\(head): it does not support the DICOM application context"
        case 0x0101:
            return "\(head) without giving a reason (often: our calling AE title '\(callingAE)' or our address is not on its list of allowed nodes)"
        case 0x0201, 0x0202:
            return "\(head): its DICOM layer refused the request (\(e.detail))"
        case 0x0301:
            return "\(head): it is temporarily congested; try again later"
        case 0x0302:
            return "\(head): it has reached its limit of simultaneous associations; try again later"
        default:
            return "\(head): \(e.detail)"
        }
    }
}
