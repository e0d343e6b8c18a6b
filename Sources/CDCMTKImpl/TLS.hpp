// Internal to the shim: DICOM TLS (CDCMTKTLS.h) for SCU.cpp and StoreSCP.cpp, on DCMTK's dcmtls.
#pragma once
#include "CDCMTKTLS.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmnet/dcmlayer.h>
#include <dcmtk/dcmnet/dcmtrans.h>
#include <dcmtk/dcmtls/tlslayer.h>

#include <string>

namespace i2dcm {

/// DCMTK's TLS layer for one side (`server`: the SCP) from `t`: TLS 1.2 or newer (the non-downgrading
/// BCP 195 profile, and OpenSSL's minimum set to 1.2 as well), our certificate and key, the CAs to trust.
/// A passphrase-protected key is refused (OpenSSL would prompt on the terminal). NULL with `why` set.
DcmTLSTransportLayer *makeTLSLayer(const i2dcm_tls *t, bool server, std::string &why);

/// True when `text` (an OpenSSL error as DCMTK words it) says the peer's certificate failed our
/// verification; `alert` when the peer's alert says it refused ours.
bool certificateUntrusted(const std::string &text);
bool certificateRefused(const std::string &text);

/// The SCP's side: the TLS handshake runs on the connection's own thread, before the socket is handed
/// to DCMTK (StoreSCP.cpp says why); DCMTK then gets the finished session through this layer.
class HandshakenLayer : public DcmTransportLayer {
public:
    explicit HandshakenLayer(DcmTLSTransportLayer *tls) : tls_(tls) {}
    ~HandshakenLayer() override;
    /// Makes the session for `fd` and runs the server handshake. NULL with `why` (naming the reason
    /// in plain words) when it fails; the caller still owns `fd` then.
    DcmTransportConnection *handshake(int fd, std::string &why);
    /// DCMTK's call (inside ASC_receiveAssociation): the session this thread handshook for `fd`.
    DcmTransportConnection *createConnection(DcmNativeSocketType fd, OFBool secure) override;
    /// Before ASC_receiveAssociation: the session DCMTK's createConnection gets on this thread, and a
    /// function run once DCMTK has taken it (it releases the hand-off lock).
    static void prepare(DcmTransportConnection *c, void (*taken)(void *), void *ctx);
    /// After it: the session when DCMTK did not take it (the caller deletes it), else NULL.
    static DcmTransportConnection *unclaimed();
private:
    DcmTLSTransportLayer *tls_;
};

}  // namespace i2dcm
