#!/usr/bin/env python3
"""RT Structure Set peers for the tests: label maps with holes and islands, rt-utils and dcmrtstruct2nii.

rt_peers.py labels IMAGE.nii.gz LABELS.nii.gz META.json
    A label map on the grid of IMAGE (a NIfTI `i2 convert` wrote): label 1 a ring (a square with a hole)
    on every slice, label 2 two islands and two pixels touching at a corner, label 5 a single pixel and
    a thin bar (gapped values, so ROI numbers are tested), plus dcmqi metainfo for 1, 2 and 5.
rt_peers.py rtutils-compare CT_DIR RT.dcm LABELS.nii.gz META.json
    Reads every ROI with rt-utils (RTStructBuilder.create_from, get_roi_mask_by_name) and compares it
    with the label whose SegmentLabel is the ROI's name, voxel for voxel (slices matched by SOP UID).
rt_peers.py rtutils-write CT_DIR LABELS.nii.gz META.json OUT.dcm
    Writes an RTSTRUCT with rt-utils from the label map (one ROI per label, named as in META).
rt_peers.py dcmrtstruct2nii-compare RT.dcm CT_DIR LABELS.nii.gz META.json WORK_DIR
    (run with the .venv-rt interpreter: dcmrtstruct2nii needs pydicom < 3) converts with dcmrtstruct2nii
    and compares each mask_<ROI>.nii.gz with its label in world space.
rt_peers.py plastimatch-write CT_DIR LABELS.nii.gz META.json OUT_DIR
    Writes an RTSTRUCT with plastimatch (Debian plastimatch: convert --input-prefix, one mask per label
    named as in META; plastimatch joins holes to their outline by a keyhole); prints its path.
rt_peers.py plastimatch-compare RT.dcm CT_DIR LABELS.nii.gz META.json WORK_DIR
    Reads every ROI with plastimatch (convert --output-prefix) and compares each mask with its label in
    world space.
rt_peers.py compare-by-name TEST.nii.gz TEST.json LABELS.nii.gz META.json
    Each structure of META (by SegmentLabel) in TEST, whose JSON may number it otherwise, voxel for voxel.
rt_peers.py clinical-ct CT0.dcm RTSS.dcm OUT_DIR
    The CT series an RTSTRUCT was drawn on, rebuilt from one of its slices: one slice per image the
    RTSTRUCT references (its SOP Instance UID), at the z its contours give it (the others on the free
    planes of the same grid), pixels copied.
rt_peers.py rtutils-counts CT_DIR RT.dcm
    Prints "NAME<TAB>VOXELS" for every ROI rt-utils can read (ROIs without contours are skipped).
rt_peers.py dicompyler-volumes RTSS.dcm
    (the .venv-rt interpreter: dicompyler-core needs pydicom < 3) prints "NAME<TAB>FULL<TAB>DICOMPYLER" in
    cm3 for every ROI with contours: FULL sums dicompyler-core's plane areas (CalculateStructureVolume of
    each plane alone) times the plane thickness, which a voxel count measures; DICOMPYLER is its own
    CalculateStructureVolume, which counts the first and last planes half.
Exit 0 when everything is equal; else 1 with one line per difference on stderr.
"""
import json
import os
import sys

import numpy as np


def fail(lines):
    for line in lines:
        print("MISMATCH " + line, file=sys.stderr)
    sys.exit(1 if lines else 0)


def names(meta):
    m = json.load(open(meta))
    return {d["SegmentLabel"]: d["labelID"] for group in m["segmentAttributes"] for d in group}


def labels(image, out, meta):
    import nibabel as nib
    img = nib.load(image)
    nx, ny, nz = img.shape[:3]
    a = np.zeros((nx, ny, nz), np.uint8)
    for z in range(nz):
        a[10:40, 12:44, z] = 1          # a ring: square with a hole
        a[20:28, 22:30, z] = 0
        a[50:60, 10:18, z] = 2          # two islands of label 2
        a[70:75, 30:36, z] = 2
        a[90, 90, z] = 2                # two pixels touching at a corner
        a[91, 91, z] = 2
        a[100, 40 + z % 5, z] = 5       # a single pixel (moving)
        a[110:140, 60, z] = 5           # a bar one pixel wide
    nib.save(nib.Nifti1Image(a, img.affine), out)
    tissue = {"CodeValue": "85756007", "CodingSchemeDesignator": "SCT", "CodeMeaning": "Tissue"}
    segs = [{"labelID": i, "SegmentLabel": n, "SegmentAlgorithmType": "AUTOMATIC", "SegmentAlgorithmName": "test",
             "SegmentedPropertyCategoryCodeSequence": tissue, "SegmentedPropertyTypeCodeSequence": tissue,
             "recommendedDisplayRGBValue": c}
            for i, n, c in ((1, "Ring", [255, 0, 0]), (2, "Islands", [0, 255, 0]), (5, "Specks", [0, 0, 255]))]
    json.dump({"segmentAttributes": [segs]}, open(meta, "w"), indent=1)


def i2_index_space(path):
    """The label map as [column, row, slice] in DICOM order (i2 writes rows reversed, dcm2niix's order)."""
    import nibabel as nib
    a = np.asanyarray(nib.load(path).dataobj)
    return a[:, ::-1, :]


def sorted_uids(ct_dir):
    """SOP Instance UIDs of the series, sorted by position along the normal (i2's slice order)."""
    import pydicom
    items = []
    for f in os.listdir(ct_dir):
        ds = pydicom.dcmread(os.path.join(ct_dir, f), stop_before_pixels=True)
        o = np.array(ds.ImageOrientationPatient, float)
        n = np.cross(o[:3], o[3:])
        items.append((float(np.dot(n, np.array(ds.ImagePositionPatient, float))), ds.SOPInstanceUID))
    return [u for _, u in sorted(items)]


def rtutils_compare(ct_dir, rt, labelmap, meta):
    from rt_utils import RTStructBuilder
    b = RTStructBuilder.create_from(dicom_series_path=ct_dir, rt_struct_path=rt)
    lab = i2_index_space(labelmap)
    order = sorted_uids(ct_dir)
    want = names(meta)
    errors = []
    got_names = b.get_roi_names()
    if sorted(got_names) != sorted(want):
        errors.append(f"ROI names {sorted(got_names)} != {sorted(want)}")
    for name in got_names:
        m = b.get_roi_mask_by_name(name)           # [row, column, slice in rt-utils' series order]
        for k, ds in enumerate(b.series_data):
            z = order.index(ds.SOPInstanceUID)
            mine = lab[:, :, z].T == want.get(name, -1)
            if not np.array_equal(m[:, :, k], mine):
                errors.append(f"{name}: slice {z}: {int((m[:, :, k] != mine).sum())} voxels differ")
    fail(errors)


def rtutils_write(ct_dir, labelmap, meta, out):
    from rt_utils import RTStructBuilder
    b = RTStructBuilder.create_new(dicom_series_path=ct_dir)
    lab = i2_index_space(labelmap)
    order = sorted_uids(ct_dir)
    for name, value in sorted(names(meta).items(), key=lambda x: x[1]):
        m = np.zeros((lab.shape[1], lab.shape[0], len(b.series_data)), bool)
        for k, ds in enumerate(b.series_data):
            m[:, :, k] = lab[:, :, order.index(ds.SOPInstanceUID)].T == value
        b.add_roi(mask=m, name=name)
    b.save(out)


def dcmrtstruct2nii_compare(rt, ct_dir, labelmap, meta, work):
    from dcmrtstruct2nii import dcmrtstruct2nii
    dcmrtstruct2nii(rt, ct_dir, work, convert_original_dicom=False)
    fail(compare_masks(work, "mask_{}.nii.gz", labelmap, meta))


def compare_masks(work, pattern, labelmap, meta):
    """Each structure's mask file in WORK (named by PATTERN) against its label, in world space."""
    import nibabel as nib
    lab = nib.as_closest_canonical(nib.load(labelmap))
    L = np.asanyarray(lab.dataobj)
    errors = []
    for name, value in names(meta).items():
        path = os.path.join(work, pattern.format(name))
        if not os.path.exists(path):
            errors.append(f"{name}: no {path} (found {sorted(os.listdir(work))})")
            continue
        m = nib.as_closest_canonical(nib.load(path))
        if not np.allclose(m.affine, lab.affine, atol=1e-3):
            errors.append(f"{name}: affine {m.affine.tolist()} != {lab.affine.tolist()}")
            continue
        M = np.asanyarray(m.dataobj) > 0
        if M.shape != L.shape:
            errors.append(f"{name}: shape {M.shape} != {L.shape}")
            continue
        diff = int((M != (L == value)).sum())
        if diff:
            errors.append(f"{name}: {diff} voxels differ")
    return errors


def plastimatch_write(ct_dir, labelmap, meta, out_dir):
    """plastimatch convert --input-prefix: one mask per label (named as in META) → an RTSTRUCT in OUT_DIR."""
    import subprocess
    import nibabel as nib
    img = nib.load(labelmap)
    a = np.asanyarray(img.dataobj)
    masks = os.path.join(out_dir, "masks")
    os.makedirs(masks, exist_ok=True)
    for name, value in names(meta).items():
        nib.save(nib.Nifti1Image((a == value).astype(np.uint8), img.affine), os.path.join(masks, name + ".nii.gz"))
    r = subprocess.run(["plastimatch", "convert", "--input-prefix", masks, "--output-dicom", os.path.join(out_dir, "rtss"),
                        "--referenced-ct", ct_dir], capture_output=True, text=True)
    if r.returncode != 0:
        fail([f"plastimatch failed: {r.stderr[-2000:]}"])
    print(os.path.join(out_dir, "rtss", [f for f in os.listdir(os.path.join(out_dir, "rtss")) if f.startswith("rtss")][0]))


def plastimatch_compare(rt, ct_dir, labelmap, meta, work):
    """plastimatch convert --input RT --output-prefix: one mask per ROI, each against its label."""
    import subprocess
    r = subprocess.run(["plastimatch", "convert", "--input", rt, "--referenced-ct", ct_dir, "--output-prefix", work,
                        "--prefix-format", "nii.gz"], capture_output=True, text=True)
    if r.returncode != 0:
        fail([f"plastimatch failed: {r.stderr[-2000:]}"])
    fail(compare_masks(work, "{}.nii.gz", labelmap, meta))


def clinical_ct(ct0, rtss, out):
    import pydicom
    os.makedirs(out, exist_ok=True)
    rt = pydicom.dcmread(rtss)
    z_of = {}
    for roi in rt.ROIContourSequence:
        for c in getattr(roi, "ContourSequence", []):
            if "ContourImageSequence" in c:
                z_of[c.ContourImageSequence[0].ReferencedSOPInstanceUID] = round(float(c.ContourData[2]), 4)
    refs = [i.ReferencedSOPInstanceUID for i in
            rt.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0].RTReferencedSeriesSequence[0].ContourImageSequence]
    zs = sorted(set(z_of.values()))
    step = min(b - a for a, b in zip(zs, zs[1:]))
    planes = [round(zs[0] + k * step, 4) for k in range(int(round((zs[-1] - zs[0]) / step)) + 1)]
    free = [z for z in planes if z not in set(z_of.values())]
    for uid in refs:
        if uid not in z_of:
            z_of[uid] = free.pop(0)
    for n, uid in enumerate(refs):
        ds = pydicom.dcmread(ct0)
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = uid
        ds.ImagePositionPatient = [ds.ImagePositionPatient[0], ds.ImagePositionPatient[1], z_of[uid]]
        ds.InstanceNumber = n + 1
        ds.save_as(os.path.join(out, f"ct{n:03d}.dcm"))


def rtutils_counts(ct_dir, rt):
    from rt_utils import RTStructBuilder
    b = RTStructBuilder.create_from(dicom_series_path=ct_dir, rt_struct_path=rt)
    for name in b.get_roi_names():
        try:
            m = b.get_roi_mask_by_name(name)
        except Exception:
            continue
        print(f"{name}\t{int(m.sum())}")


def dicompyler_volumes(rtss):
    from dicompylercore import dicomparser
    p = dicomparser.DicomParser(rtss)
    for number, roi in p.GetStructures().items():
        planes = p.GetStructureCoordinates(number)
        if not planes:
            continue
        t = p.CalculatePlaneThickness(planes)
        full = sum(p.CalculateStructureVolume({z: plane}, t) for z, plane in planes.items())
        print(f"{roi['name']}\t{full:.6f}\t{p.CalculateStructureVolume(planes, t):.6f}")


def compare_by_name(test, test_meta, labelmap, meta):
    import nibabel as nib
    t = nib.as_closest_canonical(nib.load(test)); r = nib.as_closest_canonical(nib.load(labelmap))
    T, R = np.asanyarray(t.dataobj), np.asanyarray(r.dataobj)
    errors = []
    if T.shape != R.shape or not np.allclose(t.affine, r.affine, atol=1e-3):
        fail([f"grid {T.shape} {t.affine.tolist()} != {R.shape} {r.affine.tolist()}"])
    theirs, mine = names(meta), names(test_meta)
    for name, value in theirs.items():
        if name not in mine:
            errors.append(f"{name}: not in {test_meta}")
            continue
        diff = int(((T == mine[name]) != (R == value)).sum())
        if diff:
            errors.append(f"{name}: {diff} voxels differ")
    fail(errors)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"labels": labels, "rtutils-compare": rtutils_compare, "rtutils-write": rtutils_write,
     "plastimatch-write": plastimatch_write, "plastimatch-compare": plastimatch_compare,
     "dcmrtstruct2nii-compare": dcmrtstruct2nii_compare, "compare-by-name": compare_by_name,
     "clinical-ct": clinical_ct, "rtutils-counts": rtutils_counts, "dicompyler-volumes": dicompyler_volumes}[cmd](*args)
