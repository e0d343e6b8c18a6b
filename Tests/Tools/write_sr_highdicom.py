#!/usr/bin/env python3
# Builds the TID 1500 measurement report `i2 nifti2seg --as seg,sr` writes, the way Python glue does it
# (benchmark peer): numpy statistics of the CT under each label, highdicom's SR classes.
# usage: write_sr_highdicom.py REF_DIR LABELS.nii[.gz] SEG.dcm OUT.dcm
# LABELS is in i2's voxel order (as `i2 convert REF_DIR` writes it); SEG is the SEG of that label map
# (its segments' SegmentLabel and the i2 original-label private tag are not needed: segment k is the k-th
# label value present, as nifti2seg numbers them). Per segment: volume (mm3), mean, min, max (HU).
import sys

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom
from pydicom.sr.codedict import codes

from write_seg_highdicom import sorted_refs


def main(ref_dir, labels_path, seg_path, out):
    refs = sorted_refs(ref_dir)
    hu = np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in refs])
    img = nib.load(labels_path)
    voxel = float(np.prod(img.header.get_zooms()[:3]))
    labels = np.transpose(np.asarray(img.dataobj)[:, ::-1, :], (2, 1, 0))
    seg = pydicom.dcmread(seg_path, stop_before_pixels=True)
    values = [int(v) for v in np.unique(labels) if v != 0]
    groups = []
    for number, (value, s) in enumerate(zip(values, seg.SegmentSequence), start=1):
        under = hu[labels == value]
        groups.append(hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(identifier=s.SegmentLabel, uid=hd.UID()),
            referenced_segment=hd.sr.ReferencedSegment(sop_class_uid=seg.SOPClassUID, sop_instance_uid=seg.SOPInstanceUID,
                                                       segment_number=number,
                                                       source_series=hd.sr.SourceSeriesForSegmentation(refs[0].SeriesInstanceUID)),
            finding_type=codes.SCT.Tissue,
            measurements=[
                hd.sr.Measurement(name=codes.SCT.Volume, value=under.size * voxel, unit=codes.UCUM.CubicMillimeter),
                hd.sr.Measurement(name=codes.SCT.Mean, value=float(under.mean()), unit=codes.UCUM.HounsfieldUnit),
                hd.sr.Measurement(name=codes.SCT.Minimum, value=float(under.min()), unit=codes.UCUM.HounsfieldUnit),
                hd.sr.Measurement(name=codes.SCT.Maximum, value=float(under.max()), unit=codes.UCUM.HounsfieldUnit)]))
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=hd.sr.ObserverContext(
            observer_type=codes.DCM.Device,
            observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(uid=hd.UID(), name="benchmark"))),
        procedure_reported=codes.LN.CTUnspecifiedBodyRegion, imaging_measurements=groups)
    sr = hd.sr.Comprehensive3DSR(evidence=refs + [seg], content=report[0], series_instance_uid=hd.UID(), series_number=301,
                                 sop_instance_uid=hd.UID(), instance_number=1, manufacturer="benchmark", is_complete=True)
    sr.save_as(out)


if __name__ == "__main__":
    main(*sys.argv[1:])
