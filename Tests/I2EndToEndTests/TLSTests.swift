// DICOM TLS end to end (issue 13): storescu +tls into i2 receive --tls, i2 send --tls into storescp
// +tls, Orthanc with DicomTlsEnabled both ways, and the refusals: an untrusted certificate and plain
// TCP on a TLS port (both directions), named plainly. Certificates are made by the test with openssl.
import Foundation
import XCTest
import I2TestSupport

/// A throwaway PKI: a CA and two certificates it signs ("a", "b"), and a rogue certificate signed by
/// another CA (`otherCA`), RSA 2048 (BCP 195's suites are RSA), plus `a`'s key under a passphrase.
struct TestPKI {
    let dir: String
    init(_ dir: String) throws {
        self.dir = dir
        let openssl = try TestSupport.tool("openssl", package: "openssl")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func run(_ args: [String]) throws {
            let r = try TestSupport.run(openssl, args, cwd: dir)
            guard r.status == 0 else { throw RX.Failure("openssl \(args.joined(separator: " ")): \(r.stderr)") }
        }
        for ca in ["ca", "other"] {
            try run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(ca).key", "-out", "\(ca).pem", "-days", "2", "-subj", "/CN=i2 test \(ca)"])
        }
        for (name, ca) in [("a", "ca"), ("b", "ca"), ("rogue", "other")] {
            try run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=127.0.0.1"])
            try run(["x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).pem", "-CAkey", "\(ca).key", "-CAcreateserial", "-out", "\(name).pem", "-days", "2"])
        }
        try run(["pkey", "-in", "a.key", "-aes256", "-passout", "pass:secret", "-out", "a-protected.key"])
    }
    func path(_ name: String) -> String { dir + "/" + name }
    var ca: String { path("ca.pem") }
    var otherCA: String { path("other.pem") }
    /// i2's flags presenting certificate `name`, trusting `ca`.
    func i2Flags(_ name: String, ca: String? = nil) -> [String] {
        ["--tls", "--tls-cert", path("\(name).pem"), "--tls-key", path("\(name).key"), "--tls-ca", ca ?? self.ca]
    }
    /// storescu/storescp's: +tls KEY CERT, trusting `ca`.
    func dcmtkFlags(_ name: String, ca: String? = nil) -> [String] { ["+tls", path("\(name).key"), path("\(name).pem"), "+cf", ca ?? self.ca] }
}

final class TLSTests: E2ECase {
    let image = "dcmqi/24x38x3/image"
    var files: [String] { (1...3).map { TestSupport.fixture("\(image)/IMG000\($0).dcm") } }

    func testStorescuTLSIntoReceiveTLSAndRefusals() throws {
        let pki = try TestPKI(path("pki"))
        let r = try startReceiver(path("root"), pki.i2Flags("a") + ["--tls-require-client-cert"])
        let good = try RX.storescu(r.port, files, pki.dcmtkFlags("b"))
        XCTAssertEqual(good.status, 0, good.output)
        XCTAssertTrue(r.waitForPaths(3, timeout: 20), r.process.stderr)
        for stored in r.paths { XCTAssertTrue(FileManager.default.fileExists(atPath: stored), stored) }
        XCTAssertTrue(r.process.stderr.contains("association from STORESCU@127.0.0.1 over TLS"), r.process.stderr)

        // A client certificate from another CA, none at all, plain TCP: refused, each logged with the peer.
        let rogue = try RX.storescu(r.port, [files[0]], pki.dcmtkFlags("rogue"))
        XCTAssertNotEqual(rogue.status, 0, rogue.output)
        let anonymous = try RX.storescu(r.port, [files[0]], ["+tla", "+cf", pki.ca])
        XCTAssertNotEqual(anonymous.status, 0, anonymous.output)
        let plain = try RX.storescu(r.port, [files[0]])
        XCTAssertNotEqual(plain.status, 0, plain.output)
        XCTAssertTrue(r.process.wait(timeout: 10) { _, err, _ in err.filter { $0.contains("TLS connection from 127.0.0.1 refused") }.count >= 3 }, r.process.stderr)
        let log = r.process.stderr
        XCTAssertTrue(log.contains("refused: its certificate is not trusted by --tls-ca"), log)
        XCTAssertTrue(log.contains("refused: it presented no certificate, and one is required"), log)
        XCTAssertTrue(log.contains("refused: it sent a plain-TCP association request to this TLS port"), log)
        XCTAssertEqual(r.paths.count, 3, "nothing more was stored")

        // openssl s_client: TLS 1.2 or newer is negotiated, TLS 1.1 is refused.
        let openssl = try TestSupport.tool("openssl", package: "openssl")
        let connect = ["s_client", "-connect", "127.0.0.1:\(r.port)", "-CAfile", pki.ca, "-cert", pki.path("b.pem"), "-key", pki.path("b.key")]
        let modern = try TestSupport.run(openssl, connect, stdin: "")
        let version = modern.stdout.components(separatedBy: "\n").first { $0.hasPrefix("New, TLSv") } ?? ""
        XCTAssertTrue(version.hasPrefix("New, TLSv1.2") || version.hasPrefix("New, TLSv1.3"), modern.stdout + modern.stderr)
        XCTAssertTrue(modern.stdout.contains("Verify return code: 0 (ok)"), modern.stdout)
        let old = try TestSupport.run(openssl, connect + ["-tls1_1"], stdin: "")
        XCTAssertNotEqual(old.status, 0, old.stdout)
        XCTAssertFalse(old.stdout.contains("New, TLSv1.1"), old.stdout)
        XCTAssertEqual(r.process.stop(), 0)
    }

    func testSendTLSIntoStorescpTLSAndRefusals() throws {
        let pki = try TestPKI(path("pki"))
        let scp = try StoreSCPPeer(directory: path("scp"), options: pki.dcmtkFlags("b"))
        defer { scp.stop() }
        let sent = try TestSupport.i2(["send", "--to", scp.address] + pki.i2Flags("a") + files)
        XCTAssertEqual(sent.status, 0, sent.stderr)
        XCTAssertEqual(sent.stdout.split(separator: "\n").count, 3, sent.stdout)
        XCTAssertEqual(scp.files.count, 3, scp.log)

        // The peer's certificate does not verify against --tls-ca: exit 4 at once (no retries), said plainly.
        let untrusted = try TestSupport.i2(["send", "--to", scp.address, "--retries", "3"] + pki.i2Flags("a", ca: pki.otherCA) + [files[0]])
        XCTAssertEqual(untrusted.status, 4, untrusted.stderr)
        XCTAssertTrue(untrusted.stderr.contains("the peer's certificate is not trusted by --tls-ca \(pki.otherCA)"), untrusted.stderr)
        XCTAssertFalse(untrusted.stderr.contains("retry"), untrusted.stderr)

        // storescp refuses our certificate from another CA.
        let rogue = try TestSupport.i2(["send", "--to", scp.address, "--retries", "0"] + pki.i2Flags("rogue") + [files[0]])
        XCTAssertNotEqual(rogue.status, 0, rogue.stderr)

        // TLS to a plain-TCP port, plain TCP to a TLS port.
        let plainSCP = try StoreSCPPeer(directory: path("plain"))
        defer { plainSCP.stop() }
        let tlsToPlain = try TestSupport.i2(["send", "--to", plainSCP.address] + pki.i2Flags("a") + [files[0]])
        XCTAssertEqual(tlsToPlain.status, 4, tlsToPlain.stderr)
        XCTAssertTrue(tlsToPlain.stderr.contains("127.0.0.1:\(plainSCP.port) did not complete a TLS handshake: is it a plain-TCP port?"), tlsToPlain.stderr)
        let plainToTLS = try TestSupport.i2(["send", "--to", scp.address, "--retries", "0"] + [files[0]])
        XCTAssertEqual(plainToTLS.status, 3, plainToTLS.stderr)
        XCTAssertTrue(plainToTLS.stderr.contains("if the port speaks TLS, use --tls"), plainToTLS.stderr)
        XCTAssertEqual(scp.files.count, 3, "nothing more arrived")

        // Usage errors before any connection: a passphrase-protected key, TLS without a CA to verify with.
        let protected = try TestSupport.i2(["send", "--to", scp.address, "--tls", "--tls-ca", pki.ca, "--tls-cert", pki.path("a.pem"),
                                            "--tls-key", pki.path("a-protected.key"), files[0]])
        XCTAssertEqual(protected.status, 2, protected.stderr)
        XCTAssertTrue(protected.stderr.contains("protected by a passphrase"), protected.stderr)
        let noCA = try TestSupport.i2(["send", "--to", scp.address, "--tls", files[0]])
        XCTAssertEqual(noCA.status, 2, noCA.stderr)
        XCTAssertTrue(noCA.stderr.contains("needs --tls-ca"), noCA.stderr)
        let stray = try TestSupport.i2(["send", "--to", scp.address, "--tls-ca", pki.ca, files[0]])
        XCTAssertEqual(stray.status, 2, stray.stderr)
    }

    /// Orthanc with DicomTlsEnabled (client certificates required): i2 send and query over TLS through a
    /// node-file entry with "tls", and Orthanc pushing to i2 receive --tls (its modality with UseDicomTls).
    func testOrthancTLSBothWays() throws {
        let pki = try TestPKI(path("pki"))
        let r = try startReceiver(path("root"), pki.i2Flags("a") + ["--tls-require-client-cert"])
        let orthanc = try OrthancPeer(modalities: ["i2": ("I2", "127.0.0.1", r.port)],
                                      tls: OrthancTLS(certificate: pki.path("b.pem"), key: pki.path("b.key"), trusted: pki.ca))
        defer { orthanc.stop() }
        let nodes = path("nodes.json")
        let entry: [String: Any] = ["aet": orthanc.aeTitle, "host": "127.0.0.1", "port": orthanc.dicomPort,
                                    "tls": ["ca": pki.ca, "cert": pki.path("a.pem"), "key": pki.path("a.key")]]
        try JSONSerialization.data(withJSONObject: ["secure": entry, "plain": orthanc.address]).write(to: URL(fileURLWithPath: nodes))
        let env = ["I2_NODES": nodes]
        let sent = try TestSupport.run(TestSupport.i2Path, ["send", "--to", "secure"] + files, environment: env)
        XCTAssertEqual(sent.status, 0, sent.stderr)
        XCTAssertEqual(try orthanc.instances().count, 3)
        let query = try TestSupport.run(TestSupport.i2Path, ["query", "--from", "secure", "--level", "series", "--json"], environment: env)
        XCTAssertEqual(query.status, 0, query.stderr)
        XCTAssertEqual(query.stdout.split(separator: "\n").count, 1, query.stdout)
        // The same node without TLS: Orthanc's TLS port does not answer plain DICOM.
        let plain = try TestSupport.run(TestSupport.i2Path, ["send", "--to", "plain", "--retries", "0", files[0]], environment: env)
        XCTAssertEqual(plain.status, 3, plain.stderr)

        try orthanc.store(toModality: "i2")
        XCTAssertTrue(r.waitForPaths(3, timeout: 20), r.process.stderr)
        XCTAssertTrue(r.process.stderr.contains("association from ORTHANC@127.0.0.1 over TLS"), r.process.stderr)
    }

    /// i2 retrieve over TLS from Orthanc with DicomTlsEnabled: C-GET on our TLS association, and C-MOVE
    /// to i2 itself, whose storage node for the duration serves TLS with the same settings.
    func testRetrieveOverTLSByGetAndByMoveToItself() throws {
        let pki = try TestPKI(path("pki"))
        let port = try Peers.freePort()
        let orthanc = try OrthancPeer(modalities: ["i2": ("I2", "127.0.0.1", port)],
                                      tls: OrthancTLS(certificate: pki.path("b.pem"), key: pki.path("b.key"), trusted: pki.ca))
        defer { orthanc.stop() }
        for f in files { try orthanc.upload(f) }
        let tls = pki.i2Flags("a")
        let q = try TestSupport.i2(["query", "--from", orthanc.address] + tls)
        XCTAssertEqual(q.status, 0, q.stderr)
        let study = try XCTUnwrap(q.stdout.split(separator: "\n").first?.split(separator: "\t").first.map(String.init), q.stdout)
        let got = try TestSupport.i2(["retrieve", "--from", orthanc.address, "-o", path("get"), study] + tls)
        XCTAssertEqual(got.status, 0, got.stderr)
        XCTAssertEqual(got.stdout.split(separator: "\n").count, 3, got.stdout)
        XCTAssertTrue(got.stderr.contains("3 fetched, 0 already present, 0 failed"), got.stderr)
        let moved = try TestSupport.i2(["retrieve", "--from", orthanc.address, "-o", path("move"), "--port", String(port), study] + tls)
        XCTAssertEqual(moved.status, 0, moved.stderr)
        XCTAssertEqual(moved.stdout.split(separator: "\n").count, 3, moved.stdout)
        for p in (got.stdout + moved.stdout).split(separator: "\n") { XCTAssertTrue(FileManager.default.fileExists(atPath: String(p)), String(p)) }
        // Without TLS the same node is refused, and says so.
        let plain = try TestSupport.i2(["query", "--from", orthanc.address])
        XCTAssertEqual(plain.status, 3, plain.stderr)
        XCTAssertTrue(plain.stderr.contains("if the port speaks TLS, use --tls"), plain.stderr)
    }

    /// Clients that stall hold no one else up: one that sent half a ClientHello, and one (openssl
    /// s_client) that finished the handshake and never sends its association request. Both sit in
    /// receive's hand-off path; storescu +tls is still served at once.
    func testStalledTLSClientsDoNotBlockOthers() throws {
        let pki = try TestPKI(path("pki"))
        let r = try startReceiver(path("root"), pki.i2Flags("a") + ["--acse-timeout", "60", "--pdu-timeout", "60"])
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = Peers.loopback(r.port)
        let connected = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        XCTAssertTrue(connected)
        let partialHello: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]   // record and handshake headers, no body
        XCTAssertEqual(partialHello.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }, partialHello.count)
        let openssl = try TestSupport.tool("openssl", package: "openssl")
        let idle = try background(openssl, ["s_client", "-connect", "127.0.0.1:\(r.port)", "-CAfile", pki.ca, "-cert", pki.path("b.pem"),
                                            "-key", pki.path("b.key"), "-ign_eof"])
        XCTAssertTrue(idle.wait(timeout: 10) { out, _, _ in out.contains { $0.hasPrefix("New, TLSv1.") } }, idle.stderr)
        let started = Date()
        let good = try RX.storescu(r.port, files, pki.dcmtkFlags("b"))
        XCTAssertEqual(good.status, 0, good.output)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "served while the stalled clients wait (their timeouts are 60 s)")
        XCTAssertTrue(r.waitForPaths(3, timeout: 10), r.process.stderr)
        XCTAssertNil(idle.status, "the idle TLS client is still connected")
    }
}
