// Internal to the shim (CDCMTK and the two targets behind it): a read-only index of a DICOM file's elements built straight from its bytes,
// answering the queries of a header scan without DCMTK's object tree (FastHeader.cpp says why).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace i2dcm {

/// One element, item or sequence of the file, in file order.
struct FastNode {
    uint32_t tag;           // group << 16 | element; items are 0xFFFEE000
    char vr[2];             // as written (explicit VR); "??" in implicit VR (resolved per query)
    uint8_t kind;           // Leaf, Sequence or Item
    uint64_t offset;        // of the value in the file
    uint32_t length;        // of the value (leaves)
    int32_t parent;         // the item or sequence holding it; -1 at top level
    int32_t firstChild = -1, nextSibling = -1;
    enum : uint8_t { Leaf, Sequence, Item };
};

/// A growable array of plain values on malloc/realloc: glibc grows a large block by remapping its pages,
/// so a 10 MB index never needs its old and new copies at once as std::vector's growth does.
template <class T> class PodArray {
public:
    PodArray() = default;
    PodArray(const PodArray &) = delete;
    PodArray &operator=(const PodArray &) = delete;
    ~PodArray() { free(items); }
    size_t size() const { return count; }
    bool empty() const { return count == 0; }
    T *data() { return items; }
    const T *data() const { return items; }
    T &operator[](size_t i) { return items[i]; }
    const T &operator[](size_t i) const { return items[i]; }
    /// False when memory runs out (the caller gives the file to DCMTK, which reports it).
    bool resize(size_t n) {
        if (n > capacity && !grow(n)) return false;
        count = n;
        return true;
    }
    bool push_back(const T &v) {
        if (count == capacity && !grow(count + 1)) return false;
        items[count++] = v;
        return true;
    }
    void shrink() { if (count < capacity && count > 0) { if (T *p = (T *)realloc(items, count * sizeof(T))) { items = p; capacity = count; } } }

private:
    bool grow(size_t n) {
        size_t want = std::max(n, capacity + capacity / 2 + 16);
        T *p = (T *)realloc(items, want * sizeof(T));
        if (!p) return false;
        items = p;
        capacity = want;
        return true;
    }
    T *items = nullptr;
    size_t count = 0, capacity = 0;
};

class FastHeader {
public:
    /// The index of `path`, or null when the file is anything but a plain Part 10 file in (implicit or
    /// explicit) little endian that parses cleanly (then DCMTK reads it, and reports what is wrong).
    static std::unique_ptr<FastHeader> open(const char *path);

    std::string transferSyntax;   // DCMTK's canonical UID of it
    bool implicitVR = false;
    PodArray<FastNode> nodes;

    /// Top-level element `tag`, or -1.
    int top(uint32_t tag) const;
    /// First `tag` anywhere (pre-order: an element before what it holds), or -1.
    int nested(uint32_t tag);
    /// Child element `tag` of item `item`, or -1.
    int child(int item, uint32_t tag) const;
    /// Item `index` of sequence `seq`, or -1.
    int item(int seq, long index) const;
    /// Items of sequence `seq`.
    long itemCount(int seq) const;

    /// The value as DCMTK's getOFStringArray gives it (for the VRs that have a plain text form); false
    /// for a sequence, an item, or a VR whose text DCMTK builds otherwise (the caller asks DCMTK).
    bool text(int node, std::string &out) const;
    /// The bytes of an OB/UN leaf (as DCMTK's getUint8Array): 1; 0 where DCMTK has none (a sequence,
    /// text and number VRs); -1 for the VRs left to DCMTK.
    int bytes(int node, const uint8_t **data, long *count) const;

    /// Top-level pixel data: absent, native (bytes = its length) or encapsulated (fragments, bytes).
    int pixelKind = -1;           // -1 absent, 0 native, 1 encapsulated
    long pixelFragments = 0, pixelBytes = 0;
    uint64_t pixelOffset = 0;     // native: where the value starts in the file

    /// The stored bytes of leaf `node` (not the top-level pixel data), `nodes[node].length` of them.
    const uint8_t *value(int node) const { return at(nodes[node].offset); }

    /// The private creator of (group, element) in `container` (-1: the data set), or "".
    std::string creatorOf(int container, uint16_t group, uint16_t element) const;
    /// The VR DCMTK gives node `n` (its own in explicit VR; the dictionary's, with the private creator, in implicit VR).
    std::string vrOf(int n) const;

private:
    friend class FastParser;
    /// The file's bytes before the top-level pixel data value, and those after it (usually none).
    PodArray<uint8_t> head, tail;
    uint64_t tailStart = 0;
    std::vector<std::pair<uint32_t, int32_t>> topIndex;   // sorted
    std::unordered_map<uint32_t, int32_t> nestedIndex;
    bool nestedBuilt = false;
    /// The top-level pixel data, whose value is not in memory.
    static bool isPixelData(const FastNode &n) { return n.parent < 0 && n.tag == 0x7FE00010; }
    const uint8_t *at(uint64_t offset) const { return offset >= tailStart && !tail.empty() ? tail.data() + (offset - tailStart) : head.data() + offset; }
};

/// CDCMTKSegRead.h's i2dcm_seg_frames and i2dcm_seg_segments answered from the index (FastSeg.cpp): true
/// with `result` set, false when DCMTK must answer (anything but the plain layout, which it reads the same).
bool fastSegFrames(const FastHeader &h, int count, int32_t *segment, double *position, char *source_uids, uint32_t *index,
                   int32_t *index_count, int &result);
bool fastSegSegments(const FastHeader &h, int count, int32_t *number, int64_t *original_label, int &result);

/// With I2_FAST_DEBUG set, "i2: fast header: PATH: WHAT" on stderr: a file that silently took DCMTK's
/// slower path is a performance bug worth seeing.
void fastDebug(const char *path, const char *what);

/// Whether the fast index is used (I2_DCMTK_ONLY=1 turns it off: every file through DCMTK).
bool fastHeadersEnabled();

}  // namespace i2dcm
