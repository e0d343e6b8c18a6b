// A DCMTK decoder for an encapsulated transfer syntax whose frames another library decodes one
// codestream at a time: JPEG 2000 through OpenJPEG (J2K.cpp) and JPEG-LS through CharLS (JPEGLS.cpp).
// Registered with DCMTK, so every reader that asks DCMTK for an uncompressed representation gets it:
// convert and seg2nifti (i2dcm_pixels → chooseRepresentation) and send's decompression.
//
// Untrusted input: every codestream header is checked against Rows, Columns, SamplesPerPixel and
// BitsAllocated before the output is allocated or anything is decoded, so a codestream that claims
// another size fails with a message naming the frame and both sizes.
#pragma once
#include "Shim.hpp"

#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcpixseq.h>

#include <string>
#include <utility>
#include <vector>

namespace i2dcm {

/// What the data set says one frame must be.
struct Frame {
    Uint16 rows = 0, columns = 0, samples = 1, bitsAllocated = 0, planar = 0;
    Sint32 frames = 1;
    OFString photometric;
    size_t bytes() const { return (size_t)rows * columns * samples * (bitsAllocated / 8); }
};

/// One frame's compressed bytes: a view of one fragment, or the frame's fragments joined.
struct Codestream {
    const Uint8 *data = nullptr;
    size_t size = 0;
    std::vector<Uint8> joined;
};

class FrameDecoder : public DcmCodec {
public:
    /// The codec's name in messages ("JPEG 2000").
    virtual const char *name() const = 0;
    /// The transfer syntaxes it decodes.
    virtual bool decodes(E_TransferSyntax from) const = 0;
    /// Whether a fragment starts a codestream (splits frames when the offset table does not).
    virtual bool startsCodestream(const Uint8 *p, Uint32 n) const = 0;
    /// The colour model after decoding.
    virtual OFString decodedColorModel(const OFString &photometric) const { return photometric; }
    /// Decodes one codestream into `dst`: interleaved samples (PlanarConfiguration 0) of BitsAllocated
    /// bits, little endian; a signed value keeps its two's complement bits, which PixelRepresentation
    /// then reads (as dcm2niix does). With `dst` null only reads and checks the header against `f`.
    virtual OFCondition decodeOne(const Codestream &cs, const Frame &f, Uint32 frameNo, Uint8 *dst) const = 0;

    /// The error every failure of this codec returns, the reason in its text (DCMTK copies it).
    OFCondition failure(const std::string &why) const;
    /// "frame N: " in a multi-frame image, else nothing: the start of a decodeOne message.
    static std::string where(const Frame &f, Uint32 frameNo);

    OFBool canChangeCoding(const E_TransferSyntax from, const E_TransferSyntax to) const override;
    OFCondition decode(const DcmRepresentationParameter *, DcmPixelSequence *seq, DcmPolymorphOBOW &out,
                       const DcmCodecParameter *, const DcmStack &objStack, OFBool &) const override;
    OFCondition decodeFrame(const DcmRepresentationParameter *, DcmPixelSequence *seq, const DcmCodecParameter *,
                            DcmItem *ds, Uint32 frameNo, Uint32 &startFragment, void *buffer, Uint32 bufSize,
                            OFString &model) const override;
    OFCondition encode(const Uint16 *, const Uint32, const DcmRepresentationParameter *, DcmPixelSequence *&,
                       const DcmCodecParameter *, DcmStack &, OFBool &) const override;
    OFCondition encode(const E_TransferSyntax, const DcmRepresentationParameter *, DcmPixelSequence *,
                       const DcmRepresentationParameter *, DcmPixelSequence *&, const DcmCodecParameter *,
                       DcmStack &, OFBool &) const override;
    OFCondition determineDecompressedColorModel(const DcmRepresentationParameter *, DcmPixelSequence *,
                                                const DcmCodecParameter *, DcmItem *ds, OFString &model) const override;

    /// Registers `decoder` with DCMTK (it must live for the process, as DCMTK requires).
    static void install(FrameDecoder &decoder);

private:
    OFCondition readFrame(DcmItem *ds, Frame &f) const;
    OFCondition frameFragments(DcmPixelSequence *seq, Sint32 frames, std::vector<std::pair<Uint32, Uint32>> &out) const;
    OFCondition codestream(DcmPixelSequence *seq, std::pair<Uint32, Uint32> range, Codestream &cs) const;
};

}  // namespace i2dcm
