// dcmdata: the ROIContourSequence of an RT Structure Set in one pass (see CDCMTKRTWrite.h).
#include "CDCMTKRTWrite.h"
#include "Shim.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using i2dcm::say;

namespace {

/// One coordinate as a DS value (at most 16 characters): micrometre precision with trailing zeros
/// dropped ("-123.4375"), and %.9g where that would be longer.
void appendDS(std::string &out, double v) {
    char buf[40];
    int n = snprintf(buf, sizeof buf, "%.6f", v);
    if (n > 0 && strchr(buf, '.')) {
        while (n > 0 && buf[n - 1] == '0') buf[--n] = 0;
        if (n > 0 && buf[n - 1] == '.') buf[--n] = 0;
    }
    if (strcmp(buf, "-0") == 0) snprintf(buf, sizeof buf, "0");
    if (n > 16) snprintf(buf, sizeof buf, "%.9g", v);
    out += buf;
}

}  // namespace

extern "C" int i2dcmx_rt_put_contours(i2dcmx_file *f, int rois, const int32_t *roi_number, const uint8_t *colour, int contours,
                                      const int32_t *contour_roi, const int32_t *contour_slice, const int32_t *point_count,
                                      const float *pixels, const double *slice_origin, const double *axes, int slices,
                                      const char *slice_table, char *err, size_t errlen) {
    f->changing();
    std::vector<i2dcm::SourceSlice> src;
    if (!i2dcm::parseSliceTable(slice_table, slices, src)) return say(err, errlen, "malformed source slice table", I2DCM_INTERNAL);
    DcmDataset *ds = f->dcm().getDataset();
    std::vector<DcmSequenceOfItems *> contourSequence(rois, nullptr);
    DcmSequenceOfItems *roiContours = new DcmSequenceOfItems(DCM_ROIContourSequence);
    for (int i = 0; i < rois; i++) {
        DcmItem *item = new DcmItem();
        char rgb[32];
        snprintf(rgb, sizeof rgb, "%u\\%u\\%u", colour[3 * i], colour[3 * i + 1], colour[3 * i + 2]);
        item->putAndInsertString(DCM_ROIDisplayColor, rgb);
        contourSequence[i] = new DcmSequenceOfItems(DCM_ContourSequence);
        item->insert(contourSequence[i], OFTrue);
        item->putAndInsertString(DCM_ReferencedROINumber, std::to_string(roi_number[i]).c_str());
        roiContours->append(item);
    }
    std::vector<int> numberInROI(rois, 0);
    std::string data;
    size_t at = 0;
    for (int k = 0; k < contours; k++) {
        const int roi = contour_roi[k], slice = contour_slice[k], n = point_count[k];
        if (roi < 0 || roi >= rois || slice < 0 || slice >= slices || n < 1) {
            delete roiContours;
            return say(err, errlen, "contour " + std::to_string(k) + ": ROI, slice or point count out of range", I2DCM_INTERNAL);
        }
        const i2dcm::SourceSlice &s = src[slice];
        DcmItem *image = new DcmItem();
        image->putAndInsertString(DCM_ReferencedSOPClassUID, s.sopClass.c_str());
        image->putAndInsertString(DCM_ReferencedSOPInstanceUID, s.sopInstance.c_str());
        if (!s.frame.empty()) image->putAndInsertString(DCM_ReferencedFrameNumber, s.frame.c_str());
        DcmItem *item = new DcmItem();
        DcmSequenceOfItems *images = new DcmSequenceOfItems(DCM_ContourImageSequence);
        images->append(image);
        item->insert(images, OFTrue);
        item->putAndInsertString(DCM_ContourGeometricType, "CLOSED_PLANAR");
        item->putAndInsertString(DCM_NumberOfContourPoints, std::to_string(n).c_str());
        item->putAndInsertString(DCM_ContourNumber, std::to_string(++numberInROI[roi]).c_str());
        data.clear();
        const double *o = slice_origin + 3 * slice;
        for (int j = 0; j < n; j++) {
            const double x = pixels[at + 2 * j], y = pixels[at + 2 * j + 1];
            for (int a = 0; a < 3; a++) {
                if (j || a) data += '\\';
                appendDS(data, o[a] + x * axes[a] + y * axes[3 + a]);
            }
        }
        at += 2 * (size_t)n;
        item->putAndInsertOFStringArray(DCM_ContourData, OFString(data.c_str(), data.size()));
        contourSequence[roi]->append(item);
    }
    ds->insert(roiContours, OFTrue);
    return 0;
}
