// The plain-C API of CDCMTK.h for data sets: answers from the fast index (CDCMTK's FastHeader) where it
// can give DCMTK's answer, from libi2dcmtk.so (Library.hpp) otherwise. A conversion of plain files
// never loads DCMTK (DicomTables.cpp says why that matters).
#include "File.hpp"

#include "DicomTables.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using i2dcm::FastNode;
using i2dcm::library;

/// Whether DCMTK's reading would call `path` "not a DICOM file" (the library's openFile), decided
/// without it so that a README or a PDF beside the images does not load DCMTK: a regular file of at
/// most 4 MiB with no Part 10 preamble, no meta group at its start, and neither the tag of SOP Class
/// UID (which a bare data set needs to be taken) nor an item tag (the library's nesting check looks
/// only at items) in either byte order anywhere in it. Anything else is left to DCMTK.
static bool plainlyNotDicom(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    std::string bytes;
    char head[132];
    bool small = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= (4 << 20);
    // A Part 10 file (the usual reason the index declined: big endian, deflate, damage) is decided by
    // its first bytes, without reading the rest.
    if (small && st.st_size >= 132 && pread(fd, head, sizeof head, 0) == (ssize_t)sizeof head && memcmp(head + 128, "DICM", 4) == 0) small = false;
    if (small) {
        bytes.resize((size_t)st.st_size);
        size_t done = 0;
        while (done < bytes.size()) {
            ssize_t n = pread(fd, &bytes[done], bytes.size() - done, (off_t)done);
            if (n <= 0) break;
            done += (size_t)n;
        }
        small = done == bytes.size();
    }
    close(fd);
    if (!small) return false;
    if (bytes.size() >= 132 && bytes.compare(128, 4, "DICM") == 0) return false;
    if (bytes.size() >= 2 && ((bytes[0] == 2 && bytes[1] == 0) || (bytes[0] == 0 && bytes[1] == 2))) return false;
    static const char patterns[][4] = {{0x08, 0x00, 0x16, 0x00}, {0x00, 0x08, 0x00, 0x16}, {(char)0xFE, (char)0xFF, 0x00, (char)0xE0},
                                       {(char)0xFF, (char)0xFE, (char)0xE0, 0x00}};
    for (const auto &p : patterns)
        if (bytes.find(std::string(p, 4)) != std::string::npos) return false;
    return true;
}

extern "C" i2dcm_file *i2dcm_open(const char *path, int *status, char *err, size_t errlen) {
    if (i2dcm::fastHeadersEnabled()) {
        if (auto fast = i2dcm::FastHeader::open(path)) {
            if (fast->pixelKind == 1) i2dcm::preload();   // compressed: decoding will need DCMTK
            auto *f = new i2dcm_file();
            f->fast = std::move(fast);
            f->path = path;
            *status = I2DCM_OK;
            return f;
        }
        if (plainlyNotDicom(path)) {
            i2dcm::fastDebug(path, "not DICOM (told without DCMTK)");
            if (err && errlen) snprintf(err, errlen, "not a DICOM file");
            *status = I2DCM_NOT_DICOM;
            return nullptr;
        }
        i2dcm::fastDebug(path, "DCMTK reads it");
    }
    i2dcmx_file *d = library().open(path, status, err, errlen);
    return d ? new i2dcm_file(d) : nullptr;
}

i2dcmx_file *i2dcm_file::dcm() {
    if (!d) {
        i2dcm::fastDebug(path.c_str(), "a query needs DCMTK's reading");
        // The file parsed cleanly a moment ago; should it have changed since, DCMTK's reading of it
        // is what every later query sees (its own errors then come from the decode or lookups).
        int status = 0;
        char err[256];
        d = library().open(path.c_str(), &status, err, sizeof err);
        if (!d) d = library().new_file();   // gone since: an empty data set answers "absent"
    }
    return d;
}

extern "C" i2dcm_file *i2dcm_open_damaged(const char *path) {
    i2dcmx_file *d = library().open_damaged(path);
    return d ? new i2dcm_file(d) : nullptr;
}

extern "C" i2dcm_file *i2dcm_new(void) { return new i2dcm_file(library().new_file()); }

extern "C" void i2dcm_free(i2dcm_file *f) { delete f; }

// ---- Answers from the fast index -------------------------------------------------------------------
// Each returns true when the index answered (a value, or -1 for absent), false when DCMTK must.

/// The text of `node` into buf as DCMTK's copy gives it: -1 for no node or a sequence.
static bool fastText(i2dcm_file *f, int node, char *buf, size_t buflen, int &result) {
    if (node < 0 || f->fast->nodes[node].kind != FastNode::Leaf) { result = -1; return true; }
    std::string value;
    if (!f->fast->text(node, value)) return false;
    if (buf && buflen) snprintf(buf, buflen, "%s", value.c_str());
    result = (int)value.size();
    return true;
}

static bool fastBytes(i2dcm_file *f, int node, const uint8_t **data, long &result) {
    if (node < 0 || f->fast->nodes[node].kind != FastNode::Leaf) { result = -1; return true; }
    long count = 0;
    int got = f->fast->bytes(node, data, &count);
    if (got < 0) return false;
    result = got ? count : -1;
    return true;
}

/// The node at a read path "(gggg,eeee)[i].(gggg,eeee)…", as the library's walk reads it; false for a
/// path this walk does not take (a keyword, other spellings: DCMTK answers those).
static bool fastWalk(i2dcm_file *f, const char *path, int &node) {
    const i2dcm::FastHeader &h = *f->fast;
    node = -1;
    int item = -1;   // -1: the data set
    const char *p = path;
    for (;;) {
        unsigned g, e;
        int used = 0;
        if (!i2dcm::parseTag(p, g, e, used)) return false;
        p += used;
        int el = h.child(item, g << 16 | e);
        if (el < 0) { node = -1; return true; }
        node = el;
        if (*p == '[') {
            char *end = nullptr;
            unsigned long index = strtoul(p + 1, &end, 10);
            if (!end || *end != ']') return false;
            if (h.nodes[el].kind != FastNode::Sequence) { node = -1; return true; }
            node = item = h.item(el, (long)index);
            if (item < 0) return true;
            p = end + 1;
        } else {
            item = -2;   // an element: nothing may follow it
        }
        if (*p == 0) return true;
        if (*p != '.' || item == -2) { node = -1; return true; }
        p++;
    }
}

// ---- The API --------------------------------------------------------------------------------------

extern "C" int i2dcm_get(i2dcm_file *f, const char *path, char *buf, size_t buflen) {
    int node, result;
    if (f->fast && fastWalk(f, path, node)) {
        if (node >= 0 && f->fast->nodes[node].kind == FastNode::Item) return -1;
        if (fastText(f, node, buf, buflen, result)) return result;
    }
    return library().get(f->dcm(), path, buf, buflen);
}

extern "C" int i2dcm_get_tag(i2dcm_file *f, uint16_t group, uint16_t elem, char *buf, size_t buflen) {
    int result;
    if (f->fast && fastText(f, f->fast->top((uint32_t)group << 16 | elem), buf, buflen, result)) return result;
    return library().get_tag(f->dcm(), group, elem, buf, buflen);
}

extern "C" int i2dcm_get_nested(i2dcm_file *f, uint16_t group, uint16_t elem, char *buf, size_t buflen) {
    int result;
    if (f->fast && fastText(f, f->fast->nested((uint32_t)group << 16 | elem), buf, buflen, result)) return result;
    return library().get_nested(f->dcm(), group, elem, buf, buflen);
}

extern "C" long i2dcm_get_bytes_nested(i2dcm_file *f, uint16_t group, uint16_t elem, const uint8_t **data) {
    long result;
    if (f->fast && fastBytes(f, f->fast->nested((uint32_t)group << 16 | elem), data, result)) return result;
    return library().get_bytes_nested(f->dcm(), group, elem, data);
}

extern "C" long i2dcm_get_bytes(i2dcm_file *f, uint16_t group, uint16_t elem, const uint8_t **data) {
    long result;
    if (f->fast && fastBytes(f, f->fast->top((uint32_t)group << 16 | elem), data, result)) return result;
    return library().get_bytes(f->dcm(), group, elem, data);
}

extern "C" int i2dcm_items(i2dcm_file *f, const char *path) {
    int node;
    if (f->fast && fastWalk(f, path, node)) {
        return node >= 0 && f->fast->nodes[node].kind == FastNode::Sequence ? (int)f->fast->itemCount(node) : -1;
    }
    return library().items(f->dcm(), path);
}

extern "C" int i2dcm_get_in_item(i2dcm_file *f, uint16_t seqGroup, uint16_t seqElem, int index, uint16_t group,
                                 uint16_t elem, char *buf, size_t buflen) {
    if (f->fast) {
        int seq = f->fast->top((uint32_t)seqGroup << 16 | seqElem), result;
        int item = seq >= 0 ? f->fast->item(seq, index) : -1;
        if (fastText(f, item >= 0 ? f->fast->child(item, (uint32_t)group << 16 | elem) : -1, buf, buflen, result)) return result;
    }
    return library().get_in_item(f->dcm(), seqGroup, seqElem, index, group, elem, buf, buflen);
}

extern "C" int i2dcm_transfer_syntax(i2dcm_file *f, char *buf, size_t buflen) {
    if (f->fast) {
        snprintf(buf, buflen, "%s", f->fast->transferSyntax.c_str());
        return 0;
    }
    return library().transfer_syntax(f->dcm(), buf, buflen);
}

extern "C" long i2dcm_pixel_length(i2dcm_file *f) {
    if (f->fast) return f->fast->pixelKind < 0 ? -1 : f->fast->pixelBytes;
    return library().pixel_length(f->dcm());
}

extern "C" int i2dcm_pixel_layout(i2dcm_file *f, long *fragments, long *bytes) {
    *fragments = 0;
    *bytes = 0;
    if (f->fast) {
        if (f->fast->pixelKind < 0) return -1;
        *fragments = f->fast->pixelFragments;
        *bytes = f->fast->pixelBytes;
        return f->fast->pixelKind;
    }
    return library().pixel_layout(f->dcm(), fragments, bytes);
}

extern "C" long i2dcm_pixel_offset(i2dcm_file *f) {
    return f->fast && f->fast->pixelKind == 0 ? (long)f->fast->pixelOffset : -1;
}

extern "C" int i2dcm_pixels(i2dcm_file *f, void *dst, size_t len, char *err, size_t errlen) {
    f->changing();   // decoding replaces the pixel data's representation (and J2K may set attributes)
    return library().pixels(f->dcm(), dst, len, err, errlen);
}

extern "C" int i2dcm_put(i2dcm_file *f, const char *path, const char *value, char *err, size_t errlen) {
    f->changing();
    return library().put(f->dcm(), path, value, err, errlen);
}

extern "C" int i2dcm_copy(i2dcm_file *from, i2dcm_file *to, uint16_t group, uint16_t elem) {
    to->changing();
    return library().copy(from->dcm(), to->dcm(), group, elem);
}

extern "C" int i2dcm_put_pixels(i2dcm_file *f, const void *data, size_t len, int bits_allocated, char *err, size_t errlen) {
    f->changing();
    return library().put_pixels(f->dcm(), data, len, bits_allocated, err, errlen);
}

extern "C" int i2dcm_put_bytes(i2dcm_file *f, uint16_t group, uint16_t elem, const void *data, size_t len, char *err, size_t errlen) {
    f->changing();
    return library().put_bytes(f->dcm(), group, elem, data, len, err, errlen);
}

extern "C" int i2dcm_save(i2dcm_file *f, const char *path, char *err, size_t errlen) {
    return library().save(f->dcm(), path, err, errlen);
}

extern "C" int i2dcm_meta(const char *path, i2dcm_meta_info *meta, char *err, size_t errlen) {
    return library().meta(path, meta, err, errlen);
}

extern "C" int i2dcm_tag_keyword(uint16_t group, uint16_t elem, char *buf, size_t buflen) {
    return library().tag_keyword(group, elem, buf, buflen);
}

extern "C" int i2dcm_fast_check(const char *path, char *report, size_t reportlen) {
    return library().fast_check(path, report, reportlen);
}

extern "C" int i2dcm_tables_check(char *report, size_t reportlen) { return library().tables_check(report, reportlen); }

// ---- Segmentations ----------------------------------------------------------------------------------

extern "C" int i2dcm_seg_frames(i2dcm_file *f, int count, int32_t *segment, double *position, char *source_uids, uint32_t *index,
                                int32_t *index_count, char *err, size_t errlen) {
    int result;
    if (f->fast && i2dcm::fastSegFrames(*f->fast, count, segment, position, source_uids, index, index_count, result)) return result;
    return library().seg_frames(f->dcm(), count, segment, position, source_uids, index, index_count, err, errlen);
}

extern "C" int i2dcm_seg_segments(i2dcm_file *f, int count, int32_t *number, int64_t *original_label) {
    int result;
    if (f->fast && i2dcm::fastSegSegments(*f->fast, count, number, original_label, result)) return result;
    return library().seg_segments(f->dcm(), count, number, original_label);
}

extern "C" const void *i2dcm_seg_pixel_data(i2dcm_file *f, size_t *len) { return library().seg_pixel_data(f->dcm(), len); }

extern "C" int i2dcm_seg_pixel_read(i2dcm_file *f, size_t offset, size_t n, void *dst, size_t *len, char *err, size_t errlen) {
    if (f->fast && n == 0) {   // the length only: the index has it
        if (len) *len = 0;
        if (f->fast->pixelKind != 0) return 1;
        if (len) *len = (size_t)f->fast->pixelBytes;
        return I2DCM_OK;
    }
    return library().seg_pixel_read(f->dcm(), offset, n, dst, len, err, errlen);
}

extern "C" int i2dcm_seg_fragments(i2dcm_file *f, int count, const void **data, size_t *len, char *err, size_t errlen) {
    return library().seg_fragments(f->dcm(), count, data, len, err, errlen);
}

extern "C" int i2dcm_seg_put_frames(i2dcm_file *f, int count, const int32_t *segment, const int32_t *slice, int slices,
                                    const char *slice_table, const char *dimension_uid, char *err, size_t errlen) {
    f->changing();
    return library().seg_put_frames(f->dcm(), count, segment, slice, slices, slice_table, dimension_uid, err, errlen);
}

extern "C" int i2dcm_rt_put_contours(i2dcm_file *f, int rois, const int32_t *roi_number, const uint8_t *colour, int contours,
                                     const int32_t *contour_roi, const int32_t *contour_slice, const int32_t *point_count,
                                     const float *pixels, const double *slice_origin, const double *axes, int slices,
                                     const char *slice_table, char *err, size_t errlen) {
    f->changing();
    return library().rt_put_contours(f->dcm(), rois, roi_number, colour, contours, contour_roi, contour_slice, point_count,
                                      pixels, slice_origin, axes, slices, slice_table, err, errlen);
}

extern "C" int i2dcm_seg_put_original_labels(i2dcm_file *f, int count, const int64_t *labels, char *err, size_t errlen) {
    f->changing();
    return library().seg_put_original_labels(f->dcm(), count, labels, err, errlen);
}

extern "C" int i2dcm_seg_save(i2dcm_file *f, const char *path, int rle, char *err, size_t errlen) {
    f->changing();
    return library().seg_save(f->dcm(), path, rle, err, errlen);
}
