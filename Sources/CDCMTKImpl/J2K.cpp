// JPEG 2000 decoding (1.2.840.10008.1.2.4.90 lossless, .91 lossy) through OpenJPEG, as a FrameDecoder
// (FrameDecoder.hpp): Debian's DCMTK 3.6.7 has no JPEG 2000 codec of its own. OpenJPEG runs in strict
// mode (a truncated codestream is an error, not a partly grey image).
#include "FrameDecoder.hpp"

// Debian installs the header in a versioned folder (pkg-config libopenjp2 → -I/usr/include/openjpeg-2.5);
// naming it here keeps unsafe flags out of Package.swift.
#include <openjpeg-2.5/openjpeg.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <thread>

namespace {

using i2dcm::Codestream;
using i2dcm::Frame;

struct MemoryStream {
    const Uint8 *data;
    size_t size, pos;
};

OPJ_SIZE_T readBytes(void *dst, OPJ_SIZE_T n, void *user) {
    auto *s = static_cast<MemoryStream *>(user);
    if (s->pos >= s->size) return (OPJ_SIZE_T)-1;   // end of stream, as OpenJPEG expects it
    OPJ_SIZE_T k = std::min<OPJ_SIZE_T>(n, s->size - s->pos);
    memcpy(dst, s->data + s->pos, k);
    s->pos += k;
    return k;
}

OPJ_OFF_T skipBytes(OPJ_OFF_T n, void *user) {
    auto *s = static_cast<MemoryStream *>(user);
    if (n < 0) {
        OPJ_OFF_T back = std::min<OPJ_OFF_T>(-n, (OPJ_OFF_T)s->pos);
        s->pos -= (size_t)back;
        return -back;
    }
    OPJ_OFF_T k = std::min<OPJ_OFF_T>(n, (OPJ_OFF_T)(s->size - s->pos));
    s->pos += (size_t)k;
    return k;
}

OPJ_BOOL seekTo(OPJ_OFF_T to, void *user) {
    auto *s = static_cast<MemoryStream *>(user);
    if (to < 0 || (size_t)to > s->size) return OPJ_FALSE;
    s->pos = (size_t)to;
    return OPJ_TRUE;
}

void keepMessage(const char *msg, void *user) {
    auto *s = static_cast<std::string *>(user);
    if (s->empty() && msg) {
        *s = msg;
        while (!s->empty() && (s->back() == '\n' || s->back() == ' ')) s->pop_back();
    }
}
void ignoreMessage(const char *, void *) {}

class J2KDecoder : public i2dcm::FrameDecoder {
public:
    const char *name() const override { return "JPEG 2000"; }

    bool decodes(E_TransferSyntax from) const override { return from == EXS_JPEG2000LosslessOnly || from == EXS_JPEG2000; }

    bool startsCodestream(const Uint8 *p, Uint32 n) const override {
        static const Uint8 soc[4] = {0xFF, 0x4F, 0xFF, 0x51};   // SOC then SIZ: a J2K codestream
        static const Uint8 jp2[12] = {0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A};   // a JP2 file (not DICOM-conformant, but seen)
        return (n >= 4 && memcmp(p, soc, 4) == 0) || (n >= 12 && memcmp(p, jp2, 12) == 0);
    }

    /// OpenJPEG undoes the multi-component transform that YBR_RCT (lossless) and YBR_ICT (lossy) name,
    /// so those come out as RGB (PS3.5 8.2.4).
    OFString decodedColorModel(const OFString &photometric) const override {
        return photometric == "YBR_RCT" || photometric == "YBR_ICT" ? OFString("RGB") : photometric;
    }

    OFCondition decodeOne(const Codestream &cs, const Frame &f, Uint32 frameNo, Uint8 *dst) const override;
};

OFCondition J2KDecoder::decodeOne(const Codestream &cs, const Frame &f, Uint32 frameNo, Uint8 *dst) const {
    std::string where = this->where(f, frameNo);
    if (cs.size < 12 || !startsCodestream(cs.data, (Uint32)cs.size)) {
        return failure(where + "no JPEG 2000 codestream (no SOC marker)");
    }
    bool jp2 = cs.data[0] == 0;
    opj_codec_t *codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
    opj_stream_t *stream = opj_stream_create(1 << 16, OPJ_TRUE);
    opj_image_t *image = nullptr;
    std::string message;
    MemoryStream mem{cs.data, cs.size, 0};
    OFCondition result = EC_Normal;
    auto fail = [&](const std::string &why) {
        result = failure(where + why + (message.empty() ? "" : " (" + message + ")"));
    };
    opj_dparameters_t params;
    opj_set_default_decoder_parameters(&params);
    if (!codec || !stream) {
        result = failure("cannot start OpenJPEG");
    } else {
        opj_set_error_handler(codec, keepMessage, &message);
        opj_set_warning_handler(codec, ignoreMessage, nullptr);
        opj_set_info_handler(codec, ignoreMessage, nullptr);
        opj_stream_set_user_data(stream, &mem, nullptr);
        opj_stream_set_user_data_length(stream, cs.size);
        opj_stream_set_read_function(stream, readBytes);
        opj_stream_set_skip_function(stream, skipBytes);
        opj_stream_set_seek_function(stream, seekTo);
        // Code blocks on every core: one 384x384 frame takes ~25 ms on one, and a conversion's other
        // stacks are usually done by then. OpenJPEG takes the threads between setting up and reading
        // the header (and ignores them where it was built without thread support).
        bool ready = opj_setup_decoder(codec, &params);
        if (ready && dst) (void)opj_codec_set_threads(codec, (int)std::max(1u, std::thread::hardware_concurrency()));
        if (!ready || !opj_decoder_set_strict_mode(codec, OPJ_TRUE) || !opj_read_header(stream, codec, &image) || !image) {
            fail("cannot read the codestream header");
        }
    }
    if (result.good()) {
        // The codestream must be the image the data set describes (PS3.5 A.4.4: same size, components, precision).
        std::string claim = std::to_string(image->x1 - image->x0) + "x" + std::to_string(image->y1 - image->y0) +
                            " with " + std::to_string(image->numcomps) + " component(s)";
        std::string want = std::to_string(f.columns) + "x" + std::to_string(f.rows) + " with " + std::to_string(f.samples) + " component(s)";
        bool same = image->numcomps == f.samples && image->x1 - image->x0 == f.columns && image->y1 - image->y0 == f.rows;
        for (OPJ_UINT32 c = 0; same && c < image->numcomps; ++c) {
            const opj_image_comp_t &k = image->comps[c];
            same = k.w == f.columns && k.h == f.rows && k.dx == 1 && k.dy == 1;
        }
        if (!same) {
            result = failure(where + "the codestream is " + claim + ", Columns x Rows and SamplesPerPixel say " + want);
        } else {
            for (OPJ_UINT32 c = 0; c < image->numcomps; ++c) {
                if (image->comps[c].prec < 1 || image->comps[c].prec > f.bitsAllocated) {
                    result = failure(where + "component " + std::to_string(c) + " has " + std::to_string(image->comps[c].prec) +
                                     " bits, more than BitsAllocated " + std::to_string(f.bitsAllocated));
                    break;
                }
            }
        }
    }
    if (result.good() && dst) {
        if (!opj_decode(codec, stream, image) || !opj_end_decompress(codec, stream)) {
            fail("the codestream does not decode");
        } else {
            size_t pixels = (size_t)f.rows * f.columns, width = f.bitsAllocated / 8, spp = f.samples;
            for (OPJ_UINT32 c = 0; c < image->numcomps && result.good(); ++c) {
                const OPJ_INT32 *v = image->comps[c].data;
                if (!v) { fail("component " + std::to_string(c) + " decoded to nothing"); break; }
                for (size_t p = 0; p < pixels; ++p) {
                    Uint32 u = (Uint32)v[p];
                    Uint8 *o = dst + (p * spp + c) * width;
                    for (size_t b = 0; b < width; ++b) o[b] = (Uint8)(u >> (8 * b));
                }
            }
        }
    }
    if (image) opj_image_destroy(image);
    if (stream) opj_stream_destroy(stream);
    if (codec) opj_destroy_codec(codec);
    return result;
}

}  // namespace

namespace i2dcm {

void registerJ2K() {
    static J2KDecoder decoder;   // registered once (registerCodecs' call_once), for the process
    FrameDecoder::install(decoder);
}

}  // namespace i2dcm
