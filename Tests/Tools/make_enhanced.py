#!/usr/bin/env python3
"""Generates one large enhanced (multi-frame) DICOM file from a real one (pydicom), for tests and benchmarks.

make_enhanced.py SOURCE.dcm OUT.dcm --frames N [--seed S] [--zoom K]

The source's frames form one volume (or one block); the output repeats that block as time points
until it holds at least N frames: block b (0-based) is a copy of every source per-frame item with
TemporalPositionIndex, FrameAcquisitionNumber and the temporal DimensionIndexValues entry set to b+1,
FrameAcquisitionDateTime advanced by b seconds, and the source pixels plus b (so time points differ).
Shared groups, positions and orientations are kept, so the result is a valid 4-D series.
--zoom K repeats each pixel K x K (Rows and Columns times K, PixelSpacing divided by K): frames as large
as clinical ones, for measuring memory against an output volume that dwarfs the process itself.
"""
import argparse, copy, datetime
import numpy as np
import pydicom
from pydicom.uid import generate_uid

TEMPORAL_POSITION_INDEX = 0x00209128


def main():
    p = argparse.ArgumentParser()
    p.add_argument("source"); p.add_argument("out")
    p.add_argument("--frames", type=int, required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--zoom", type=int, default=1)
    a = p.parse_args()

    src = pydicom.dcmread(a.source)
    per_frame = src.PerFrameFunctionalGroupsSequence
    n = len(per_frame)
    blocks = -(-a.frames // n)
    # Which DimensionIndexValues entry is the temporal one (when the dimensions name it).
    temporal_dim = next((k for k, d in enumerate(src.get("DimensionIndexSequence", []))
                         if int(d.DimensionIndexPointer) == TEMPORAL_POSITION_INDEX), None)
    if temporal_dim is None and "DimensionIndexSequence" in src:
        # No temporal dimension in the source: one is added (last), so the time points are ordered by
        # the dimension indices as readers such as dcm2niix sort them, not left to their tie-breaking.
        d = pydicom.Dataset()
        d.DimensionIndexPointer = TEMPORAL_POSITION_INDEX
        d.FunctionalGroupPointer = 0x00209111
        src.DimensionIndexSequence.append(d)
        temporal_dim = len(src.DimensionIndexSequence) - 1
        for item in per_frame:
            fc = item.FrameContentSequence[0]
            if "DimensionIndexValues" in fc:
                fc.DimensionIndexValues = list(fc.DimensionIndexValues) + [1]
    pixels = src.pixel_array.reshape(n, src.Rows, src.Columns)
    if a.zoom > 1:
        pixels = pixels.repeat(a.zoom, axis=1).repeat(a.zoom, axis=2)
        src.Rows, src.Columns = src.Rows * a.zoom, src.Columns * a.zoom
        # Every PixelSpacing, private sequences' too (readers such as dcm2niix take the first anywhere).
        done = set()
        def rescale(ds):
            for elem in ds:
                if elem.VR == "SQ":
                    for item in elem.value:
                        if id(item) not in done:
                            done.add(id(item))
                            rescale(item)
                elif elem.tag == 0x00280030 and elem.value:
                    elem.value = [float(v) / a.zoom for v in elem.value]
        rescale(src)
    stored_max = (1 << src.BitsStored) - 1 if src.PixelRepresentation == 0 else (1 << (src.BitsStored - 1)) - 1
    items, frames = [], []
    for b in range(blocks):
        for i in range(n):
            # Only the frame content changes: the other macros are shared by reference (a deep copy of
            # every item made 5,000 frames take a minute).
            item = pydicom.Dataset()
            for elem in per_frame[i]:
                if elem.tag != 0x00209111:   # FrameContentSequence: its own element per item (set below)
                    item.add(elem)
            fc = copy.deepcopy(per_frame[i].FrameContentSequence[0])
            item.FrameContentSequence = [fc]
            fc.TemporalPositionIndex = b + 1
            fc.FrameAcquisitionNumber = (b + 1) % 65536
            if temporal_dim is not None and "DimensionIndexValues" in fc:
                values = list(fc.DimensionIndexValues)
                values[temporal_dim] = b + 1
                fc.DimensionIndexValues = values
            if "FrameAcquisitionDateTime" in fc:
                t = datetime.datetime.strptime(fc.FrameAcquisitionDateTime[:14], "%Y%m%d%H%M%S") + datetime.timedelta(seconds=b)
                fc.FrameAcquisitionDateTime = t.strftime("%Y%m%d%H%M%S") + fc.FrameAcquisitionDateTime[14:]
            items.append(item)
        frames.append(np.minimum(pixels.astype(np.int64) + b, stored_max).astype(pixels.dtype))
    src.PerFrameFunctionalGroupsSequence = items
    src.NumberOfFrames = len(items)
    src.PixelData = np.concatenate(frames).tobytes()
    src.SeriesInstanceUID = generate_uid(entropy_srcs=[str(a.seed), "series"])
    src.SOPInstanceUID = generate_uid(entropy_srcs=[str(a.seed), "instance"])
    src.file_meta.MediaStorageSOPInstanceUID = src.SOPInstanceUID
    src.save_as(a.out, enforce_file_format=True)
    print(f"{a.out}: {len(items)} frames ({blocks} time points of {n})")


if __name__ == "__main__":
    main()
