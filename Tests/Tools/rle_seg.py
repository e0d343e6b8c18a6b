"""Re-encode a native BINARY SEG in RLE Lossless, as another writer would, for seg2nifti's reader tests.

Usage: rle_seg.py IN.dcm OUT.dcm [--layout bytes|bits]
Each frame is one fragment with one Byte Segment (PackBits, PS3.5 Annex G), holding the frame's pixels
as one byte each, 0 or 1 (`bytes`, the default: Annex G pads each pixel to whole bytes), or the frame's
bits packed LSB first and padded to a whole byte (`bits`, as some writers made them). The encoder is
written here on purpose, independent of i2's.
"""
import argparse

import numpy as np
import pydicom
from pydicom.encaps import encapsulate
from pydicom.uid import RLELossless


def packbits(data: bytes) -> bytes:
    out, i, n = bytearray(), 0, len(data)
    while i < n:
        run = 1
        while i + run < n and run < 128 and data[i + run] == data[i]:
            run += 1
        if run > 1:
            out += bytes([257 - run, data[i]])
            i += run
            continue
        j = i + 1   # a literal: up to the next pair of equal bytes
        while j < n and j - i < 128 and not (j + 1 < n and data[j] == data[j + 1]):
            j += 1
        out += bytes([j - i - 1]) + data[i:j]
        i = j
    return bytes(out)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--layout", choices=["bytes", "bits"], default="bytes")
    a = p.parse_args()
    ds = pydicom.dcmread(a.src)
    assert ds.BitsAllocated == 1, "a BINARY SEG"
    frames = ds.pixel_array.reshape(int(ds.get("NumberOfFrames", 1)), ds.Rows, ds.Columns).astype(np.uint8)
    fragments = []
    for f in frames:
        raw = f.tobytes() if a.layout == "bytes" else np.packbits(f.ravel(), bitorder="little").tobytes()
        segment = packbits(raw)
        if len(segment) % 2:
            segment += b"\x00"
        header = (1).to_bytes(4, "little") + (64).to_bytes(4, "little") + bytes(56)
        fragments.append(header + segment)
    ds.PixelData = encapsulate(fragments)
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = RLELossless
    ds.save_as(a.dst, enforce_file_format=True)


if __name__ == "__main__":
    main()
