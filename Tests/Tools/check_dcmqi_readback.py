#!/usr/bin/env python3
# Checks what dcmqi's segimage2itkimage read from a SEG against the label map the SEG was made from.
# usage: check_dcmqi_readback.py OUT_DIR LABELS.nii[.gz] ORIGINALS
# OUT_DIR holds segimage2itkimage's per-segment files (N.nii.gz) and meta.json; ORIGINALS is a comma-
# separated list of the original label value of segments 1, 2, ... Prints one JSON object: "mismatches"
# (segment numbers whose mask differs from LABELS == original, compared in world space via the affines),
# and dcmqi's "segments" (labelID, SegmentLabel, type code value, recommendedDisplayRGBValue).
import json
import os
import sys

import nibabel as nib
import numpy as np


def main(out_dir, labels_path, originals):
    originals = [int(v) for v in originals.split(",")]
    ref = nib.load(labels_path)
    labels = np.asarray(ref.dataobj).astype(np.int64)
    labels = labels.reshape(labels.shape[:3])
    mismatches = []
    for number, original in enumerate(originals, start=1):
        path = os.path.join(out_dir, f"{number}.nii.gz")
        if not os.path.exists(path):
            mismatches.append(number)
            continue
        img = nib.load(path)
        mask = np.asarray(img.dataobj).reshape(img.shape[:3]) != 0
        # Voxel i of dcmqi's image → voxel j of the label map: inv(A_labels) @ A_dcmqi.
        m = np.linalg.inv(ref.affine) @ img.affine
        if not np.allclose(m[:3, :3], np.round(m[:3, :3]), atol=1e-3):
            mismatches.append(number)
            continue
        expected = np.zeros(mask.shape, bool)
        idx = np.argwhere(np.ones(mask.shape, bool))
        tgt = np.rint(idx @ m[:3, :3].T + m[:3, 3]).astype(int)
        ok = np.all((tgt >= 0) & (tgt < labels.shape), axis=1)
        flat = np.zeros(len(idx), bool)
        flat[ok] = labels[tgt[ok, 0], tgt[ok, 1], tgt[ok, 2]] == original
        expected[tuple(idx.T)] = flat
        if not np.array_equal(mask, expected) or mask.sum() != (labels == original).sum():
            mismatches.append(number)
    meta = json.load(open(os.path.join(out_dir, "meta.json")))
    segments = [{"labelID": s.get("labelID"), "label": s.get("SegmentLabel"),
                 "type": s["SegmentedPropertyTypeCodeSequence"]["CodeValue"],
                 "rgb": s.get("recommendedDisplayRGBValue")}
                for group in meta["segmentAttributes"] for s in group]
    print(json.dumps({"mismatches": mismatches, "segments": segments}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
