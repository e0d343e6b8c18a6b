// dcmdata: the per-frame functional groups and private original-label elements of a DICOM Segmentation,
// each built in one pass (see CDCMTKSegWrite.h for why not through i2dcm_put; the per-frame groups
// encoded directly, not as DCMTK objects), and saving the data set without its pixel data, which the
// caller appends.
#include "CDCMTKSegWrite.h"
#include "Shim.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using i2dcm::say;

/// A sequence holding the single item `item`, inserted into `parent`.
static void putSingle(DcmItem *parent, const DcmTagKey &seq, DcmItem *item) {
    DcmSequenceOfItems *s = new DcmSequenceOfItems(seq);
    s->append(item);
    parent->insert(s, OFTrue);
}

static DcmItem *dimensionIndex(const char *uid, const DcmTagKey &pointer, const DcmTagKey &group, const char *label) {
    DcmItem *item = new DcmItem();
    item->putAndInsertString(DCM_DimensionOrganizationUID, uid);
    DcmAttributeTag *p = new DcmAttributeTag(DCM_DimensionIndexPointer);
    p->putTagVal(pointer);
    item->insert(p, OFTrue);
    DcmAttributeTag *g = new DcmAttributeTag(DCM_FunctionalGroupPointer);
    g->putTagVal(group);
    item->insert(g, OFTrue);
    item->putAndInsertString(DCM_DimensionDescriptionLabel, label);
    return item;
}

/// Explicit VR little endian encoding of the per-frame functional groups, as DCMTK writes them with
/// undefined-length sequences and items: thousands of frames as DCMTK objects (five nested sequences
/// each) took most of a dense SEG's header time to build and walk.
namespace {
struct Encoder {
    std::string out;
    void tag(const DcmTagKey &t) {
        put16(t.getGroup());
        put16(t.getElement());
    }
    void put16(Uint16 v) { out.push_back((char)(v & 0xFF)); out.push_back((char)(v >> 8)); }
    void put32(Uint32 v) { put16((Uint16)(v & 0xFFFF)); put16((Uint16)(v >> 16)); }
    /// A string element with a 16-bit length, padded to even length (UI with NUL, others with space).
    void text(const DcmTagKey &t, const char *vr, const std::string &value) {
        tag(t);
        out.append(vr, 2);
        size_t n = value.size() + (value.size() % 2);
        put16((Uint16)n);
        out += value;
        if (value.size() % 2) out.push_back(vr[0] == 'U' && vr[1] == 'I' ? '\0' : ' ');
    }
    void us(const DcmTagKey &t, Uint16 v) { tag(t); out.append("US", 2); put16(2); put16(v); }
    void ul(const DcmTagKey &t, const Uint32 *v, int n) { tag(t); out.append("UL", 2); put16((Uint16)(4 * n)); for (int i = 0; i < n; i++) put32(v[i]); }
    void beginSequence(const DcmTagKey &t) { tag(t); out.append("SQ", 2); put16(0); put32(0xFFFFFFFF); }
    void endSequence() { put16(0xFFFE); put16(0xE0DD); put32(0); }
    void beginItem() { put16(0xFFFE); put16(0xE000); put32(0xFFFFFFFF); }
    void endItem() { put16(0xFFFE); put16(0xE00D); put32(0); }
    /// A one-item code sequence (Code Sequence Macro).
    void code(const DcmTagKey &seq, const char *value, const char *scheme, const char *meaning) {
        beginSequence(seq);
        beginItem();
        text(DCM_CodeValue, "SH", value);
        text(DCM_CodingSchemeDesignator, "SH", scheme);
        text(DCM_CodeMeaning, "LO", meaning);
        endItem();
        endSequence();
    }
};
}

extern "C" int i2dcmx_seg_put_frames(i2dcmx_file *f, int count, const int32_t *segment, const int32_t *slice,
                                    int slices, const char *slice_table, const char *dimension_uid,
                                    char *err, size_t errlen) {
    f->changing();
    std::vector<i2dcm::SourceSlice> src;
    if (!i2dcm::parseSliceTable(slice_table, slices, src)) return say(err, errlen, "malformed source slice table", I2DCM_INTERNAL);
    DcmDataset *ds = f->dcm().getDataset();

    DcmItem *org = new DcmItem();
    org->putAndInsertString(DCM_DimensionOrganizationUID, dimension_uid);
    putSingle(ds, DCM_DimensionOrganizationSequence, org);
    DcmSequenceOfItems *index = new DcmSequenceOfItems(DCM_DimensionIndexSequence);
    if (segment) index->append(dimensionIndex(dimension_uid, DCM_ReferencedSegmentNumber, DCM_SegmentIdentificationSequence, "ReferencedSegmentNumber"));
    index->append(dimensionIndex(dimension_uid, DCM_ImagePositionPatient, DCM_PlanePositionSequence, "ImagePositionPatient"));
    ds->insert(index, OFTrue);

    // Each item's elements in tag order, as a data set must hold them.
    Encoder e;
    e.out.reserve((size_t)count * 480);
    e.beginSequence(DCM_PerFrameFunctionalGroupsSequence);
    for (int i = 0; i < count; i++) {
        int k = slice[i];
        if (k < 0 || k >= slices) return say(err, errlen, "frame " + std::to_string(i + 1) + ": slice index out of range", I2DCM_INTERNAL);
        const i2dcm::SourceSlice &s = src[k];
        e.beginItem();
        e.beginSequence(DCM_DerivationImageSequence);            // (0008,9124)
        e.beginItem();
        e.beginSequence(DCM_SourceImageSequence);                // (0008,2112)
        e.beginItem();
        e.text(DCM_ReferencedSOPClassUID, "UI", s.sopClass);
        e.text(DCM_ReferencedSOPInstanceUID, "UI", s.sopInstance);
        if (!s.frame.empty()) e.text(DCM_ReferencedFrameNumber, "IS", s.frame);
        e.text(DCM_SpatialLocationsPreserved, "CS", "YES");
        e.code(DCM_PurposeOfReferenceCodeSequence, "121322", "DCM", "Source image for image processing operation");
        e.endItem();
        e.endSequence();
        e.code(DCM_DerivationCodeSequence, "113076", "DCM", "Segmentation");   // (0008,9215)
        e.endItem();
        e.endSequence();
        Uint32 values[2];
        int n = 0;
        if (segment) values[n++] = (Uint32)segment[i];
        values[n++] = (Uint32)(k + 1);
        e.beginSequence(DCM_FrameContentSequence);               // (0020,9111)
        e.beginItem();
        e.ul(DCM_DimensionIndexValues, values, n);
        e.endItem();
        e.endSequence();
        e.beginSequence(DCM_PlanePositionSequence);              // (0020,9113)
        e.beginItem();
        e.text(DCM_ImagePositionPatient, "DS", s.position);
        e.endItem();
        e.endSequence();
        if (segment) {
            e.beginSequence(DCM_SegmentIdentificationSequence);  // (0062,000A)
            e.beginItem();
            e.us(DCM_ReferencedSegmentNumber, (Uint16)segment[i]);
            e.endItem();
            e.endSequence();
        }
        e.endItem();
    }
    e.endSequence();
    f->perFrameEncoded.swap(e.out);
    return 0;
}

extern "C" int i2dcmx_seg_put_original_labels(i2dcmx_file *f, int count, const int64_t *labels, char *err, size_t errlen) {
    f->changing();
    DcmSequenceOfItems *seq = nullptr;
    if (f->dcm().getDataset()->findAndGetSequence(DCM_SegmentSequence, seq).bad() || !seq || (int)seq->card() != count) {
        return say(err, errlen, "SegmentSequence missing or of another length than the original labels", I2DCM_INTERNAL);
    }
    for (int i = 0; i < count; i++) {
        DcmItem *item = seq->getItem(i);
        item->putAndInsertString(DcmTag(0x0077, 0x0010, DcmVR(EVR_LO)), "i2");
        DcmTag tag(0x0077, 0x1001, DcmVR(EVR_UL));
        tag.setPrivateCreator("i2");
        DcmUnsignedLong *ul = new DcmUnsignedLong(tag);
        ul->putUint32((Uint32)labels[i]);
        OFCondition c = item->insert(ul, OFTrue);
        if (c.bad()) return say(err, errlen, std::string("original label: ") + c.text());
    }
    return 0;
}

extern "C" int i2dcmx_seg_save(i2dcmx_file *f, const char *path, int rle, char *err, size_t errlen) {
    f->changing();
    DcmDataset *ds = f->dcm().getDataset();
    if (ds->tagExists(DCM_PixelData)) return say(err, errlen, "PixelData is appended by the caller, not saved here", I2DCM_INTERNAL);
    // No pixel data in the data set, so DCMTK needs no encoder for RLE: the meta header names the transfer
    // syntax, and the data set is explicit VR little endian either way.
    E_TransferSyntax xfer = rle ? EXS_RLELossless : EXS_LittleEndianExplicit;
    // Undefined-length sequences and items, no group lengths: explicit lengths make DCMTK recompute the
    // length of every nested item of thousands of frames, which took most of the save time.
    // The encoded per-frame groups follow the data set: nothing DCMTK writes may come after them.
    if (!f->perFrameEncoded.empty()) {
        DcmObject *last = ds->card() ? ds->getElement(ds->card() - 1) : nullptr;
        if (last && !(last->getTag() < DCM_PerFrameFunctionalGroupsSequence)) {
            return say(err, errlen, std::string("element ") + last->getTag().toString().c_str() + " would follow the per-frame functional groups", I2DCM_INTERNAL);
        }
    }
    OFCondition c = f->dcm().saveFile(path, xfer, EET_UndefinedLength, EGL_withoutGL, EPD_withoutPadding, 0, 0, EWM_createNewMeta);
    if (c.bad()) return say(err, errlen, std::string("cannot write DICOM: ") + c.text(), I2DCM_STORAGE);
    if (!f->perFrameEncoded.empty()) {
        FILE *out = fopen(path, "ab");
        bool ok = out && fwrite(f->perFrameEncoded.data(), 1, f->perFrameEncoded.size(), out) == f->perFrameEncoded.size();
        if (out && fclose(out) != 0) ok = false;
        if (!ok) return say(err, errlen, std::string("cannot write DICOM: ") + strerror(errno), I2DCM_STORAGE);
    }
    return 0;
}
