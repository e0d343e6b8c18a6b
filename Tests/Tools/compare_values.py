#!/usr/bin/env python3
"""Compares the voxel values of two NIfTI files as dcm2niix's users see them (nibabel).

compare_values.py TEST REFERENCE [--header] [--rtol R]

Values: nibabel's get_fdata() (scl_slope/scl_inter applied), or the R, G, B components of RGB24,
compared after reorienting both arrays to the closest canonical orientation (voxel order is checked
elsewhere), equal within --rtol (default 1e-6, float32 rounding). --header: the on-disk datatype and
scl_slope/scl_inter (float32 as stored) must be identical too. Exit status 0 when all match, 1 with a
message naming what differs.
"""
import argparse, gzip, struct, sys
import numpy as np
import nibabel as nib
from nibabel.orientations import io_orientation, apply_orientation


def load(path):
    image = nib.load(path)
    with (gzip.open(path) if path.endswith(".gz") else open(path, "rb")) as f:
        raw = f.read(348)
    datatype = struct.unpack("<h", raw[70:72])[0]
    scl = struct.unpack("<ff", raw[112:120])
    stored = np.asanyarray(image.dataobj)
    if stored.dtype.names:   # RGB24: a structured array of R, G, B
        values = np.stack([stored[n] for n in stored.dtype.names], -1).astype(np.float64)
    else:
        values = image.get_fdata()
    return apply_orientation(values, io_orientation(image.affine)), datatype, scl


def main():
    p = argparse.ArgumentParser()
    p.add_argument("test"); p.add_argument("reference")
    p.add_argument("--header", action="store_true")
    p.add_argument("--rtol", type=float, default=1e-6)
    a = p.parse_args()
    (tv, td, ts), (rv, rd, rs) = load(a.test), load(a.reference)
    problems = []
    if tv.shape != rv.shape:
        problems.append(f"shape {tv.shape} vs {rv.shape}")
    elif not np.allclose(tv, rv, rtol=a.rtol, atol=0):
        bad = np.argwhere(~np.isclose(tv, rv, rtol=a.rtol, atol=0))
        i = tuple(bad[0])
        problems.append(f"{len(bad)} values differ, first at {i}: {tv[i]} vs {rv[i]}")
    if a.header and td != rd:
        problems.append(f"datatype {td} vs {rd}")
    if a.header and ts != rs:
        problems.append(f"scl_slope/scl_inter {ts} vs {rs}")
    if problems:
        print(f"{a.test} vs {a.reference}: " + "; ".join(problems))
        sys.exit(1)


if __name__ == "__main__":
    main()
