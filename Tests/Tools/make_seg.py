#!/usr/bin/env python3
"""Writes a BINARY DICOM-SEG with highdicom: N labels on a CT series, for the seg2nifti benchmark.

make_seg.py CT_DIR OUT.dcm [--labels 100]

The label map is generated on the CT's grid: label n occupies a ball whose centre walks through the
volume, so every label spans several slices and a few neighbouring labels touch but never overlap
(one label per voxel). Also writes OUT.labels.npy (slices, rows, cols; uint8) for checks.
"""
import argparse, glob, os, sys, warnings
import numpy as np
import pydicom
import highdicom as hd
from highdicom.sr.coding import CodedConcept


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ct"); ap.add_argument("out"); ap.add_argument("--labels", type=int, default=100)
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    ds = [pydicom.dcmread(p) for p in sorted(glob.glob(os.path.join(a.ct, "*")))]
    ds.sort(key=lambda d: float(d.ImagePositionPatient[2]))
    for d in ds:   # the generated CT carries an empty SpecificCharacterSet, which highdicom refuses
        if "SpecificCharacterSet" in d and not d.SpecificCharacterSet:
            del d.SpecificCharacterSet
    z, rows, cols = len(ds), ds[0].Rows, ds[0].Columns
    labels = np.zeros((z, rows, cols), np.uint8)
    rng = np.random.default_rng(42)
    zz, yy, xx = np.ogrid[:z, :rows, :cols]
    for n in range(1, a.labels + 1):
        c = rng.uniform([z * 0.05, rows * 0.2, cols * 0.2], [z * 0.95, rows * 0.8, cols * 0.8])
        r = rng.uniform(10, 40)
        sl = slice(max(0, int(c[0] - r)), min(z, int(c[0] + r) + 1))
        ball = ((zz[sl] - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2) <= r * r
        part = labels[sl]
        part[ball & (part == 0)] = n
    cat = CodedConcept("91723000", "SCT", "Anatomical Structure")
    typ = CodedConcept("85756007", "SCT", "Tissue")
    algo = hd.AlgorithmIdentificationSequence(name="bench", version="1", family=CodedConcept("123109", "DCM", "Manual Processing"))
    descs = [hd.seg.SegmentDescription(segment_number=n, segment_label=f"label{n}", segmented_property_category=cat,
                                       segmented_property_type=typ, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
                                       algorithm_identification=algo)
             for n in range(1, a.labels + 1)]
    seg = hd.seg.Segmentation(source_images=ds, pixel_array=labels, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
                              segment_descriptions=descs, series_instance_uid=hd.UID(), series_number=99,
                              sop_instance_uid=hd.UID(), instance_number=1, manufacturer="i2-bench",
                              manufacturer_model_name="bench", software_versions="1", device_serial_number="1",
                              omit_empty_frames=True)
    seg.save_as(a.out)
    np.save(a.out + ".labels.npy", labels)
    print(f"{a.out}: {int(seg.NumberOfFrames)} frames, {a.labels} labels", file=sys.stderr)


if __name__ == "__main__":
    main()
