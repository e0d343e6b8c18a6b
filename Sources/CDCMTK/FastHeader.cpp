// A header scan reads ~100 attributes of every file. DCMTK builds an object per element (a dictionary
// lookup under a lock, a heap object and a stdio read each), which cost i2 3-4x dcm2niix's time on
// classic MR folders and 0.5 GB for a 5,000-frame enhanced file. This index is built from the file's
// bytes in one pass (one read up to the pixel data, whose value is never loaded): an array of nodes in
// file order. It answers only what it can answer exactly as DCMTK would (CDCMTKLoader/File.cpp asks DCMTK for the
// rest), and it takes only plain files: Part 10, little endian, implicit or explicit VR, tags in
// order, lengths that fit. Anything else (big endian, deflate, a bare data set, damage) is left to
// DCMTK, which reads it or names what is wrong. HeaderIndexTests compares the two over every fixture.
#include "FastHeader.hpp"
#include "DicomTables.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>

namespace i2dcm {

bool fastHeadersEnabled() {
    static const bool enabled = [] {
        const char *v = getenv("I2_DCMTK_ONLY");
        return !(v && *v && strcmp(v, "0") != 0);
    }();
    return enabled;
}

void fastDebug(const char *path, const char *what) {
    static const bool debug = getenv("I2_FAST_DEBUG") != nullptr;
    if (debug) fprintf(stderr, "i2: fast header: %s: %s\n", path, what);
}

/// Why the index was not built.
static void skipped(const char *path, const char *why) { fastDebug(path, (std::string("not indexed: ") + why).c_str()); }

namespace {

constexpr uint32_t kItem = 0xFFFEE000, kItemEnd = 0xFFFEE00D, kSequenceEnd = 0xFFFEE0DD, kPixelData = 0x7FE00010;
constexpr uint32_t kUndefined = 0xFFFFFFFF;
constexpr size_t kMaxSequenceDepth = 256;   // as CDCMTKImpl/Shim.cpp's check: deeper files go to DCMTK, which refuses them

inline uint16_t u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
inline uint32_t u32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
inline bool vrIs(const char *vr, const char *name) { return vr[0] == name[0] && vr[1] == name[1]; }

/// PS3.5 7.1.2: the explicit VRs with a 2-byte reserved field and a 4-byte length. False for a VR
/// that is not one of the standard's (then the file goes to DCMTK).
bool knownVR(const char *vr, bool &longForm) {
    static const char *const shortVRs[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "PN",
                                           "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US"};
    static const char *const longVRs[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"};
    for (const char *v : shortVRs) if (vrIs(vr, v)) { longForm = false; return true; }
    for (const char *v : longVRs) if (vrIs(vr, v)) { longForm = true; return true; }
    return false;
}

}  // namespace

/// One pass over the file: reads it in growing chunks up to the top-level pixel data, skips that value
/// (walking only the item headers of encapsulated data), reads what follows it into a second buffer.
class FastParser {
public:
    FastParser(int fd, uint64_t size, FastHeader &h) : fd(fd), size(size), h(h), buf(&h.head) {}

    /// False (with `why`) for anything the index does not take.
    bool parse(const char *&why);

private:
    int fd;
    uint64_t size;
    FastHeader &h;
    PodArray<uint8_t> *buf;      // head, then tail after the pixel data
    uint64_t base = 0;           // file offset of (*buf)[0]

    /// Makes the buffer cover the file up to `end`; false past the end of the file or on a read error.
    bool ensure(uint64_t end) {
        if (end > size) return false;
        uint64_t have = base + buf->size();
        if (end <= have) return true;
        uint64_t want = std::min<uint64_t>(size, std::max<uint64_t>(end, have + std::max<uint64_t>(buf->size(), 65536)));
        size_t old = buf->size();
        if (!buf->resize((size_t)(want - base))) return false;
        size_t done = old;
        while (done < buf->size()) {
            ssize_t n = pread(fd, buf->data() + done, buf->size() - done, (off_t)(base + done));
            if (n <= 0) { if (n < 0 && errno == EINTR) continue; buf->resize(done); return false; }
            done += (size_t)n;
        }
        return true;
    }
    const uint8_t *p(uint64_t offset) const { return buf->data() + (offset - base); }

    struct Open {
        int32_t node;      // the sequence or item (-1: top level)
        uint64_t end;      // of a defined length; UINT64_MAX when undefined
        bool isItem;
        int32_t lastChild = -1;
        int64_t lastTag = -1;
    };
    std::vector<Open> open;
    size_t sequences = 0;

    int32_t add(FastNode n) {
        Open &c = open.back();
        n.parent = c.node;
        int32_t index = (int32_t)h.nodes.size();
        if (index == INT32_MAX || !h.nodes.push_back(n)) return -1;
        if (c.lastChild >= 0) h.nodes[c.lastChild].nextSibling = index;
        else if (c.node >= 0) h.nodes[c.node].firstChild = index;
        c.lastChild = index;
        if (c.node < 0) h.topIndex.emplace_back(n.tag, index);
        return index;
    }

    bool isSequenceImplicit(uint32_t tag, uint32_t length) const;
    bool encapsulated(uint64_t &pos, const char *&why);
};

bool FastParser::isSequenceImplicit(uint32_t tag, uint32_t length) const {
    if (length == kUndefined) return true;   // PS3.5 7.5: only a sequence has an undefined length here
    uint16_t group = (uint16_t)(tag >> 16), element = (uint16_t)tag;
    if (!(group & 1)) return isPublicSequence(tag);
    if (element < 0x1000) return false;   // private creators and group lengths
    // A private element: the dictionary entry of its creator, as DCMTK's parser looks it up.
    std::string name = h.creatorOf(open.back().node, group, element);
    return dictionaryVR(group, element, name.empty() ? nullptr : name.c_str()) == EVR_SQ;
}

/// Walks the fragments of encapsulated pixel data from `pos` (just after its header) past the sequence
/// delimiter, reading only the 8-byte item headers.
bool FastParser::encapsulated(uint64_t &pos, const char *&why) {
    long items = 0, bytes = 0;
    for (;;) {
        uint8_t head[8];
        if (pos + 8 > size || pread(fd, head, 8, (off_t)pos) != 8) { why = "encapsulated pixel data cut off"; return false; }
        uint32_t tag = (uint32_t)u16(head) << 16 | u16(head + 2), length = u32(head + 4);
        pos += 8;
        if (tag == kSequenceEnd) break;
        if (tag != kItem || length == kUndefined || length > size - pos) { why = "unexpected element in encapsulated pixel data"; return false; }
        if (items > 0) bytes += (long)length;   // item 0 is the Basic Offset Table
        items++;
        pos += length;
    }
    h.pixelKind = 1;
    h.pixelFragments = items > 0 ? items - 1 : 0;
    h.pixelBytes = bytes;
    return true;
}

bool FastParser::parse(const char *&why) {
    // File meta information: "DICM" at 128, then group 0002 in explicit VR little endian.
    if (!ensure(std::min<uint64_t>(size, 65536)) || size < 132 || memcmp(p(128), "DICM", 4) != 0) { why = "no Part 10 preamble"; return false; }
    uint64_t pos = 132;
    std::string syntax;
    uint64_t groupEnd = 0;   // where (0002,0000) says the group ends
    for (;;) {
        if (!ensure(pos + 8)) { why = "meta information cut off"; return false; }
        if (u16(p(pos)) != 0x0002) break;
        uint16_t element = u16(p(pos + 2));
        char vr[2] = {(char)p(pos)[4], (char)p(pos)[5]};
        bool longForm = false;
        if (!knownVR(vr, longForm)) { why = "unusual meta information"; return false; }
        uint32_t length = longForm ? (ensure(pos + 12) ? u32(p(pos + 8)) : kUndefined) : u16(p(pos + 6));
        uint64_t value = pos + (longForm ? 12 : 8);
        if (length == kUndefined || !ensure(value + length)) { why = "meta information cut off"; return false; }
        if (element == 0x0000 && length == 4) groupEnd = value + 4 + u32(p(value));
        if (element == 0x0010) {
            syntax.assign((const char *)p(value), length);
            while (!syntax.empty() && (syntax.back() == 0 || syntax.back() == ' ')) syntax.pop_back();
        }
        pos = value + length;
    }
    // DCMTK reads the meta group as far as its length says: only a length that agrees is plain.
    if (groupEnd != pos) { why = "meta group length disagrees with its elements"; return false; }
    const TransferSyntax *x = transferSyntax(syntax);
    if (!x || !x->littleEndian || x->deflated) { why = "transfer syntax other than little endian"; return false; }
    h.transferSyntax = x->uid;
    h.implicitVR = x->implicitVR;

    open.push_back({-1, UINT64_MAX, true});
    for (;;) {
        // Close the defined-length items and sequences that end here.
        while (open.size() > 1 && open.back().end != UINT64_MAX && pos >= open.back().end) {
            if (pos > open.back().end) { why = "value overruns its item or sequence"; return false; }
            if (!open.back().isItem) sequences--;
            open.pop_back();
        }
        if (pos == size) break;
        if (!ensure(pos + 8)) { why = "element header cut off"; return false; }
        uint32_t tag = (uint32_t)u16(p(pos)) << 16 | u16(p(pos + 2));
        Open &c = open.back();
        if (tag >> 16 == 0xFFFE) {
            uint32_t length = u32(p(pos + 4));
            if (tag == kItem) {
                if (c.isItem) { why = "item outside a sequence"; return false; }
                if (length != kUndefined && length > size - pos - 8) { why = "item longer than the file"; return false; }
                FastNode n{tag, {'?', '?'}, FastNode::Item, pos + 8, length == kUndefined ? 0 : length, -1};
                int32_t index = add(n);
                if (index < 0) { why = "out of memory"; return false; }
                pos += 8;
                open.push_back({index, length == kUndefined ? UINT64_MAX : pos + length, true});
            } else if (tag == kItemEnd && c.isItem && c.node >= 0 && c.end == UINT64_MAX) {
                open.pop_back();
                pos += 8;
            } else if (tag == kSequenceEnd && !c.isItem && c.end == UINT64_MAX) {
                sequences--;
                open.pop_back();
                pos += 8;
            } else {
                why = "misplaced item or delimiter";
                return false;
            }
            continue;
        }
        if (!c.isItem) { why = "element directly in a sequence"; return false; }
        if ((int64_t)tag <= c.lastTag) { why = "elements out of order or repeated"; return false; }
        c.lastTag = tag;
        FastNode n{tag, {'?', '?'}, FastNode::Leaf, 0, 0, -1};
        uint32_t length;
        uint64_t value;
        bool sequence;
        if (h.implicitVR) {
            length = u32(p(pos + 4));
            value = pos + 8;
            sequence = tag != kPixelData && isSequenceImplicit(tag, length);
        } else {
            n.vr[0] = (char)p(pos)[4];
            n.vr[1] = (char)p(pos)[5];
            bool longForm = false;
            if (!knownVR(n.vr, longForm)) { why = "unknown VR"; return false; }
            if (longForm) {
                if (!ensure(pos + 12)) { why = "element header cut off"; return false; }
                length = u32(p(pos + 8));
                value = pos + 12;
            } else {
                length = u16(p(pos + 6));
                value = pos + 8;
            }
            sequence = vrIs(n.vr, "SQ");
            if (length == kUndefined && !sequence && !(tag == kPixelData && open.size() == 1)) { why = "undefined length outside a sequence"; return false; }
        }
        if (sequence) {
            if (length != kUndefined && length > size - value) { why = "sequence longer than the file"; return false; }
            n.kind = FastNode::Sequence;
            n.offset = value;
            int32_t index = add(n);
            if (index < 0) { why = "out of memory"; return false; }
            if (++sequences > kMaxSequenceDepth) { why = "deeply nested sequences"; return false; }
            open.push_back({index, length == kUndefined ? UINT64_MAX : value + length, false});
            pos = value;
            continue;
        }
        n.offset = value;
        if (tag == kPixelData && open.size() == 1) {
            if (length == kUndefined) {
                if (h.implicitVR) { why = "encapsulated pixel data in implicit VR"; return false; }
                if (add(n) < 0) { why = "out of memory"; return false; }
                pos = value;
                if (!encapsulated(pos, why)) return false;
            } else {
                if (length > size - value) { why = "pixel data longer than the file"; return false; }
                n.length = length;
                if (add(n) < 0) { why = "out of memory"; return false; }
                h.pixelKind = 0;
                h.pixelBytes = (long)length;
                h.pixelOffset = value;
                pos = value + length;
            }
            // The value stays on disk; whatever follows it goes into the second buffer.
            h.head.resize((size_t)std::min<uint64_t>(h.head.size(), value));
            if (pos < size) {
                buf = &h.tail;
                base = pos;
                h.tailStart = pos;
            }
            continue;
        }
        if (length == kUndefined || length > size - value || !ensure(value + length)) { why = "value longer than the file"; return false; }
        n.length = length;
        if (add(n) < 0) { why = "out of memory"; return false; }
        pos = value + length;
    }
    if (open.size() > 1) { why = "item or sequence not closed"; return false; }
    return true;
}

std::unique_ptr<FastHeader> FastHeader::open(const char *path) {
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nullptr;   // DCMTK's open names the reason
    struct stat st;
    std::unique_ptr<FastHeader> h(new FastHeader());
    const char *why = "cannot stat";
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (ok) {
        FastParser parser(fd, (uint64_t)st.st_size, *h);
        ok = parser.parse(why);
    }
    close(fd);
    if (!ok) { skipped(path, why); return nullptr; }
    h->head.shrink();
    h->nodes.shrink();
    return h;
}

int FastHeader::top(uint32_t tag) const {
    auto it = std::lower_bound(topIndex.begin(), topIndex.end(), tag, [](const auto &e, uint32_t v) { return e.first < v; });
    return it != topIndex.end() && it->first == tag ? it->second : -1;
}

int FastHeader::nested(uint32_t tag) {
    if (!nestedBuilt) {
        // File order is DCMTK's nested search order: an element, then what it holds.
        for (size_t i = 0; i < nodes.size(); i++)
            if (nodes[i].kind != FastNode::Item) nestedIndex.emplace(nodes[i].tag, (int32_t)i);
        nestedBuilt = true;
    }
    auto it = nestedIndex.find(tag);
    return it == nestedIndex.end() ? -1 : it->second;
}

int FastHeader::child(int item, uint32_t tag) const {
    if (item < 0) return top(tag);
    for (int32_t k = nodes[item].firstChild; k >= 0; k = nodes[k].nextSibling) {
        if (nodes[k].tag == tag) return k;
        if (nodes[k].tag > tag) break;
    }
    return -1;
}

int FastHeader::item(int seq, long index) const {
    if (seq < 0 || nodes[seq].kind != FastNode::Sequence || index < 0) return -1;
    long i = 0;
    for (int32_t k = nodes[seq].firstChild; k >= 0; k = nodes[k].nextSibling, i++)
        if (i == index) return k;
    return -1;
}

long FastHeader::itemCount(int seq) const {
    long i = 0;
    for (int32_t k = nodes[seq].firstChild; k >= 0; k = nodes[k].nextSibling) i++;
    return i;
}

std::string FastHeader::creatorOf(int container, uint16_t group, uint16_t element) const {
    int c = child(container, (uint32_t)group << 16 | (element >> 8));
    if (c < 0 || nodes[c].kind != FastNode::Leaf) return "";
    // As DCMTK's private tag cache reads it: the LO value as a C string, leading and trailing spaces cut.
    // at(): the creator may lie before the pixel data while the element asking comes after it.
    std::string name((const char *)at(nodes[c].offset), nodes[c].length);
    name = name.substr(0, name.find('\0'));
    size_t first = name.find_first_not_of(' '), last = name.find_last_not_of(' ');
    return first == std::string::npos ? "" : name.substr(first, last - first + 1);
}

std::string FastHeader::vrOf(int index) const {
    const FastNode &n = nodes[index];
    if (n.vr[0] != '?') return std::string(n.vr, 2);
    uint16_t group = (uint16_t)(n.tag >> 16), element = (uint16_t)n.tag;
    std::string creator;
    if ((group & 1) && element >= 0x1000) {
        creator = creatorOf(n.parent, group, element);
    } else if ((group & 1) && element >= 0x0010 && element <= 0x00FF) {
        return "LO";   // private creator
    }
    const DcmEVR evr = dictionaryVR(group, element, creator.empty() ? nullptr : creator.c_str());
    if (evr == EVR_xs) {
        // US or SS by the PixelRepresentation before it, as DCMTK's parser decides for these; other
        // ambiguous VRs are left to DCMTK ("": no text here).
        static const uint32_t byPixelRepresentation[] = {0x00280106, 0x00280107, 0x00280108, 0x00280109, 0x00280120, 0x00280121};
        if (std::find(std::begin(byPixelRepresentation), std::end(byPixelRepresentation), n.tag) == std::end(byPixelRepresentation)) return "";
        int rep = n.parent < 0 ? top(0x00280103) : child(n.parent, 0x00280103);
        if (rep < 0 || nodes[rep].length != 2) return "";
        return u16(at(nodes[rep].offset)) == 1 ? "SS" : "US";
    }
    if (evr == EVR_ox || evr == EVR_lt || evr == EVR_up || evr == EVR_na) return "";
    return vrName(evr);
}

/// DCMTK's normalisation of one value of a string VR (DcmByteString::getOFString with normalize).
static void normalize(std::string &v, bool leading) {
    size_t end = v.size();
    while (end > 0 && v[end - 1] == ' ') end--;
    size_t start = 0;
    if (leading) while (start < end && v[start] == ' ') start++;
    v = v.substr(start, end - start);
}

bool FastHeader::text(int index, std::string &out) const {
    const FastNode &n = nodes[index];
    if (n.kind != FastNode::Leaf || isPixelData(n)) return false;
    const std::string vr = vrOf(index);
    const uint8_t *d = at(n.offset);
    const uint32_t len = n.length;
    out.clear();
    auto is = [&](std::initializer_list<const char *> names) {
        for (const char *v : names) if (vr == v) return true;
        return false;
    };
    if (is({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "PN", "SH", "TM", "UI", "UC"})) {
        // The stored value less its trailing padding (DcmByteString), then each value normalised.
        std::string value((const char *)d, len);
        char pad = vr == "UI" ? '\0' : ' ';
        while (!value.empty() && value.back() == pad) value.pop_back();
        if (value.find('\0') != std::string::npos) return false;   // DCMTK's C-string handling decides
        // DCMTK drops characters a UID cannot hold; values with any are left to it.
        if (vr == "UI" && value.find_first_not_of("0123456789.\\") != std::string::npos) return false;
        bool leading = is({"AE", "CS", "DS", "IS", "LO", "SH"});
        bool trailing = !is({"UI"});
        size_t start = 0;
        for (;;) {
            size_t cut = value.find('\\', start);
            std::string part = value.substr(start, cut == std::string::npos ? std::string::npos : cut - start);
            if (trailing) normalize(part, leading);
            if (start > 0) out += '\\';
            out += part;
            if (cut == std::string::npos) break;
            start = cut + 1;
        }
        return true;
    }
    if (is({"LT", "ST", "UT", "UR"})) {
        out.assign((const char *)d, len);
        while (!out.empty() && out.back() == ' ') out.pop_back();
        return out.find('\0') == std::string::npos;
    }
    char number[64];
    auto join = [&](size_t size, auto format) {
        if (len == 0 || len % size != 0) return false;
        for (uint32_t i = 0; i < len; i += (uint32_t)size) {
            if (i) out += '\\';
            format(d + i);
            out += number;
        }
        return true;
    };
    if (vr == "US") return join(2, [&](const uint8_t *q) { snprintf(number, sizeof number, "%hu", u16(q)); });
    if (vr == "SS") return join(2, [&](const uint8_t *q) { snprintf(number, sizeof number, "%hd", (int16_t)u16(q)); });
    if (vr == "UL") return join(4, [&](const uint8_t *q) { snprintf(number, sizeof number, "%lu", (unsigned long)u32(q)); });
    if (vr == "SL") return join(4, [&](const uint8_t *q) { snprintf(number, sizeof number, "%ld", (long)(int32_t)u32(q)); });
    if (vr == "FL") return join(4, [&](const uint8_t *q) {
        float f;
        memcpy(&f, q, 4);
        formatNumber(number, sizeof number, f, 9);
    });
    if (vr == "FD") return join(8, [&](const uint8_t *q) {
        double v;
        memcpy(&v, q, 8);
        formatNumber(number, sizeof number, v, 17);
    });
    return false;
}

int FastHeader::bytes(int index, const uint8_t **data, long *count) const {
    const FastNode &n = nodes[index];
    if (n.kind != FastNode::Leaf) return 0;
    if (isPixelData(n)) return -1;   // its value was never read: DCMTK's to give
    std::string vr = vrOf(index);
    if (vr == "OB" || vr == "UN") {
        *data = n.length ? at(n.offset) : nullptr;
        *count = (long)n.length;
        return 1;
    }
    // DCMTK's text and number classes have no byte array (getUint8Array is an illegal call there).
    static const char *const none[] = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UI", "UC",
                                       "UR", "UT", "US", "SS", "UL", "SL", "FL", "FD", "AT"};
    for (const char *v : none) if (vr == v) return 0;
    return -1;
}

}  // namespace i2dcm
