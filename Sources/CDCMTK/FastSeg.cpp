// A SEG's per-frame and per-segment arrays (CDCMTKSegRead.h) from the fast index: reading dcmqi's SEG of a
// 300-slice CT (one frame per segment and slice, ~2,000-9,000 per-frame items) through DCMTK built an
// object tree of the whole header, 70 ms and more, plus loading DCMTK itself. The answers follow
// CDCMTKImpl/SegRead.cpp's DCMTK walk; wherever a value is not in the plain form (a sequence where
// it takes one, US/UL/DS/UI as written, text that parses whole) DCMTK is asked instead, so the two
// agree (FastCheck.cpp compares them for every fixture).
#include "FastHeader.hpp"
#include "CDCMTKSegRead.h"

#include <clocale>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace i2dcm {

namespace {

constexpr uint32_t kSharedGroups = 0x52009229, kPerFrameGroups = 0x52009230, kSegmentIdentification = 0x0062000A,
                   kReferencedSegmentNumber = 0x0062000B, kPlanePosition = 0x00209113, kImagePosition = 0x00200032,
                   kDerivationImage = 0x00089124, kSourceImage = 0x00082112, kReferencedSOPInstance = 0x00081155,
                   kFrameContent = 0x00209111, kDimensionIndexValues = 0x00209157, kSegmentSequence = 0x00620002,
                   kSegmentNumber = 0x00620004;

/// Thrown (as a flag) where DCMTK must answer.
struct Declined {};

struct Reader {
    const FastHeader &h;

    /// The first item of sequence `tag` in `item` (-1: no item, -2: the data set), or -1. DCMTK's
    /// findAndGetSequenceItem fails for an absent or empty sequence; a leaf under a sequence's tag is left to DCMTK.
    int firstItem(int item, uint32_t tag) const {
        if (item == -1) return -1;
        int seq = item == -2 ? h.top(tag) : h.child(item, tag);
        if (seq < 0) return -1;
        if (h.nodes[seq].kind != FastNode::Sequence) throw Declined();
        return h.nodes[seq].firstChild;
    }
    /// The functional group macro `tag`: per frame first, then shared.
    int macro(int frame, int shared, uint32_t tag) const {
        int m = firstItem(frame, tag);
        return m >= 0 ? m : firstItem(shared, tag);
    }
    /// Leaf `tag` of `item` with VR `vr`, or -1 when absent.
    int leaf(int item, uint32_t tag, const char *vr) const {
        int n = h.child(item, tag);
        if (n < 0) return -1;
        if (h.nodes[n].kind != FastNode::Leaf || h.vrOf(n) != vr) throw Declined();
        return n;
    }
    /// findAndGetUint16: the first value of a US leaf; false when absent.
    bool uint16(int item, uint32_t tag, uint16_t &out) const {
        int n = leaf(item, tag, "US");
        if (n < 0) return false;
        if (h.nodes[n].length < 2 || h.nodes[n].length % 2) throw Declined();
        const uint8_t *p = h.value(n);
        out = (uint16_t)(p[0] | p[1] << 8);
        return true;
    }
    /// Values of a text leaf (DS, UI) as DCMTK normalises them; false when absent.
    bool values(int item, uint32_t tag, const char *vr, std::string &out) const {
        int n = leaf(item, tag, vr);
        if (n < 0) return false;
        if (!h.text(n, out)) throw Declined();
        return true;
    }
};

/// A normalised DS value as DCMTK's getFloat64 reads it. Its atof (an istream in the classic locale) and
/// strtod round alike, but differ on "inf", "nan", hex and trailing text: only plain decimals are taken
/// here, [+-]digits[.digits][e[+-]digits], anything else is left to DCMTK.
double decimal(const std::string &s) {
    static locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    size_t i = 0, n = s.size();
    auto digits = [&] { size_t from = i; while (i < n && s[i] >= '0' && s[i] <= '9') i++; return i - from; };
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    size_t mantissa = digits();
    if (i < n && s[i] == '.') { i++; mantissa += digits(); }
    bool plain = mantissa > 0;
    if (plain && i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        plain = digits() > 0;
    }
    if (!plain || i != n || !c) throw Declined();
    char *end = nullptr;
    double v = strtod_l(s.c_str(), &end, c);
    if (end != s.c_str() + s.size()) throw Declined();
    return v;
}

}  // namespace

bool fastSegFrames(const FastHeader &h, int count, int32_t *segment, double *position, char *source_uids, uint32_t *index,
                   int32_t *index_count, int &result) {
    Reader r{h};
    try {
        for (int i = 0; i < count; i++) {
            segment[i] = -1;
            position[3 * i] = position[3 * i + 1] = position[3 * i + 2] = NAN;
            source_uids[(size_t)i * I2DCM_UID_SLOT] = 0;
            index_count[i] = 0;
        }
        int shared = r.firstItem(-2, kSharedGroups);
        int perFrame = h.top(kPerFrameGroups);
        if (perFrame >= 0 && h.nodes[perFrame].kind != FastNode::Sequence) return false;
        long items = perFrame >= 0 ? h.itemCount(perFrame) : 0;
        if (items > count) return false;   // DCMTK's walk words the error
        int frame = perFrame >= 0 ? h.nodes[perFrame].firstChild : -1;
        for (int i = 0; i < count; i++, frame = frame >= 0 ? h.nodes[frame].nextSibling : -1) {
            if (frame < 0 && items > 0) break;
            uint16_t n = 0;
            if (int m = r.macro(frame, shared, kSegmentIdentification); m >= 0 && r.uint16(m, kReferencedSegmentNumber, n)) segment[i] = n;
            std::string text;
            if (int m = r.macro(frame, shared, kPlanePosition); m >= 0 && r.values(m, kImagePosition, "DS", text)) {
                // DCMTK takes each of the first three values (getFloat64(v, k)); fewer leave the position absent.
                double v[3];
                size_t start = 0;
                int k = 0;
                for (; k < 3 && start <= text.size(); k++) {
                    size_t end = text.find('\\', start);
                    if (end == std::string::npos) end = text.size();
                    v[k] = decimal(text.substr(start, end - start));
                    start = end + 1;
                }
                if (k == 3) { position[3 * i] = v[0]; position[3 * i + 1] = v[1]; position[3 * i + 2] = v[2]; }
            }
            if (int derivation = r.macro(frame, shared, kDerivationImage); derivation >= 0) {
                if (int source = r.firstItem(derivation, kSourceImage); source >= 0 && r.values(source, kReferencedSOPInstance, "UI", text)) {
                    snprintf(source_uids + (size_t)i * I2DCM_UID_SLOT, I2DCM_UID_SLOT, "%s", text.substr(0, text.find('\\')).c_str());
                }
            }
            if (int m = r.macro(frame, shared, kFrameContent); m >= 0) {
                int el = r.leaf(m, kDimensionIndexValues, "UL");
                if (el >= 0) {
                    if (h.nodes[el].length % 4) return false;
                    const uint8_t *p = h.value(el);
                    int vm = (int)(h.nodes[el].length / 4), k = 0;
                    for (; k < vm && k < I2DCM_MAX_INDEX; k++, p += 4)
                        index[(size_t)i * I2DCM_MAX_INDEX + k] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
                    index_count[i] = k;
                }
            }
        }
        result = (int)items;
        return true;
    } catch (Declined) {
        return false;
    }
}

bool fastSegSegments(const FastHeader &h, int count, int32_t *number, int64_t *original_label, int &result) {
    Reader r{h};
    int seq = h.top(kSegmentSequence);
    if (seq < 0) { result = -1; return true; }
    if (h.nodes[seq].kind != FastNode::Sequence) return false;
    try {
        int i = 0;
        for (int item = h.nodes[seq].firstChild; item >= 0 && i < count; item = h.nodes[item].nextSibling, i++) {
            uint16_t n = 0;
            number[i] = r.uint16(item, kSegmentNumber, n) ? n : -1;
            // The original label: the first block of group 0x0077 whose creator is "i2", element xx01 (UL).
            original_label[i] = -1;
            for (uint32_t block = 0x10; block <= 0xFF; block++) {
                std::string creator;
                // DCMTK compares the first value of the creator.
                if (!r.values(item, 0x00770000 | block, "LO", creator) || creator.substr(0, creator.find('\\')) != "i2") continue;
                int el = h.child(item, 0x00770000 | block << 8 | 0x01);
                if (el < 0) break;
                if (h.nodes[el].kind != FastNode::Leaf || h.vrOf(el) != "UL" || h.nodes[el].length != 4) return false;
                const uint8_t *p = h.value(el);
                original_label[i] = (int64_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
                break;
            }
        }
        result = (int)h.itemCount(seq);
        return true;
    } catch (Declined) {
        return false;
    }
}

}  // namespace i2dcm
