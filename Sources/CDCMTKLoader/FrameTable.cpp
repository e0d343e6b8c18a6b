// Per-frame attributes of enhanced images as whole columns (CDCMTKFrameTable.h): from the fast index's
// items of PerFrameFunctionalGroupsSequence, and frame by frame from libi2dcmtk.so for a value the index
// leaves to DCMTK (or for a file it does not read).
#include "CDCMTKFrameTable.h"
#include "File.hpp"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using i2dcm::library;

struct i2dcm_frames {
    i2dcm_file *file;
    std::vector<int> fastItems;     // item nodes of the fast index, when the file has one
    std::vector<int> hints;         // per path step: the found element's node index minus its item's
    i2dcmx_frames *dcmtk = nullptr; // DCMTK's items, opened when DCMTK must answer
    bool dcmtkOpened = false;
    std::string blob;               // the last column's values, NUL-separated
    std::vector<int64_t> starts;
    std::string value;
    size_t count() const { return !fastItems.empty() ? fastItems.size() : (dcmtk ? (size_t)library().frames_count(dcmtk) : 0); }
    ~i2dcm_frames() { if (dcmtk) library().frames_free(dcmtk); }
};

/// DCMTK's frames (for a value the fast index leaves to DCMTK).
static i2dcmx_frames *dcmtkFrames(i2dcm_frames *t) {
    if (!t->dcmtkOpened) {
        t->dcmtkOpened = true;
        t->dcmtk = library().frames_open(t->file->dcm());
    }
    return t->dcmtk;
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
    if (!dcmtkFrames(t)) { delete t; return nullptr; }
    return t;
}

extern "C" int i2dcm_frames_count(const i2dcm_frames *t) { return (int)t->count(); }

extern "C" void i2dcm_frames_free(i2dcm_frames *t) { delete t; }

/// Frame `i`'s value of `path` into t->value; false when absent.
static bool frameValue(i2dcm_frames *t, size_t i, const uint16_t *path, int depth) {
    const uint32_t leaf = (uint32_t)path[2 * (depth - 1)] << 16 | path[2 * (depth - 1) + 1];
    if (t->file->fast && !t->fastItems.empty()) {
        // The walk over the fast index: the first item of each nested sequence, then the leaf.
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
        int el = item >= 0 ? find(item, leaf, t->hints[depth - 1]) : -1;
        if (el < 0 || h.nodes[el].kind != i2dcm::FastNode::Leaf) return false;
        if (h.text(el, t->value)) {
            t->value.resize(strlen(t->value.c_str()));   // up to the first NUL, as DCMTK's copy
            return true;
        }
    }
    i2dcmx_frames *d = dcmtkFrames(t);
    if (!d) return false;
    int n = library().frames_value(d, (int)i, path, depth, nullptr, 0);
    if (n < 0) return false;
    t->value.assign((size_t)n + 1, '\0');
    library().frames_value(d, (int)i, path, depth, &t->value[0], t->value.size());
    t->value.resize((size_t)n);
    return true;
}

extern "C" int i2dcm_frames_value(i2dcm_frames *t, int frame, const uint16_t *path, int depth, char *buf, size_t buflen) {
    if (depth < 1 || frame < 0 || (size_t)frame >= t->count()) return -1;
    if (!frameValue(t, (size_t)frame, path, depth)) return -1;
    if (buf && buflen) snprintf(buf, buflen, "%s", t->value.c_str());
    return (int)t->value.size();
}

extern "C" int i2dcm_frames_column(i2dcm_frames *t, const uint16_t *path, int depth, const char **blob, const int64_t **starts) {
    if (depth < 1) return I2DCM_INTERNAL;
    t->blob.clear();
    t->hints.clear();
    t->starts.assign(t->count(), -1);
    for (size_t i = 0; i < t->count(); i++) {
        if (!frameValue(t, i, path, depth)) continue;
        t->starts[i] = (int64_t)t->blob.size();
        t->blob.append(t->value);
        t->blob.push_back('\0');
    }
    *blob = t->blob.data();
    *starts = t->starts.data();
    return (int)t->count();
}
