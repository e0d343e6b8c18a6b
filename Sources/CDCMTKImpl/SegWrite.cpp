// dcmdata: the per-frame functional groups and private original-label elements of a DICOM Segmentation,
// each built in one pass (see CDCMTKSegWrite.h for why not through i2dcm_put), and saving the data set
// without its pixel data, which the caller appends.
#include "CDCMTKSegWrite.h"
#include "Shim.hpp"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using i2dcm::say;

/// A one-item code sequence (Code Sequence Macro) appended to `parent`.
static void putCode(DcmItem *parent, const DcmTagKey &seq, const char *value, const char *scheme, const char *meaning) {
    DcmItem *item = new DcmItem();
    item->putAndInsertString(DCM_CodeValue, value);
    item->putAndInsertString(DCM_CodingSchemeDesignator, scheme);
    item->putAndInsertString(DCM_CodeMeaning, meaning);
    DcmSequenceOfItems *s = new DcmSequenceOfItems(seq);
    s->append(item);
    parent->insert(s, OFTrue);
}

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

    DcmSequenceOfItems *perFrame = new DcmSequenceOfItems(DCM_PerFrameFunctionalGroupsSequence);
    for (int i = 0; i < count; i++) {
        int k = slice[i];
        if (k < 0 || k >= slices) { delete perFrame; return say(err, errlen, "frame " + std::to_string(i + 1) + ": slice index out of range", I2DCM_INTERNAL); }
        const i2dcm::SourceSlice &s = src[k];
        DcmItem *item = new DcmItem();

        DcmItem *derivation = new DcmItem();
        putCode(derivation, DCM_DerivationCodeSequence, "113076", "DCM", "Segmentation");
        DcmItem *source = new DcmItem();
        source->putAndInsertString(DCM_ReferencedSOPClassUID, s.sopClass.c_str());
        source->putAndInsertString(DCM_ReferencedSOPInstanceUID, s.sopInstance.c_str());
        if (!s.frame.empty()) source->putAndInsertString(DCM_ReferencedFrameNumber, s.frame.c_str());
        source->putAndInsertString(DCM_SpatialLocationsPreserved, "YES");
        putCode(source, DCM_PurposeOfReferenceCodeSequence, "121322", "DCM", "Source image for image processing operation");
        putSingle(derivation, DCM_SourceImageSequence, source);
        putSingle(item, DCM_DerivationImageSequence, derivation);

        DcmItem *content = new DcmItem();
        Uint32 values[2];
        unsigned long n = 0;
        if (segment) values[n++] = (Uint32)segment[i];
        values[n++] = (Uint32)(k + 1);
        content->putAndInsertUint32Array(DCM_DimensionIndexValues, values, n);
        putSingle(item, DCM_FrameContentSequence, content);

        DcmItem *plane = new DcmItem();
        plane->putAndInsertString(DCM_ImagePositionPatient, s.position.c_str());
        putSingle(item, DCM_PlanePositionSequence, plane);

        if (segment) {
            DcmItem *ident = new DcmItem();
            ident->putAndInsertUint16(DCM_ReferencedSegmentNumber, (Uint16)segment[i]);
            putSingle(item, DCM_SegmentIdentificationSequence, ident);
        }
        perFrame->append(item);
    }
    OFCondition c = ds->insert(perFrame, OFTrue);
    if (c.bad()) return say(err, errlen, std::string("per-frame functional groups: ") + c.text());
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
    OFCondition c = f->dcm().saveFile(path, xfer, EET_UndefinedLength, EGL_withoutGL, EPD_withoutPadding, 0, 0, EWM_createNewMeta);
    if (c.bad()) return say(err, errlen, std::string("cannot write DICOM: ") + c.text(), I2DCM_STORAGE);
    return 0;
}
