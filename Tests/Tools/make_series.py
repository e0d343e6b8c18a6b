#!/usr/bin/env python3
"""Generates DICOM test series from one real CT slice (pydicom), for tests and benchmarks.

make_series.py SOURCE.dcm OUT_DIR [--slices N] [--size N] [--oblique DEG] [--tilt DEG]
               [--spacing MM] [--reverse] [--drop K] [--seed S]

Each slice is the source's pixels shifted by a slice-dependent amount (so slices differ), with its own
SOP Instance UID, InstanceNumber and ImagePositionPatient along the (possibly oblique) normal.
--tilt shifts positions along the column direction (gantry tilt); --drop removes slice K (a gap);
--reverse writes files in reverse order of position (file names sort opposite to geometry).
"""
import argparse, math, os, sys
import numpy as np
import pydicom
from pydicom.uid import generate_uid


def rotation(deg):
    """Rotation about an oblique axis, so every IOP component is non-trivial."""
    t = math.radians(deg)
    axis = np.array([1.0, 2.0, 3.0]); axis /= np.linalg.norm(axis)
    x, y, z = axis
    c, s, C = math.cos(t), math.sin(t), 1 - math.cos(t)
    return np.array([[c + x*x*C, x*y*C - z*s, x*z*C + y*s],
                     [y*x*C + z*s, c + y*y*C, y*z*C - x*s],
                     [z*x*C - y*s, z*y*C + x*s, c + z*z*C]])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("source"); p.add_argument("out")
    p.add_argument("--slices", type=int, default=300)
    p.add_argument("--size", type=int, default=0, help="crop to N x N (0: keep)")
    p.add_argument("--oblique", type=float, default=0.0)
    p.add_argument("--tilt", type=float, default=0.0)
    p.add_argument("--spacing", type=float, default=1.25)
    p.add_argument("--reverse", action="store_true")
    p.add_argument("--drop", type=int, default=-1)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()

    src = pydicom.dcmread(a.source)
    pixels = src.pixel_array
    if a.size:
        pixels = pixels[:a.size, :a.size]
    rows, cols = pixels.shape
    R = rotation(a.oblique)
    row_dir = R @ np.array([1.0, 0, 0]); col_dir = R @ np.array([0, 1.0, 0])
    normal = np.cross(row_dir, col_dir)
    origin = np.array([float(v) for v in src.ImagePositionPatient])
    tilt_shift = math.tan(math.radians(a.tilt)) * a.spacing
    series_uid = generate_uid(entropy_srcs=[str(a.seed), "series"])
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    indices = [k for k in range(a.slices) if k != a.drop]
    for n, k in enumerate(indices):
        ds = src.copy()
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = generate_uid(entropy_srcs=[str(a.seed), str(k)])
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = k + 1
        pos = origin + normal * (k * a.spacing) + col_dir * (k * tilt_shift)
        ds.ImagePositionPatient = [f"{v:.6f}" for v in pos]
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in list(row_dir) + list(col_dir)]
        ds.SliceLocation = f"{k * a.spacing:.4f}"
        ds.Rows, ds.Columns = rows, cols
        slab = np.roll(pixels, k % cols, axis=1).astype(pixels.dtype)
        slab[0, 0] = pixels.dtype.type(int(rng.integers(0, 1000)))
        ds.PixelData = np.ascontiguousarray(slab).tobytes()
        name = f"{(len(indices) - n if a.reverse else n + 1):05d}.dcm"
        ds.save_as(os.path.join(a.out, name), write_like_original=True)


if __name__ == "__main__":
    sys.exit(main())
