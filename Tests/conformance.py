#!/usr/bin/env python3
"""i2 convert against dcm2niix, series by series (see conformance.sh, which runs both converters).

For every NIfTI dcm2niix wrote (the reference) the i2 output of the same name is compared:
dimensions, voxel values after scaling (nibabel get_fdata; RGB raw), sform and qform (1e-3 mm) with
their codes, pixdim[4] of 4-D files, .bval/.bvec, and the sidecar keys BIDS apps rely on (KEYS).
Identifying fields in i2's default sidecar are a difference too. Other sidecar keys are summarised
(counted, not judged) unless --all-keys. Prints SAME or what differs, then
"conformance: N same of M series".
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import nibabel as nib

# The keys the issue names and those that follow from them; values compared with tolerance.
KEYS = [
    "SliceTiming", "PhaseEncodingDirection", "PhaseEncodingAxis", "TotalReadoutTime", "EffectiveEchoSpacing",
    "RepetitionTime", "EchoTime", "FlipAngle", "InversionTime", "Manufacturer", "ManufacturersModelName",
    "MagneticFieldStrength", "SeriesNumber", "SeriesDescription", "ProtocolName", "ImageType", "EchoNumber",
    "SliceThickness", "SpacingBetweenSlices", "ImageOrientationPatientDICOM",
    "PhilipsRescaleSlope", "PhilipsRescaleIntercept", "PhilipsScaleSlope", "UsePhilipsFloatNotDisplayScaling",
]
# Never in a default sidecar (dcm2niix's -ba y leaves them out).
IDENTIFYING = ["PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientWeight", "AccessionNumber",
               "StudyInstanceUID", "SeriesInstanceUID", "ReferringPhysicianName", "StudyID"]
# Differ by construction.
VOLATILE = {"ConversionSoftware", "ConversionSoftwareVersion", "BidsGuess"}


def same_value(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return a == b


def squeeze_shape(shape):
    s = list(shape)
    while len(s) > 3 and s[-1] == 1:
        s.pop()
    return tuple(s)


def compare_image(ref_path, i2_path):
    out = []
    r, m = nib.load(ref_path), nib.load(i2_path)
    rs, ms = squeeze_shape(r.shape), squeeze_shape(m.shape)
    if rs != ms:
        return [f"dims {ms} instead of {rs}"], []
    rgb = r.get_data_dtype().names is not None or m.get_data_dtype().names is not None
    if rgb:
        ra, ma = np.asarray(r.dataobj), np.asarray(m.dataobj)
        if ra.dtype != ma.dtype or ra.tobytes() != ma.tobytes():
            out.append(f"RGB voxels differ ({ma.dtype} vs {ra.dtype})")
    else:
        ra = np.asarray(r.get_fdata(dtype=np.float64)).reshape(rs)
        ma = np.asarray(m.get_fdata(dtype=np.float64)).reshape(ms)
        scale = max(1.0, float(np.nanmax(np.abs(ra))) if ra.size else 1.0)
        diff = np.abs(ra - ma)
        bad = int(np.count_nonzero(diff > 1e-5 * scale + 1e-4))
        if bad:
            # Say whether it is an orientation difference, which is the common failure.
            hint = ""
            for axis, name in [(1, "rows"), (0, "columns"), (2, "slices")]:
                if np.allclose(np.flip(ma, axis=axis), ra, atol=1e-4 + 1e-5 * scale):
                    hint = f" (equal with {name} reversed)"
            out.append(f"voxels: {bad} of {ra.size} differ, max {float(diff.max()):.4g}{hint}")
        if r.get_data_dtype() != m.get_data_dtype():
            out.append(f"note: datatype {m.get_data_dtype()} vs {r.get_data_dtype()}")
    for name, get in [("sform", lambda h: h.get_sform(coded=True)), ("qform", lambda h: h.get_qform(coded=True))]:
        (ra_, rc), (ma_, mc) = get(r.header), get(m.header)
        if int(rc) != int(mc):
            out.append(f"{name}_code {int(mc)} instead of {int(rc)}")
        elif ra_ is not None and ma_ is not None and not np.allclose(ra_, ma_, atol=1e-3):
            out.append(f"{name} differs by {float(np.abs(ra_ - ma_).max()):.4g}")
    if len(rs) > 3:
        rt, mt = float(r.header["pixdim"][4]), float(m.header["pixdim"][4])
        if not math.isclose(rt, mt, rel_tol=1e-4, abs_tol=1e-5):
            out.append(f"pixdim[4] {mt} instead of {rt}")
    return [o for o in out if not o.startswith("note:")], [o for o in out if o.startswith("note:")]


def compare_text_numbers(ref, mine, what, tol):
    if not os.path.exists(ref) and not os.path.exists(mine):
        return []
    if not os.path.exists(mine):
        return [f"no {what}"]
    if not os.path.exists(ref):
        return [f"{what} written where dcm2niix writes none"]
    a = np.loadtxt(ref, ndmin=2)
    b = np.loadtxt(mine, ndmin=2)
    if a.shape != b.shape:
        return [f"{what} shape {b.shape} instead of {a.shape}"]
    if not np.allclose(a, b, atol=tol):
        return [f"{what} differs by {float(np.abs(a - b).max()):.4g}"]
    return []


def compare_sidecar(ref, mine, all_keys):
    if not os.path.exists(ref):
        return [], ""
    if not os.path.exists(mine):
        return ["no sidecar"], ""
    a, b = json.load(open(ref)), json.load(open(mine))
    out = []
    for k in KEYS:
        if k in a and k not in b:
            out.append(f"{k} missing")
        elif k in a and not same_value(a[k], b[k]):
            out.append(f"{k} {json.dumps(b[k])[:60]} instead of {json.dumps(a[k])[:60]}")
        elif k not in a and k in b:
            out.append(f"{k} written where dcm2niix writes none")
    for k in IDENTIFYING:
        if k in b:
            out.append(f"identifying {k} in the default sidecar")
    others = [k for k in a if k not in KEYS and k not in VOLATILE]
    missing = [k for k in others if k not in b]
    differ = [k for k in others if k in b and not same_value(a[k], b[k])]
    if all_keys:
        out += [f"{k} missing" for k in missing] + [f"{k} differs" for k in differ]
        return out, ""
    summary = f"other keys: {len(others) - len(missing) - len(differ)} same, {len(missing)} missing, {len(differ)} differ"
    return out, summary


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ref", required=True, help="dcm2niix's output directory")
    p.add_argument("--i2", required=True, help="i2's output directory")
    p.add_argument("--label", default="")
    p.add_argument("--all-keys", action="store_true")
    p.add_argument("--verbose", action="store_true")
    a = p.parse_args()
    refs = sorted(f[:-4] for f in os.listdir(a.ref) if f.endswith(".nii"))
    mine = sorted(f[:-4] for f in os.listdir(a.i2) if f.endswith(".nii"))
    same = 0
    for name in refs:
        label = f"{a.label}/{name}" if a.label else name
        rp, mp = os.path.join(a.ref, name), os.path.join(a.i2, name)
        if name not in mine:
            print(f"DIFF  {label}: i2 wrote no {name}.nii")
            continue
        try:
            problems, notes = compare_image(rp + ".nii", mp + ".nii")
        except Exception as e:  # an unreadable output is a difference, not a crash of the report
            problems, notes = [f"cannot compare: {e}"], []
        problems += compare_text_numbers(rp + ".bval", mp + ".bval", "bval", 0.5)
        problems += compare_text_numbers(rp + ".bvec", mp + ".bvec", "bvec", 1e-3)
        side, summary = compare_sidecar(rp + ".json", mp + ".json", a.all_keys)
        problems += side
        extra = "" if not a.verbose else "  [" + "; ".join(notes + ([summary] if summary else [])) + "]"
        if problems:
            print(f"DIFF  {label}: " + "; ".join(problems) + extra)
        else:
            same += 1
            print(f"SAME  {label}" + extra)
    for name in mine:
        if name not in refs:
            print(f"EXTRA {a.label}/{name}: i2 wrote {name}.nii, dcm2niix did not")
    print(f"#counts {same} {len(refs)}")


if __name__ == "__main__":
    main()
