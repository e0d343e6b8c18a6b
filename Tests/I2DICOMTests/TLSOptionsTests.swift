// TLSOptions.validate (TLSOptions.swift): what each side needs, and the files checked before any
// connection, each refusal a usage error naming the flag and the file.
import Foundation
import XCTest
import I2DICOM
import I2Model
import I2TestSupport

final class TLSOptionsTests: XCTestCase {
    var dir = ""
    override func setUp() { dir = TestSupport.tempDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func file(_ name: String, _ text: String) -> String {
        let p = dir + "/" + name
        XCTAssertTrue(FileManager.default.createFile(atPath: p, contents: Data(text.utf8)))
        return p
    }

    func assertUsage(_ o: TLSOptions, serving: Bool, mentions words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try o.validate(serving: serving), file: file, line: line) { error in
            guard let e = error as? I2Error else { return XCTFail("not an I2Error: \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, .usage, e.description, file: file, line: line)
            for w in words { XCTAssertTrue(e.description.contains(w), "'\(w)' not in: \(e.description)", file: file, line: line) }
        }
    }

    func testWhatEachSideNeedsAndTheFilesChecked() throws {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        let cert = file("c.pem", pem), key = file("k.pem", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")
        let ca = file("ca.pem", pem)
        // Connecting: a CA to verify the peer with; a certificate only with its key.
        XCTAssertNoThrow(try TLSOptions(trusted: ca).validate(serving: false))
        XCTAssertNoThrow(try TLSOptions(trusted: dir).validate(serving: false), "a CA directory")
        XCTAssertNoThrow(try TLSOptions(certificate: cert, privateKey: key, trusted: ca).validate(serving: false))
        assertUsage(TLSOptions(), serving: false, mentions: ["--tls-ca"])
        assertUsage(TLSOptions(certificate: cert, trusted: ca), serving: false, mentions: ["--tls-cert and --tls-key go together"])
        // Serving: a certificate and key; requiring client certificates needs the CA that signs them.
        XCTAssertNoThrow(try TLSOptions(certificate: cert, privateKey: key).validate(serving: true))
        assertUsage(TLSOptions(trusted: ca), serving: true, mentions: ["--tls-cert and --tls-key"])
        assertUsage(TLSOptions(certificate: cert, privateKey: key, requirePeerCertificate: true), serving: true, mentions: ["--tls-ca"])
        // The files: present, PEM, the key not under a passphrase (both PEM spellings of an encrypted key).
        assertUsage(TLSOptions(trusted: dir + "/missing.pem"), serving: false, mentions: ["--tls-ca", "missing.pem", "no such file"])
        assertUsage(TLSOptions(trusted: file("der.pem", "\u{30}\u{82}binary")), serving: false, mentions: ["--tls-ca", "not a PEM file"])
        assertUsage(TLSOptions(certificate: dir, privateKey: key, trusted: ca), serving: false, mentions: ["--tls-cert", "a directory"])
        for (name, text) in [("pkcs8.key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----\n"),
                             ("legacy.key", "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nMIIE\n-----END RSA PRIVATE KEY-----\n")] {
            assertUsage(TLSOptions(certificate: cert, privateKey: file(name, text), trusted: ca), serving: false, mentions: ["--tls-key", name, "passphrase"])
        }
    }
}
