// DCMTK's data dictionary without parsing text at every start: Debian's libdcmtk has no builtin
// dictionary and parses dicom.dic + private.dic (~430 KB, ~55 ms) on first use, the largest part of
// i2's start-up. The same entries, dumped by DCMTK after parsing them (scripts/make-dcmtk-dictionary.sh
// → DictionaryTable.h), are added here instead, as DCMTK's own builtin dictionary would
// (dcdictbi.cc's loadBuiltinDictionary: new DcmDictEntry without copying strings, then addEntry).
// The entries are DCMTK's data (OFFIS, BSD licence: /usr/share/doc/libdcmtk17/copyright); checked to
// leave DCMTK's dictionary exactly as the text files do (same entries, same repeating-entry order).
#include "Shim.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

constexpr DcmDictRangeRestriction U = DcmDictRange_Unspecified, O = DcmDictRange_Odd, E = DcmDictRange_Even;

struct Entry {
    Uint16 group, element, upperGroup, upperElement;
    DcmEVR evr;
    const char *name;
    int vmMin, vmMax;
    const char *version;
    DcmDictRangeRestriction groupRestriction, elementRestriction;
    const char *privateCreator;
};

const Entry entries[] = {
#include "DictionaryTable.h"
};

}  // namespace

namespace i2dcm {

void installDictionary() {
    // A user's DCMDICTPATH is theirs: DCMTK loads it as usual.
    const char *env = getenv("DCMDICTPATH");
    if (env && *env) return;
    // DCMTK loads the files named by DCMDICTPATH when it first creates its global dictionary:
    // name an empty one for that moment only, then restore the environment (child processes and a
    // later DCMTK never see it). Had the dictionary been created already, the entries added below
    // replace identical ones.
    setenv("DCMDICTPATH", "/dev/null", 1);
    DcmDataDictionary &dict = dcmDataDict.wrlock();
    unsetenv("DCMDICTPATH");
    for (const Entry &b : entries) {
        auto *e = new DcmDictEntry(b.group, b.element, b.upperGroup, b.upperElement, DcmVR(b.evr), b.name, b.vmMin,
                                   b.vmMax, b.version, OFFalse, b.privateCreator);
        e->setGroupRangeRestriction(b.groupRestriction);
        e->setElementRangeRestriction(b.elementRestriction);
        dict.addEntry(e);
    }
    dcmDataDict.wrunlock();
}

}  // namespace i2dcm

namespace i2dcm {

bool isPublicSequence(uint32_t tag) {
    // The public non-repeating sequences of the table, sorted once: the fast index (FastHeader.cpp) asks
    // this for every implicit VR element, where DCMTK's own lookup takes a lock each time.
    static const std::vector<uint32_t> sequences = [] {
        std::vector<uint32_t> v;
        for (const Entry &b : entries)
            if (b.evr == EVR_SQ && !b.privateCreator && b.group == b.upperGroup && b.element == b.upperElement)
                v.push_back((uint32_t)b.group << 16 | b.element);
        std::sort(v.begin(), v.end());
        return v;
    }();
    return std::binary_search(sequences.begin(), sequences.end(), tag);
}

}  // namespace i2dcm

namespace i2dcm {

namespace {

inline bool creatorMatch(const char *entry, const char *creator) {
    // DcmDictEntry::privateCreatorMatch: both absent, or both present and equal.
    return (!entry && !creator) || (entry && creator && strcmp(entry, creator) == 0);
}

inline bool isRepeating(const Entry &b) { return b.group != b.upperGroup || b.element != b.upperElement; }

/// DcmDictEntry::contains for a repeating entry.
bool contains(const Entry &b, uint16_t group, uint16_t element, const char *creator) {
    if (b.groupRestriction == E && (group & 1)) return false;
    if (b.groupRestriction == O && !(group & 1)) return false;
    if (b.elementRestriction == E && (element & 1)) return false;
    if (b.elementRestriction == O && !(element & 1)) return false;
    if (!creatorMatch(b.privateCreator, creator)) return false;
    const bool groupMatches = b.group <= group && group <= b.upperGroup;
    bool found = groupMatches && b.element <= element && element <= b.upperElement;
    if (!found && groupMatches && creator) {
        const uint16_t low = element & 0xFF;   // a private entry's element is its low byte
        found = b.element <= low && low <= b.upperElement;
    }
    return found;
}

}  // namespace

DcmEVR dictionaryVR(uint16_t group, uint16_t element, const char *creator) {
    // The exact entries by tag (several creators may share one), and the repeating ones in list order.
    struct Exact { uint32_t tag; const Entry *entry; };
    static const std::pair<std::vector<Exact>, std::vector<const Entry *>> tables = [] {
        std::vector<Exact> exact;
        std::vector<const Entry *> repeating;
        for (const Entry &b : entries) {
            if (isRepeating(b)) repeating.push_back(&b);
            else exact.push_back({(uint32_t)b.group << 16 | b.element, &b});
        }
        // By tag, then table order (DCMTK keeps the first of a tag and creator it was given).
        std::sort(exact.begin(), exact.end(), [](const Exact &a, const Exact &b) { return a.tag != b.tag ? a.tag < b.tag : a.entry < b.entry; });
        return std::make_pair(std::move(exact), std::move(repeating));
    }();
    auto exact = [&](uint16_t e) -> const Entry * {
        const uint32_t tag = (uint32_t)group << 16 | e;
        auto it = std::lower_bound(tables.first.begin(), tables.first.end(), tag, [](const Exact &x, uint32_t t) { return x.tag < t; });
        for (; it != tables.first.end() && it->tag == tag; ++it)
            if (creatorMatch(it->entry->privateCreator, creator)) return it->entry;
        return nullptr;
    };
    // DcmHashDict::get: the tag as it is, then (with a creator) its element's low byte.
    const Entry *e = exact(element);
    if (!e && creator) e = exact(element & 0xFF);
    if (e) return e->evr;
    for (const Entry *r : tables.second)
        if (contains(*r, group, element, creator)) return r->evr;
    return EVR_UNKNOWN;
}

}  // namespace i2dcm

// ---- The differential check behind i2dcm_dictionary_check (tests only) ---------------------------

extern "C" int i2dcm_dictionary_check(char *report, size_t reportlen) {
    i2dcm::registerCodecs();   // DCMTK's own dictionary, to compare with
    std::string out;
    int probes = 0, differences = 0;
    auto probe = [&](uint16_t g, uint16_t e, const char *creator) {
        probes++;
        const DcmEVR mine = i2dcm::dictionaryVR(g, e, creator);
        const DcmEVR theirs = DcmTag(g, e, creator).getEVR();
        if (mine == theirs) return;
        if (++differences <= 20) {
            char line[200];
            snprintf(line, sizeof line, "(%04x,%04x) creator '%s': %s here, %s in DCMTK\n", g, e, creator ? creator : "", DcmVR(mine).getVRName(),
                     DcmVR(theirs).getVRName());
            out += line;
        }
    };
    // Every entry at its bounds and just outside them, as written and (private) in other blocks, with
    // its creator, none, and another entry's; then pseudo-random tags with creators from the table.
    const size_t n = sizeof entries / sizeof entries[0];
    for (size_t i = 0; i < n; i++) {
        const Entry &b = entries[i];
        const char *other = entries[(i * 7919 + 13) % n].privateCreator;
        const char *creators[] = {b.privateCreator, nullptr, other};
        const uint16_t groups[] = {b.group, b.upperGroup, (uint16_t)(b.group - 1), (uint16_t)(b.upperGroup + 1), (uint16_t)(b.group | 1)};
        const uint16_t elements[] = {b.element, b.upperElement, (uint16_t)(b.element - 1), (uint16_t)(b.upperElement + 1),
                                     (uint16_t)(0x1000 | (b.element & 0xFF)), (uint16_t)(0x10FF & (0xFF00 | b.element)),
                                     (uint16_t)(0xFF00 | (b.upperElement & 0xFF)), (uint16_t)(0x4200 | ((b.element + 1) & 0xFF))};
        for (const char *c : creators)
            for (uint16_t g : groups)
                for (uint16_t e : elements) probe(g, e, c);
    }
    uint32_t x = 2463534242u;
    for (int k = 0; k < 200000; k++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        const Entry &b = entries[x % n];
        uint32_t y = x * 2654435761u;
        probe((uint16_t)(y >> 16), (uint16_t)y, (x & 3) == 0 ? nullptr : b.privateCreator);
        probe(b.group, (uint16_t)(y & 0xFFFF), b.privateCreator);
    }
    char tail[120];
    snprintf(tail, sizeof tail, "%d probes, %d differences\n", probes, differences);
    out += tail;
    if (report && reportlen) snprintf(report, reportlen, "%s", out.c_str());
    return differences;
}
