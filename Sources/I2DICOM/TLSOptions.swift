// DICOM TLS settings: the one value `i2 send`, `query`, `retrieve` and `receive` take (from --tls* or
// the node file), checked here once and handed to DCMTK as CDCMTKTLS.h's one struct.
internal import CDCMTK
import Foundation
import I2Model

public struct TLSOptions: Sendable, Equatable {
    /// Our certificate and its private key (PEM). Required to serve; optional for an SCU (then the
    /// peer sees no client certificate, which a peer that requires one refuses).
    public var certificate: String?
    public var privateKey: String?
    /// The CA bundle (PEM file) or directory (hashed names, `openssl rehash`) whose certificates we trust.
    public var trusted: String?
    /// Serving: refuse clients that present no certificate signed by `trusted`.
    public var requirePeerCertificate = false

    public init(certificate: String? = nil, privateKey: String? = nil, trusted: String? = nil, requirePeerCertificate: Bool = false) {
        (self.certificate, self.privateKey, self.trusted, self.requirePeerCertificate) = (certificate, privateKey, trusted, requirePeerCertificate)
    }

    /// Fills what is unset here from `other` (command-line flags over the node file's settings).
    public func merged(over other: TLSOptions) -> TLSOptions {
        TLSOptions(certificate: certificate ?? other.certificate, privateKey: privateKey ?? other.privateKey,
                   trusted: trusted ?? other.trusted, requirePeerCertificate: requirePeerCertificate || other.requirePeerCertificate)
    }

    /// Checks the settings for one side before any connection: the files exist and are readable, a
    /// certificate comes with its key, the key is not passphrase-protected. `source` names where the
    /// settings came from (--tls, or a node of the node file) in the message. Throws a usage error.
    public func validate(serving: Bool, source: String = "--tls") throws {
        func usage(_ s: String) -> I2Error { I2Error(.usage, s.hasPrefix(source) || source == "--tls" ? s : "\(source): \(s)") }
        if serving {
            guard certificate != nil, privateKey != nil else { throw usage("\(source): serving TLS needs --tls-cert and --tls-key (our certificate and its private key)") }
            if requirePeerCertificate && trusted == nil { throw usage("\(source): --tls-require-client-cert needs --tls-ca (the CA that signs the clients' certificates)") }
        } else {
            guard trusted != nil else { throw usage("\(source): TLS needs --tls-ca (the CA bundle or directory that signed the peer's certificate); i2 does not talk TLS to a peer it cannot verify") }
            guard (certificate == nil) == (privateKey == nil) else { throw usage("\(source): --tls-cert and --tls-key go together") }
        }
        for (flag, path) in [("--tls-cert", certificate), ("--tls-key", privateKey), ("--tls-ca", trusted)] {
            guard let path else { continue }
            var dir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &dir) else { throw usage("\(flag) \(path): no such file") }
            if dir.boolValue {
                guard flag == "--tls-ca" else { throw usage("\(flag) \(path): a directory, not a PEM file") }
                continue
            }
            guard let data = FileManager.default.contents(atPath: path) else { throw usage("\(flag) \(path): cannot be read") }
            let text = String(decoding: data.prefix(64 * 1024), as: UTF8.self)
            guard text.contains("-----BEGIN ") else { throw usage("\(flag) \(path): not a PEM file (no -----BEGIN line)") }
            if flag == "--tls-key" && text.contains("ENCRYPTED") {
                throw usage("--tls-key \(path): the key is protected by a passphrase, which i2 cannot ask for (it runs unattended): store it decrypted (openssl pkey -in KEY -out PLAIN) in a file only i2's user can read")
            }
        }
    }

    /// Runs `body` with the C struct (NULL for nil: plain TCP), valid for the call only.
    static func withC<T>(_ tls: TLSOptions?, _ body: (UnsafePointer<i2dcm_tls>?) throws -> T) rethrows -> T {
        guard let tls else { return try body(nil) }
        let owned = [tls.certificate, tls.privateKey, tls.trusted].map { $0.map { strdup($0) } ?? nil }
        defer { owned.forEach { free($0) } }
        var c = i2dcm_tls(certificate: UnsafePointer(owned[0]), private_key: UnsafePointer(owned[1]), trusted: UnsafePointer(owned[2]),
                          require_peer_certificate: tls.requirePeerCertificate ? 1 : 0)
        return try body(&c)
    }
}
