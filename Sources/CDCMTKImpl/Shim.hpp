// Internal to the shim (not part of the C API; every .cpp includes it): the data set handle, DCMTK's
// one-time set-up, the one message helper, the one way to open a file and the one file meta reader.
#pragma once
#include "DCMTKLibrary.h"
#include "DicomTables.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include <string>
#include <sys/types.h>
#include <unordered_map>
#include <utility>
#include <vector>

/// The library's data set handle (the executable's i2dcm_file holds one when DCMTK must answer).
struct i2dcmx_file {
    DcmFileFormat format;
    DcmFileFormat &dcm() { return format; }
    /// A file read by i2dcmx_open is only queried until something changes it: its top-level elements,
    /// in tag order, for a binary search instead of DCMTK's walk of the element list on every lookup
    /// (a scan asks ~100 attributes of each file). Built on the first lookup.
    std::vector<std::pair<Uint32, DcmElement *>> index;
    bool indexed = false;
    bool readOnly = false;   // set by i2dcmx_open; any change to the data set clears it for good
    /// The first object of each tag anywhere in the data set, in DCMTK's nested search order (depth
    /// first, each element before what it holds), after one walk: a nested lookup of an absent tag
    /// walked every item of an enhanced file (5,000+ frames) each time. Read-only files only.
    std::unordered_map<Uint32, DcmObject *> nested;
    bool nestedBuilt = false;
    /// A Segmentation's PerFrameFunctionalGroupsSequence, encoded (explicit VR little endian, undefined
    /// lengths) by i2dcmx_seg_put_frames and written after the data set by i2dcmx_seg_save.
    std::string perFrameEncoded;
    /// Every function that changes the data set calls this first: the indexes may point at freed elements.
    void changing() { readOnly = false; indexed = false; index.clear(); nestedBuilt = false; nested.clear(); }
};

namespace i2dcm {

/// Gives DCMTK its data dictionary from the compiled-in table (CDCMTK's DictionaryTable.h) instead of
/// parsing the text files, unless the user set DCMDICTPATH (Dictionary.cpp); called once, by registerCodecs.
void installDictionary();

/// Registers DCMTK's decoders (RLE, JPEG), i2's JPEG 2000 and JPEG-LS decoders (J2K.cpp, JPEGLS.cpp) and
/// silences its logger, after installDictionary; idempotent and thread-safe.
void registerCodecs();

/// Register the OpenJPEG-based JPEG 2000 decoder (J2K.cpp) and the CharLS-based JPEG-LS decoder
/// (JPEGLS.cpp) with DCMTK; called by registerCodecs.
void registerJ2K();
void registerJPEGLS();

/// One source slice of a derived object (SEG frames, RT contours), as the writers' slice tables give it.
struct SourceSlice { std::string position, sopClass, sopInstance, frame; };

/// Parses a slice table (four '\n'-terminated lines per slice: position, SOP class, SOP instance, frame
/// number or empty); false when it does not hold exactly `slices` slices.
bool parseSliceTable(const char *table, int slices, std::vector<SourceSlice> &out);

/// The one message helper: copies `msg` into the caller's error buffer (when it passed one) and
/// returns `status`, so a failure reads `return say(err, errlen, "why", I2DCM_BAD_INPUT);`.
int say(char *err, size_t errlen, const std::string &msg, int status = I2DCM_BAD_INPUT);

/// The first `n` bytes of `path` (fewer when the file is shorter), with one open and one pread.
/// -1 with errno set when the file cannot be opened or read.
ssize_t readHead(const char *path, unsigned char *buf, size_t n);

/// The one way the shim opens a DICOM file: reads `path` into `ff`, values longer than `maxRead`
/// left on disk until needed, stopping before `stopAt` when given (what came before stays in `ff`).
/// A file with the Part 10 preamble must parse as such; one without is read as a bare data set and
/// accepted only when it names a SOP Class UID (old ACR-NEMA style files). Returns I2DCM_OK, or with
/// `err` set: I2DCM_NOT_FOUND (no such file), I2DCM_STORAGE (cannot be opened), I2DCM_NOT_DICOM (no
/// preamble and no data set naming a SOP class), I2DCM_BAD_INPUT (a Part 10 file DCMTK cannot read).
int openFile(DcmFileFormat &ff, const char *path, Uint32 maxRead, const DcmTagKey *stopAt, char *err, size_t errlen);

/// An element's values as text, joined by '\' (DCMTK's getOFStringArray), except FL and FD: those are
/// written from their binary values with formatNumber, the fast index's text (exact: "%.9g" and
/// "%.17g" read back to the same value, where DCMTK's own conversion can lose the last digits).
OFCondition elementText(DcmElement *el, OFString &value);

/// The top-level element `key` of `f` (through its index when the file is read-only), or null.
DcmElement *topLevel(i2dcmx_file *f, const DcmTagKey &key);

/// The first element `key` anywhere in `f`, nested sequences included (what DCMTK's
/// findAndGetElement(key, el, searchIntoSub) finds), or null.
DcmElement *firstNested(i2dcmx_file *f, const DcmTagKey &key);

/// CDCMTKSegRead.h's SEG walks over a data set (SegRead.cpp); FastCheck.cpp compares the fast index's with them.
int segFrames(DcmDataset *ds, int count, int32_t *segment, double *position, char *source_uids, uint32_t *index,
              int32_t *index_count, char *err, size_t errlen);
int segSegments(DcmDataset *ds, int count, int32_t *number, int64_t *original_label);

/// The file meta information (group 0002) as the one meta reader finds it.
struct Meta {
    bool part10 = false;            // the file has the preamble and "DICM"
    std::string sopClass, sopInstance, transferSyntax;
    long dataSetOffset = 0;         // where the data set starts (0 without a meta header)
};

/// Reads the file meta information straight from the first bytes (one open, one read, where DCMTK
/// would open, seek and read several times), falling back to DCMTK for a meta group longer than that
/// first read. Returns I2DCM_OK (also for a file without preamble: then `part10` is false), or
/// I2DCM_NOT_FOUND / I2DCM_STORAGE / I2DCM_BAD_INPUT with `err` set.
int readMeta(const char *path, Meta &meta, char *err, size_t errlen);

}  // namespace i2dcm
