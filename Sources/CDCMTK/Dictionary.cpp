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
