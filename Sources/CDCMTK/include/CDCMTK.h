// The C ABI over DCMTK that Swift sees (through I2DICOM only).
// Why a shim: Swift's C++ interop imports DCMTK only partly (methods returning pointers and the
// DCM_* tag macros do not import), so this plain-C header with opaque handles is the seam, and the
// Swift targets stay out of C++ interop mode. Every exported name starts with i2dcm_ (I2DCM_ for
// constants). A function that can fail returns an i2dcm status (below) and, where it can say why,
// writes the reason into `err`; I2DICOM's Condition.swift is the one place a status becomes an error.
#ifndef CDCMTK_H
#define CDCMTK_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/// Statuses: 0 or a non-negative count is success; a failure is one of these negative values.
enum {
    I2DCM_OK = 0,
    I2DCM_BAD_INPUT = -1,   // truncated, malformed or unsupported data
    I2DCM_NOT_DICOM = -2,   // not a DICOM file at all
    I2DCM_NOT_FOUND = -3,   // the named file does not exist
    I2DCM_STORAGE = -4,     // a file cannot be opened, read or written (permissions, disk full, I/O error)
    I2DCM_INTERNAL = -5,    // the shim was called in a way it does not support: a bug in i2
};

/// A DICOM data set (with its file meta information when read from a Part 10 file).
typedef struct i2dcm_file i2dcm_file;

/// Reads a DICOM file. Pixel data is loaded lazily (on i2dcm_pixels). Returns NULL on failure with
/// *status set (I2DCM_NOT_DICOM when the file has no DICM prefix and no parseable data set).
i2dcm_file *i2dcm_open(const char *path, int *status, char *err, size_t errlen);
/// For a file i2dcm_open refused: the attributes before the pixel data, when those can still be read
/// (a truncated file), so the caller can tell which series it belonged to. NULL otherwise.
i2dcm_file *i2dcm_open_damaged(const char *path);
/// An empty data set, for writing.
i2dcm_file *i2dcm_new(void);
void i2dcm_free(i2dcm_file *f);

/// The value of the element at `path`, all values joined by '\'. `path` is DCMTK path syntax with tags
/// as "(gggg,eeee)" (I2DICOM builds them from its tag table, Tag.swift), e.g. a nested
/// "SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing" written with tag numbers.
/// Returns the full value length (which may exceed buflen-1: the copy is truncated), or -1 when absent.
int i2dcm_get(i2dcm_file *f, const char *path, char *buf, size_t buflen);
/// i2dcm_get of the top-level element (group, elem), without building and parsing a path (the scan
/// reads ~20 attributes of every file).
int i2dcm_get_tag(i2dcm_file *f, uint16_t group, uint16_t elem, char *buf, size_t buflen);
/// Like i2dcm_get for one tag, but the first occurrence anywhere, nested sequences included (depth
/// first, in tag order): how dcm2niix reads attributes that vendors nest in private sequences.
int i2dcm_get_nested(i2dcm_file *f, uint16_t group, uint16_t elem, char *buf, size_t buflen);
/// Like i2dcm_get_bytes, but the first occurrence anywhere, nested sequences included.
long i2dcm_get_bytes_nested(i2dcm_file *f, uint16_t group, uint16_t elem, const uint8_t **data);
/// The raw bytes of the top-level element (group, elem) (e.g. a private OB such as Siemens' CSA header),
/// valid until `f` is freed; -1 when absent or not a byte value.
long i2dcm_get_bytes(i2dcm_file *f, uint16_t group, uint16_t elem, const uint8_t **data);
/// Number of items in the sequence at `path`, or -1 when absent.
int i2dcm_items(i2dcm_file *f, const char *path);
/// String value of (group,elem) in item `index` of the top-level sequence (seqGroup,seqElem), found by
/// the element actually read, not the dictionary: works for private sequences DCMTK's dictionary does not
/// know (which path syntax cannot enter). Returns the length, or -1 when absent.
int i2dcm_get_in_item(i2dcm_file *f, uint16_t seqGroup, uint16_t seqElem, int index, uint16_t group, uint16_t elem,
                      char *buf, size_t buflen);
/// The transfer syntax UID the data set was read in ("" when unknown).
int i2dcm_transfer_syntax(i2dcm_file *f, char *buf, size_t buflen);
/// Tests only: opens `path` with the fast header index and with DCMTK and compares every element the
/// index holds. -1 when the index does not take the file, else the number of differences (described
/// in `report`).
int i2dcm_fast_check(const char *path, char *report, size_t reportlen);
/// Tests only: compares each table the fast index copies from DCMTK (dictionary VRs, VR names, transfer
/// syntaxes, number text: DicomTables.hpp) with DCMTK's own; the number of differences (described in
/// `report`, with the number of probes).
int i2dcm_tables_check(char *report, size_t reportlen);
/// Length in bytes of the (still encoded) pixel data as stored, or -1 when there is none (only its
/// presence is asked: encapsulated data may answer with its fragments' bytes).
long i2dcm_pixel_length(i2dcm_file *f);
/// How the pixel data is stored: 0 native (*bytes = the value's length), 1 encapsulated (*fragments =
/// its fragments without the Basic Offset Table, *bytes = their total length), -1 no pixel data.
int i2dcm_pixel_layout(i2dcm_file *f, long *fragments, long *bytes);

/// For a file read by the fast index with native pixel data: the file offset of the pixel value (whose
/// length i2dcm_pixel_layout gives), so it can be read in place; -1 otherwise.
long i2dcm_pixel_offset(i2dcm_file *f);

/// Decodes all frames of the pixel data (decompressing any transfer syntax DCMTK has a codec for)
/// and copies `len` bytes of native little-endian pixels into `dst`. Fails when the pixel data is
/// missing, shorter than `len`, or in a transfer syntax no codec decodes.
int i2dcm_pixels(i2dcm_file *f, void *dst, size_t len, char *err, size_t errlen);

/// Sets the element at `path` (creating sequences and items along the way) from a string value
/// ('\'-separated for multiple values). An empty value writes an empty element (or an empty sequence).
int i2dcm_put(i2dcm_file *f, const char *path, const char *value, char *err, size_t errlen);
/// Copies the element (or sequence) `group,elem` from one data set to another when present (-1 when absent).
int i2dcm_copy(i2dcm_file *from, i2dcm_file *to, uint16_t group, uint16_t elem);
/// Sets native pixel data (OW when bits_allocated > 8, else OB).
int i2dcm_put_pixels(i2dcm_file *f, const void *data, size_t len, int bits_allocated, char *err, size_t errlen);
/// Sets an OB element (e.g. EncapsulatedDocument) to `len` bytes (odd lengths are padded by DCMTK).
int i2dcm_put_bytes(i2dcm_file *f, uint16_t group, uint16_t elem, const void *data, size_t len, char *err, size_t errlen);
/// Saves as a Part 10 file in explicit VR little endian with a fresh file meta header.
int i2dcm_save(i2dcm_file *f, const char *path, char *err, size_t errlen);

/// What the file meta information (group 0002) of a Part 10 file says, and where its data set starts.
typedef struct {
    int part10;                 // 1 when the file has the 128-byte preamble and "DICM"
    char sop_class[65];         // MediaStorageSOPClassUID ("" when absent)
    char sop_instance[65];      // MediaStorageSOPInstanceUID
    char transfer_syntax[65];   // TransferSyntaxUID
    long data_set_offset;       // byte offset of the data set (0 for a file without meta header)
} i2dcm_meta_info;

/// Reads only the file meta information of `path` (one read of its first bytes in the common case).
/// Why a shim: `i2 send` plans presentation contexts and `i2 receive` compares stored copies from this
/// header alone, for every file, without parsing data sets.
int i2dcm_meta(const char *path, i2dcm_meta_info *meta, char *err, size_t errlen);

/// Called once, first thing in the process (before any thread starts): when DCMDICTPATH is unset, sets
/// it to /dev/null, which has DCMTK create its dictionary empty for i2's compiled-in entries, so that
/// the environment never changes later (setenv racing another thread's getenv). Returns 1 when it set
/// the variable: i2's commands' children must not inherit it (RunningCommand drops it). A process that
/// never calls this (the unit tests) gets the same dictionary by a brief set-and-unset instead.
int i2dcm_prepare_environment(void);

/// Starts loading libi2dcmtk.so (and DCMTK's set-up) on a thread of its own, for a command sure to need
/// it: the load (~10 ms) then runs beside the command's other work instead of at its first DCMTK call.
void i2dcm_preload(void);

/// DCMTK's dictionary keyword for a tag ("" when it has none); returns its length.
/// Why: so the tests can check that every keyword in I2DICOM's tag table is the one the standard (and
/// DCMTK) uses.
int i2dcm_tag_keyword(uint16_t group, uint16_t elem, char *buf, size_t buflen);

#ifdef __cplusplus
}
#endif
#endif
