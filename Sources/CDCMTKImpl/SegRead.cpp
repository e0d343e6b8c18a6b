// dcmdata: the per-frame and per-segment arrays of a DICOM Segmentation, each read in one pass
// (see CDCMTKSegRead.h for why this is not done through i2dcm_get).
#include "CDCMTKSegRead.h"
#include "Shim.hpp"

#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>

#include <cmath>
#include <cstdio>
#include <cstring>

using i2dcm::say;

/// The first item of the sequence `seq` inside `item`, or null.
static DcmItem *firstItem(DcmItem *item, const DcmTagKey &seq) {
    if (!item) return nullptr;
    DcmItem *out = nullptr;
    return item->findAndGetSequenceItem(seq, out, 0).good() ? out : nullptr;
}

/// The first item of the functional group macro `seq`, per frame first, then shared.
static DcmItem *macro(DcmItem *frame, DcmItem *shared, const DcmTagKey &seq) {
    DcmItem *m = firstItem(frame, seq);
    return m ? m : firstItem(shared, seq);
}

int i2dcm::segFrames(DcmDataset *ds, int count, int32_t *segment, double *position, char *source_uids, uint32_t *index,
                     int32_t *index_count, char *err, size_t errlen) {
    for (int i = 0; i < count; i++) {
        segment[i] = -1;
        position[3 * i] = position[3 * i + 1] = position[3 * i + 2] = NAN;
        source_uids[(size_t)i * I2DCM_UID_SLOT] = 0;
        index_count[i] = 0;
    }
    DcmItem *shared = firstItem(ds, DCM_SharedFunctionalGroupsSequence);
    DcmSequenceOfItems *perFrame = nullptr;
    unsigned long items = 0;
    if (ds->findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, perFrame).good() && perFrame) {
        items = perFrame->card();
    }
    if (items > (unsigned long)count) {
        return say(err, errlen, "PerFrameFunctionalGroupsSequence has " + std::to_string(items) + " items for " +
                                    std::to_string(count) + " frames");
    }
    // Walk the item list with nextInContainer: getItem(i) would restart from the head every time.
    DcmObject *obj = perFrame ? perFrame->nextInContainer(nullptr) : nullptr;
    for (int i = 0; i < count; i++) {
        DcmItem *frame = nullptr;
        if (obj) { frame = OFstatic_cast(DcmItem *, obj); obj = perFrame->nextInContainer(obj); }
        else if (items > 0) break;
        if (DcmItem *m = macro(frame, shared, DCM_SegmentIdentificationSequence)) {
            Uint16 n = 0;
            if (m->findAndGetUint16(DCM_ReferencedSegmentNumber, n).good()) segment[i] = n;
        }
        if (DcmItem *m = macro(frame, shared, DCM_PlanePositionSequence)) {
            Float64 v[3];
            bool ok = true;
            for (unsigned k = 0; k < 3 && ok; k++) ok = m->findAndGetFloat64(DCM_ImagePositionPatient, v[k], k).good();
            if (ok) { position[3 * i] = v[0]; position[3 * i + 1] = v[1]; position[3 * i + 2] = v[2]; }
        }
        if (DcmItem *derivation = macro(frame, shared, DCM_DerivationImageSequence)) {
            if (DcmItem *source = firstItem(derivation, DCM_SourceImageSequence)) {
                OFString uid;
                if (source->findAndGetOFString(DCM_ReferencedSOPInstanceUID, uid).good()) {
                    snprintf(source_uids + (size_t)i * I2DCM_UID_SLOT, I2DCM_UID_SLOT, "%s", uid.c_str());
                }
            }
        }
        if (DcmItem *m = macro(frame, shared, DCM_FrameContentSequence)) {
            DcmElement *el = nullptr;
            if (m->findAndGetElement(DCM_DimensionIndexValues, el).good() && el) {
                unsigned long vm = el->getVM();
                int n = 0;
                for (unsigned long k = 0; k < vm && n < I2DCM_MAX_INDEX; k++) {
                    Uint32 v = 0;
                    if (el->getUint32(v, k).good()) index[(size_t)i * I2DCM_MAX_INDEX + n++] = v;
                }
                index_count[i] = n;
            }
        }
    }
    return (int)items;
}

extern "C" int i2dcmx_seg_frames(i2dcmx_file *f, int count, int32_t *segment, double *position, char *source_uids,
                                uint32_t *index, int32_t *index_count, char *err, size_t errlen) {
    return i2dcm::segFrames(f->dcm().getDataset(), count, segment, position, source_uids, index, index_count, err, errlen);
}

/// The original label value under private creator "i2" in `item`, or -1.
static int64_t originalLabel(DcmItem *item) {
    for (Uint16 block = 0x10; block <= 0xFF; block++) {
        OFString creator;
        if (item->findAndGetOFString(DcmTagKey(0x0077, block), creator).bad()) continue;
        if (creator != "i2") continue;
        DcmElement *el = nullptr;
        if (item->findAndGetElement(DcmTagKey(0x0077, (Uint16)((block << 8) | 0x01)), el).bad() || !el) return -1;
        Uint32 v = 0;
        if (el->getUint32(v).good()) return v;
        // Implicit VR files carry an unknown private tag as UN: the 4 little-endian bytes of the UL.
        Uint8 *bytes = nullptr;
        if (el->getUint8Array(bytes).good() && bytes && el->getLength() == 4) {
            return (int64_t)bytes[0] | ((int64_t)bytes[1] << 8) | ((int64_t)bytes[2] << 16) | ((int64_t)bytes[3] << 24);
        }
        return -1;
    }
    return -1;
}

int i2dcm::segSegments(DcmDataset *ds, int count, int32_t *number, int64_t *original_label) {
    DcmSequenceOfItems *seq = nullptr;
    if (ds->findAndGetSequence(DCM_SegmentSequence, seq).bad() || !seq) return -1;
    int i = 0;
    for (DcmObject *obj = seq->nextInContainer(nullptr); obj && i < count; obj = seq->nextInContainer(obj), i++) {
        DcmItem *item = OFstatic_cast(DcmItem *, obj);
        Uint16 n = 0;
        number[i] = item->findAndGetUint16(DCM_SegmentNumber, n).good() ? n : -1;
        original_label[i] = originalLabel(item);
    }
    return (int)seq->card();
}

extern "C" int i2dcmx_seg_segments(i2dcmx_file *f, int count, int32_t *number, int64_t *original_label) {
    return i2dcm::segSegments(f->dcm().getDataset(), count, number, original_label);
}

extern "C" const void *i2dcmx_seg_pixel_data(i2dcmx_file *f, size_t *len) {
    DcmDataset *ds = f->dcm().getDataset();
    DcmElement *el = nullptr;
    *len = 0;
    if (DcmXfer(ds->getOriginalXfer()).isEncapsulated()) return nullptr;
    if (ds->findAndGetElement(DCM_PixelData, el).bad() || !el) return nullptr;
    Uint8 *bytes = nullptr;   // loads a deferred value from the file now
    if (el->getUint8Array(bytes).bad() || !bytes) return nullptr;
    *len = el->getLength();
    return bytes;
}

extern "C" int i2dcmx_seg_pixel_read(i2dcmx_file *f, size_t offset, size_t n, void *dst, size_t *len, char *err, size_t errlen) {
    DcmDataset *ds = f->dcm().getDataset();
    DcmElement *el = nullptr;
    if (len) *len = 0;
    if (DcmXfer(ds->getOriginalXfer()).isEncapsulated()) return 1;
    if (ds->findAndGetElement(DCM_PixelData, el).bad() || !el) return 1;
    size_t total = el->getLength();
    if (len) *len = total;
    if (n == 0) return 0;
    std::string what = "cannot read " + std::to_string(n) + " bytes of pixel data at offset " + std::to_string(offset);
    if (offset > total || n > total - offset) return say(err, errlen, what + ": the value has " + std::to_string(total), I2DCM_INTERNAL);
    // No DcmFileCache: the file is opened once per call, and callers read windows of megabytes.
    // Little-endian in memory: the bytes as a native little-endian file stores them (BINARY frames are
    // a bit stream; an OW value in an explicit big-endian file is swapped back to that order).
    OFCondition c = el->getPartialValue(dst, (Uint32)offset, (Uint32)n, nullptr, EBO_LittleEndian);
    return c.good() ? I2DCM_OK : say(err, errlen, what + ": " + c.text(), I2DCM_STORAGE);
}

extern "C" int i2dcmx_seg_fragments(i2dcmx_file *f, int count, const void **data, size_t *len, char *err, size_t errlen) {
    DcmDataset *ds = f->dcm().getDataset();
    DcmElement *el = nullptr;
    if (!DcmXfer(ds->getOriginalXfer()).isEncapsulated()) return say(err, errlen, "the pixel data is not encapsulated");
    if (ds->findAndGetElement(DCM_PixelData, el).bad() || !el) return say(err, errlen, "no pixel data");
    DcmPixelSequence *seq = nullptr;
    if (OFstatic_cast(DcmPixelData *, el)->getEncapsulatedRepresentation(ds->getOriginalXfer(), nullptr, seq).bad() || !seq) {
        return say(err, errlen, "cannot read the pixel data's fragments");
    }
    unsigned long items = seq->card();
    int n = items > 0 ? (int)items - 1 : 0;   // item 0 is the Basic Offset Table
    for (int i = 0; i < n && i < count; i++) {
        DcmPixelItem *item = nullptr;
        Uint8 *bytes = nullptr;   // loads a deferred value from the file now
        if (seq->getItem(item, (unsigned long)i + 1).bad() || !item || item->getUint8Array(bytes).bad()) {
            return say(err, errlen, "cannot read fragment " + std::to_string(i + 1) + " of the pixel data");
        }
        data[i] = bytes;
        len[i] = item->getLength();
    }
    return n;
}
