#!/usr/bin/env python3
"""Measurement report (TID 1500) checks for the tests, through highdicom and pydicom.

sr_peers.py check SR.dcm SEG.dcm CT_DIR LABELS.nii.gz[,MASK2.nii.gz...] META.json MEASURES
    Parses SR with highdicom (hd.sr.srread: a Comprehensive 3D SR whose content is a TID 1500
    MeasurementReport) and checks every volumetric measurement group against what is computed here:
    - the group references a segment of SEG (its SOP Instance UID) whose SegmentLabel is the group's
      tracking identifier, and the CT series as the source series;
    - Volume (mm3) = the label's voxel count x the voxel volume of LABELS (NIfTI pixdim) within 0.1%;
    - Mean, Minimum, Maximum, Standard Deviation (HU) of the CT's values (pixel x RescaleSlope +
      RescaleIntercept) under the label, within 1e-6 relative;
    - the measurements are exactly MEASURES (comma-separated names: volume, mean, min, max, sd), in order,
      for every segment with voxels;
    - the evidence lists every CT instance and the SEG.
    With several comma-separated label files, META's segmentAttributes[i] describes file i (dcmqi's masks).
Exit 0 when everything agrees; else 1 with one line per difference on stderr.
"""
import json
import os
import sys

import numpy as np


def check(sr_path, seg_path, ct_dir, label_paths, meta_path, measures):
    import highdicom as hd
    import nibabel as nib
    import pydicom
    problems = []
    sr = hd.sr.srread(sr_path)
    if not isinstance(sr, hd.sr.Comprehensive3DSR):
        return [f"{sr_path}: {type(sr).__name__}, not a Comprehensive3DSR"]
    report = sr.content
    if not isinstance(report, hd.sr.MeasurementReport):
        return [f"{sr_path}: content is {type(report).__name__}, not a TID 1500 MeasurementReport"]
    seg = pydicom.dcmread(seg_path)
    segment_label = {s.SegmentNumber: s.SegmentLabel for s in seg.SegmentSequence}
    ct = [pydicom.dcmread(os.path.join(ct_dir, f)) for f in sorted(os.listdir(ct_dir))]
    iop = np.array(ct[0].ImageOrientationPatient, float)
    normal = np.cross(iop[:3], iop[3:])
    ct.sort(key=lambda d: float(np.dot(normal, np.array(d.ImagePositionPatient, float))))
    hu = np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in ct])  # [slice, row, column]

    meta = json.load(open(meta_path))
    files = label_paths.split(",")
    masks = {}   # SegmentLabel -> boolean [slice, row, column]
    voxel = None
    for i, path in enumerate(files):
        img = nib.load(path)
        voxel = float(np.prod(img.header.get_zooms()[:3]))
        lab = np.asanyarray(img.dataobj)[:, ::-1, :]   # i2 convert's rows are the DICOM rows reversed
        lab = np.transpose(lab, (2, 1, 0))
        group = meta["segmentAttributes"][i] if len(files) > 1 else [d for g in meta["segmentAttributes"] for d in g]
        for d in group:
            masks[d["SegmentLabel"]] = lab == d["labelID"]

    groups = report.get_volumetric_roi_measurement_groups()
    wanted = measures.split(",")
    names = {"volume": "Volume", "mean": "Mean", "min": "Minimum", "max": "Maximum", "sd": "Standard Deviation"}
    seen = set()
    for g in groups:
        tid = str(g.tracking_identifier)
        seen.add(tid)
        if tid not in masks:
            problems.append(f"group {tid!r}: no such label in {meta_path}")
            continue
        ref = g.referenced_segment
        if ref is None:
            problems.append(f"group {tid!r}: no referenced segment")
            continue
        uid = ref.referenced_sop_instance_uid
        numbers = ref.referenced_segment_numbers
        if uid != seg.SOPInstanceUID:
            problems.append(f"group {tid!r}: references {uid}, the SEG is {seg.SOPInstanceUID}")
        if len(numbers) != 1 or segment_label.get(numbers[0]) != tid:
            problems.append(f"group {tid!r}: references segment(s) {numbers}, labelled {[segment_label.get(n) for n in numbers]}")
        src = ref.source_series_for_segmentation
        src = getattr(src, "value", src)
        if src != ct[0].SeriesInstanceUID:
            problems.append(f"group {tid!r}: source series {src}, the CT is {ct[0].SeriesInstanceUID}")
        m = masks[tid]
        values = hu[m]
        got = [(x.name.meaning, float(x.value), x.unit.value) for x in g.get_measurements()]
        expect_names = [names[w] for w in wanted] if values.size else ["Volume"] if "volume" in wanted else []
        if [x[0] for x in got] != expect_names:
            problems.append(f"group {tid!r}: measurements {[x[0] for x in got]}, expected {expect_names}")
        for meaning, value, unit in got:
            if meaning == "Volume":
                want, tol, want_unit = m.sum() * voxel, 1e-3, "mm3"
            else:
                fn = {"Mean": np.mean, "Minimum": np.min, "Maximum": np.max, "Standard Deviation": np.std}[meaning]
                want, tol, want_unit = float(fn(values)), 1e-6, "[hnsf'U]"
            if abs(value - want) > tol * max(abs(want), 1):
                problems.append(f"group {tid!r}: {meaning} {value}, computed {want}")
            if unit != want_unit:
                problems.append(f"group {tid!r}: {meaning} in {unit}, expected {want_unit}")
    present = {k for k, m in masks.items() if m.any()}
    if not present <= seen:
        problems.append(f"labels without a measurement group: {sorted(present - seen)}")

    evidence = set()
    for study in sr.CurrentRequestedProcedureEvidenceSequence:
        for series in study.ReferencedSeriesSequence:
            for item in series.ReferencedSOPSequence:
                evidence.add(item.ReferencedSOPInstanceUID)
    missing = {d.SOPInstanceUID for d in ct} | {seg.SOPInstanceUID}
    if not missing <= evidence:
        problems.append(f"evidence lacks {len(missing - evidence)} of the CT instances and the SEG")
    if sr.StudyInstanceUID != ct[0].StudyInstanceUID:
        problems.append("the SR is not in the CT's study")
    return problems


if __name__ == "__main__":
    if len(sys.argv) != 8 or sys.argv[1] != "check":
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    lines = check(*sys.argv[2:])
    for line in lines:
        print("MISMATCH " + line, file=sys.stderr)
    sys.exit(1 if lines else 0)
