#!/usr/bin/env python3
"""Checks a NIfTI converted from a gantry-tilted DICOM series against the DICOM files themselves (pydicom).

check_tilt.py shear    NIFTI DICOM_DIR   every DICOM pixel centre (ImagePositionPatient + column * PixelSpacing[1]
                                         * row direction + row * PixelSpacing[0] * column direction, LPS -> RAS)
                                         is the centre of one voxel of NIFTI (affine within 1e-3 mm), every voxel is
                                         hit exactly once, and that voxel holds the pixel's scaled value.
check_tilt.py resample NIFTI DICOM_DIR   the affine is orthogonal; each slice of NIFTI lies in the plane of one DICOM
                                         slice (1e-3 mm); every voxel whose centre falls inside that slice's pixel grid
                                         holds the bilinear interpolation of its scaled pixels (within 0.5: integers
                                         are rounded).

Exit 0 when it holds; otherwise exit 1 with lines starting with "MISMATCH" on stderr.
"""
import glob, os, sys
import numpy as np
import nibabel as nib
import pydicom

LPS_TO_RAS = np.array([-1.0, -1.0, 1.0])


def slices(folder):
    out = []
    for path in sorted(glob.glob(os.path.join(folder, "**", "*"), recursive=True)):
        if not os.path.isfile(path):
            continue
        try:
            ds = pydicom.dcmread(path)
        except Exception:
            continue
        if "PixelData" not in ds:
            continue
        iop = np.array([float(v) for v in ds.ImageOrientationPatient])
        dy, dx = (float(v) for v in ds.PixelSpacing)
        out.append(dict(
            path=path,
            ipp=np.array([float(v) for v in ds.ImagePositionPatient]) * LPS_TO_RAS,
            row=iop[:3] * LPS_TO_RAS, col=iop[3:] * LPS_TO_RAS, dx=dx, dy=dy,
            pixels=ds.pixel_array.astype(np.float64) * float(getattr(ds, "RescaleSlope", 1))
            + float(getattr(ds, "RescaleIntercept", 0))))
    if not out:
        raise SystemExit(f"MISMATCH {folder}: no DICOM slices found")
    return out


def check_shear(img, data, series):
    problems = []
    inv = np.linalg.inv(img.affine)
    hits = np.zeros(data.shape, dtype=np.int64)
    for s in series:
        rows, cols = s["pixels"].shape
        r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        world = (s["ipp"][None, None, :] + (c[..., None] * s["dx"]) * s["row"] + (r[..., None] * s["dy"]) * s["col"])
        world = world.reshape(-1, 3)
        ijk = (inv[:3, :3] @ world.T).T + inv[:3, 3]
        near = np.rint(ijk).astype(np.int64)
        back = (img.affine[:3, :3] @ near.T).T + img.affine[:3, 3]
        err = float(np.abs(back - world).max())
        if err > 1e-3:
            problems.append(f"{s['path']}: pixel centres are up to {err:g} mm from the nearest voxel centre")
            continue
        if (near < 0).any() or (near >= np.array(data.shape[:3])).any():
            problems.append(f"{s['path']}: pixel centres fall outside the image grid {data.shape}")
            continue
        values = data[near[:, 0], near[:, 1], near[:, 2]]
        expected = s["pixels"].reshape(-1)
        bad = values != expected
        if bad.any():
            i = int(np.argmax(bad))
            problems.append(f"{s['path']}: {int(bad.sum())} voxels differ from the pixels; first: voxel "
                            f"{tuple(int(v) for v in near[i])} holds {values[i]:g}, pixel holds {expected[i]:g}")
        np.add.at(hits, (near[:, 0], near[:, 1], near[:, 2]), 1)
    if not problems and not (hits == 1).all():
        problems.append(f"{int((hits == 0).sum())} voxels are hit by no pixel, {int((hits > 1).sum())} by several")
    return problems


def check_resample(img, data, series):
    problems = []
    a = img.affine[:3, :3]
    gram = a.T @ a
    off = np.abs(gram - np.diag(np.diag(gram))).max()
    if off > 1e-6:
        problems.append(f"affine columns are not orthogonal (largest dot product {off:g}): {a.tolist()}")
        return problems
    nx, ny, nz = data.shape[:3]
    i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    inside_total = 0
    for k in range(nz):
        world = (a @ np.stack([i.ravel(), j.ravel(), np.full(i.size, k)])).T + img.affine[:3, 3]
        normal_of = lambda s: np.cross(s["row"], s["col"])
        dist = [abs(float((world[0] - s["ipp"]) @ normal_of(s))) for s in series]
        s = series[int(np.argmin(dist))]
        if min(dist) > 1e-3:
            problems.append(f"slice {k} lies {min(dist):g} mm from the nearest DICOM slice plane")
            continue
        u = ((world - s["ipp"]) @ s["row"]) / s["dx"]   # column coordinate
        v = ((world - s["ipp"]) @ s["col"]) / s["dy"]   # row coordinate
        rows, cols = s["pixels"].shape
        eps = 1e-6
        ok = (u >= -eps) & (u <= cols - 1 + eps) & (v >= -eps) & (v <= rows - 1 + eps)
        u, v = np.clip(u[ok], 0, cols - 1), np.clip(v[ok], 0, rows - 1)
        u0, v0 = np.minimum(np.floor(u).astype(int), cols - 2), np.minimum(np.floor(v).astype(int), rows - 2)
        fu, fv = u - u0, v - v0
        p = s["pixels"]
        expected = (p[v0, u0] * (1 - fu) * (1 - fv) + p[v0, u0 + 1] * fu * (1 - fv)
                    + p[v0 + 1, u0] * (1 - fu) * fv + p[v0 + 1, u0 + 1] * fu * fv)
        values = data[:, :, k].ravel()[ok]
        diff = np.abs(values - expected)
        inside_total += int(ok.sum())
        # 0.5 for integer rounding, plus what the float32 sform costs: its origin (now the far row corner,
        # dcm2niix's order) is exact to ~1e-5 mm, i.e. ~1e-5 px, times CT gradients up to ~10^3 per px.
        tol = 0.5 + 0.01
        if diff.max(initial=0) > tol:
            w = int(np.argmax(diff))
            problems.append(f"slice {k} ({s['path']}): {int((diff > tol).sum())} voxels differ from the "
                            f"interpolated pixels by more than 0.5 (max {diff[w]:g}: {values[w]:g} vs {expected[w]:g})")
    if inside_total == 0:
        problems.append("no voxel falls inside the DICOM pixel grids")
    return problems


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("shear", "resample"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, nifti, folder = sys.argv[1:]
    img = nib.load(nifti)
    data = img.get_fdata()
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    series = slices(folder)
    problems = (check_shear if mode == "shear" else check_resample)(img, data, series)
    for m in problems:
        print(f"MISMATCH {nifti} vs {folder} ({mode}): {m}", file=sys.stderr)
    if not problems:
        print(f"OK {nifti} matches {len(series)} DICOM slices ({mode})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
