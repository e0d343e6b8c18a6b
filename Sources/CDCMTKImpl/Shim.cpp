// The shim's shared internals (Shim.hpp): codec set-up, the message helper, opening files, and the
// file meta reader.
#include "Shim.hpp"

#include <dcmtk/dcmdata/dcistrmf.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <vector>

namespace i2dcm {

// Codecs register once per process; DCMTK's registries are global.
void registerCodecs() {
    static std::once_flag once;
    std::call_once(once, [] {
        OFLog::configure(OFLogger::FATAL_LOG_LEVEL);  // errors reach Swift as statuses, not log lines
        installDictionary();
        DcmRLEDecoderRegistration::registerCodecs();
        DJDecoderRegistration::registerCodecs();
        registerJ2K();      // Debian's DCMTK has no JPEG 2000 codec: OpenJPEG through J2K.cpp
        registerJPEGLS();   // CharLS 2 through JPEGLS.cpp, not DCMTK's older and slower fork
    });
}

bool parseSliceTable(const char *table, int slices, std::vector<SourceSlice> &out) {
    std::vector<std::string> lines;
    const char *p = table;
    while (*p) {
        const char *nl = strchr(p, '\n');
        if (!nl) return false;
        lines.emplace_back(p, nl - p);
        p = nl + 1;
    }
    if ((int)lines.size() != 4 * slices) return false;
    out.resize(slices);
    for (int i = 0; i < slices; i++) out[i] = {lines[4 * i], lines[4 * i + 1], lines[4 * i + 2], lines[4 * i + 3]};
    return true;
}

int say(char *err, size_t errlen, const std::string &msg, int status) {
    if (err && errlen) snprintf(err, errlen, "%s", msg.c_str());
    return status;
}

ssize_t readHead(const char *path, unsigned char *buf, size_t n) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t got = pread(fd, buf, n, 0);
    int saved = errno;
    close(fd);
    errno = saved;
    return got;
}

/// The status for a file that cannot be opened, with errno's reason.
static int cannotOpen(char *err, size_t errlen) {
    int e = errno;
    return say(err, errlen, std::string("cannot open: ") + strerror(e), e == ENOENT || e == ENOTDIR ? I2DCM_NOT_FOUND : I2DCM_STORAGE);
}

// ---- Nesting depth ----------------------------------------------------------------------------
// DCMTK (3.6.7) parses sequences recursively with no depth limit: a data set nested ~6,000 sequences
// deep overflows a thread's stack (SIGSEGV), ~20,000 the main thread's. So before DCMTK sees a file,
// a flat walker follows its element structure over the raw bytes (values skipped by their lengths,
// never loaded) and refuses one nested deeper than kMaxSequenceDepth. Real data stays far below it
// (structured report content trees, the deepest in practice, have a few dozen levels).

namespace {

constexpr size_t kMaxSequenceDepth = 256;

/// Forward-only bytes of the data set: a mapped file, or the inflated stream of a deflated one.
class Source {
public:
    virtual ~Source() {}
    /// Exactly n bytes into buf; false at the end of the data.
    virtual bool read(unsigned char *buf, size_t n) = 0;
    /// Skips n bytes; false when the data ends first.
    virtual bool skip(uint64_t n) = 0;
    uint64_t pos = 0;
};

class MappedSource : public Source {
public:
    MappedSource(const unsigned char *d, size_t n, size_t start) : data(d), size(n) { pos = start; }
    bool read(unsigned char *buf, size_t n) override {
        if (pos + n > size) return false;
        memcpy(buf, data + pos, n);
        pos += n;
        return true;
    }
    bool skip(uint64_t n) override { if (n > size - pos) return false; pos += n; return true; }
private:
    const unsigned char *data;
    size_t size;
};

class InflatingSource : public Source {
public:
    InflatingSource(const unsigned char *d, size_t n) {
        memset(&z, 0, sizeof z);
        ok = inflateInit2(&z, -MAX_WBITS) == Z_OK;   // PS3.5 A.5: raw deflate, no zlib header
        z.next_in = const_cast<unsigned char *>(d);
        z.avail_in = (uInt)std::min<size_t>(n, UINT32_MAX);
    }
    ~InflatingSource() override { if (ok) inflateEnd(&z); }
    bool read(unsigned char *buf, size_t n) override { return pull(buf, n); }
    bool skip(uint64_t n) override {
        unsigned char scratch[16384];
        while (n > 0) {
            size_t k = (size_t)std::min<uint64_t>(n, sizeof scratch);
            if (!pull(scratch, k)) return false;
            n -= k;
        }
        return true;
    }
private:
    bool pull(unsigned char *buf, size_t n) {
        if (!ok) return false;
        z.next_out = buf;
        z.avail_out = (uInt)n;
        while (z.avail_out > 0) {
            int r = inflate(&z, Z_NO_FLUSH);
            if (r == Z_STREAM_END && z.avail_out > 0) return false;
            if (r != Z_OK && r != Z_STREAM_END) return false;
            if (r == Z_OK && z.avail_in == 0 && z.avail_out > 0) return false;
        }
        pos += n;
        return true;
    }
    z_stream z;
    bool ok = false;
};

struct Container {
    uint64_t end;       // UINT64_MAX: undefined length (ends with a delimiter)
    bool item;          // an item (holds elements) or a sequence (holds items)
    bool fragments;     // encapsulated pixel data: its items are opaque bytes
    bool implicit;      // the encoding inside (UN of undefined length is implicit VR, CP-246)
};

bool isSequenceInDictionary(uint16_t g, uint16_t e) { return DcmTag(g, e).getEVR() == EVR_SQ; }

/// Whether DCMTK reads an explicit VR element with these two VR bytes with a 4-byte length: asked of
/// DCMTK itself, so the walkers below agree with its parser for SV, UV and unknown VRs too (a list
/// without SV let a fuzzed meta header hide 30,000 nested sequences from the depth check).
bool extendedLength(const unsigned char *vr) {
    const char name[3] = {(char)vr[0], (char)vr[1], 0};
    return DcmVR(name).usesExtendedLengthEncoding();
}

/// The deepest sequence nesting of the data set in `src`, stopping (with what it found so far) where
/// the bytes end or stop making sense: DCMTK then reports the damage itself.
size_t deepestNesting(Source &src, bool implicitVR, bool bigEndian) {
    std::vector<Container> stack;
    size_t deepest = 0, sequences = 0;
    auto u16 = [&](const unsigned char *b) -> uint16_t { return bigEndian ? (uint16_t)(b[0] << 8 | b[1]) : (uint16_t)(b[0] | b[1] << 8); };
    auto u32 = [&](const unsigned char *b) -> uint32_t {
        return bigEndian ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]
                         : (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
    };
    auto push = [&](Container c) {
        if (!c.item) { sequences++; deepest = std::max(deepest, sequences); }
        stack.push_back(c);
    };
    auto pop = [&] { if (!stack.back().item) sequences--; stack.pop_back(); };
    for (;;) {
        while (!stack.empty() && src.pos >= stack.back().end) pop();
        if (deepest > kMaxSequenceDepth) return deepest;
        unsigned char h[12];
        if (!src.read(h, 8)) return deepest;
        uint16_t g = u16(h), e = u16(h + 2);
        if (g == 0xFFFE) {   // items and delimiters: tag and 4-byte length in every transfer syntax
            uint32_t len = u32(h + 4);
            if (e == 0xE000) {
                bool opaque = !stack.empty() && !stack.back().item && stack.back().fragments;
                if (opaque || stack.empty() || stack.back().item) { if (!src.skip(len == 0xFFFFFFFF ? 0 : len)) return deepest; continue; }
                push({len == 0xFFFFFFFF ? UINT64_MAX : src.pos + len, true, false, stack.back().implicit});
            } else if (!stack.empty()) {
                pop();   // item or sequence delimitation item
            }
            continue;
        }
        bool implicit = stack.empty() ? implicitVR : stack.back().implicit;
        uint32_t len;
        char vr[3] = {0, 0, 0};
        if (implicit) {
            len = u32(h + 4);
        } else {
            vr[0] = (char)h[4]; vr[1] = (char)h[5];
            if (extendedLength(h + 4)) { if (!src.read(h + 8, 4)) return deepest; len = u32(h + 8); }
            else len = u16(h + 6);
        }
        bool undefined = len == 0xFFFFFFFF;
        bool pixelData = g == 0x7FE0 && e == 0x0010;
        bool sequence = implicit ? (undefined || isSequenceInDictionary(g, e)) : (strcmp(vr, "SQ") == 0 || undefined);
        if (pixelData && undefined) {
            push({UINT64_MAX, false, true, implicit});
        } else if (sequence) {
            bool inner = implicit || strcmp(vr, "UN") == 0;
            push({undefined ? UINT64_MAX : src.pos + len, false, false, inner});
        } else if (!src.skip(len)) {
            return deepest;
        }
    }
}

}  // namespace

/// I2DCM_OK, or I2DCM_BAD_INPUT with `err` set for a data set nested deeper than DCMTK can safely parse.
static int checkNesting(const char *path, char *err, size_t errlen) {
    Meta meta;
    if (readMeta(path, meta, nullptr, 0) != I2DCM_OK) return I2DCM_OK;   // openFile reports it
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return I2DCM_OK;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= meta.dataSetOffset) { close(fd); return I2DCM_OK; }
    size_t size = (size_t)st.st_size;
    void *map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return I2DCM_OK;
    const unsigned char *d = (const unsigned char *)map;
    size_t start = (size_t)meta.dataSetOffset;
    const std::string &ts = meta.transferSyntax;
    bool implicitVR, bigEndian = ts == "1.2.840.10008.1.2.2";
    if (meta.part10) implicitVR = ts == "1.2.840.10008.1.2";
    else implicitVR = !(size >= 6 && isupper(d[4]) && isupper(d[5]));   // a bare data set: guess as DCMTK does
    size_t deepest;
    if (ts == "1.2.840.10008.1.2.1.99") {
        InflatingSource src(d + start, size - start);
        deepest = deepestNesting(src, false, false);
    } else {
        MappedSource src(d, size, start);
        deepest = deepestNesting(src, implicitVR, bigEndian);
    }
    munmap(map, size);
    if (deepest > kMaxSequenceDepth)
        return say(err, errlen, "sequences nested more than " + std::to_string(kMaxSequenceDepth) +
                                    " levels deep (refused: DCMTK would overflow its stack parsing them)", I2DCM_BAD_INPUT);
    return I2DCM_OK;
}

int openFile(DcmFileFormat &ff, const char *path, Uint32 maxRead, const DcmTagKey *stopAt, char *err, size_t errlen) {
    registerCodecs();
    unsigned char head[132];
    ssize_t n = readHead(path, head, sizeof head);
    if (n < 0) return cannotOpen(err, errlen);
    bool part10 = n == 132 && memcmp(head + 128, "DICM", 4) == 0;
    if (int status = checkNesting(path, err, errlen)) return status;
    E_FileReadMode mode = part10 ? ERM_fileOnly : ERM_autoDetect;
    OFCondition c = stopAt ? ff.loadFileUntilTag(path, EXS_Unknown, EGL_noChange, maxRead, mode, *stopAt)
                           : ff.loadFile(path, EXS_Unknown, EGL_noChange, maxRead, mode);
    if (!part10 && (c.bad() || !ff.getDataset()->tagExists(DCM_SOPClassUID))) {
        return say(err, errlen, "not a DICOM file", I2DCM_NOT_DICOM);
    }
    if (c.bad()) {
        // DCMTK 3.6.7 cannot parse a file whose transfer syntax it does not know (e.g. High-Throughput
        // JPEG 2000, 1.2.840.10008.1.2.4.201-203, newer than it) and blames the meta header:
        // name the syntax instead.
        Meta meta;
        if (part10 && readMeta(path, meta, nullptr, 0) == I2DCM_OK && !meta.transferSyntax.empty() &&
            DcmXfer(meta.transferSyntax.c_str()).getXfer() == EXS_Unknown) {
            std::string uid = meta.transferSyntax, name = "unknown";
            if (uid == "1.2.840.10008.1.2.4.201") name = "High-Throughput JPEG 2000 (Lossless Only)";
            else if (uid == "1.2.840.10008.1.2.4.202") name = "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)";
            else if (uid == "1.2.840.10008.1.2.4.203") name = "High-Throughput JPEG 2000";
            else if (uid == "1.2.840.10008.1.2.8.1") name = "Deflated Image Frame Compression";   // DICOM 2023, after 3.6.7
            return say(err, errlen, "transfer syntax " + uid + " (" + name + ") is not supported: DCMTK " +
                                        OFFIS_DCMTK_VERSION_STRING + " cannot read it", I2DCM_BAD_INPUT);
        }
        return say(err, errlen, std::string("cannot read DICOM: ") + c.text(), I2DCM_BAD_INPUT);
    }
    return I2DCM_OK;
}

/// True when an explicit VR element with this VR has a 4-byte length (PS3.5 7.1.2).
static bool longLength(const unsigned char *vr) { return extendedLength(vr); }

int readMeta(const char *path, Meta &meta, char *err, size_t errlen) {
    meta = Meta();
    unsigned char buf[8192];
    ssize_t n = readHead(path, buf, sizeof buf);
    if (n < 0) return cannotOpen(err, errlen);
    if (n < 132 || memcmp(buf + 128, "DICM", 4) != 0) return I2DCM_OK;
    meta.part10 = true;
    // Group 0002 is explicit VR little endian, right after "DICM".
    size_t pos = 132;
    bool complete = false;
    while (pos + 8 <= (size_t)n) {
        unsigned group = buf[pos] | buf[pos + 1] << 8, elem = buf[pos + 2] | buf[pos + 3] << 8;
        if (group != 0x0002) { complete = true; break; }
        bool isLong = longLength(buf + pos + 4);
        size_t head = isLong ? 12 : 8;
        if (pos + head > (size_t)n) break;
        uint32_t len = isLong ? (uint32_t)(buf[pos + 8] | buf[pos + 9] << 8 | buf[pos + 10] << 16 | (uint32_t)buf[pos + 11] << 24)
                              : (uint32_t)(buf[pos + 6] | buf[pos + 7] << 8);
        if (len == 0xFFFFFFFF || pos + head + len > (size_t)n) break;
        std::string value((const char *)buf + pos + head, len);
        while (!value.empty() && (value.back() == 0 || value.back() == ' ')) value.pop_back();
        if (elem == 0x0002) meta.sopClass = value;
        else if (elem == 0x0003) meta.sopInstance = value;
        else if (elem == 0x0010) meta.transferSyntax = value;
        pos += head + len;
    }
    if (complete || (pos == (size_t)n && n < (ssize_t)sizeof buf)) { meta.dataSetOffset = (long)pos; return I2DCM_OK; }
    // A meta group beyond the first read, or an unusual one: let DCMTK read it.
    registerCodecs();   // the dictionary set-up
    DcmInputFileStream stream(path);
    if (stream.status().bad()) return say(err, errlen, std::string("cannot read: ") + stream.status().text(), I2DCM_STORAGE);
    DcmMetaInfo info;
    info.transferInit();
    OFCondition c = info.read(stream, EXS_Unknown, EGL_noChange);
    info.transferEnd();
    if (c.bad()) return say(err, errlen, std::string("cannot read the file meta information: ") + c.text(), I2DCM_BAD_INPUT);
    OFString v;
    if (info.findAndGetOFString(DCM_MediaStorageSOPClassUID, v).good()) meta.sopClass = v.c_str();
    if (info.findAndGetOFString(DCM_MediaStorageSOPInstanceUID, v).good()) meta.sopInstance = v.c_str();
    if (info.findAndGetOFString(DCM_TransferSyntaxUID, v).good()) meta.transferSyntax = v.c_str();
    meta.dataSetOffset = (long)stream.tell();
    return I2DCM_OK;
}

}  // namespace i2dcm

extern "C" int i2dcmx_version(void) { return I2DCMTK_LIBRARY_VERSION; }

extern "C" void i2dcmx_set_up(void) { i2dcm::registerCodecs(); }
