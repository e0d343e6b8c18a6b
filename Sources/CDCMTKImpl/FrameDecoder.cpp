// The frame-by-frame DCMTK decoder J2K.cpp and JPEGLS.cpp share (FrameDecoder.hpp says what it does).
#include "FrameDecoder.hpp"

#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcswap.h>
#include <dcmtk/dcmdata/dcvrpobw.h>

#include <cstring>

namespace {

class DecoderParameter : public DcmCodecParameter {
public:
    DcmCodecParameter *clone() const override { return new DecoderParameter(); }
    const char *className() const override { return "i2dcm::DecoderParameter"; }
};

}  // namespace

namespace i2dcm {

OFCondition FrameDecoder::failure(const std::string &why) const {
    return makeOFCondition(OFM_dcmdata, 0x7e1, OF_error, (std::string(name()) + ": " + why).c_str());
}

std::string FrameDecoder::where(const Frame &f, Uint32 frameNo) {
    return f.frames > 1 ? "frame " + std::to_string(frameNo + 1) + ": " : "";
}

OFBool FrameDecoder::canChangeCoding(const E_TransferSyntax from, const E_TransferSyntax to) const {
    return decodes(from) && DcmXfer(to).isNotEncapsulated();
}

void FrameDecoder::install(FrameDecoder &decoder) {
    static DecoderParameter parameter;
    DcmCodecList::registerCodec(&decoder, nullptr, &parameter);
}

OFCondition FrameDecoder::readFrame(DcmItem *ds, Frame &f) const {
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

/// Which fragments (pixel items 1…) make each frame: [first, end) per frame. From the Basic Offset
/// Table when it has one entry per frame that lands on fragment starts; else one fragment per frame
/// when the counts agree; else one frame of all fragments for a single-frame image; else split where
/// a fragment starts a new codestream (an empty offset table with frames split across fragments,
/// e.g. with an Extended Offset Table, which DICOM puts outside the pixel sequence).
OFCondition FrameDecoder::frameFragments(DcmPixelSequence *seq, Sint32 frames, std::vector<std::pair<Uint32, Uint32>> &out) const {
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

OFCondition FrameDecoder::codestream(DcmPixelSequence *seq, std::pair<Uint32, Uint32> range, Codestream &cs) const {
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

OFCondition FrameDecoder::decode(const DcmRepresentationParameter *, DcmPixelSequence *seq, DcmPolymorphOBOW &out,
                             const DcmCodecParameter *, const DcmStack &objStack, OFBool &) const {
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

OFCondition FrameDecoder::decodeFrame(const DcmRepresentationParameter *, DcmPixelSequence *seq, const DcmCodecParameter *,
                                  DcmItem *ds, Uint32 frameNo, Uint32 &startFragment, void *buffer, Uint32 bufSize,
                                  OFString &model) const {
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

OFCondition FrameDecoder::encode(const Uint16 *, const Uint32, const DcmRepresentationParameter *, DcmPixelSequence *&,
                             const DcmCodecParameter *, DcmStack &, OFBool &) const {
    return EC_IllegalCall;   // a decoder only
}

OFCondition FrameDecoder::encode(const E_TransferSyntax, const DcmRepresentationParameter *, DcmPixelSequence *,
                             const DcmRepresentationParameter *, DcmPixelSequence *&, const DcmCodecParameter *,
                             DcmStack &, OFBool &) const {
    return EC_IllegalCall;
}

OFCondition FrameDecoder::determineDecompressedColorModel(const DcmRepresentationParameter *, DcmPixelSequence *,
                                                      const DcmCodecParameter *, DcmItem *ds, OFString &model) const {
    if (!ds) return EC_IllegalParameter;
    OFString photometric;
    OFCondition c = ds->findAndGetOFString(DCM_PhotometricInterpretation, photometric);
    if (c.bad()) return c;
    model = decodedColorModel(photometric);
    return EC_Normal;
}

}  // namespace i2dcm
