// C ABI over DCMTK's dcmnet for the SCU behind `i2 send` and `i2 query` (see SCU.cpp).
// Why a shim of its own: the association API (T_ASC_*, DIMSE messages) is C++ and callback-free C
// mixed with process-wide settings; this header reduces it to open / store / echo / find / move / get / close with one
// outcome code each. DCMTK owns the protocol (association negotiation, PDUs, DIMSE, codecs); Swift
// owns policy: which contexts to propose, which association a file goes on, retries, what to report.
#ifndef CDCMTK_SCU_H
#define CDCMTK_SCU_H
#include "CDCMTK.h"
#include "CDCMTKTLS.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct i2dcm_scu_assoc i2dcm_scu_assoc;

typedef struct {
    const char *calling_ae;
    const char *called_ae;
    const char *host;
    int port;
    int connect_timeout;    // seconds for the TCP connection
    int acse_timeout;       // seconds to wait for A-ASSOCIATE-AC/RJ and A-RELEASE-RP
    int dimse_timeout;      // seconds to wait for a C-STORE/C-ECHO response; also bounds a stalled send
    long max_pdu;           // our maximum receive PDU length
    const i2dcm_tls *tls;   // NULL: plain TCP; else TLS, verifying the peer's certificate against tls->trusted
} i2dcm_scu_params;

/// One presentation context to propose: an abstract syntax and its transfer syntaxes, in order.
typedef struct {
    const char *abstract_syntax;
    const char *const *transfer_syntaxes;
    int count;
    int scp_role;   // 1: we propose to be the SCP (a storage SOP class whose C-STOREs a C-GET brings us)
} i2dcm_scu_context;

/// How an association attempt, a C-STORE or a C-ECHO ended: I2DCM_OK, or one of these (the values of
/// I2Error.NetworkCause).
enum {
    I2DCM_NET_UNRESOLVED = 1,    // host name does not resolve (permanent)
    I2DCM_NET_UNREACHABLE = 2,   // connection refused, no route, connect timeout (transient)
    I2DCM_NET_TIMEOUT = 3,       // connected, but no answer within the ACSE or DIMSE timeout (transient)
    I2DCM_NET_REJECTED = 4,      // association rejected: see i2dcm_scu_rejection
    I2DCM_NET_ABORTED = 5,       // peer aborted, closed the connection, or broke the protocol (transient)
    I2DCM_NET_NO_CONTEXT = 6,    // store: no accepted presentation context can carry this file (permanent)
    I2DCM_NET_UNREADABLE = 7,    // store: the file cannot be read or encoded (permanent)
    I2DCM_NET_TLS = 8,           // no TLS session: handshake failed (certificate not trusted, plain-TCP peer) or bad settings (permanent)
};

typedef struct {
    int result;   // 1 permanent, 2 transient
    int source;   // 1 service user, 2 service provider (ACSE), 3 service provider (presentation)
    int reason;   // as coded in the A-ASSOCIATE-RJ PDU, e.g. 0x0107 called AE title not recognized
} i2dcm_scu_rejection;

/// Connects and negotiates. Returns NULL with *outcome (and *rej for I2DCM_NET_REJECTED) and `err` set.
i2dcm_scu_assoc *i2dcm_scu_open(const i2dcm_scu_params *params, const i2dcm_scu_context *contexts, int count,
                        int *outcome, i2dcm_scu_rejection *rej, char *err, size_t errlen);
/// Number of accepted presentation contexts.
int i2dcm_scu_accepted_count(i2dcm_scu_assoc *a);

typedef struct {
    uint16_t status;          // DIMSE status when the peer answered (outcome I2DCM_OK)
    int decompressed;         // 1 when the pixel data was decoded to an uncompressed syntax for this peer
    char sop_class[65];
    char sop_instance[65];
    char transfer_syntax[65]; // as sent
} i2dcm_scu_store_result;

/// A DICOM file read for sending (on any thread). With `in_memory`, every value is read now (read-ahead);
/// without, bulk data (pixels) stays on disk until it is sent.
typedef struct i2dcm_scu_file i2dcm_scu_file;
/// NULL when the file cannot be read as DICOM, with *status (an i2dcm status, CDCMTK.h) and `err` set.
i2dcm_scu_file *i2dcm_scu_load(const char *path, int in_memory, int *status, char *err, size_t errlen);
void i2dcm_scu_file_free(i2dcm_scu_file *f);

/// C-STOREs a loaded file in its own transfer syntax when the peer accepted it, otherwise decoded to
/// an accepted uncompressed one. `err` gets the peer's error comment or our reason.
/// After I2DCM_NET_TIMEOUT or I2DCM_NET_ABORTED the association is unusable: close it with abort = 1.
int i2dcm_scu_store(i2dcm_scu_assoc *a, i2dcm_scu_file *f, i2dcm_scu_store_result *result, char *err, size_t errlen);
/// C-ECHO on the verification context (I2DCM_NET_NO_CONTEXT when the peer refused it).
int i2dcm_scu_echo(i2dcm_scu_assoc *a, uint16_t *status, char *err, size_t errlen);
/// C-FIND on the accepted context of `model` (a Query/Retrieve information model - FIND SOP class).
/// `query`: the identifier as lines "gggg,eeee=value" (hex tag; an empty value asks for the attribute).
/// On I2DCM_OK: *status the final DIMSE status, *count the matches, *results (malloc'd, the caller
/// frees it) each match's identifier as fields "gggg,eeee=value" separated by \x1f, each match ended
/// by \x1e; `err` gets the peer's error comment. Answers beyond 256 MiB fail (I2DCM_NET_ABORTED).
/// After I2DCM_NET_TIMEOUT or I2DCM_NET_ABORTED the association is unusable: close it with abort = 1.
int i2dcm_scu_find(i2dcm_scu_assoc *a, const char *model, const char *query, char **results, int *count, uint16_t *status,
                   char *err, size_t errlen);
/// How a C-MOVE or C-GET ended: the final status and the sub-operation counts (from the final response,
/// else the last pending one), and the FailedSOPInstanceUIDList as given (truncated to fit).
typedef struct {
    uint16_t status;
    int completed, failed, warning, remaining;
    char failed_uids[4096];
} i2dcm_scu_retrieve_result;

/// C-MOVE on the accepted context of `model` (a Query/Retrieve - MOVE SOP class): the node sends what
/// `query` (as for find) identifies to the AE title `destination`, which it must know. Outcomes as for
/// find; `err` gets the peer's error comment on I2DCM_OK.
int i2dcm_scu_move(i2dcm_scu_assoc *a, const char *model, const char *query, const char *destination, i2dcm_scu_retrieve_result *r,
                   char *err, size_t errlen);
/// One instance a C-GET brought, its data set written completely to `tmp_path` (Part 10, as received):
/// returns the C-STORE status to answer with; a failure may explain itself in `comment`. The callee owns
/// `tmp_path` from then on (moves or deletes it).
typedef uint16_t (*i2dcm_scu_get_store_fn)(void *ctx, const char *tmp_path, const char *sop_class, const char *sop_instance,
                                           char *comment, size_t comment_len);
/// C-GET on the accepted context of `model` (a Query/Retrieve - GET SOP class) of what `query` (as for
/// find) identifies. The node's C-STORE sub-operations arrive on this association (the storage SOP
/// classes must have been proposed with scp_role): each data set goes to a file in `incoming_dir`, then
/// to `store`. Outcomes as for move.
int i2dcm_scu_get(i2dcm_scu_assoc *a, const char *model, const char *query, const char *incoming_dir, i2dcm_scu_get_store_fn store,
                  void *ctx, i2dcm_scu_retrieve_result *r, char *err, size_t errlen);
/// Releases (abort = 0) or aborts the association and frees it. An abort sends A-ABORT and closes at
/// once, without waiting for the peer.
void i2dcm_scu_close(i2dcm_scu_assoc *a, int abort);

/// Reads just enough of `path` to plan the contexts: SOP class, SOP instance, transfer syntax UIDs
/// (from the file meta information, or the data set when there is none). An i2dcm status (CDCMTK.h):
/// I2DCM_NOT_DICOM when the file is not DICOM at all.
int i2dcm_probe(const char *path, char *sop_class, char *sop_instance, char *transfer_syntax, size_t len,
                char *err, size_t errlen);
/// DCMTK's name for a UID ("CTImageStorage"), or NULL when unknown.
const char *i2dcm_uid_name(const char *uid);
/// DCMTK's description of a C-STORE status ("Refused: OutOfResources").
const char *i2dcm_status_text(uint16_t status);

#ifdef __cplusplus
}
#endif
#endif
