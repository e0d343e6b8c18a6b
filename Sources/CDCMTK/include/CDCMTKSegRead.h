// C ABI for reading DICOM Segmentation objects (see SegRead.cpp).
// Why a shim of its own: a SEG of a 300-slice CT with 100 segments has thousands of frames, and a DCMTK
// path lookup ("PerFrameFunctionalGroupsSequence[i]...") walks the item list from the start each time,
// so reading frame by frame through i2dcm_get is quadratic. These functions walk the sequences once.
#ifndef CDCMTK_SEGREAD_H
#define CDCMTK_SEGREAD_H
#include "CDCMTK.h"
#ifdef __cplusplus
extern "C" {
#endif

/// Length of one UID slot in `source_uids` (64 characters + NUL).
#define I2DCM_UID_SLOT 65
/// Dimension index values kept per frame.
#define I2DCM_MAX_INDEX 4

/// One pass over PerFrameFunctionalGroupsSequence (each macro looked up per frame, then in
/// SharedFunctionalGroupsSequence), filling per-frame arrays of `count` entries:
///   segment[i]      ReferencedSegmentNumber (SegmentIdentificationSequence), -1 when absent;
///   position[3i..]  ImagePositionPatient (PlanePositionSequence), NaN when absent;
///   source_uids + i*I2DCM_UID_SLOT  ReferencedSOPInstanceUID of the first source image
///                   (DerivationImageSequence > SourceImageSequence), "" when absent;
///   index[4i..], index_count[i]     DimensionIndexValues (FrameContentSequence), up to 4 values.
/// Returns the number of per-frame items (0 when the sequence is absent), or I2DCM_BAD_INPUT with `err` set.
int i2dcm_seg_frames(i2dcm_file *f, int count, int32_t *segment, double *position, char *source_uids,
                     uint32_t *index, int32_t *index_count, char *err, size_t errlen);

/// One pass over SegmentSequence: for each of up to `count` items, SegmentNumber (-1 when absent) and
/// the original label value i2 records under private creator "i2" in group 0x0077 (element xx01 of
/// the creator's block, UL), -1 when absent. Returns the number of items, or -1 when there is no
/// SegmentSequence.
int i2dcm_seg_segments(i2dcm_file *f, int count, int32_t *number, int64_t *original_label);

/// The native (uncompressed) pixel data in place, without a copy: a 100-segment SEG of a 300-slice CT
/// holds ~150 MB of frames, and copying them would double seg2nifti's peak memory. Valid while `f` lives.
/// NULL for an encapsulated (compressed) transfer syntax or no pixel data: use i2dcm_pixels then.
const void *i2dcm_seg_pixel_data(i2dcm_file *f, size_t *len);

/// Reads `n` bytes of the native pixel data starting at byte `offset` into `dst`, from the file when
/// the value was not loaded (DicomFile defers large values), so the whole value never sits in memory.
/// `*len` (when not NULL) receives the value's length. Returns I2DCM_OK, 1 for an encapsulated transfer
/// syntax or no pixel data (use i2dcm_seg_pixel_data / i2dcm_pixels then), or a failure status with `err`.
/// With n == 0 only reports the length.
int i2dcm_seg_pixel_read(i2dcm_file *f, size_t offset, size_t n, void *dst, size_t *len, char *err, size_t errlen);

/// The fragments of encapsulated pixel data, in place (valid while `f` lives): up to `count` of them,
/// the Basic Offset Table excluded, each fragment's bytes and length. Returns the number of fragments,
/// or I2DCM_BAD_INPUT with `err` when the pixel data is not encapsulated or cannot be read. For codecs
/// DCMTK cannot decode, such as RLE with 1 bit allocated.
int i2dcm_seg_fragments(i2dcm_file *f, int count, const void **data, size_t *len, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
