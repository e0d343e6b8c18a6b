// Internal to the shim: the tables the fast index shares with DCMTK, copied so that reading a plain
// file needs no DCMTK at all (i2 then never loads it: DicomTables.cpp says why). The DCMTK side
// (CDCMTKImpl) installs the same dictionary into DCMTK, and its tests compare every table with DCMTK's.
#pragma once
// DCMTK's enums only (no DCMTK code is called from here).
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdicent.h>
#include <dcmtk/dcmdata/dcvr.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace i2dcm {

/// The offset that stands for "no string" in a DictionaryEntry.
constexpr uint32_t I2_NO_STRING = UINT32_MAX;

/// One entry of DCMTK's data dictionary, as DcmDictEntry holds it. Its strings are offsets into one
/// pool (no pointers: the table needs no relocation when i2 starts).
struct DictionaryEntry {
    uint16_t group, element, upperGroup, upperElement;
    DcmEVR evr;
    uint32_t nameAt;
    int vmMin, vmMax;
    uint32_t versionAt;
    DcmDictRangeRestriction groupRestriction, elementRestriction;
    uint32_t creatorAt;

    const char *name() const;
    const char *version() const;
    /// Null for a public entry.
    const char *privateCreator() const;
};

/// DCMTK 3.6.7's default dictionary (DictionaryTable.h): `count` entries, exact ones first, then the
/// repeating ones in DCMTK's list order.
const DictionaryEntry *dictionaryEntries(size_t &count);

/// The VR DCMTK's dictionary gives (group, element) of private creator `creator` (null: none), as
/// DcmTag's lookup finds it: the exact entry, then a private tag's low element byte, then the
/// repeating entries in order. EVR_UNKNOWN when none.
DcmEVR dictionaryVR(uint16_t group, uint16_t element, const char *creator);

/// Whether the public dictionary has (group, element) as a sequence.
bool isPublicSequence(uint32_t tag);

/// DcmVR(evr).getValidVRName(): the VR written for `evr` ("OB" for ox, "US" for xs, "UN" for unknown…).
const char *vrName(DcmEVR evr);

/// A transfer syntax DCMTK 3.6.7 knows (DcmXfer).
struct TransferSyntax {
    const char *uid;
    bool littleEndian, implicitVR, deflated, encapsulated;
};

/// The transfer syntax `uid` names, or null when DCMTK does not know it.
const TransferSyntax *transferSyntax(const std::string &uid);
/// All of them (for the tests' comparison with DcmXfer).
const TransferSyntax *transferSyntaxes(size_t &count);

/// "(gggg,eeee)" exactly at `p` (the path syntax Tag/TagPath build): the tag and `used` = 11; false for
/// anything else.
bool parseTag(const char *p, unsigned &g, unsigned &e, int &used);

/// FL/FD text: "%.<precision>g" (9 digits for FL, 17 for FD: they read back exactly), "nan" for any NaN.
void formatNumber(char *buf, size_t size, double v, int precision);

}  // namespace i2dcm
