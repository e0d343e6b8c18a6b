// C ABI for per-frame attributes of enhanced (multi-frame) images (see CDCMTKLoader/FrameTable.cpp).
// Why a shim of its own: a DCMTK path lookup "PerFrameFunctionalGroupsSequence[i]..." walks the item
// list from its head every time, so reading an attribute of every frame through i2dcm_get is quadratic
// in the number of frames (28 s for the header scan of 5,720 frames). The table below keeps every
// frame's item after one walk, and answers a whole column (one attribute of every frame) per call.
#ifndef CDCMTK_FRAMETABLE_H
#define CDCMTK_FRAMETABLE_H
#include "CDCMTK.h"
#ifdef __cplusplus
extern "C" {
#endif

/// The items of a file's PerFrameFunctionalGroupsSequence, in order. Valid while its i2dcm_file lives.
typedef struct i2dcm_frames i2dcm_frames;

/// Walks PerFrameFunctionalGroupsSequence once. NULL when the data set has no such sequence.
i2dcm_frames *i2dcm_frames_open(i2dcm_file *f);
/// Number of per-frame items.
int i2dcm_frames_count(const i2dcm_frames *t);
void i2dcm_frames_free(i2dcm_frames *t);

/// One attribute of every frame, in one pass: `path` holds `depth` (group, element) pairs, flattened
/// (path[2k], path[2k+1]): sequences, each entered at its first item, starting inside each frame's
/// item, then the attribute, e.g. {PlanePositionSequence, ImagePositionPatient} (depth 2). For frame i,
/// `(*starts)[i]` is the offset in `*blob` of its value as i2dcm_get gives it (a NUL-terminated string,
/// all values joined by '\'), or -1 when the frame lacks it. `*blob` and `*starts` belong to the table
/// and stay valid until its next call. Returns the number of frames, or I2DCM_INTERNAL for a bad path.
int i2dcm_frames_column(i2dcm_frames *t, const uint16_t *path, int depth, const char **blob, const int64_t **starts);

/// `path` (as for i2dcm_frames_column) in frame `frame` only, as i2dcm_get gives it: the value's full
/// length (the copy into `buf` is truncated to buflen-1), or -1 when the frame lacks it.
int i2dcm_frames_value(i2dcm_frames *t, int frame, const uint16_t *path, int depth, char *buf, size_t buflen);

#ifdef __cplusplus
}
#endif
#endif
