#!/usr/bin/env python3
"""Regenerates the JPEG 2000 fixtures of this folder from original.dcm (dcm_qa_enh
In/Siemens/XA10/6_1.dcm: enhanced MR, 6 frames of 64x64, 16-bit unsigned, 12 bits stored), and
../../highdicom/seg_image_ct_true_fractional_j2k.dcm from highdicom's uncompressed FRACTIONAL SEG.

Codestreams come from OpenJPEG's own encoder (opj_compress, Debian libopenjp2-tools), not from i2,
so the tests check i2's decoder against an independent encoder and against dcm2niix's decoding.
Run from anywhere: python3 make.py  (needs pydicom and numpy, e.g. the project's .venv).
"""
import os
import subprocess
import tempfile

import numpy as np
import pydicom
from pydicom.encaps import encapsulate
from pydicom.uid import JPEG2000, JPEG2000Lossless, ExplicitVRLittleEndian, generate_uid

HERE = os.path.dirname(os.path.abspath(__file__))


def uid(*parts):
    return generate_uid(entropy_srcs=["i2 J2K fixture", *parts])


def opj(planes, bits, signed, lossy=False):
    """One codestream of `planes` (components x rows x cols), through opj_compress."""
    comps, rows, cols = planes.shape
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = os.path.join(tmp, "in.rawl"), os.path.join(tmp, "out.j2k")
        dtype = {(8, False): "<u1", (8, True): "<i1", (16, False): "<u2", (16, True): "<i2"}[(bits if bits <= 8 else 16, signed)]
        planes.astype(dtype).tofile(raw)   # .rawl: little endian, one plane per component
        args = ["opj_compress", "-i", raw, "-o", out, "-F", f"{cols},{rows},{comps},{bits},{'s' if signed else 'u'}"]
        if lossy:
            args += ["-r", "12"]
        if min(rows, cols) < 64:
            args += ["-n", "3"]   # the default 6 resolution levels need at least 32 pixels a side
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        with open(out, "rb") as f:
            return f.read()


def save(ds, name, frames, syntax, fragments=1, bot=True):
    ds.PixelData = encapsulate(frames, fragments_per_frame=fragments, has_bot=bot)
    ds["PixelData"].is_undefined_length = True
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = syntax
    # Own UIDs (pydicom's root, derived from the file name: a rerun gives the same), never original.dcm's.
    ds.SOPInstanceUID = uid(name, "instance")
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.SeriesInstanceUID = uid(name, "series")
    ds.save_as(os.path.join(HERE, name), enforce_file_format=True)


def mr(values, bits_stored, signed, desc, number):
    ds = pydicom.dcmread(os.path.join(HERE, "original.dcm"))
    ds.BitsAllocated = 8 if bits_stored <= 8 else 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    ds.SeriesDescription = desc
    ds.SeriesNumber = number
    ds.ProtocolName = desc
    for k in ("SmallestImagePixelValue", "LargestImagePixelValue"):
        if k in ds:
            del ds[k]
    return ds, values


orig = pydicom.dcmread(os.path.join(HERE, "original.dcm"))
pixels = orig.pixel_array.astype(np.int32)   # frames x rows x cols
assert pixels.shape == (6, 64, 64) and orig.BitsStored == 12

# 16-bit unsigned lossless, each frame split across 2 fragments, with a Basic Offset Table.
ds, v = mr(pixels, 12, False, "j2k_frag_bot", 101)
save(ds, "frag-bot.dcm", [opj(f[None], 12, False) for f in v], JPEG2000Lossless, fragments=2, bot=True)
# The same, 3 fragments per frame and an empty offset table: frames found by their SOC markers.
ds, v = mr(pixels, 12, False, "j2k_frag_nobot", 102)
save(ds, "frag-nobot.dcm", [opj(f[None], 12, False) for f in v], JPEG2000Lossless, fragments=3, bot=False)
# Signed 16-bit (values - 1000: negatives), one fragment per frame, no offset table.
ds, v = mr(pixels - 1000, 16, True, "j2k_s16", 103)
save(ds, "s16.dcm", [opj(f[None], 16, True) for f in v], JPEG2000Lossless, bot=False)
# 8-bit unsigned (values >> 4).
ds, v = mr(pixels >> 4, 8, False, "j2k_u8", 104)
save(ds, "u8.dcm", [opj(f[None], 8, False) for f in v], JPEG2000Lossless)
# Lossy (1.2.840.10008.1.2.4.91), ratio 12.
ds, v = mr(pixels, 12, False, "j2k_lossy", 105)
ds.LossyImageCompression = "01"
save(ds, "lossy.dcm", [opj(f[None], 12, False, lossy=True) for f in v], JPEG2000)

# RGB: a single-frame Secondary Capture of frames 1-3 (>> 4) as R, G, B; opj_compress applies its
# reversible colour transform to 3 components, hence YBR_RCT (PS3.5 8.2.4). rgb-raw.dcm holds the
# same pixels uncompressed (interleaved), the truth to compare with.
rgb = (pixels[:3] >> 4).astype(np.uint8)
sc = pydicom.Dataset()
sc.file_meta = pydicom.dataset.FileMetaDataset()
sc.file_meta.MediaStorageSOPClassUID = sc.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
sc.PatientName, sc.PatientID, sc.Modality = "J2K^RGB", "j2k-rgb", "OT"
sc.StudyInstanceUID = uid("rgb", "study")
sc.SeriesNumber, sc.InstanceNumber = 106, 1
sc.SamplesPerPixel, sc.PlanarConfiguration = 3, 0
sc.Rows, sc.Columns = 64, 64
sc.BitsAllocated, sc.BitsStored, sc.HighBit, sc.PixelRepresentation = 8, 8, 7, 0
sc.PhotometricInterpretation = "YBR_RCT"
save(sc, "rgb.dcm", [opj(rgb, 8, False)], JPEG2000Lossless)
sc.PhotometricInterpretation = "RGB"
sc.PixelData = np.transpose(rgb, (1, 2, 0)).tobytes()
sc["PixelData"].is_undefined_length = False
sc["PixelData"].VR = "OB"
sc.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
sc.SOPInstanceUID = uid("rgb-raw.dcm", "instance")
sc.file_meta.MediaStorageSOPInstanceUID = sc.SOPInstanceUID
sc.SeriesInstanceUID = uid("rgb-raw.dcm", "series")
sc.save_as(os.path.join(HERE, "rgb-raw.dcm"), enforce_file_format=True)

# A FRACTIONAL SEG (8-bit frames, J2K lossless is allowed for it) for seg2nifti: highdicom's
# seg_image_ct_true_fractional.dcm (MIT, Tests/Fixtures/highdicom) with its 3 frames re-encoded.
hd = os.path.join(HERE, "..", "..", "highdicom")
seg = pydicom.dcmread(os.path.join(hd, "seg_image_ct_true_fractional.dcm"))
frames = seg.pixel_array.reshape(-1, seg.Rows, seg.Columns)
seg.PixelData = encapsulate([opj(f[None].astype(np.int32), 8, False) for f in frames])
seg["PixelData"].is_undefined_length = True
seg["PixelData"].VR = "OB"
seg.file_meta.TransferSyntaxUID = JPEG2000Lossless
seg.SOPInstanceUID = seg.file_meta.MediaStorageSOPInstanceUID = uid("seg-j2k", "instance")
seg.save_as(os.path.join(hd, "seg_image_ct_true_fractional_j2k.dcm"), enforce_file_format=True)
