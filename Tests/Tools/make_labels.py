#!/usr/bin/env python3
# Benchmark input: a label map with N labels on the grid of IMAGE (a NIfTI written by `i2 convert`),
# plus dcmqi metainfo describing every label. Shapes of random centre and size:
#   sphere (default): radius 8-29 voxels, half as deep along z;
#   ellipsoid: three random semi-axes, 6-60 voxels in-plane and 3-40 along z.
# --dense: the shapes twice as large (a map like TotalSegmentator's, much of the body labelled);
# --sparse: small discs (radius 2-5) on every 30th slice only, the rest of the map empty.
# --dtype: the NIfTI's voxel type (uint8 by default).
# usage: make_labels.py IMAGE.nii.gz LABELS.nii[.gz] META.json [--labels N] [--seed S]
#                       [--dtype uint8|uint16|int32] [--shape sphere|ellipsoid] [--dense | --sparse]
import argparse
import json

import nibabel as nib
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("image"); p.add_argument("labels_path"); p.add_argument("meta")
p.add_argument("--labels", type=int, default=100); p.add_argument("--seed", type=int, default=1)
p.add_argument("--dtype", choices=["uint8", "uint16", "int32"], default="uint8")
p.add_argument("--shape", choices=["sphere", "ellipsoid"], default="sphere")
size = p.add_mutually_exclusive_group()
size.add_argument("--dense", action="store_true"); size.add_argument("--sparse", action="store_true")
a = p.parse_args()
if a.dtype == "uint8" and a.labels > 255:
    p.error("more than 255 labels need --dtype uint16 or int32")
img = nib.load(a.image)
shape = img.shape[:3]
rng = np.random.default_rng(a.seed)
out = np.zeros(shape, a.dtype)
scale = 2 if a.dense else 1
for label in range(1, a.labels + 1):
    if a.sparse:
        r = [int(rng.integers(2, 6))] * 2 + [0]
    elif a.shape == "sphere":
        r = [int(rng.integers(8, 30)) * scale] * 3   # the box; the sphere is half as deep (below)
    else:
        r = [int(rng.integers(6, 61)) * scale, int(rng.integers(6, 61)) * scale, int(rng.integers(3, 41)) * scale]
    c = [int(rng.integers(r[i], max(r[i] + 1, shape[i] - r[i]))) for i in range(3)]
    if a.sparse:
        c[2] = int(rng.integers(0, (shape[2] + 29) // 30)) * 30
    lo = [max(0, c[i] - r[i]) for i in range(3)]
    hi = [min(shape[i], c[i] + r[i] + 1) for i in range(3)]
    x, y, z = np.ogrid[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    if a.shape == "sphere" and not a.sparse:
        inside = (x - c[0]) ** 2 + (y - c[1]) ** 2 + ((z - c[2]) * 2) ** 2 <= r[0] * r[0]
    else:
        inside = sum(((g - c[i]) / max(r[i], 0.5)) ** 2 for i, g in enumerate((x, y, z))) <= 1
    out[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]][inside] = label
nib.save(nib.Nifti1Image(out, img.affine), a.labels_path)
tissue = {"CodeValue": "85756007", "CodingSchemeDesignator": "SCT", "CodeMeaning": "Tissue"}
segments = [{"labelID": i, "SegmentLabel": f"Structure {i}", "SegmentAlgorithmType": "AUTOMATIC",
             "SegmentAlgorithmName": "benchmark", "SegmentedPropertyCategoryCodeSequence": tissue,
             "SegmentedPropertyTypeCodeSequence": tissue,
             "recommendedDisplayRGBValue": [int(v) for v in rng.integers(0, 256, 3)]} for i in range(1, a.labels + 1)]
json.dump({"SeriesDescription": "benchmark", "SeriesNumber": "300", "InstanceNumber": "1",
           "segmentAttributes": [segments]}, open(a.meta, "w"), indent=1)
