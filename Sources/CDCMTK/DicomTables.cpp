// DCMTK's dictionary, VR names, transfer syntaxes and number format, without DCMTK. Debian's DCMTK
// libraries are linked with immediate binding: loading them costs every i2 process ~8 ms before main
// (36 libraries, ~10,000 symbol relocations), and building DCMTK's dictionary ~3 ms more. The fast
// index (FastHeader.cpp) reads plain files with these tables alone, so i2 loads DCMTK (libi2dcmtk.so,
// CDCMTKImpl) only when a file or a command needs it. The entries are DCMTK's data (OFFIS, BSD
// licence: /usr/share/doc/libdcmtk17/copyright); HeaderIndexTests compares each table with DCMTK's.
#include "DicomTables.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

namespace {

constexpr DcmDictRangeRestriction U = DcmDictRange_Unspecified, O = DcmDictRange_Odd, E = DcmDictRange_Even;

using i2dcm::I2_NO_STRING;

const char strings[] =
#include "DictionaryStrings.h"
    ;

const i2dcm::DictionaryEntry entries[] = {
#include "DictionaryTable.h"
};

inline const char *string(uint32_t at) { return at == I2_NO_STRING ? nullptr : strings + at; }

// DcmXfer's table of DCMTK 3.6.7 (uid, little endian, implicit VR, deflated, encapsulated).
const i2dcm::TransferSyntax syntaxes[] = {
#include "TransferSyntaxTable.h"
};

inline bool creatorMatch(const char *entry, const char *creator) {
    // DcmDictEntry::privateCreatorMatch: both absent, or both present and equal.
    return (!entry && !creator) || (entry && creator && strcmp(entry, creator) == 0);
}

inline bool isRepeating(const i2dcm::DictionaryEntry &b) { return b.group != b.upperGroup || b.element != b.upperElement; }

/// DcmDictEntry::contains for a repeating entry.
bool contains(const i2dcm::DictionaryEntry &b, uint16_t group, uint16_t element, const char *creator) {
    if (b.groupRestriction == E && (group & 1)) return false;
    if (b.groupRestriction == O && !(group & 1)) return false;
    if (b.elementRestriction == E && (element & 1)) return false;
    if (b.elementRestriction == O && !(element & 1)) return false;
    if (!creatorMatch(b.privateCreator(), creator)) return false;
    const bool groupMatches = b.group <= group && group <= b.upperGroup;
    bool found = groupMatches && b.element <= element && element <= b.upperElement;
    if (!found && groupMatches && creator) {
        const uint16_t low = element & 0xFF;   // a private entry's element is its low byte
        found = b.element <= low && low <= b.upperElement;
    }
    return found;
}

}  // namespace

namespace i2dcm {

const char *DictionaryEntry::name() const { return string(nameAt); }
const char *DictionaryEntry::version() const { return string(versionAt); }
const char *DictionaryEntry::privateCreator() const { return string(creatorAt); }

const DictionaryEntry *dictionaryEntries(size_t &count) {
    count = sizeof entries / sizeof entries[0];
    return entries;
}

DcmEVR dictionaryVR(uint16_t group, uint16_t element, const char *creator) {
    // The exact entries by tag (several creators may share one), and the repeating ones in list order.
    struct Exact { uint32_t tag; const DictionaryEntry *entry; };
    static const std::pair<std::vector<Exact>, std::vector<const DictionaryEntry *>> tables = [] {
        std::vector<Exact> exact;
        std::vector<const DictionaryEntry *> repeating;
        for (const DictionaryEntry &b : entries) {
            if (isRepeating(b)) repeating.push_back(&b);
            else exact.push_back({(uint32_t)b.group << 16 | b.element, &b});
        }
        // By tag, then table order.
        std::sort(exact.begin(), exact.end(), [](const Exact &a, const Exact &b) { return a.tag != b.tag ? a.tag < b.tag : a.entry < b.entry; });
        return std::make_pair(std::move(exact), std::move(repeating));
    }();
    auto exact = [&](uint16_t e) -> const DictionaryEntry * {
        const uint32_t tag = (uint32_t)group << 16 | e;
        auto it = std::lower_bound(tables.first.begin(), tables.first.end(), tag, [](const Exact &x, uint32_t t) { return x.tag < t; });
        for (; it != tables.first.end() && it->tag == tag; ++it)
            if (creatorMatch(it->entry->privateCreator(), creator)) return it->entry;
        return nullptr;
    };
    // DcmHashDict::get: the tag as it is, then (with a creator) its element's low byte.
    const DictionaryEntry *e = exact(element);
    if (!e && creator) e = exact(element & 0xFF);
    if (e) return e->evr;
    for (const DictionaryEntry *r : tables.second)
        if (contains(*r, group, element, creator)) return r->evr;
    return EVR_UNKNOWN;
}

bool isPublicSequence(uint32_t tag) {
    // The public non-repeating sequences, sorted once: the fast index asks this for every implicit VR
    // element.
    static const std::vector<uint32_t> sequences = [] {
        std::vector<uint32_t> v;
        for (const DictionaryEntry &b : entries)
            if (b.evr == EVR_SQ && b.creatorAt == I2_NO_STRING && !isRepeating(b)) v.push_back((uint32_t)b.group << 16 | b.element);
        std::sort(v.begin(), v.end());
        return v;
    }();
    return std::binary_search(sequences.begin(), sequences.end(), tag);
}

const char *vrName(DcmEVR evr) {
    static const char *const names[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV",
                                        "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UR", "US", "UT", "UV"};
    static_assert(EVR_AE == 0 && EVR_UV == 32, "DCMTK's VR enum order");
    if (evr >= EVR_AE && evr <= EVR_UV) return names[evr];
    switch (evr) {
    case EVR_ox: case EVR_px: case EVR_pixelSQ: return "OB";
    case EVR_xs: return "US";
    case EVR_lt: return "OW";
    case EVR_up: return "UL";
    case EVR_PixelData: return "PixelData";
    case EVR_OverlayData: return "OverlayData";
    default: return "UN";
    }
}

const TransferSyntax *transferSyntax(const std::string &uid) {
    for (const TransferSyntax &t : syntaxes)
        if (*t.uid && uid == t.uid) return &t;
    return nullptr;
}

const TransferSyntax *transferSyntaxes(size_t &count) {
    count = sizeof syntaxes / sizeof syntaxes[0];
    return syntaxes;
}

bool parseTag(const char *p, unsigned &g, unsigned &e, int &used) {
    auto hex = [](const char *q, unsigned &v) {
        v = 0;
        for (int i = 0; i < 4; i++) {
            char c = q[i];
            unsigned d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 16;
            if (d > 15) return false;
            v = v << 4 | d;
        }
        return true;
    };
    if (p[0] != '(' || !hex(p + 1, g) || p[5] != ',' || !hex(p + 6, e) || p[10] != ')') return false;
    used = 11;
    return true;
}

void formatNumber(char *buf, size_t size, double v, int precision) {
    if (std::isnan(v)) snprintf(buf, size, "nan");
    else snprintf(buf, size, "%.*g", precision, v);
}

}  // namespace i2dcm
