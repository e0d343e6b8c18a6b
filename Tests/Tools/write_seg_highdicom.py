#!/usr/bin/env python3
# Builds a BINARY DICOM-SEG with highdicom from the same inputs as `i2 nifti2seg` (benchmark peer):
# usage: write_seg_highdicom.py REF_DIR LABELS.nii[.gz] META.json OUT.dcm
# LABELS is in i2's voxel order (axis 0 = columns, 1 = rows, 2 = slices sorted along the normal), as
# `i2 convert REF_DIR` writes it; META is dcmqi metainfo (one list), codes and colours taken from it.
import json
import os
import sys

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom
from pydicom.sr.coding import Code


def code(c):
    return Code(c["CodeValue"], c["CodingSchemeDesignator"], c["CodeMeaning"])


def sorted_refs(ref_dir):
    """The series' instances sorted along the slice normal, as highdicom takes them."""
    refs = [pydicom.dcmread(os.path.join(ref_dir, f)) for f in sorted(os.listdir(ref_dir))]
    for d in refs:   # an empty SpecificCharacterSet (the generated series has one) is refused by highdicom
        if "SpecificCharacterSet" in d and not d.SpecificCharacterSet:
            del d.SpecificCharacterSet
    iop = np.array(refs[0].ImageOrientationPatient, float)
    normal = np.cross(iop[:3], iop[3:])
    refs.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, float), normal)))
    return refs


def main(ref_dir, labels_path, meta_path, out):
    refs = sorted_refs(ref_dir)
    labels = np.asarray(nib.load(labels_path).dataobj)
    labels = np.transpose(labels.reshape(labels.shape[:3]), (2, 1, 0))   # (slices, rows, columns)
    meta = json.load(open(meta_path))
    present = set(int(v) for v in np.unique(labels)) - {0}
    entries = sorted((s for g in meta["segmentAttributes"] for s in g if s["labelID"] in present), key=lambda s: s["labelID"])
    descriptions = []
    for number, s in enumerate(entries, start=1):
        descriptions.append(hd.seg.SegmentDescription(
            segment_number=number, segment_label=s.get("SegmentLabel", str(s["labelID"])),
            segmented_property_category=code(s["SegmentedPropertyCategoryCodeSequence"]),
            segmented_property_type=code(s["SegmentedPropertyTypeCodeSequence"]),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues(s["SegmentAlgorithmType"]),
            algorithm_identification=hd.AlgorithmIdentificationSequence(
                name=s.get("SegmentAlgorithmName", "unknown"), version="1",
                family=Code("123109", "DCM", "Manual Processing"))))
    # Label values → segment numbers 1..N, as one label map (highdicom splits it into segments).
    lut = np.zeros(int(labels.max()) + 1, np.uint16)
    for number, s in enumerate(entries, start=1):
        lut[s["labelID"]] = number
    seg = hd.seg.Segmentation(
        source_images=refs, pixel_array=lut[labels], segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions, series_instance_uid=hd.UID(), series_number=300,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer="highdicom",
        manufacturer_model_name="benchmark", software_versions=hd.__version__, device_serial_number="1",
        omit_empty_frames=True)
    seg.save_as(out)


if __name__ == "__main__":
    main(*sys.argv[1:5])
