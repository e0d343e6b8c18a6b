// C ABI of DICOM TLS (PS3.15 B.9, BCP 195) for the SCU (CDCMTKSCU.h) and the SCP (CDCMTKSCP.h): one
// struct for both sides, so `i2 send`, `query`, `retrieve` and `receive` take the same settings.
// DCMTK's dcmtls (OpenSSL) does the handshake; TLS.cpp builds its transport layer from this struct.
#ifndef CDCMTK_TLS_H
#define CDCMTK_TLS_H
#ifdef __cplusplus
extern "C" {
#endif

/// TLS 1.2 or newer only, DICOM's non-downgrading BCP 195 profile. A NULL i2dcm_tls means plain TCP.
typedef struct {
    const char *certificate;        // our certificate (PEM); NULL: none (an SCU then presents none)
    const char *private_key;        // its private key (PEM, unencrypted); NULL when certificate is NULL
    const char *trusted;            // CA bundle (PEM file) or directory of hashed CA certificates (c_rehash)
    int require_peer_certificate;   // SCP: refuse clients without a certificate that `trusted` verifies
} i2dcm_tls;

#ifdef __cplusplus
}
#endif
#endif
