// Internal to the shim: the functions of libi2dcmtk.so (CDCMTKImpl), i2's code on DCMTK, which the
// executable loads on first use (CDCMTKLoader/Loader.cpp) instead of at start-up (DicomTables.cpp
// says why). One list, expanded into the library's declarations and the loader's function table.
// Each is the public function of the same name without its i2dcm_ prefix (CDCMTK*.h document them),
// on the library's own data set handle: a file the fast index reads gets one only when DCMTK must answer.
#pragma once
#include "CDCMTK.h"
#include "CDCMTKSCP.h"
#include "CDCMTKSCU.h"
#include "CDCMTKRTWrite.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct i2dcmx_file i2dcmx_file;
typedef struct i2dcmx_frames i2dcmx_frames;

/// Bumped with any change to the list or to a struct it passes (6: TLS settings in the SCU and SCP structs; 7: the SCP event callback): the loader refuses a library built from another list.
#define I2DCMTK_LIBRARY_VERSION 8

// X(return type, name, parameters, arguments)
#define I2DCMTK_FUNCTIONS(X) \
    X(i2dcmx_file *, open, (const char *path, int *status, char *err, size_t errlen), (path, status, err, errlen)) \
    X(i2dcmx_file *, open_damaged, (const char *path), (path)) \
    X(i2dcmx_file *, new_file, (void), ()) \
    X(void, free, (i2dcmx_file *f), (f)) \
    X(int, get, (i2dcmx_file *f, const char *path, char *buf, size_t buflen), (f, path, buf, buflen)) \
    X(int, get_tag, (i2dcmx_file *f, uint16_t group, uint16_t elem, char *buf, size_t buflen), (f, group, elem, buf, buflen)) \
    X(int, get_nested, (i2dcmx_file *f, uint16_t group, uint16_t elem, char *buf, size_t buflen), (f, group, elem, buf, buflen)) \
    X(long, get_bytes_nested, (i2dcmx_file *f, uint16_t group, uint16_t elem, const uint8_t **data), (f, group, elem, data)) \
    X(long, get_bytes, (i2dcmx_file *f, uint16_t group, uint16_t elem, const uint8_t **data), (f, group, elem, data)) \
    X(int, items, (i2dcmx_file *f, const char *path), (f, path)) \
    X(int, get_in_item, (i2dcmx_file *f, uint16_t seqGroup, uint16_t seqElem, int index, uint16_t group, uint16_t elem, char *buf, size_t buflen), \
      (f, seqGroup, seqElem, index, group, elem, buf, buflen)) \
    X(int, transfer_syntax, (i2dcmx_file *f, char *buf, size_t buflen), (f, buf, buflen)) \
    X(long, pixel_length, (i2dcmx_file *f), (f)) \
    X(int, pixel_layout, (i2dcmx_file *f, long *fragments, long *bytes), (f, fragments, bytes)) \
    X(int, pixels, (i2dcmx_file *f, void *dst, size_t len, char *err, size_t errlen), (f, dst, len, err, errlen)) \
    X(int, put, (i2dcmx_file *f, const char *path, const char *value, char *err, size_t errlen), (f, path, value, err, errlen)) \
    X(int, copy, (i2dcmx_file *from, i2dcmx_file *to, uint16_t group, uint16_t elem), (from, to, group, elem)) \
    X(int, put_pixels, (i2dcmx_file *f, const void *data, size_t len, int bits_allocated, char *err, size_t errlen), \
      (f, data, len, bits_allocated, err, errlen)) \
    X(int, put_bytes, (i2dcmx_file *f, uint16_t group, uint16_t elem, const void *data, size_t len, char *err, size_t errlen), \
      (f, group, elem, data, len, err, errlen)) \
    X(int, save, (i2dcmx_file *f, const char *path, char *err, size_t errlen), (f, path, err, errlen)) \
    X(int, meta, (const char *path, i2dcm_meta_info *meta, char *err, size_t errlen), (path, meta, err, errlen)) \
    X(int, tag_keyword, (uint16_t group, uint16_t elem, char *buf, size_t buflen), (group, elem, buf, buflen)) \
    X(int, fast_check, (const char *path, char *report, size_t reportlen), (path, report, reportlen)) \
    X(int, tables_check, (char *report, size_t reportlen), (report, reportlen)) \
    X(i2dcmx_frames *, frames_open, (i2dcmx_file *f), (f)) \
    X(int, frames_count, (const i2dcmx_frames *t), (t)) \
    X(void, frames_free, (i2dcmx_frames *t), (t)) \
    X(int, frames_value, (i2dcmx_frames *t, int frame, const uint16_t *path, int depth, char *buf, size_t buflen), \
      (t, frame, path, depth, buf, buflen)) \
    X(int, seg_frames, (i2dcmx_file *f, int count, int32_t *segment, double *position, char *source_uids, uint32_t *index, \
                        int32_t *index_count, char *err, size_t errlen), \
      (f, count, segment, position, source_uids, index, index_count, err, errlen)) \
    X(int, seg_segments, (i2dcmx_file *f, int count, int32_t *number, int64_t *original_label), (f, count, number, original_label)) \
    X(const void *, seg_pixel_data, (i2dcmx_file *f, size_t *len), (f, len)) \
    X(int, seg_pixel_read, (i2dcmx_file *f, size_t offset, size_t n, void *dst, size_t *len, char *err, size_t errlen), \
      (f, offset, n, dst, len, err, errlen)) \
    X(int, seg_fragments, (i2dcmx_file *f, int count, const void **data, size_t *len, char *err, size_t errlen), \
      (f, count, data, len, err, errlen)) \
    X(int, seg_put_frames, (i2dcmx_file *f, int count, const int32_t *segment, const int32_t *slice, int slices, \
                            const char *slice_table, const char *dimension_uid, char *err, size_t errlen), \
      (f, count, segment, slice, slices, slice_table, dimension_uid, err, errlen)) \
    X(int, seg_put_original_labels, (i2dcmx_file *f, int count, const int64_t *labels, char *err, size_t errlen), \
      (f, count, labels, err, errlen)) \
    X(int, seg_save, (i2dcmx_file *f, const char *path, int rle, char *err, size_t errlen), (f, path, rle, err, errlen)) \
    X(int, rt_put_contours, (i2dcmx_file *f, int rois, const int32_t *roi_number, const uint8_t *colour, int contours, \
                             const int32_t *contour_roi, const int32_t *contour_slice, const int32_t *point_count, \
                             const float *pixels, const double *slice_origin, const double *axes, int slices, \
                             const char *slice_table, char *err, size_t errlen), \
      (f, rois, roi_number, colour, contours, contour_roi, contour_slice, point_count, pixels, slice_origin, axes, slices, \
       slice_table, err, errlen)) \
    X(int, scp_run, (const i2dcm_scp_config *config, i2dcm_scp_store_fn store, i2dcm_scp_log_fn log, void (*ready)(void *ctx), \
                     void *ctx, volatile int *stop, char *err, size_t errlen), \
      (config, store, log, ready, ctx, stop, err, errlen)) \
    X(i2dcm_scu_assoc *, scu_open, (const i2dcm_scu_params *params, const i2dcm_scu_context *contexts, int count, int *outcome, \
                                    i2dcm_scu_rejection *rej, char *err, size_t errlen), \
      (params, contexts, count, outcome, rej, err, errlen)) \
    X(int, scu_accepted_count, (i2dcm_scu_assoc *a), (a)) \
    X(i2dcm_scu_file *, scu_load, (const char *path, int in_memory, int *status, char *err, size_t errlen), \
      (path, in_memory, status, err, errlen)) \
    X(void, scu_file_free, (i2dcm_scu_file *f), (f)) \
    X(int, scu_store, (i2dcm_scu_assoc *a, i2dcm_scu_file *f, i2dcm_scu_store_result *result, char *err, size_t errlen), \
      (a, f, result, err, errlen)) \
    X(int, scu_echo, (i2dcm_scu_assoc *a, uint16_t *status, char *err, size_t errlen), (a, status, err, errlen)) \
    X(int, scu_find, (i2dcm_scu_assoc *a, const char *model, const char *query, char **results, int *count, uint16_t *status, \
                      char *err, size_t errlen), (a, model, query, results, count, status, err, errlen)) \
    X(int, scu_move, (i2dcm_scu_assoc *a, const char *model, const char *query, const char *destination, \
                      i2dcm_scu_retrieve_result *r, char *err, size_t errlen), (a, model, query, destination, r, err, errlen)) \
    X(int, scu_get, (i2dcm_scu_assoc *a, const char *model, const char *query, const char *incoming_dir, \
                     i2dcm_scu_get_store_fn store, void *ctx, i2dcm_scu_retrieve_result *r, char *err, size_t errlen), \
      (a, model, query, incoming_dir, store, ctx, r, err, errlen)) \
    X(void, scu_close, (i2dcm_scu_assoc *a, int abort), (a, abort)) \
    X(int, probe, (const char *path, char *sop_class, char *sop_instance, char *transfer_syntax, size_t len, char *err, size_t errlen), \
      (path, sop_class, sop_instance, transfer_syntax, len, err, errlen)) \
    X(const char *, uid_name, (const char *uid), (uid)) \
    X(const char *, status_text, (uint16_t status), (status)) \
    X(void, set_up, (void), ())

// The library's exported functions: i2dcmx_NAME.
#define I2DCMTK_DECLARE(ret, name, params, args) ret i2dcmx_##name params;
I2DCMTK_FUNCTIONS(I2DCMTK_DECLARE)
#undef I2DCMTK_DECLARE

/// i2dcmx_set_up: DCMTK's one-time set-up (dictionary, codecs), which the first reading would do.

/// The library's list version (I2DCMTK_LIBRARY_VERSION when it was built).
int i2dcmx_version(void);

#ifdef __cplusplus
}
#endif
