// C ABI over DCMTK's dcmnet for the storage SCP behind `i2 receive` (see StoreSCP.cpp).
// Why a shim of its own: DCMTK's SCP classes block in their own accept loop and cannot be stopped from
// a signal handler; this one owns the socket and threads and calls back into Swift per data set.
// DCMTK owns the protocol (association negotiation, PDUs, DIMSE); Swift owns policy: where a received
// instance goes, duplicates, and what status the sender gets. Each association runs on its own thread.
#ifndef CDCMTK_SCP_H
#define CDCMTK_SCP_H
#include "CDCMTK.h"
#include "CDCMTKTLS.h"
#ifdef __cplusplus
extern "C" {
#endif

/// What the SCP did that a Swift metrics counter wants to know about (receive's --metrics-file).
/// `reason` is a short snake_case key for the rejections, NULL otherwise.
typedef enum {
    I2DCM_SCP_ASSOCIATION_ACCEPTED = 0,
    I2DCM_SCP_ASSOCIATION_ENDED = 1,      // an accepted association ended (released, aborted, dropped)
    I2DCM_SCP_ASSOCIATION_REJECTED = 2,
    I2DCM_SCP_INSTANCE_REFUSED = 3        // a C-STORE refused before Swift saw it (free space, spool write)
} i2dcm_scp_event_kind;
typedef void (*i2dcm_scp_event_fn)(void *ctx, int kind, const char *reason);

typedef struct {
    const char *ae_title;           // our AE title; associations calling another one are rejected
    const char *bind_address;       // "" or NULL: all interfaces; otherwise an IPv4/IPv6 literal or host name
    int port;
    const char *incoming_dir;       // where data sets are streamed before Swift moves them (same filesystem as the store)
    long max_pdu;                   // maximum receive PDU length
    int acse_timeout;               // seconds to wait for an association request / release
    int dimse_timeout;              // seconds a data set may stall mid-transfer
    int idle_timeout;               // seconds an association may sit without a command
    int max_associations;           // simultaneous associations; more are rejected as transient
    const char *const *allowed_callers;  // calling AE titles allowed; NULL or empty: anyone
    int allowed_count;
    uint64_t min_free_bytes;        // below this free space in incoming_dir, C-STORE answers 0xA700
    int drain_seconds;              // on stop: how long associations in flight may still run
    int max_per_peer;               // simultaneous associations from one peer address; more are rejected as transient
    int pdu_timeout;                // seconds a PDU may take to arrive once it started (a dripping peer is dropped)
    int evict_idle;                 // when full: abort the longest-idle association idle at least this long (0: never)
    const i2dcm_tls *tls;           // NULL: plain TCP; else TLS only (certificate and key required)
    i2dcm_scp_event_fn event;       // NULL: none; called on association threads with the run's ctx
} i2dcm_scp_config;

/// A C-STORE whose data set was written completely to `tmp_path` (Part 10, as received).
/// Returns the DIMSE status to answer with (0x0000 success); a failure may explain itself in `comment`.
/// The callee owns `tmp_path` from then on (moves or deletes it). Called on association threads.
typedef uint16_t (*i2dcm_scp_store_fn)(void *ctx, const char *tmp_path, const char *calling_ae, const char *peer,
                                   const char *sop_class, const char *sop_instance, char *comment, size_t comment_len);
/// Log lines: level 0 info (associations), 1 warning, 2 error.
/// `peer`: the address the line concerns, "" when none.
typedef void (*i2dcm_scp_log_fn)(void *ctx, int level, const char *peer, const char *message);

/// Listens and serves until *stop becomes non-zero, then stops accepting, lets associations in flight
/// finish for at most drain_seconds, and returns I2DCM_OK. Returns I2DCM_STORAGE with `err` when it cannot listen.
/// `ready` is called once the port is open (so callers can announce readiness).
int i2dcm_scp_run(const i2dcm_scp_config *config, i2dcm_scp_store_fn store, i2dcm_scp_log_fn log, void (*ready)(void *ctx),
              void *ctx, volatile int *stop, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
