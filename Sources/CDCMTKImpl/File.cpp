// dcmdata: reading, decoding and writing data sets, for the plain-C API of CDCMTK.h (through
// CDCMTKLoader, which answers what the fast index can without DCMTK).
#include "Shim.hpp"

#include <dcmtk/dcmdata/dcpath.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using i2dcm::say;

extern "C" i2dcmx_file *i2dcmx_open(const char *path, int *status, char *err, size_t errlen) {
    auto *f = new i2dcmx_file();
    f->readOnly = true;
    *status = i2dcm::openFile(f->format, path, 4096, nullptr, err, errlen);
    if (*status != I2DCM_OK) { delete f; return nullptr; }
    return f;
}

extern "C" i2dcmx_file *i2dcmx_open_damaged(const char *path) {
    auto *f = new i2dcmx_file();
    const DcmTagKey pixelData = DCM_PixelData;
    int status = i2dcm::openFile(f->format, path, 4096, &pixelData, nullptr, 0);
    if (status != I2DCM_OK && !f->dcm().getDataset()->tagExists(DCM_SeriesInstanceUID)) { delete f; return nullptr; }
    return f;
}

extern "C" i2dcmx_file *i2dcmx_new_file(void) {
    i2dcm::registerCodecs();
    return new i2dcmx_file();
}

extern "C" void i2dcmx_free(i2dcmx_file *f) { delete f; }

DcmElement *i2dcm::topLevel(i2dcmx_file *f, const DcmTagKey &key) {
    DcmDataset *ds = f->dcm().getDataset();
    if (!f->readOnly) {
        DcmElement *el = nullptr;
        return ds->findAndGetElement(key, el).good() ? el : nullptr;
    }
    if (!f->indexed) {
        f->index.clear();
        f->index.reserve(ds->card());
        for (DcmObject *o = ds->nextInContainer(nullptr); o; o = ds->nextInContainer(o)) {
            const DcmTag &t = o->getTag();
            f->index.emplace_back((Uint32)t.getGroup() << 16 | t.getElement(), OFstatic_cast(DcmElement *, o));
        }
        // DCMTK keeps a data set's elements in strictly ascending tag order; should one not be, its own
        // search (first in list order) answers instead.
        if (std::adjacent_find(f->index.begin(), f->index.end(), [](const auto &a, const auto &b) { return a.first >= b.first; }) != f->index.end()) {
            f->changing();
            return topLevel(f, key);
        }
        f->indexed = true;
    }
    Uint32 k = (Uint32)key.getGroup() << 16 | key.getElement();
    auto it = std::lower_bound(f->index.begin(), f->index.end(), k, [](const auto &e, Uint32 v) { return e.first < v; });
    return it != f->index.end() && it->first == k ? it->second : nullptr;
}

/// Records the first object of each tag under `o` (pre-order, as DcmItem/DcmSequenceOfItems::
/// searchSubFromHere visit them: an element, then what it holds).
static void recordNested(DcmObject *container, std::unordered_map<Uint32, DcmObject *> &first) {
    for (DcmObject *o = container->nextInContainer(nullptr); o; o = container->nextInContainer(o)) {
        const DcmTag &t = o->getTag();
        first.emplace((Uint32)t.getGroup() << 16 | t.getElement(), o);
        if (o->ident() == EVR_SQ || o->ident() == EVR_item || o->ident() == EVR_dataset) recordNested(o, first);
    }
}

DcmElement *i2dcm::firstNested(i2dcmx_file *f, const DcmTagKey &key) {
    DcmDataset *ds = f->dcm().getDataset();
    if (!f->readOnly) {
        DcmElement *el = nullptr;
        return ds->findAndGetElement(key, el, OFTrue).good() ? el : nullptr;
    }
    if (!f->nestedBuilt) {
        f->nested.clear();
        recordNested(ds, f->nested);   // depth: bounded by openFile's nesting check
        f->nestedBuilt = true;
    }
    auto it = f->nested.find((Uint32)key.getGroup() << 16 | key.getElement());
    if (it == f->nested.end()) return nullptr;
    // findAndGetElement answers with the object as an element (a sequence too: its value then fails).
    return OFstatic_cast(DcmElement *, it->second);
}

/// The object at a read path "(gggg,eeee)[i].(gggg,eeee)…" (the syntax Tag/TagPath build), or null.
/// Our own walk instead of DCMTK's DcmPathProcessor: each step into "[i]" first checks that the element
/// really is a sequence (its ident, not the dictionary's VR), so a hostile file with, say, a
/// PlanePositionSequence encoded as OW is "absent" here instead of a type confusion (SIGSEGV).
static DcmObject *walkPath(i2dcmx_file *f, const char *path) {
    DcmItem *item = f->dcm().getDataset();
    const char *p = path;
    DcmObject *obj = nullptr;
    for (;;) {
        unsigned g, e;
        int used = 0;
        if (!item || (!i2dcm::parseTag(p, g, e, used) && (sscanf(p, "(%4x,%4x)%n", &g, &e, &used) != 2 || used == 0))) return nullptr;
        p += used;
        DcmElement *el = nullptr;
        if (item == f->dcm().getDataset()) {
            if (!(el = i2dcm::topLevel(f, DcmTagKey((Uint16)g, (Uint16)e)))) return nullptr;
        } else if (item->findAndGetElement(DcmTagKey((Uint16)g, (Uint16)e), el).bad() || !el) {
            return nullptr;
        }
        obj = el;
        if (*p == '[') {
            char *end = nullptr;
            unsigned long index = strtoul(p + 1, &end, 10);
            if (!end || *end != ']' || el->ident() != EVR_SQ) return nullptr;
            DcmSequenceOfItems *seq = OFstatic_cast(DcmSequenceOfItems *, el);
            if (index >= seq->card()) return nullptr;
            item = seq->getItem(index);
            obj = item;
            p = end + 1;
        }
        if (*p == 0) return obj;
        if (*p != '.') return nullptr;
        p++;
        if (obj != item) return nullptr;   // "(a,b).(c,d)": a step into an element that is not an item
    }
}

static DcmElement *findElement(i2dcmx_file *f, const char *path) {
    // Plain tags are the common case: skip the path machinery for them.
    DcmTagKey key;
    if (strchr(path, '.') == nullptr && strchr(path, '[') == nullptr) {
        unsigned g, e;
        int used = 0;
        if ((i2dcm::parseTag(path, g, e, used) && path[used] == 0) || sscanf(path, "(%x,%x)", &g, &e) == 2) {
            key = DcmTagKey(g, e);
        } else {
            i2dcm::registerCodecs();   // the dictionary set-up
            const DcmDataDictionary &dict = dcmDataDict.rdlock();
            const DcmDictEntry *entry = dict.findEntry(path);
            if (entry) key = entry->getKey();
            dcmDataDict.rdunlock();
            if (!entry) return nullptr;
        }
        return i2dcm::topLevel(f, key);
    }
    DcmObject *obj = walkPath(f, path);
    return obj && obj->isLeaf() ? OFstatic_cast(DcmElement *, obj) : nullptr;
}

OFCondition i2dcm::elementText(DcmElement *el, OFString &value) {
    const DcmEVR vr = el->ident();
    if (vr != EVR_FL && vr != EVR_FD) return el->getOFStringArray(value);
    value.clear();
    const unsigned long n = el->getVM();
    for (unsigned long i = 0; i < n; i++) {
        double v = 0;
        OFCondition c;
        if (vr == EVR_FL) {
            Float32 f = 0;
            c = el->getFloat32(f, i);
            v = f;
        } else {
            c = el->getFloat64(v, i);
        }
        if (c.bad()) return c;
        char number[64];
        i2dcm::formatNumber(number, sizeof number, v, vr == EVR_FL ? 9 : 17);
        if (i) value += '\\';
        value += number;
    }
    return EC_Normal;
}

/// An element's value as text into buf (truncated to buflen); its full length, or -1.
static int copyValue(DcmElement *el, char *buf, size_t buflen) {
    if (!el) return -1;
    OFString value;
    if (i2dcm::elementText(el, value).bad()) return -1;
    if (buf && buflen) snprintf(buf, buflen, "%s", value.c_str());
    return (int)value.length();
}

extern "C" int i2dcmx_get(i2dcmx_file *f, const char *path, char *buf, size_t buflen) {
    DcmElement *el = findElement(f, path);
    return copyValue(el, buf, buflen);
}

extern "C" int i2dcmx_get_tag(i2dcmx_file *f, uint16_t group, uint16_t elem, char *buf, size_t buflen) {
    DcmElement *el = i2dcm::topLevel(f, DcmTagKey(group, elem));
    return copyValue(el, buf, buflen);
}

extern "C" int i2dcmx_get_nested(i2dcmx_file *f, uint16_t group, uint16_t elem, char *buf, size_t buflen) {
    DcmElement *el = i2dcm::firstNested(f, DcmTagKey(group, elem));
    return copyValue(el, buf, buflen);
}

/// An element's raw bytes (DCMTK's own buffer, valid while the file is open); their count, or -1.
static long copyBytes(DcmElement *el, const uint8_t **data) {
    if (!el) return -1;
    Uint8 *bytes = nullptr;
    if (el->getUint8Array(bytes).bad()) return -1;
    *data = bytes;
    return bytes ? (long)el->getLength() : 0;
}

extern "C" long i2dcmx_get_bytes_nested(i2dcmx_file *f, uint16_t group, uint16_t elem, const uint8_t **data) {
    DcmElement *el = i2dcm::firstNested(f, DcmTagKey(group, elem));
    return copyBytes(el, data);
}

extern "C" long i2dcmx_get_bytes(i2dcmx_file *f, uint16_t group, uint16_t elem, const uint8_t **data) {
    DcmElement *el = i2dcm::topLevel(f, DcmTagKey(group, elem));
    return copyBytes(el, data);
}

extern "C" int i2dcmx_items(i2dcmx_file *f, const char *path) {
    DcmObject *obj = walkPath(f, path);
    if (!obj || obj->ident() != EVR_SQ) return -1;
    return (int)OFstatic_cast(DcmSequenceOfItems *, obj)->card();
}

extern "C" int i2dcmx_get_in_item(i2dcmx_file *f, uint16_t seqGroup, uint16_t seqElem, int index, uint16_t group,
                                 uint16_t elem, char *buf, size_t buflen) {
    DcmItem *item = nullptr;
    // findAndGetSequenceItem looks at the element as read: an explicit-VR private SQ is a sequence even
    // when the dictionary has no entry for it (DcmPathProcessor refuses to enter such a tag).
    if (index < 0 || f->dcm().getDataset()->findAndGetSequenceItem(DcmTagKey(seqGroup, seqElem), item, index).bad() || !item)
        return -1;
    OFString value;
    DcmElement *el = nullptr;
    if (item->findAndGetElement(DcmTagKey(group, elem), el).bad() || !el || i2dcm::elementText(el, value).bad()) return -1;
    if (buf && buflen) snprintf(buf, buflen, "%s", value.c_str());
    return (int)value.length();
}

extern "C" int i2dcmx_transfer_syntax(i2dcmx_file *f, char *buf, size_t buflen) {
    E_TransferSyntax xfer = f->dcm().getDataset()->getOriginalXfer();
    DcmXfer x(xfer);
    snprintf(buf, buflen, "%s", xfer == EXS_Unknown ? "" : x.getXferID());
    return 0;
}

extern "C" long i2dcmx_pixel_length(i2dcmx_file *f) {
    DcmElement *el = i2dcm::topLevel(f, DCM_PixelData);
    if (!el) return -1;
    return (long)el->getLength();
}

extern "C" int i2dcmx_pixel_layout(i2dcmx_file *f, long *fragments, long *bytes) {
    *fragments = 0;
    *bytes = 0;
    DcmElement *el = i2dcm::topLevel(f, DCM_PixelData);
    if (!el) return -1;
    DcmPixelSequence *seq = nullptr;
    DcmPixelData *pd = el->ident() == EVR_PixelData ? OFstatic_cast(DcmPixelData *, el) : nullptr;
    if (pd && pd->getEncapsulatedRepresentation(f->dcm().getDataset()->getOriginalXfer(), nullptr, seq).good() && seq) {
        unsigned long n = seq->card();
        for (unsigned long i = 1; i < n; i++) {   // item 0 is the Basic Offset Table
            DcmPixelItem *item = nullptr;
            if (seq->getItem(item, i).good() && item) *bytes += (long)item->getLength();
        }
        *fragments = n > 0 ? (long)n - 1 : 0;
        return 1;
    }
    *bytes = (long)el->getLength();
    return 0;
}

extern "C" int i2dcmx_pixels(i2dcmx_file *f, void *dst, size_t len, char *err, size_t errlen) {
    f->changing();   // decoding replaces the pixel data's representation (and J2K may set attributes)
    DcmDataset *ds = f->dcm().getDataset();
    DcmElement *el = nullptr;
    if (ds->findAndGetElement(DCM_PixelData, el).bad() || !el) return say(err, errlen, "no pixel data");
    E_TransferSyntax xfer = ds->getOriginalXfer();
    DcmXfer x(xfer);
    if (x.isEncapsulated()) {
        OFCondition c = ds->chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
        if (c.bad() || !ds->canWriteXfer(EXS_LittleEndianExplicit)) {
            return say(err, errlen, std::string("cannot decode pixel data in transfer syntax ") + x.getXferName() +
                                        " (" + x.getXferID() + "): " + (c.bad() ? c.text() : "no codec"));
        }
        ds->findAndGetElement(DCM_PixelData, el);
    }
    // Loads the value from file now if it was deferred; swaps to little endian.
    const Uint8 *bytes = nullptr;
    OFCondition c = el->getUint8Array(OFconst_cast(Uint8 *&, bytes));
    Uint32 have = el->getLength();
    if (el->getVR() == EVR_OW || el->getTag().getEVR() == EVR_OW) {
        Uint16 *words = nullptr;
        c = el->getUint16Array(words);
        bytes = (const Uint8 *)words;
    }
    if (c.bad() || !bytes) return say(err, errlen, std::string("cannot read pixel data: ") + c.text());
    if (have < len) {
        char msg[160];
        snprintf(msg, sizeof msg, "pixel data has %u bytes, %zu expected (truncated file?)", (unsigned)have, len);
        return say(err, errlen, msg);
    }
    memcpy(dst, bytes, len);
    return 0;
}

extern "C" int i2dcmx_put(i2dcmx_file *f, const char *path, const char *value, char *err, size_t errlen) {
    f->changing();
    DcmDataset *ds = f->dcm().getDataset();
    DcmPathProcessor proc;
    OFCondition c = proc.findOrCreatePath(ds, path, OFTrue);
    if (c.bad()) return say(err, errlen, std::string(path) + ": " + c.text());
    OFList<DcmPath *> results;
    proc.getResults(results);
    DcmObject *obj = results.front()->back()->m_obj;
    if (obj && obj->ident() == EVR_SQ && !*value) return 0;   // a Type 2 sequence, present and empty
    if (!obj || !obj->isLeaf()) return say(err, errlen, std::string(path) + ": not an element");
    c = OFstatic_cast(DcmElement *, obj)->putString(value);
    if (c.bad()) return say(err, errlen, std::string(path) + ": " + c.text());
    return 0;
}

extern "C" int i2dcmx_copy(i2dcmx_file *from, i2dcmx_file *to, uint16_t group, uint16_t elem) {
    to->changing();
    DcmElement *el = nullptr;
    DcmDataset *src = from->dcm().getDataset();
    if (src->findAndGetElement(DcmTagKey(group, elem), el, OFFalse, OFTrue /* create copy */).bad() || !el) return -1;
    return to->dcm().getDataset()->insert(el, OFTrue).good() ? 0 : -1;
}

extern "C" int i2dcmx_put_pixels(i2dcmx_file *f, const void *data, size_t len, int bits_allocated, char *err, size_t errlen) {
    f->changing();
    DcmDataset *ds = f->dcm().getDataset();
    OFCondition c = bits_allocated > 8
        ? ds->putAndInsertUint16Array(DCM_PixelData, (const Uint16 *)data, (unsigned long)(len / 2))
        : ds->putAndInsertUint8Array(DCM_PixelData, (const Uint8 *)data, (unsigned long)len);
    if (c.bad()) return say(err, errlen, std::string("pixel data: ") + c.text(), I2DCM_STORAGE);
    return 0;
}

extern "C" int i2dcmx_put_bytes(i2dcmx_file *f, uint16_t group, uint16_t elem, const void *data, size_t len, char *err, size_t errlen) {
    f->changing();
    OFCondition c = f->dcm().getDataset()->putAndInsertUint8Array(DcmTagKey(group, elem), (const Uint8 *)data, (unsigned long)len);
    if (c.bad()) return say(err, errlen, std::string("binary value: ") + c.text(), I2DCM_STORAGE);
    return 0;
}

extern "C" int i2dcmx_save(i2dcmx_file *f, const char *path, char *err, size_t errlen) {
    OFCondition c = f->dcm().saveFile(path, EXS_LittleEndianExplicit, EET_ExplicitLength, EGL_recalcGL,
                                        EPD_withoutPadding, 0, 0, EWM_createNewMeta);
    if (c.bad()) return say(err, errlen, std::string("cannot write DICOM: ") + c.text(), I2DCM_STORAGE);
    return 0;
}

extern "C" int i2dcmx_meta(const char *path, i2dcm_meta_info *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    i2dcm::Meta m;
    int status = i2dcm::readMeta(path, m, err, errlen);
    if (status != I2DCM_OK) return status;
    out->part10 = m.part10 ? 1 : 0;
    snprintf(out->sop_class, sizeof out->sop_class, "%s", m.sopClass.c_str());
    snprintf(out->sop_instance, sizeof out->sop_instance, "%s", m.sopInstance.c_str());
    snprintf(out->transfer_syntax, sizeof out->transfer_syntax, "%s", m.transferSyntax.c_str());
    out->data_set_offset = m.dataSetOffset;
    return I2DCM_OK;
}

extern "C" int i2dcmx_tag_keyword(uint16_t group, uint16_t elem, char *buf, size_t buflen) {
    i2dcm::registerCodecs();   // the dictionary set-up
    const DcmDataDictionary &dict = dcmDataDict.rdlock();
    const DcmDictEntry *entry = dict.findEntry(DcmTagKey(group, elem), nullptr);
    std::string name = entry && entry->getTagName() ? entry->getTagName() : "";
    dcmDataDict.rdunlock();
    if (buf && buflen) snprintf(buf, buflen, "%s", name.c_str());
    return (int)name.size();
}
