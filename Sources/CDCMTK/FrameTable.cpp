// dcmdata: per-frame attributes of enhanced images as whole columns, after one walk of
// PerFrameFunctionalGroupsSequence (see CDCMTKFrameTable.h for why not through i2dcm_get).
#include "CDCMTKFrameTable.h"
#include "Shim.hpp"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

struct i2dcm_frames {
    i2dcm_file *file;
    std::vector<int> fastItems;     // item nodes of the fast index (FastHeader.hpp), when the file has one
    std::vector<int> hints;         // per path step: the found element's node index minus its item's
    std::vector<DcmItem *> items;   // owned by the data set; built when DCMTK must answer
    bool dcmtkBuilt = false;
    std::string blob;               // the last column's values, NUL-separated
    std::vector<int64_t> starts;
    size_t count() const { return !fastItems.empty() ? fastItems.size() : items.size(); }
};

/// DCMTK's items of PerFrameFunctionalGroupsSequence (for a value the fast index leaves to DCMTK).
static bool dcmtkItems(i2dcm_frames *t) {
    if (t->dcmtkBuilt) return !t->items.empty();
    t->dcmtkBuilt = true;
    DcmSequenceOfItems *perFrame = nullptr;
    if (t->file->dcm().getDataset()->findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, perFrame).bad() || !perFrame) return false;
    t->items.reserve(perFrame->card());
    // nextInContainer walks the list once; getItem(i) would restart from the head every time.
    for (DcmObject *o = perFrame->nextInContainer(nullptr); o; o = perFrame->nextInContainer(o)) {
        t->items.push_back(OFstatic_cast(DcmItem *, o));
    }
    return true;
}

extern "C" i2dcm_frames *i2dcm_frames_open(i2dcm_file *f) {
    auto *t = new i2dcm_frames();
    t->file = f;
    if (f->fast) {
        int seq = f->fast->top(0x52009230);
        if (seq < 0 || f->fast->nodes[seq].kind != i2dcm::FastNode::Sequence) { delete t; return nullptr; }
        for (int k = f->fast->nodes[seq].firstChild; k >= 0; k = f->fast->nodes[k].nextSibling) t->fastItems.push_back(k);
        return t;
    }
    if (!dcmtkItems(t)) { delete t; return nullptr; }
    return t;
}

extern "C" int i2dcm_frames_count(const i2dcm_frames *t) { return (int)t->count(); }

extern "C" void i2dcm_frames_free(i2dcm_frames *t) { delete t; }

/// Frame `i`'s value of `path` into `value`; false when absent.
static bool frameValue(i2dcm_frames *t, size_t i, const uint16_t *path, int depth, OFString &value) {
    const DcmTagKey leaf(path[2 * (depth - 1)], path[2 * (depth - 1) + 1]);
    if (t->file->fast && !t->fastItems.empty()) {
        // The same walk over the fast index: the first item of each nested sequence, then the leaf.
        const i2dcm::FastHeader &h = *t->file->fast;
        // Frames' items are alike: where the previous frame's element lay relative to its item is
        // tried first (one comparison instead of a walk of the item's elements).
        if (t->hints.size() < (size_t)depth) t->hints.assign((size_t)depth, 0);
        auto find = [&](int container, uint32_t tag, int &hint) {
            int guess = container + hint;
            if (hint > 0 && (size_t)guess < h.nodes.size() && h.nodes[guess].parent == container && h.nodes[guess].tag == tag) return guess;
            int found = h.child(container, tag);
            if (found >= 0) hint = found - container;
            return found;
        };
        int item = t->fastItems[i];
        for (int k = 0; k < depth - 1 && item >= 0; k++) {
            int seq = find(item, (uint32_t)path[2 * k] << 16 | path[2 * k + 1], t->hints[k]);
            item = seq >= 0 && h.nodes[seq].kind == i2dcm::FastNode::Sequence ? h.item(seq, 0) : -1;
        }
        int el = item >= 0 ? find(item, (uint32_t)leaf.getGroup() << 16 | leaf.getElement(), t->hints[depth - 1]) : -1;
        if (el < 0 || h.nodes[el].kind != i2dcm::FastNode::Leaf) return false;
        std::string text;
        if (h.text(el, text)) { value = OFString(text.c_str(), text.size()); return true; }
    }
    if (!dcmtkItems(t) || i >= t->items.size()) return false;
    DcmItem *item = t->items[i];
    for (int k = 0; k < depth - 1 && item; k++) {
        DcmItem *next = nullptr;
        item = item->findAndGetSequenceItem(DcmTagKey(path[2 * k], path[2 * k + 1]), next, 0).good() ? next : nullptr;
    }
    DcmElement *el = nullptr;
    // Same reading as i2dcm_get: a leaf element's values joined by '\'.
    if (!item || item->findAndGetElement(leaf, el).bad() || !el || !el->isLeaf()) return false;
    return el->getOFStringArray(value).good();
}

extern "C" int i2dcm_frames_value(i2dcm_frames *t, int frame, const uint16_t *path, int depth, char *buf, size_t buflen) {
    if (depth < 1 || frame < 0 || (size_t)frame >= t->count()) return -1;
    OFString value;
    if (!frameValue(t, (size_t)frame, path, depth, value)) return -1;
    if (buf && buflen) snprintf(buf, buflen, "%s", value.c_str());
    return (int)strlen(value.c_str());   // up to the first NUL, as the column's values
}

extern "C" int i2dcm_frames_column(i2dcm_frames *t, const uint16_t *path, int depth, const char **blob, const int64_t **starts) {
    if (depth < 1) return I2DCM_INTERNAL;
    t->blob.clear();
    t->hints.clear();
    t->starts.assign(t->count(), -1);
    OFString value;
    for (size_t i = 0; i < t->count(); i++) {
        if (!frameValue(t, i, path, depth, value)) continue;
        t->starts[i] = (int64_t)t->blob.size();
        t->blob.append(value.c_str());   // up to the first NUL, as i2dcm_get's copy
        t->blob.push_back('\0');
    }
    *blob = t->blob.data();
    *starts = t->starts.data();
    return (int)t->count();
}
