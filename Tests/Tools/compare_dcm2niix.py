#!/usr/bin/env python3
"""Strict comparison of i2's NIfTI output with dcm2niix's, file for file (nibabel, numpy).

compare_dcm2niix.py TEST_DIR REFERENCE_DIR [--names-only] [--ignore NAME ...] [--no-time]

Unlike compare_nifti.py nothing is reoriented: dcm2niix's voxel order is the reference.
  - the same set of .nii file names (the reference's names are dcm2niix's -f %p_%s);
  - per file: same shape (a trailing singleton 4th axis counts), equal scaled voxel values
    (get_fdata, exact), sform and qform within 1e-3 mm, the same sform_code and qform_code,
    pixdim[4] within 1e-4 and the same xyzt_units.
--no-time skips pixdim[4] (for files that went through a format that keeps no TR, e.g. .nrrd).
Prints one line per file: "SAME name" or "DIFF name: what"; exit 0 only when every file is SAME.
"""
import argparse, os, sys
import numpy as np
import nibabel as nib


def compare(test, ref, time=True):
    t, r = nib.load(test), nib.load(ref)
    th, rh = t.header, r.header
    why = []
    if t.shape != r.shape:
        return [f"shape {t.shape} != {r.shape}"]
    a, b = t.get_fdata(), r.get_fdata()
    if not np.array_equal(a, b):
        n = int(np.sum(a != b))
        why.append(f"{n} of {a.size} voxels differ (max |d| {np.max(np.abs(a - b)):.4g})")
    for name, x, y in (("sform", th.get_sform(), rh.get_sform()), ("qform", th.get_qform(), rh.get_qform())):
        d = np.max(np.abs(x - y))
        if d > 1e-3:
            why.append(f"{name} differs by {d:.4g}")
    for key in ("sform_code", "qform_code", "xyzt_units"):
        if int(th[key]) != int(rh[key]):
            why.append(f"{key} {int(th[key])} != {int(rh[key])}")
    if time and abs(float(th["pixdim"][4]) - float(rh["pixdim"][4])) > 1e-4:
        why.append(f"pixdim[4] {float(th['pixdim'][4]):.6g} != {float(rh['pixdim'][4]):.6g}")
    return why


def main():
    p = argparse.ArgumentParser()
    p.add_argument("test"); p.add_argument("reference")
    p.add_argument("--names-only", action="store_true")
    p.add_argument("--ignore", action="append", default=[])
    p.add_argument("--no-time", action="store_true")
    a = p.parse_args()
    nii = lambda d: sorted(f for f in os.listdir(d) if f.endswith(".nii") and f not in a.ignore)
    tests, refs = nii(a.test), nii(a.reference)
    ok = True
    for f in sorted(set(refs) - set(tests)):
        print(f"MISSING {f}"); ok = False
    for f in sorted(set(tests) - set(refs)):
        print(f"EXTRA {f}"); ok = False
    for f in sorted(set(tests) & set(refs)):
        why = [] if a.names_only else compare(os.path.join(a.test, f), os.path.join(a.reference, f), not a.no_time)
        print(f"SAME {f}" if not why else f"DIFF {f}: " + "; ".join(why))
        ok = ok and not why
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
