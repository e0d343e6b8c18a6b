// C ABI for writing DICOM Segmentation objects (see SegWrite.cpp).
// Why a shim of its own: a SEG of a 300-slice CT with 100 segments has thousands of frames, and setting
// "PerFrameFunctionalGroupsSequence[i]...." through i2dcm_put walks the item list from the start for every
// attribute, so building the per-frame groups that way is quadratic. These functions append items
// directly, in one pass.
#ifndef CDCMTK_SEGWRITE_H
#define CDCMTK_SEGWRITE_H
#include "CDCMTK.h"
#ifdef __cplusplus
extern "C" {
#endif

/// Builds PerFrameFunctionalGroupsSequence, DimensionOrganizationSequence and DimensionIndexSequence.
/// `slice_table` describes the source slices, four '\n'-terminated lines per slice: ImagePositionPatient
/// (as written in the source instance), ReferencedSOPClassUID, ReferencedSOPInstanceUID, and the 1-based
/// ReferencedFrameNumber ("" for a single-frame instance). Frame i covers slice `slice[i]` (0-based) and,
/// when `segment` is non-null, segment `segment[i]`: then each frame carries SegmentIdentificationSequence
/// and DimensionIndexValues = [segment, slice + 1], and the dimension index has two entries
/// (ReferencedSegmentNumber, ImagePositionPatient); without it (LABELMAP) only the position.
/// Every frame gets DerivationImageSequence (113076, DCM, "Segmentation") > SourceImageSequence
/// (purpose 121322, DCM) referencing its slice, and PlanePositionSequence.
int i2dcm_seg_put_frames(i2dcm_file *f, int count, const int32_t *segment, const int32_t *slice,
                         int slices, const char *slice_table, const char *dimension_uid,
                         char *err, size_t errlen);

/// Records the original label value of each SegmentSequence item (in item order, `count` values) under
/// private creator "i2": (0077,0010) LO "i2", (0077,1001) UL value.
int i2dcm_seg_put_original_labels(i2dcm_file *f, int count, const int64_t *labels, char *err, size_t errlen);

/// Saves as a Part 10 file whose meta header names explicit VR little endian, or RLE Lossless when `rle`
/// is non-zero, without PixelData (the data set must not hold it): the caller appends the PixelData
/// element, the last top-level element, to the file itself. Writing the frames directly saves copying
/// them into DCMTK (time and a second buffer), and DCMTK's RLE encoder cannot encode 1-bit frames.
int i2dcm_seg_save(i2dcm_file *f, const char *path, int rle, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
