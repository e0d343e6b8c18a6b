#!/usr/bin/env python3
# Reads a DICOM-SEG with highdicom and checks it against the label map it was made from.
# usage: read_seg_highdicom.py SEG.dcm REF_DIR LABELS.nii[.gz]
# LABELS is on the reference grid (axis 0 = columns, 1 = rows in DICOM order or reversed as i2 convert and
# dcm2niix write them, told apart by the affine, 2 = slices sorted along the normal), e.g. `i2 convert labels.nrrd labels.nii.gz`. Prints one JSON object: the segments
# (number, label, original label from i2's private element, codes, CIELab), and "mismatches", the list
# of segments whose per-instance masks differ from LABELS == original label (empty when all agree), and
# "bad_positions", frames whose plane position equals no source slice position.
import json
import os
import sys

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom


def code(c):
    return [c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning]


def main(seg_path, ref_dir, labels_path):
    seg = hd.seg.segread(seg_path)
    refs = [pydicom.dcmread(os.path.join(ref_dir, f), stop_before_pixels=True) for f in sorted(os.listdir(ref_dir))]
    row, col = np.array(refs[0].ImageOrientationPatient[:3], float), np.array(refs[0].ImageOrientationPatient[3:], float)
    normal = np.cross(row, col)
    refs.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, float), normal)))
    uids = [d.SOPInstanceUID for d in refs]
    positions = {tuple(round(float(v), 4) for v in d.ImagePositionPatient) for d in refs}
    img = nib.load(labels_path)
    labels = np.asarray(img.dataobj).astype(np.int64)  # (columns, rows, slices)
    # i2 convert writes dcm2niix's order, the DICOM rows reversed: axis 1 then runs against IOP's column
    # vector (seen in the affine, RAS): taken back to the frames' row order.
    if labels.shape[1] > 1 and np.dot(img.affine[:3, 1], np.diag([-1.0, -1.0, 1.0]) @ col) < 0:
        labels = labels[:, ::-1, ...]
    labels = np.transpose(labels[..., :len(uids)] if labels.ndim == 3 else labels[..., 0], (2, 1, 0))  # (slices, rows, columns)

    segments = []
    originals = {}
    for item in seg.SegmentSequence:
        original = None
        block = item.private_block(0x0077, "i2") if (0x0077, 0x0010) in item else None
        if block is not None and 0x01 in block:
            original = int(block[0x01].value)
        originals[int(item.SegmentNumber)] = original
        segments.append({
            "number": int(item.SegmentNumber), "label": str(item.SegmentLabel), "original": original,
            "category": code(item.SegmentedPropertyCategoryCodeSequence[0]),
            "type": code(item.SegmentedPropertyTypeCodeSequence[0]),
            "modifiers": [code(m) for m in item.SegmentedPropertyTypeCodeSequence[0].get("SegmentedPropertyTypeModifierCodeSequence", [])],
            "cielab": [int(v) for v in item.RecommendedDisplayCIELabValue] if "RecommendedDisplayCIELabValue" in item else None,
            "algorithm": str(item.SegmentAlgorithmType),
        })
    numbers = [s["number"] for s in segments if s["number"] > 0]
    is_labelmap = seg.SegmentationType == "LABELMAP"
    pixels = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=uids, segment_numbers=numbers,
        combine_segments=is_labelmap, relabel=False, ignore_spatial_locations=False)
    mismatches = []
    for i, n in enumerate(numbers):
        value = originals[n] if originals[n] is not None else n
        got = (pixels == n) if is_labelmap else pixels[..., i].astype(bool)
        if not np.array_equal(got, labels == value):
            mismatches.append(n)
    described = {originals[n] if originals[n] is not None else n for n in numbers}
    undescribed = sorted(int(v) for v in np.unique(labels) if v != 0 and int(v) not in described)
    bad_positions = []
    for i, frame in enumerate(seg.PerFrameFunctionalGroupsSequence):
        p = tuple(round(float(v), 4) for v in frame.PlanePositionSequence[0].ImagePositionPatient)
        if p not in positions:
            bad_positions.append(i + 1)
    print(json.dumps({"type": seg.SegmentationType, "frames": int(seg.NumberOfFrames), "segments": segments,
                      "mismatches": mismatches, "undescribed": undescribed, "bad_positions": bad_positions,
                      "overlap": str(seg.get("SegmentsOverlap", ""))}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
