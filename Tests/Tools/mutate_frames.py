#!/usr/bin/env python3
"""Damaged copies of encapsulated (compressed) single-frame images, for the decoders' fuzz tests.

mutate_frames.py OUT_DIR COUNT SEED HEAD MAX_CHANGES SOURCE...
    Writes OUT_DIR/f00.dcm ... f{COUNT-1}.dcm, each its own series: file n takes SOURCE[n % len(SOURCE)]'s
    first frame and truncates it (every 4th file) or changes 1 to MAX_CHANGES-1 of its bytes, among the
    first HEAD bytes (the codestream's header) or, every 3rd file, anywhere.
"""
import random
import sys

import pydicom
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import generate_uid

out, count, seed, head, most = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
sources = sys.argv[6:]
rnd = random.Random(seed)
for n in range(count):
    ds = pydicom.dcmread(sources[n % len(sources)])
    b = bytearray(next(generate_frames(ds.PixelData, number_of_frames=1)))
    if n % 4 == 0:
        b = b[:rnd.randrange(2, len(b))]
    else:
        for _ in range(rnd.randrange(1, most)):
            b[rnd.randrange(0, min(len(b), head if n % 3 else len(b)))] = rnd.randrange(256)
    if len(b) % 2:
        b = b[:-1]
    ds.PixelData = encapsulate([bytes(b)])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=["fuzz", str(seed), str(n)])
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=["fuzz-i", str(seed), str(n)])
    ds.save_as(f"{out}/f{n:02d}.dcm")
