// dcmtls: DICOM TLS (CDCMTKTLS.h, TLS.hpp) on DCMTK's DcmTLSTransportLayer and OpenSSL.
#include "TLS.hpp"

#include <dcmtk/dcmtls/tlstrans.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <sys/stat.h>
#include <mutex>

namespace i2dcm {

namespace {

/// What OpenSSL left in its error queue, most recent last ("" when empty).
std::string opensslErrors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        const char *reason = ERR_reason_error_string(e);
        if (!out.empty()) out += "; ";
        out += reason ? reason : buf;
    }
    return out;
}

std::string failed(const OFCondition &c) {
    std::string queue = opensslErrors();
    return queue.empty() ? std::string(c.text()) : std::string(c.text()) + " (" + queue + ")";
}

/// A session whose handshake ran before DCMTK got it: DCMTK's own call to serverSideHandshake is then a no-op.
class Handshaken : public DcmTLSConnection {
public:
    Handshaken(int fd, SSL *ssl) : DcmTLSConnection(fd, ssl) {}
    OFCondition serverSideHandshake() override {
        if (done_) return EC_Normal;
        OFCondition c = DcmTLSConnection::serverSideHandshake();
        done_ = c.good();
        return c;
    }
    int fd() { return getSocket(); }
    /// Forgets the socket, which the caller keeps (and closes).
    void release() { setSocket(-1); }
private:
    bool done_ = false;
};

struct Prepared {
    Handshaken *connection = nullptr;
    void (*taken)(void *) = nullptr;
    void *ctx = nullptr;
};
thread_local Prepared prepared;

}  // namespace

bool certificateUntrusted(const std::string &t) {
    return t.find("certificate verify failed") != std::string::npos;
}

bool certificateRefused(const std::string &t) {
    for (const char *alert : {"alert unknown ca", "alert bad certificate", "alert certificate required", "alert certificate unknown",
                              "alert certificate expired", "alert decrypt error", "alert handshake failure"})
        if (t.find(alert) != std::string::npos) return true;
    return false;
}

DcmTLSTransportLayer *makeTLSLayer(const i2dcm_tls *t, bool server, std::string &why) {
    static std::once_flag once;
    std::call_once(once, [] { DcmTLSTransportLayer::initializeOpenSSL(); });
    auto *layer = new DcmTLSTransportLayer(server ? NET_ACCEPTOR : NET_REQUESTOR, nullptr, OFFalse);
    auto fail = [&](const std::string &message) { why = message; delete layer; return (DcmTLSTransportLayer *)nullptr; };
    if (!*layer) return fail("cannot set up OpenSSL: " + opensslErrors());
    OFCondition c = layer->setTLSProfile(TSP_Profile_BCP195_ND);
    if (c.good()) c = layer->activateCipherSuites();
    if (c.bad()) return fail("cannot set the TLS profile: " + failed(c));
    // Belt and braces: whatever the profile, nothing older than TLS 1.2 is negotiated.
    SSL_CTX_set_min_proto_version(layer->getNativeHandle(), TLS1_2_VERSION);
    // An empty passphrase instead of OpenSSL's prompt on the terminal: an encrypted key fails to load.
    layer->setPrivateKeyPasswd("");
    if (t->certificate && *t->certificate) {
        c = layer->setCertificateFile(t->certificate, DCF_Filetype_PEM);
        if (c.bad()) return fail(std::string("cannot use the certificate ") + t->certificate + ": " + failed(c));
        std::string key = t->private_key ? t->private_key : "";
        c = layer->setPrivateKeyFile(key.c_str(), DCF_Filetype_PEM);
        if (c.bad()) {
            std::string why = failed(c);
            if (why.find("key values mismatch") != std::string::npos)
                return fail("the private key " + key + " does not belong to the certificate " + t->certificate);
            bool passphrase = why.find("decrypt") != std::string::npos || why.find("password") != std::string::npos;
            return fail("cannot use the private key " + key + ": " + why +
                        (passphrase ? " (a passphrase-protected key is not supported: decrypt it into a file only i2's user can read)" : ""));
        }
        if (!layer->checkPrivateKeyMatchesCertificate())
            return fail(std::string("the private key ") + t->private_key + " does not belong to the certificate " + t->certificate);
    }
    if (t->trusted && *t->trusted) {
        struct stat st{};
        bool dir = stat(t->trusted, &st) == 0 && S_ISDIR(st.st_mode);
        c = dir ? layer->addTrustedCertificateDir(t->trusted, DCF_Filetype_PEM) : layer->addTrustedCertificateFile(t->trusted, DCF_Filetype_PEM);
        if (c.bad()) return fail(std::string("cannot read the trusted certificates ") + t->trusted + ": " + failed(c));
    }
    if (!server) layer->setCertificateVerification(DCV_requireCertificate);
    else if (t->require_peer_certificate) layer->setCertificateVerification(DCV_requireCertificate);
    else layer->setCertificateVerification(t->trusted && *t->trusted ? DCV_checkCertificate : DCV_ignoreCertificate);
    return layer;
}

HandshakenLayer::~HandshakenLayer() { delete tls_; }

DcmTransportConnection *HandshakenLayer::handshake(int fd, std::string &why) {
    ERR_clear_error();
    SSL *ssl = SSL_new(tls_->getNativeHandle());
    if (!ssl || !SSL_set_fd(ssl, fd)) {
        why = "cannot start a TLS session: " + opensslErrors();
        if (ssl) SSL_free(ssl);
        return nullptr;
    }
    auto *c = new Handshaken(fd, ssl);
    OFCondition r = c->serverSideHandshake();
    if (r.good()) return c;
    long verify = SSL_get_verify_result(ssl);
    std::string text = failed(r);
    if (verify != X509_V_OK) why = std::string("its certificate is not trusted by --tls-ca (") + X509_verify_cert_error_string(verify) + ")";
    else if (text.find("peer did not return a certificate") != std::string::npos) why = "it presented no certificate, and one is required";
    else why = "TLS handshake failed: " + text;
    c->release();
    delete c;   // frees the session, leaves the socket to the caller
    return nullptr;
}

DcmTransportConnection *HandshakenLayer::createConnection(DcmNativeSocketType fd, OFBool) {
    Handshaken *c = prepared.connection;
    if (!c || c->fd() != fd) return nullptr;
    prepared.connection = nullptr;
    if (prepared.taken) prepared.taken(prepared.ctx);
    return c;
}

void HandshakenLayer::prepare(DcmTransportConnection *c, void (*taken)(void *), void *ctx) {
    prepared = {static_cast<Handshaken *>(c), taken, ctx};
}

DcmTransportConnection *HandshakenLayer::unclaimed() {
    DcmTransportConnection *c = prepared.connection;
    prepared = {};
    return c;
}

}  // namespace i2dcm
