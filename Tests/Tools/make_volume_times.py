#!/usr/bin/env python3
"""Generates a small classic MR 4-D series (3 slices x 4 volumes, one slice per file) whose volumes'
AcquisitionTime are STEP seconds apart while RepetitionTime says TR ms (pydicom), for dcm2niix's
re-estimated time between volumes (its issue 560).

make_volume_times.py OUT_DIR MANUFACTURER STEP TR [--ir]
--ir: an inversion-recovery sequence (ScanningSequence IR).
"""
import argparse, os
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import generate_uid, ExplicitVRLittleEndian


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("manufacturer")
    p.add_argument("step", type=float)
    p.add_argument("tr")
    p.add_argument("--ir", action="store_true")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    rng = np.random.default_rng(1)
    n = 0
    for v in range(4):
        for s in range(3):
            ds = Dataset()
            ds.file_meta = FileMetaDataset()
            ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.Modality, ds.Manufacturer = "MR", a.manufacturer
            ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
            ds.SeriesNumber, ds.SeriesDescription, ds.ProtocolName = 3, "bold", "bold"
            ds.PatientName, ds.PatientID, ds.StudyDate, ds.StudyTime = "TIMES^TEST", "TIMES", "20240101", "120000"
            ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
            ds.ScanningSequence = "IR" if a.ir else "EP"
            ds.SequenceVariant, ds.MRAcquisitionType = "SK", "2D"
            ds.EchoTime, ds.RepetitionTime, ds.FlipAngle = "30", a.tr, "90"
            ds.Rows = ds.Columns = 8
            ds.PixelSpacing, ds.SliceThickness = ["2", "2"], "3"
            ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
            ds.ImagePositionPatient = ["-8", "-8", str(3 * s)]
            ds.SliceLocation = str(3 * s)
            t = 10 * 3600 + v * a.step + s * 0.1
            ds.AcquisitionTime = "%02d%02d%09.6f" % (t // 3600, (t % 3600) // 60, t % 60)
            n += 1
            ds.InstanceNumber, ds.AcquisitionNumber = n, v + 1
            ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
            ds.SOPInstanceUID = generate_uid()
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.PixelData = rng.integers(0, 1000, (8, 8)).astype("<i2").tobytes()
            ds.save_as(os.path.join(a.out, "%03d.dcm" % n), enforce_file_format=True)


if __name__ == "__main__":
    main()
