#!/usr/bin/env python3
"""Checks one segment of i2 seg2nifti's output against what highdicom decodes from the same SEG.

compare_seg_highdicom.py SEG.dcm OUT.nii[.gz] SEGMENT [--value V] [--threshold T | --probability]
                         [--source DIR]

highdicom (get_pixels_by_source_instance) gives the segment's pixels for every source instance the SEG
references; each instance's plane is found in OUT through its ImagePositionPatient (from the source files
in --source when given, else from the SEG frame that references it) and OUT's affine. Expected there:
  mask (default)   pixels != 0, written as V (default 1);
  --threshold T    FRACTIONAL probability >= T, written as V;
  --probability    the probability itself (float, within 1e-6).
Every voxel of OUT outside those planes must be 0 (or hold other labels when --value is given: only
voxels equal to V are counted). Exit 0 on a match, else 1 with "MISMATCH ..." lines on stderr.
"""
import argparse, glob, os, sys
import numpy as np
import nibabel as nib
import pydicom
import highdicom as hd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("seg"); ap.add_argument("out"); ap.add_argument("segment", type=int)
    ap.add_argument("--value", type=float); ap.add_argument("--threshold", type=float)
    ap.add_argument("--probability", action="store_true"); ap.add_argument("--source")
    a = ap.parse_args()

    seg = hd.seg.segread(a.seg)
    ds = pydicom.dcmread(a.seg)
    positions = {}
    for item in ds.PerFrameFunctionalGroupsSequence:
        uid = item.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        positions[uid] = [float(v) for v in item.PlanePositionSequence[0].ImagePositionPatient]
    if a.source:
        for p in glob.glob(os.path.join(a.source, "*")):
            try:
                s = pydicom.dcmread(p, stop_before_pixels=True)
                if s.SOPInstanceUID in positions:
                    positions[s.SOPInstanceUID] = [float(v) for v in s.ImagePositionPatient]
            except Exception:
                pass
    uids = sorted(positions)
    pixels = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=uids, segment_numbers=[a.segment], combine_segments=False,
        rescale_fractional=True)[..., 0].astype(np.float64)

    img = nib.load(a.out)
    data = np.asanyarray(img.get_fdata())
    if data.ndim == 4:
        data = data[..., 0]
    to_voxel = np.linalg.inv(img.affine)
    ras = np.diag([-1.0, -1.0, 1.0])
    value = 1.0 if a.value is None else a.value
    seen = np.zeros(data.shape[2], bool)
    errors = []
    for uid, plane in zip(uids, pixels):
        ijk = to_voxel @ np.append(ras @ np.array(positions[uid]), 1.0)
        i, j, k = np.rint(ijk[:3]).astype(int)
        # The frame's first pixel is voxel (0, 0, k) in DICOM row order, or (0, rows - 1, k) in the order
        # i2 convert and dcm2niix write (rows reversed); either way the affine must say so.
        reversed_rows = j == data.shape[1] - 1 and j != 0
        if abs(ijk - np.rint(ijk))[:3].max() > 1e-3 or i != 0 or (j != 0 and not reversed_rows) or not 0 <= k < data.shape[2]:
            errors.append(f"MISMATCH source {uid} at {positions[uid]} is voxel {ijk[:3]} of OUT, not the corner of a slice")
            continue
        seen[k] = True
        got = data[:, ::-1, k].T if reversed_rows else data[:, :, k].T
        if a.probability:
            expected, ok = plane, np.allclose(got, plane, atol=1e-6)
        else:
            on = plane >= a.threshold if a.threshold is not None else plane != 0
            expected, ok = on, np.array_equal(got == value, on)
        if not ok:
            errors.append(f"MISMATCH slice {k} (source {uid}): {int((expected != 0).sum())} expected, "
                          f"{int((got == value).sum() if not a.probability else (got != 0).sum())} found")
    rest = data[:, :, ~seen]
    if (rest == value).any() if a.value is not None else rest.any():
        errors.append(f"MISMATCH {int((rest != 0).sum())} voxels set on slices that no source instance covers")
    for e in errors:
        print(e, file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
