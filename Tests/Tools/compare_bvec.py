#!/usr/bin/env python3
"""Compares the .bval/.bvec beside two NIfTI images (i2's and dcm2niix's reference).

compare_bvec.py TEST.nii[.gz] REFERENCE.nii

- .bval: the same text (dcm2niix's "%g" values separated by spaces);
- .bvec: every direction the same in world space (each file read in its own image's axes with FSL's rule:
  x mirrored when the affine's determinant is positive), up to the sign of the whole vector (a diffusion
  direction and its opposite encode the same measurement), within 1e-4;
- when both images have the same affine (same voxel order), the .bvec text must be identical too.
Also checks the 4th dimension equals the number of b-values. Exit 0 and "SAME", or exit 1 with the reason.
"""
import sys
import numpy as np
import nibabel as nib


def base(path):
    for ext in (".nii.gz", ".nii"):
        if path.endswith(ext):
            return path[: -len(ext)]
    return path


def load(path):
    img = nib.load(path)
    b = base(path)
    bval = open(b + ".bval").read()
    try:
        bvec = open(b + ".bvec").read()
    except FileNotFoundError:
        bvec = None
    return img, bval, bvec


def world(img, bvec):
    v = np.array([[float(x) for x in line.split()] for line in bvec.strip().split("\n")])
    m = img.affine[:3, :3] / np.linalg.norm(img.affine[:3, :3], axis=0)
    if np.linalg.det(m) > 0:
        v[0] = -v[0]
    return m @ v


def main():
    test, ref = sys.argv[1], sys.argv[2]
    ti, tval, tvec = load(test)
    ri, rval, rvec = load(ref)
    problems = []
    if tval != rval:
        problems.append(".bval differs:\n  i2:       %r\n  dcm2niix: %r" % (tval, rval))
    n = len(rval.split())
    vols = ti.shape[3] if len(ti.shape) > 3 else 1
    if vols != n:
        problems.append("%d volumes for %d b-values" % (vols, n))
    if (tvec is None) != (rvec is None):
        problems.append(".bvec written by %s only" % ("i2" if rvec is None else "dcm2niix"))
    elif tvec is not None:
        tw, rw = world(ti, tvec), world(ri, rvec)
        if tw.shape != rw.shape:
            problems.append(".bvec shapes %s and %s" % (tw.shape, rw.shape))
        else:
            for i in range(rw.shape[1]):
                a, b = tw[:, i], rw[:, i]
                if min(np.abs(a - b).max(), np.abs(a + b).max()) > 1e-4:
                    problems.append("direction %d: i2 %s, dcm2niix %s (world)" % (i, a, b))
        if np.allclose(ti.affine, ri.affine, atol=1e-3) and tvec != rvec:
            problems.append("same voxel axes but .bvec text differs:\n  i2:\n%s  dcm2niix:\n%s" % (tvec, rvec))
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print("SAME")


if __name__ == "__main__":
    main()
