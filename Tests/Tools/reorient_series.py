#!/usr/bin/env python3
"""Rewrites the geometry of a generated single-frame series in place (pydicom), for orientation tests.

reorient_series.py DIR --iop RX RY RZ CX CY CZ [--descending] [--spacing MM]

The files keep their pixels and InstanceNumbers; slice k (in InstanceNumber order) gets
ImageOrientationPatient = IOP and ImagePositionPatient = ORIGIN + k * spacing * normal, normal = row x
column (with --descending, minus the normal: instance numbers then run against the normal). ORIGIN is
the first file's position. Used to compare i2 convert with dcm2niix on sagittal, coronal and
reversed-normal series that the shared corpora do not hold.
"""
import argparse, os
import numpy as np
import pydicom


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--iop", type=float, nargs=6, required=True)
    p.add_argument("--descending", action="store_true")
    p.add_argument("--spacing", type=float, default=0)
    a = p.parse_args()
    files = [os.path.join(a.dir, f) for f in sorted(os.listdir(a.dir))]
    sets = sorted(((pydicom.dcmread(f), f) for f in files), key=lambda x: int(x[0].InstanceNumber))
    row, col = np.array(a.iop[:3]), np.array(a.iop[3:])
    normal = np.cross(row, col) * (-1 if a.descending else 1)
    origin = np.array([float(v) for v in sets[0][0].ImagePositionPatient])
    spacing = a.spacing or float(sets[0][0].get("SliceThickness", 1) or 1)
    for k, (ds, f) in enumerate(sets):
        ds.ImageOrientationPatient = [f"{v:.6f}" for v in a.iop]
        ds.ImagePositionPatient = [f"{v:.4f}" for v in origin + normal * spacing * k]
        ds.save_as(f)


if __name__ == "__main__":
    main()
