// The network half of the plain-C API (CDCMTKSCP.h, CDCMTKSCU.h): libi2dcmtk.so's, called through.
#include "CDCMTKSCP.h"
#include "CDCMTKSCU.h"
#include "Library.hpp"

using i2dcm::library;

extern "C" int i2dcm_scp_run(const i2dcm_scp_config *config, i2dcm_scp_store_fn store, i2dcm_scp_log_fn log, void (*ready)(void *ctx),
                             void *ctx, volatile int *stop, char *err, size_t errlen) {
    return library().scp_run(config, store, log, ready, ctx, stop, err, errlen);
}

extern "C" i2dcm_scu_assoc *i2dcm_scu_open(const i2dcm_scu_params *params, const i2dcm_scu_context *contexts, int count, int *outcome,
                                           i2dcm_scu_rejection *rej, char *err, size_t errlen) {
    return library().scu_open(params, contexts, count, outcome, rej, err, errlen);
}

extern "C" int i2dcm_scu_accepted_count(i2dcm_scu_assoc *a) { return library().scu_accepted_count(a); }

extern "C" i2dcm_scu_file *i2dcm_scu_load(const char *path, int in_memory, int *status, char *err, size_t errlen) {
    return library().scu_load(path, in_memory, status, err, errlen);
}

extern "C" void i2dcm_scu_file_free(i2dcm_scu_file *f) { library().scu_file_free(f); }

extern "C" int i2dcm_scu_store(i2dcm_scu_assoc *a, i2dcm_scu_file *f, i2dcm_scu_store_result *result, char *err, size_t errlen) {
    return library().scu_store(a, f, result, err, errlen);
}

extern "C" int i2dcm_scu_echo(i2dcm_scu_assoc *a, uint16_t *status, char *err, size_t errlen) { return library().scu_echo(a, status, err, errlen); }

extern "C" int i2dcm_scu_find(i2dcm_scu_assoc *a, const char *model, const char *query, char **results, int *count, uint16_t *status,
                              char *err, size_t errlen) {
    return library().scu_find(a, model, query, results, count, status, err, errlen);
}

extern "C" void i2dcm_scu_close(i2dcm_scu_assoc *a, int abort) { library().scu_close(a, abort); }

extern "C" int i2dcm_probe(const char *path, char *sop_class, char *sop_instance, char *transfer_syntax, size_t len, char *err, size_t errlen) {
    return library().probe(path, sop_class, sop_instance, transfer_syntax, len, err, errlen);
}

extern "C" const char *i2dcm_uid_name(const char *uid) { return library().uid_name(uid); }

extern "C" const char *i2dcm_status_text(uint16_t status) { return library().status_text(status); }

extern "C" int i2dcm_scu_move(i2dcm_scu_assoc *a, const char *model, const char *query, const char *destination, i2dcm_scu_retrieve_result *r,
                              char *err, size_t errlen) {
    return library().scu_move(a, model, query, destination, r, err, errlen);
}

extern "C" int i2dcm_scu_get(i2dcm_scu_assoc *a, const char *model, const char *query, const char *incoming_dir, i2dcm_scu_get_store_fn store,
                             void *ctx, i2dcm_scu_retrieve_result *r, char *err, size_t errlen) {
    return library().scu_get(a, model, query, incoming_dir, store, ctx, r, err, errlen);
}
