#!/usr/bin/env python3
"""Compares two NIfTI images the way the end-to-end tests need (nibabel, numpy).

compare_nifti.py TEST.nii[.gz] REFERENCE.nii[.gz] [--tolerance MM] [--test-slices I,J,...] [--shape-only]

Both images are reoriented to the closest canonical orientation (nib.as_closest_canonical), then:
  - same shape (a trailing singleton 4th axis is ignored);
  - voxel values equal after scaling (get_fdata, exact equality);
  - affine (sform, or qform when there is no sform) within --tolerance mm (default 1e-3), max abs difference.
--test-slices picks those slices (axis 2, in the file's own voxel order) from TEST before the comparison,
and sets TEST's third affine column to the step from the first picked slice to the second: a reference
that holds only some of TEST's slices (e.g. dcm2niix's unequalized output of an irregular series) can
then be compared with TEST's slices at the same positions.

--shape-only compares the shapes only.

Exit 0 when they match; otherwise exit 1 with one line per mismatch on stderr, starting with "MISMATCH".
"""
import argparse, sys
import numpy as np
import nibabel as nib


def load(path, pick=None):
    img = nib.load(path)
    data = np.asanyarray(img.dataobj)
    affine = img.affine.copy()
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if pick is not None:
        if data.ndim < 3:
            raise SystemExit(f"MISMATCH {path}: --test-slices needs a 3-D image, shape {data.shape}")
        if max(pick) >= data.shape[2]:
            raise SystemExit(f"MISMATCH {path}: --test-slices {pick} outside {data.shape[2]} slices")
        # get_fdata applies the scaling; slice the scaled array, keep the header's slope/intercept out.
        scaled = img.get_fdata()
        if scaled.ndim == 4 and scaled.shape[3] == 1:
            scaled = scaled[..., 0]
        scaled = scaled[:, :, pick]
        origin = affine @ np.array([0, 0, pick[0], 1.0])
        step = affine @ np.array([0, 0, pick[1] - pick[0], 0.0]) if len(pick) > 1 else affine[:, 2]
        affine[:, 3] = origin
        affine[:, 2] = step
        img = nib.Nifti1Image(scaled, affine)
    else:
        img = nib.Nifti1Image(img.get_fdata()[..., 0] if img.ndim == 4 and img.shape[3] == 1
                              else img.get_fdata(), affine)
    return nib.as_closest_canonical(img)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("test"); p.add_argument("reference")
    p.add_argument("--tolerance", type=float, default=1e-3)
    p.add_argument("--test-slices", default=None)
    p.add_argument("--shape-only", action="store_true")
    a = p.parse_args()
    pick = [int(v) for v in a.test_slices.split(",")] if a.test_slices else None
    try:
        t = load(a.test, pick)
        r = load(a.reference)
    except (OSError, ValueError) as e:  # missing or unreadable file: one clear line, not a traceback
        print(f"MISMATCH {a.test} vs {a.reference}: cannot read: {e}", file=sys.stderr)
        return 1
    problems = []
    if t.shape != r.shape:
        problems.append(f"shape {t.shape} (test) != {r.shape} (reference)")
    elif a.shape_only:
        print(f"OK {a.test} == {a.reference}: shape {t.shape}")
        return 0
    else:
        td, rd = t.get_fdata(), r.get_fdata()
        diff = td != rd
        if diff.any():
            idx = tuple(int(v) for v in np.argwhere(diff)[0])
            problems.append(f"voxels differ at {int(diff.sum())} of {diff.size} positions "
                            f"(max abs {float(np.abs(td - rd).max()):g}); first at canonical index {idx}: "
                            f"test {td[idx]:g}, reference {rd[idx]:g}")
    d = float(np.abs(t.affine - r.affine).max())
    if d > a.tolerance:
        np.set_printoptions(precision=4, suppress=True, linewidth=200)
        problems.append(f"affine differs by {d:g} mm (> {a.tolerance:g}): test {t.affine[:3].tolist()} "
                        f"reference {r.affine[:3].tolist()}")
    for m in problems:
        print(f"MISMATCH {a.test} vs {a.reference}: {m}", file=sys.stderr)
    if problems:
        return 1
    print(f"OK {a.test} == {a.reference}: shape {t.shape}, affine within {d:g} mm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
