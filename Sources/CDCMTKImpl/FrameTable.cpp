// dcmdata: per-frame attributes of enhanced images, frame by frame over DCMTK's items of
// PerFrameFunctionalGroupsSequence (see CDCMTKFrameTable.h for why not through i2dcm_get). The
// executable's frame table (CDCMTKLoader) asks here only for values the fast index leaves to DCMTK.
#include "Shim.hpp"

#include <cstdio>
#include <cstring>
#include <vector>

struct i2dcmx_frames {
    std::vector<DcmItem *> items;   // owned by the data set
};

extern "C" i2dcmx_frames *i2dcmx_frames_open(i2dcmx_file *f) {
    DcmSequenceOfItems *perFrame = nullptr;
    if (f->dcm().getDataset()->findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, perFrame).bad() || !perFrame) return nullptr;
    auto *t = new i2dcmx_frames();
    t->items.reserve(perFrame->card());
    // nextInContainer walks the list once; getItem(i) would restart from the head every time.
    for (DcmObject *o = perFrame->nextInContainer(nullptr); o; o = perFrame->nextInContainer(o)) {
        t->items.push_back(OFstatic_cast(DcmItem *, o));
    }
    return t;
}

extern "C" int i2dcmx_frames_count(const i2dcmx_frames *t) { return (int)t->items.size(); }

extern "C" void i2dcmx_frames_free(i2dcmx_frames *t) { delete t; }

extern "C" int i2dcmx_frames_value(i2dcmx_frames *t, int frame, const uint16_t *path, int depth, char *buf, size_t buflen) {
    if (depth < 1 || frame < 0 || (size_t)frame >= t->items.size()) return -1;
    const DcmTagKey leaf(path[2 * (depth - 1)], path[2 * (depth - 1) + 1]);
    DcmItem *item = t->items[(size_t)frame];
    // The first item of each nested sequence, then the leaf.
    for (int k = 0; k < depth - 1 && item; k++) {
        DcmItem *next = nullptr;
        item = item->findAndGetSequenceItem(DcmTagKey(path[2 * k], path[2 * k + 1]), next, 0).good() ? next : nullptr;
    }
    DcmElement *el = nullptr;
    OFString value;
    // Same reading as i2dcm_get: a leaf element's values joined by '\'.
    if (!item || item->findAndGetElement(leaf, el).bad() || !el || !el->isLeaf() || i2dcm::elementText(el, value).bad()) return -1;
    if (buf && buflen) snprintf(buf, buflen, "%s", value.c_str());
    return (int)strlen(value.c_str());   // up to the first NUL, as the column's values
}
