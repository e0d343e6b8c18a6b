// C ABI for writing the contours of an RT Structure Set (see RTWrite.cpp). A shim of its own for the
// same reason as CDCMTKSegWrite.h: a TotalSegmentator structure set holds tens of thousands of contours,
// and setting "ROIContourSequence[i].ContourSequence[j]...." through i2dcm_put walks the item lists
// from the start for every attribute.
#ifndef CDCMTK_RTWRITE_H
#define CDCMTK_RTWRITE_H
#include "CDCMTK.h"
#ifdef __cplusplus
extern "C" {
#endif

/// Builds ROIContourSequence: item i for ROI `roi_number[i]`, ROIDisplayColor `colour[3i...3i+2]`, and a
/// ContourSequence of the contours k with `contour_roi[k] == i`, in order: ContourImageSequence (one item:
/// the SOP class and instance, and frame number when multi-frame, of source slice `contour_slice[k]`),
/// ContourGeometricType CLOSED_PLANAR, NumberOfContourPoints `point_count[k]`, ContourNumber, and
/// ContourData: the next `point_count[k]` (x, y) pairs of `pixels`, pixel coordinates on the contour's
/// slice (x = column, y = row, pixel centres at integers), in mm: `slice_origin[3s...3s+2]` (the patient
/// position of pixel (0, 0) of slice s) + x `axes[0...2]` + y `axes[3...5]`, as DS values of at most 16
/// characters. Pixels rather than millimetres: a third of the memory for a TotalSegmentator structure set.
/// `slice_table`: four '\n'-terminated lines per source slice, as i2dcm_seg_put_frames takes it.
int i2dcm_rt_put_contours(i2dcm_file *f, int rois, const int32_t *roi_number, const uint8_t *colour, int contours,
                          const int32_t *contour_roi, const int32_t *contour_slice, const int32_t *point_count,
                          const float *pixels, const double *slice_origin, const double *axes,
                          int slices, const char *slice_table, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
