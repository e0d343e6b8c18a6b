// JPEG 2000 decoding (1.2.840.10008.1.2.4.90 lossless, .91 lossy) through OpenJPEG, registered as a
// DCMTK decoder so every reader that asks DCMTK for an uncompressed representation gets it: convert
// and seg2nifti (i2dcm_pixels → chooseRepresentation) and send's decompression for a peer without
// J2K. Debian's DCMTK 3.6.7 has no JPEG 2000 codec of its own.
//
// Untrusted input: every codestream header is checked against Rows, Columns, SamplesPerPixel and
// BitsAllocated before anything is decoded or allocated, so a codestream that claims another size
// fails with a message naming the frame and both sizes; OpenJPEG runs in strict mode (a truncated
// codestream is an error, not a partly grey image).
#include "Shim.hpp"

#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcswap.h>
#include <dcmtk/dcmdata/dcvrpobw.h>

// Debian installs the header in a versioned folder (pkg-config libopenjp2 → -I/usr/include/openjpeg-2.5);
// naming it here keeps unsafe flags out of Package.swift.
#include <openjpeg-2.5/openjpeg.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace {

/// The error every failure of this codec returns, with the reason in its text (DCMTK copies it).
OFCondition failure(const std::string &why) {
    return makeOFCondition(OFM_dcmdata, 0x7e1, OF_error, ("JPEG 2000: " + why).c_str());
}

/// One frame's compressed bytes: a view of one fragment, or the frame's fragments joined.
struct Codestream {
    const Uint8 *data = nullptr;
    size_t size = 0;
    std::vector<Uint8> joined;
};

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

/// What the data set says one frame must be.
struct Frame {
    Uint16 rows = 0, columns = 0, samples = 1, bitsAllocated = 0, planar = 0;
    Sint32 frames = 1;
    OFString photometric;
    size_t bytes() const { return (size_t)rows * columns * samples * (bitsAllocated / 8); }
};

OFCondition readFrame(DcmItem *ds, Frame &f) {
    if (!ds) return EC_IllegalCall;
    if (ds->findAndGetUint16(DCM_Rows, f.rows).bad() || ds->findAndGetUint16(DCM_Columns, f.columns).bad() ||
        ds->findAndGetUint16(DCM_BitsAllocated, f.bitsAllocated).bad()) {
        return failure("Rows, Columns or BitsAllocated missing");
    }
    if (ds->findAndGetUint16(DCM_SamplesPerPixel, f.samples).bad()) f.samples = 1;
    (void)ds->findAndGetUint16(DCM_PlanarConfiguration, f.planar);
    (void)ds->findAndGetOFString(DCM_PhotometricInterpretation, f.photometric);
    Sint32 n = 1;
    if (ds->findAndGetSint32(DCM_NumberOfFrames, n).good() && n > 1) f.frames = n;
    if (f.rows == 0 || f.columns == 0) return failure("Rows or Columns is 0");
    if (f.samples != 1 && f.samples != 3) return failure("SamplesPerPixel " + std::to_string(f.samples) + " is not 1 or 3");
    if (f.bitsAllocated != 8 && f.bitsAllocated != 16 && f.bitsAllocated != 32) {
        return failure("BitsAllocated " + std::to_string(f.bitsAllocated) + " is not 8, 16 or 32");
    }
    // OpenJPEG holds a decoded frame as 32-bit samples: a codestream matching Rows x Columns of a tiny
    // file could still ask for 4 G samples (16 GiB). Real frames (mammograms, slide tiles) are far
    // below 2^28 samples (1 GiB while decoding).
    if ((unsigned long long)f.rows * f.columns * f.samples > (1ull << 28)) {
        return failure("a frame of " + std::to_string(f.columns) + "x" + std::to_string(f.rows) + "x" + std::to_string(f.samples) +
                       " samples is larger than this decoder accepts (2^28)");
    }
    // DCMTK keeps an uncompressed pixel data element below 4 GiB (32-bit length).
    if ((unsigned long long)f.bytes() * (unsigned long long)f.frames >= 0xFFFFFFFEull) {
        return failure("the decoded pixel data would exceed 4 GiB");
    }
    return EC_Normal;
}

/// The colour model after decoding: OpenJPEG undoes the multi-component transform that YBR_RCT
/// (lossless) and YBR_ICT (lossy) name, so those come out as RGB (PS3.5 8.2.4).
OFString decodedColorModel(const OFString &photometric) {
    return photometric == "YBR_RCT" || photometric == "YBR_ICT" ? OFString("RGB") : photometric;
}

bool startsCodestream(const Uint8 *p, Uint32 n) {
    static const Uint8 soc[4] = {0xFF, 0x4F, 0xFF, 0x51};   // SOC then SIZ: a J2K codestream
    static const Uint8 jp2[12] = {0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A};   // a JP2 file (not DICOM-conformant, but seen)
    return (n >= 4 && memcmp(p, soc, 4) == 0) || (n >= 12 && memcmp(p, jp2, 12) == 0);
}

/// Which fragments (pixel items 1…) make each frame: [first, end) per frame. From the Basic Offset
/// Table when it has one entry per frame that lands on fragment starts; else one fragment per frame
/// when the counts agree; else one frame of all fragments for a single-frame image; else split where
/// a fragment starts a new codestream (an empty offset table with frames split across fragments,
/// e.g. with an Extended Offset Table, which DICOM puts outside the pixel sequence).
OFCondition frameFragments(DcmPixelSequence *seq, Sint32 frames, std::vector<std::pair<Uint32, Uint32>> &out) {
    out.clear();
    Uint32 items = (Uint32)seq->card();
    if (items < 2) return failure("the pixel data has no fragments");
    Uint32 fragments = items - 1;
    std::vector<Uint32> length(fragments);
    std::vector<const Uint8 *> bytes(fragments);
    for (Uint32 i = 0; i < fragments; ++i) {
        DcmPixelItem *item = nullptr;
        Uint8 *p = nullptr;
        if (seq->getItem(item, i + 1).bad() || !item) return failure("cannot read fragment " + std::to_string(i + 1));
        length[i] = item->getLength();
        if (length[i] > 0 && (item->getUint8Array(p).bad() || !p)) return failure("cannot read fragment " + std::to_string(i + 1));
        bytes[i] = p;
    }
    DcmPixelItem *table = nullptr;
    Uint8 *raw = nullptr;
    if (seq->getItem(table, 0).good() && table && table->getLength() == 4u * (Uint32)frames &&
        table->getUint8Array(raw).good() && raw) {
        std::vector<Uint32> starts;
        unsigned long long at = 0;   // byte offset of each fragment's item tag after the table
        Uint32 next = 0;
        for (Uint32 i = 0; i < fragments && next < (Uint32)frames; ++i) {
            const Uint8 *e = raw + 4 * next;   // the table is little endian in every transfer syntax
            Uint32 offset = (Uint32)e[0] | (Uint32)e[1] << 8 | (Uint32)e[2] << 16 | (Uint32)e[3] << 24;
            if (offset == at) { starts.push_back(i); ++next; }
            at += length[i] + 8ull;
        }
        if (starts.size() == (size_t)frames && starts[0] == 0) {
            for (size_t k = 0; k < starts.size(); ++k) {
                out.emplace_back(starts[k], k + 1 < starts.size() ? starts[k + 1] : fragments);
            }
            return EC_Normal;
        }
    }
    if (fragments == (Uint32)frames) {
        for (Uint32 i = 0; i < fragments; ++i) out.emplace_back(i, i + 1);
        return EC_Normal;
    }
    if (frames == 1) { out.emplace_back(0, fragments); return EC_Normal; }
    std::vector<Uint32> starts;
    for (Uint32 i = 0; i < fragments; ++i) {
        if (bytes[i] && startsCodestream(bytes[i], length[i])) starts.push_back(i);
    }
    if (starts.size() != (size_t)frames || starts[0] != 0) {
        return failure("NumberOfFrames is " + std::to_string(frames) + " but the pixel data holds " +
                       std::to_string(starts.size()) + " codestreams in " + std::to_string(fragments) + " fragments");
    }
    for (size_t k = 0; k < starts.size(); ++k) out.emplace_back(starts[k], k + 1 < starts.size() ? starts[k + 1] : fragments);
    return EC_Normal;
}

OFCondition codestream(DcmPixelSequence *seq, std::pair<Uint32, Uint32> range, Codestream &cs) {
    cs.joined.clear();
    cs.data = nullptr;
    cs.size = 0;
    for (Uint32 i = range.first; i < range.second; ++i) {
        DcmPixelItem *item = nullptr;
        Uint8 *p = nullptr;
        if (seq->getItem(item, i + 1).bad() || !item) return failure("cannot read fragment " + std::to_string(i + 1));
        Uint32 n = item->getLength();
        if (n == 0) continue;
        if (item->getUint8Array(p).bad() || !p) return failure("cannot read fragment " + std::to_string(i + 1));
        if (range.second - range.first == 1) { cs.data = p; cs.size = n; return EC_Normal; }
        cs.joined.insert(cs.joined.end(), p, p + n);
    }
    cs.data = cs.joined.data();
    cs.size = cs.joined.size();
    return EC_Normal;
}

/// Decodes one codestream; with `dst` null only reads and checks its header against `f`.
OFCondition decodeOne(const Codestream &cs, const Frame &f, Uint32 frameNo, Uint8 *dst) {
    std::string where = f.frames > 1 ? "frame " + std::to_string(frameNo + 1) + ": " : "";
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
        if (!opj_setup_decoder(codec, &params) || !opj_decoder_set_strict_mode(codec, OPJ_TRUE) ||
            !opj_read_header(stream, codec, &image) || !image) {
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
                // Interleaved samples (PlanarConfiguration 0), little endian; a signed value keeps its
                // two's complement bits, which PixelRepresentation then reads (as dcm2niix does).
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

class J2KDecoder : public DcmCodec {
public:
    OFBool canChangeCoding(const E_TransferSyntax from, const E_TransferSyntax to) const override {
        return (from == EXS_JPEG2000LosslessOnly || from == EXS_JPEG2000) && DcmXfer(to).isNotEncapsulated();
    }

    OFCondition decode(const DcmRepresentationParameter *, DcmPixelSequence *seq, DcmPolymorphOBOW &out,
                       const DcmCodecParameter *, const DcmStack &objStack, OFBool &) const override {
        DcmStack stack(objStack);
        (void)stack.pop();   // the pixel data element; below it, the data set or item holding it
        DcmObject *holder = stack.pop();
        if (!holder || (holder->ident() != EVR_dataset && holder->ident() != EVR_item)) return EC_InvalidTag;
        DcmItem *ds = OFstatic_cast(DcmItem *, holder);
        Frame f;
        OFCondition c = readFrame(ds, f);
        if (c.bad()) return c;
        std::vector<std::pair<Uint32, Uint32>> ranges;
        if ((c = frameFragments(seq, f.frames, ranges)).bad()) return c;
        // Every header is checked before the output is allocated: a small file cannot make us
        // allocate more than its codestreams genuinely describe.
        Codestream cs;
        for (Uint32 k = 0; k < ranges.size(); ++k) {
            if ((c = codestream(seq, ranges[k], cs)).bad() || (c = decodeOne(cs, f, k, nullptr)).bad()) return c;
        }
        size_t frameBytes = f.bytes(), total = frameBytes * ranges.size();
        Uint16 *words = nullptr;
        if ((c = out.createUint16Array((Uint32)((total + 1) / 2), words)).bad()) return c;
        Uint8 *dst = OFreinterpret_cast(Uint8 *, words);
        if (total & 1) dst[total] = 0;
        for (Uint32 k = 0; k < ranges.size(); ++k) {
            if ((c = codestream(seq, ranges[k], cs)).bad() || (c = decodeOne(cs, f, k, dst + k * frameBytes)).bad()) return c;
        }
        // Written as little-endian bytes; DCMTK keeps OW in local byte order (as its RLE decoder does).
        swapIfNecessary(gLocalByteOrder, EBO_LittleEndian, words, (Uint32)((total + 1) & ~(size_t)1), sizeof(Uint16));
        if (f.samples > 1) {
            if ((c = ds->putAndInsertUint16(DCM_PlanarConfiguration, 0)).bad()) return c;
            OFString model = decodedColorModel(f.photometric);
            if (model != f.photometric && (c = ds->putAndInsertString(DCM_PhotometricInterpretation, model.c_str())).bad()) return c;
        }
        return EC_Normal;
    }

    OFCondition decodeFrame(const DcmRepresentationParameter *, DcmPixelSequence *seq, const DcmCodecParameter *,
                            DcmItem *ds, Uint32 frameNo, Uint32 &startFragment, void *buffer, Uint32 bufSize,
                            OFString &model) const override {
        Frame f;
        OFCondition c = readFrame(ds, f);
        if (c.bad()) return c;
        if (frameNo >= (Uint32)f.frames) return failure("frame " + std::to_string(frameNo + 1) + " does not exist");
        if (bufSize < f.bytes()) return EC_IllegalCall;
        std::vector<std::pair<Uint32, Uint32>> ranges;
        if ((c = frameFragments(seq, f.frames, ranges)).bad()) return c;
        Codestream cs;
        if ((c = codestream(seq, ranges[frameNo], cs)).bad()) return c;
        if ((c = decodeOne(cs, f, frameNo, nullptr)).bad()) return c;
        if ((c = decodeOne(cs, f, frameNo, OFstatic_cast(Uint8 *, buffer))).bad()) return c;
        swapIfNecessary(gLocalByteOrder, EBO_LittleEndian, buffer, (Uint32)(f.bytes() & ~(size_t)1), sizeof(Uint16));
        startFragment = ranges[frameNo].second + 1;
        model = decodedColorModel(f.photometric);
        return EC_Normal;
    }

    OFCondition encode(const Uint16 *, const Uint32, const DcmRepresentationParameter *, DcmPixelSequence *&,
                       const DcmCodecParameter *, DcmStack &, OFBool &) const override {
        return EC_IllegalCall;   // a decoder only
    }

    OFCondition encode(const E_TransferSyntax, const DcmRepresentationParameter *, DcmPixelSequence *,
                       const DcmRepresentationParameter *, DcmPixelSequence *&, const DcmCodecParameter *,
                       DcmStack &, OFBool &) const override {
        return EC_IllegalCall;
    }

    OFCondition determineDecompressedColorModel(const DcmRepresentationParameter *, DcmPixelSequence *,
                                                const DcmCodecParameter *, DcmItem *ds, OFString &model) const override {
        if (!ds) return EC_IllegalParameter;
        OFString photometric;
        OFCondition c = ds->findAndGetOFString(DCM_PhotometricInterpretation, photometric);
        if (c.bad()) return c;
        model = decodedColorModel(photometric);
        return EC_Normal;
    }
};

class J2KParameter : public DcmCodecParameter {
public:
    DcmCodecParameter *clone() const override { return new J2KParameter(); }
    const char *className() const override { return "i2dcm::J2KParameter"; }
};

}  // namespace

namespace i2dcm {

void registerJ2K() {
    // Registered once (registerCodecs' call_once); both live for the process, as DCMTK requires.
    static J2KDecoder decoder;
    static J2KParameter parameter;
    DcmCodecList::registerCodec(&decoder, nullptr, &parameter);
}

}  // namespace i2dcm
