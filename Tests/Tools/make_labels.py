#!/usr/bin/env python3
# Benchmark input: a label map with N labels (spheres of random centre and radius) on the grid of IMAGE
# (a NIfTI written by `i2 convert`), plus dcmqi metainfo describing every label.
# usage: make_labels.py IMAGE.nii.gz LABELS.nii.gz META.json [--labels N] [--seed S]
import argparse
import json

import nibabel as nib
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("image"); p.add_argument("labels_path"); p.add_argument("meta")
p.add_argument("--labels", type=int, default=100); p.add_argument("--seed", type=int, default=1)
a = p.parse_args()
img = nib.load(a.image)
shape = img.shape[:3]
rng = np.random.default_rng(a.seed)
out = np.zeros(shape, np.uint8 if a.labels < 256 else np.uint16)
for label in range(1, a.labels + 1):
    r = int(rng.integers(8, 30))
    c = [int(rng.integers(r, max(r + 1, s - r))) for s in shape]
    lo = [max(0, c[i] - r) for i in range(3)]
    hi = [min(shape[i], c[i] + r + 1) for i in range(3)]
    x, y, z = np.ogrid[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    ball = (x - c[0]) ** 2 + (y - c[1]) ** 2 + ((z - c[2]) * 2) ** 2 <= r * r
    out[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]][ball] = label
nib.save(nib.Nifti1Image(out, img.affine), a.labels_path)
tissue = {"CodeValue": "85756007", "CodingSchemeDesignator": "SCT", "CodeMeaning": "Tissue"}
segments = [{"labelID": i, "SegmentLabel": f"Structure {i}", "SegmentAlgorithmType": "AUTOMATIC",
             "SegmentAlgorithmName": "benchmark", "SegmentedPropertyCategoryCodeSequence": tissue,
             "SegmentedPropertyTypeCodeSequence": tissue,
             "recommendedDisplayRGBValue": [int(v) for v in rng.integers(0, 256, 3)]} for i in range(1, a.labels + 1)]
json.dump({"SeriesDescription": "benchmark", "SeriesNumber": "300", "InstanceNumber": "1",
           "segmentAttributes": [segments]}, open(a.meta, "w"), indent=1)
