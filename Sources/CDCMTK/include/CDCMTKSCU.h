// C ABI over DCMTK's dcmnet for the storage SCU behind `i2 send` (see StoreSCU.cpp).
// DCMTK owns the protocol (association negotiation, PDUs, DIMSE, codecs); Swift owns policy: which
// contexts to propose, which association a file goes on, retries and backoff, what to report.
#ifndef CDCMTK_SCU_H
#define CDCMTK_SCU_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef struct i2scu_assoc i2scu_assoc;

typedef struct {
    const char *calling_ae;
    const char *called_ae;
    const char *host;
    int port;
    int connect_timeout;    // seconds for the TCP connection
    int acse_timeout;       // seconds to wait for A-ASSOCIATE-AC/RJ and A-RELEASE-RP
    int dimse_timeout;      // seconds to wait for a C-STORE/C-ECHO response; also bounds a stalled send
    long max_pdu;           // our maximum receive PDU length
} i2scu_params;

/// One presentation context to propose: an abstract syntax and its transfer syntaxes, in order.
typedef struct {
    const char *abstract_syntax;
    const char *const *transfer_syntaxes;
    int count;
} i2scu_context;

/// How an association attempt, a C-STORE or a C-ECHO ended.
enum {
    I2SCU_OK = 0,
    I2SCU_UNRESOLVED = 1,    // host name does not resolve (permanent)
    I2SCU_UNREACHABLE = 2,   // connection refused, no route, connect timeout (transient)
    I2SCU_TIMEOUT = 3,       // connected, but no answer within the ACSE or DIMSE timeout (transient)
    I2SCU_REJECTED = 4,      // association rejected: see i2scu_rejection
    I2SCU_ABORTED = 5,       // peer aborted, closed the connection, or broke the protocol (transient)
    I2SCU_NO_CONTEXT = 6,    // store: no accepted presentation context can carry this file (permanent)
    I2SCU_UNREADABLE = 7,    // store: the file cannot be read or encoded (permanent)
};

typedef struct {
    int result;   // 1 permanent, 2 transient
    int source;   // 1 service user, 2 service provider (ACSE), 3 service provider (presentation)
    int reason;   // as coded in the A-ASSOCIATE-RJ PDU, e.g. 0x0107 called AE title not recognized
} i2scu_rejection;

/// Connects and negotiates. Returns NULL with *outcome (and *rej for I2SCU_REJECTED) and `err` set.
i2scu_assoc *i2scu_open(const i2scu_params *params, const i2scu_context *contexts, int count,
                        int *outcome, i2scu_rejection *rej, char *err, size_t errlen);
/// Number of accepted presentation contexts.
int i2scu_accepted_count(i2scu_assoc *a);

typedef struct {
    uint16_t status;          // DIMSE status when the peer answered (outcome I2SCU_OK)
    int decompressed;         // 1 when the pixel data was decoded to an uncompressed syntax for this peer
    char sop_class[65];
    char sop_instance[65];
    char transfer_syntax[65]; // as sent
} i2scu_store_result;

/// A DICOM file read for sending (on any thread). With `in_memory`, every value is read now (read-ahead);
/// without, bulk data (pixels) stays on disk until it is sent.
typedef struct i2scu_file i2scu_file;
/// NULL (with `err`) when the file cannot be read as DICOM.
i2scu_file *i2scu_load(const char *path, int in_memory, char *err, size_t errlen);
void i2scu_file_free(i2scu_file *f);

/// C-STOREs a loaded file in its own transfer syntax when the peer accepted it, otherwise decoded to
/// an accepted uncompressed one. `err` gets the peer's error comment or our reason.
/// After I2SCU_TIMEOUT or I2SCU_ABORTED the association is unusable: close it with abort = 1.
int i2scu_store(i2scu_assoc *a, i2scu_file *f, i2scu_store_result *result, char *err, size_t errlen);
/// C-ECHO on the verification context (I2SCU_NO_CONTEXT when the peer refused it).
int i2scu_echo(i2scu_assoc *a, uint16_t *status, char *err, size_t errlen);
/// Releases (abort = 0) or aborts the association and frees it. An abort sends A-ABORT and closes at
/// once, without waiting for the peer.
void i2scu_close(i2scu_assoc *a, int abort);

/// Reads just enough of `path` to plan the contexts: SOP class, SOP instance, transfer syntax UIDs
/// (from the file meta information, or the data set when there is none). 0 ok, -1 failed;
/// *not_dicom = 1 when the file is not DICOM at all.
int i2scu_probe(const char *path, char *sop_class, char *sop_instance, char *transfer_syntax, size_t len,
                int *not_dicom, char *err, size_t errlen);
/// DCMTK's name for a UID ("CTImageStorage"), or NULL when unknown.
const char *i2scu_uid_name(const char *uid);
/// DCMTK's description of a C-STORE status ("Refused: OutOfResources").
const char *i2scu_status_text(uint16_t status);

#ifdef __cplusplus
}
#endif
#endif
