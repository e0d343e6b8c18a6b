// The shim's shared internals (Shim.hpp): codec set-up, the message helper, opening files, and the
// file meta reader.
#include "Shim.hpp"

#include <dcmtk/dcmdata/dcistrmf.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <unistd.h>

namespace i2dcm {

// Codecs register once per process; DCMTK's registries are global.
void registerCodecs() {
    static std::once_flag once;
    std::call_once(once, [] {
        OFLog::configure(OFLogger::FATAL_LOG_LEVEL);  // errors reach Swift as statuses, not log lines
        installDictionary();
        DcmRLEDecoderRegistration::registerCodecs();
        DJDecoderRegistration::registerCodecs();
        DJLSDecoderRegistration::registerCodecs();
        registerJ2K();   // Debian's DCMTK has no JPEG 2000 codec: OpenJPEG through J2K.cpp
    });
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

int openFile(DcmFileFormat &ff, const char *path, Uint32 maxRead, const DcmTagKey *stopAt, char *err, size_t errlen) {
    registerCodecs();
    unsigned char head[132];
    ssize_t n = readHead(path, head, sizeof head);
    if (n < 0) return cannotOpen(err, errlen);
    bool part10 = n == 132 && memcmp(head + 128, "DICM", 4) == 0;
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
            return say(err, errlen, "transfer syntax " + uid + " (" + name + ") is not supported: DCMTK " +
                                        OFFIS_DCMTK_VERSION_STRING + " cannot read it", I2DCM_BAD_INPUT);
        }
        return say(err, errlen, std::string("cannot read DICOM: ") + c.text(), I2DCM_BAD_INPUT);
    }
    return I2DCM_OK;
}

/// True when an explicit VR element with this VR has a 4-byte length (PS3.5 7.1.2).
static bool longLength(const unsigned char *vr) {
    static const char *const vrs[] = {"OB", "OW", "OF", "OD", "OL", "OV", "SQ", "UT", "UN", "UC", "UR"};
    for (const char *v : vrs) if (vr[0] == v[0] && vr[1] == v[1]) return true;
    return false;
}

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
