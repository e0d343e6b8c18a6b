// DCMTK's data dictionary without parsing text at every start: Debian's libdcmtk has no builtin
// dictionary and parses dicom.dic + private.dic (~430 KB, ~55 ms) on first use, the largest part of
// i2's start-up. The same entries, dumped by DCMTK after parsing them (scripts/make-dcmtk-dictionary.sh
// → DictionaryTable.h, compiled into CDCMTK's DicomTables.cpp), are added here instead, as DCMTK's own
// builtin dictionary would (dcdictbi.cc: new DcmDictEntry without copying strings, then addEntry).
// The entries are DCMTK's data (OFFIS, BSD licence: /usr/share/doc/libdcmtk17/copyright); checked to
// leave DCMTK's dictionary exactly as the text files do (same entries, same repeating-entry order).
#include "Shim.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

namespace i2dcm {

void installDictionary() {
    // DCMTK loads the files named by DCMDICTPATH when it first creates its global dictionary. i2 sets
    // it to /dev/null at start-up when the user has not set it (i2dcm_prepare_environment): DCMTK then
    // creates it empty and the entries below fill it. Any other DCMDICTPATH is the user's: DCMTK loads
    // it as usual. Unset (a process that skipped the start-up, the unit tests): an empty one is named
    // for that moment only.
    const char *env = getenv("DCMDICTPATH");
    const bool prepared = env && strcmp(env, "/dev/null") == 0;
    if (env && *env && !prepared) return;
    if (!prepared) setenv("DCMDICTPATH", "/dev/null", 1);
    DcmDataDictionary &dict = dcmDataDict.wrlock();
    if (!prepared) unsetenv("DCMDICTPATH");
    size_t count = 0;
    const DictionaryEntry *entries = dictionaryEntries(count);
    for (size_t i = 0; i < count; i++) {
        const DictionaryEntry &b = entries[i];
        auto *e = new DcmDictEntry(b.group, b.element, b.upperGroup, b.upperElement, DcmVR(b.evr), b.name(), b.vmMin,
                                   b.vmMax, b.version(), OFFalse, b.privateCreator());
        e->setGroupRangeRestriction(b.groupRestriction);
        e->setElementRangeRestriction(b.elementRestriction);
        dict.addEntry(e);
    }
    dcmDataDict.wrunlock();
}

}  // namespace i2dcm

// ---- The differential check behind i2dcm_tables_check (tests only) -------------------------------

/// Compares each table the fast index copies (DicomTables.hpp) with DCMTK's own: the dictionary's VR
/// for every entry's bounds and neighbours and 400,000 other tags, VR names, transfer syntaxes. The number of differences, described in `report` with the number of probes.
extern "C" int i2dcmx_tables_check(char *report, size_t reportlen) {
    i2dcm::registerCodecs();   // DCMTK's own dictionary, to compare with
    std::string out;
    int probes = 0, differences = 0;
    auto differ = [&](const std::string &what) {
        if (++differences <= 20) out += what + "\n";
    };
    auto probe = [&](uint16_t g, uint16_t e, const char *creator) {
        probes++;
        const DcmEVR mine = i2dcm::dictionaryVR(g, e, creator);
        const DcmEVR theirs = DcmTag(g, e, creator).getEVR();
        if (mine == theirs) return;
        char line[200];
        snprintf(line, sizeof line, "(%04x,%04x) creator '%s': %s here, %s in DCMTK", g, e, creator ? creator : "", DcmVR(mine).getVRName(),
                 DcmVR(theirs).getVRName());
        differ(line);
    };
    // Every entry at its bounds and just outside them, as written and (private) in other blocks, with
    // its creator, none, and another entry's; then pseudo-random tags with creators from the table.
    size_t n = 0;
    const i2dcm::DictionaryEntry *entries = i2dcm::dictionaryEntries(n);
    for (size_t i = 0; i < n; i++) {
        const i2dcm::DictionaryEntry &b = entries[i];
        const char *other = entries[(i * 7919 + 13) % n].privateCreator();
        const char *creators[] = {b.privateCreator(), nullptr, other};
        const uint16_t groups[] = {b.group, b.upperGroup, (uint16_t)(b.group - 1), (uint16_t)(b.upperGroup + 1), (uint16_t)(b.group | 1)};
        const uint16_t elements[] = {b.element, b.upperElement, (uint16_t)(b.element - 1), (uint16_t)(b.upperElement + 1),
                                     (uint16_t)(0x1000 | (b.element & 0xFF)), (uint16_t)(0x10FF & (0xFF00 | b.element)),
                                     (uint16_t)(0xFF00 | (b.upperElement & 0xFF)), (uint16_t)(0x4200 | ((b.element + 1) & 0xFF))};
        for (const char *c : creators)
            for (uint16_t g : groups)
                for (uint16_t e : elements) probe(g, e, c);
        probes++;
        if (strcmp(i2dcm::vrName(b.evr), DcmVR(b.evr).getValidVRName()) != 0) differ(std::string("VR name of ") + DcmVR(b.evr).getVRName());
    }
    uint32_t x = 2463534242u;
    for (int k = 0; k < 200000; k++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        const i2dcm::DictionaryEntry &b = entries[x % n];
        uint32_t y = x * 2654435761u;
        probe((uint16_t)(y >> 16), (uint16_t)y, (x & 3) == 0 ? nullptr : b.privateCreator());
        probe(b.group, (uint16_t)(y & 0xFFFF), b.privateCreator());
    }
    // VR names of every VR DCMTK has (the dictionary's and the unknown one).
    for (int v = 0; v <= (int)EVR_UNKNOWN2B; v++) {
        probes++;
        if (strcmp(i2dcm::vrName((DcmEVR)v), DcmVR((DcmEVR)v).getValidVRName()) != 0) differ(std::string("VR name of ") + DcmVR((DcmEVR)v).getVRName());
    }
    // Transfer syntaxes: each of DcmXfer's as the table has it, and the table has no other.
    size_t known = 0;
    for (int t = 0; t < 256; t++) {
        DcmXfer x((E_TransferSyntax)t);
        if (x.getXfer() == EXS_Unknown || !*x.getXferID()) continue;
        probes++;
        known++;
        const i2dcm::TransferSyntax *mine = i2dcm::transferSyntax(x.getXferID());
        if (!mine || mine->littleEndian != x.isLittleEndian() || mine->implicitVR != x.isImplicitVR() ||
            mine->deflated != (x.getStreamCompression() != ESC_none) || mine->encapsulated != x.isEncapsulated())
            differ(std::string("transfer syntax ") + x.getXferID());
    }
    size_t listed = 0;
    i2dcm::transferSyntaxes(listed);
    if (listed != known) differ("transfer syntaxes: " + std::to_string(listed) + " in the table, " + std::to_string(known) + " in DCMTK");
    char tail[120];
    snprintf(tail, sizeof tail, "%d probes, %d differences\n", probes, differences);
    out += tail;
    if (report && reportlen) snprintf(report, reportlen, "%s", out.c_str());
    return differences;
}
