#!/usr/bin/env python3
"""Small synthetic DICOM series that exercise voxel-value rules (pydicom), for comparison with dcm2niix.

make_values.py KIND OUT_DIR

KIND: twelve-unsigned  16-bit container, BitsStored 12, unsigned, bits above 12 set in some voxels
      twelve-signed    16-bit container, BitsStored 12, signed (12-bit two's complement, high bits zero)
      uint16-full      BitsStored 16 unsigned, values above 32767
      uint16-low       BitsStored 16 unsigned, all values below 32768
      fractional       RescaleSlope 0.5, RescaleIntercept 0.25 on every slice
      slopes-vary      RescaleSlope differs between slices
      rgb0 / rgb1      SamplesPerPixel 3, PhotometricInterpretation RGB, PlanarConfiguration 0 / 1
      philips          Philips MR with private scale slope (2005,100E), RescaleSlope/Intercept
"""
import os, sys
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import generate_uid, ExplicitVRLittleEndian

ROWS, COLS, SLICES = 6, 5, 4


def base(kind, k, series_uid):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ds.SOPInstanceUID = generate_uid(entropy_srcs=[kind, str(k)])
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.Modality = "MR"
    ds.Manufacturer = "Philips Medical Systems" if kind == "philips" else "SIEMENS"
    ds.PatientName = "Values^Test"; ds.PatientID = "values"
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[kind, "study"])
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = 7; ds.InstanceNumber = k + 1
    ds.SeriesDescription = kind; ds.ProtocolName = kind
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [-10.0, -12.0, 2.5 * k]
    ds.PixelSpacing = [1.5, 1.25]; ds.SliceThickness = 2.5
    ds.Rows, ds.Columns = ROWS, COLS
    ds.EchoTime = 30; ds.RepetitionTime = 2000
    return ds


def main():
    kind, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    series_uid = generate_uid(entropy_srcs=[kind, "series"])
    rng = np.random.default_rng(len(kind))
    for k in range(SLICES):
        ds = base(kind, k, series_uid)
        ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16; ds.BitsStored = 16; ds.HighBit = 15; ds.PixelRepresentation = 0
        slope, inter = 1.0, 0.0
        if kind == "twelve-unsigned":
            ds.BitsStored, ds.HighBit = 12, 11
            v = rng.integers(0, 4096, (ROWS, COLS)).astype(np.uint16)
            v[0, :] |= np.uint16(0xF000)           # overlay/garbage bits above BitsStored
            px = v
        elif kind == "twelve-signed":
            ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 12, 11, 1
            v = rng.integers(-2048, 2048, (ROWS, COLS))
            px = (v & 0x0FFF).astype(np.uint16)     # 12-bit two's complement, bits above zero
        elif kind == "uint16-full":
            px = rng.integers(0, 65536, (ROWS, COLS)).astype(np.uint16); px[0, 0] = 65535
        elif kind == "uint16-low":
            px = rng.integers(0, 32768, (ROWS, COLS)).astype(np.uint16)
        elif kind == "fractional":
            px = rng.integers(0, 4000, (ROWS, COLS)).astype(np.uint16); slope, inter = 0.5, 0.25
        elif kind == "slopes-vary":
            px = rng.integers(0, 4000, (ROWS, COLS)).astype(np.uint16); slope, inter = 1.0 + k, -10.0 * k
        elif kind == "philips":
            ds.BitsStored, ds.HighBit = 12, 11
            px = rng.integers(0, 4096, (ROWS, COLS)).astype(np.uint16); slope, inter = 1.27985347985347, 0.0
            block = ds.private_block(0x2005, "Philips MR Imaging DD 001", create=True)
            block.add_new(0x0E, "FL", 8.44864007e-06)
        elif kind in ("rgb0", "rgb1"):
            ds.SamplesPerPixel = 3; ds.PhotometricInterpretation = "RGB"
            ds.BitsAllocated = 8; ds.BitsStored = 8; ds.HighBit = 7
            ds.PlanarConfiguration = 0 if kind == "rgb0" else 1
            rgb = rng.integers(0, 256, (ROWS, COLS, 3)).astype(np.uint8)
            rgb[..., 0] = np.arange(ROWS * COLS).reshape(ROWS, COLS) + 10 * k   # R: position code
            data = rgb if kind == "rgb0" else np.moveaxis(rgb, -1, 0)
            ds.PixelData = data.tobytes()
            ds.save_as(os.path.join(out, f"{k:03d}.dcm"), enforce_file_format=True)
            continue
        else:
            sys.exit(f"unknown kind {kind}")
        if kind in ("fractional", "slopes-vary", "philips"):
            ds.RescaleSlope = f"{slope:.14g}"; ds.RescaleIntercept = f"{inter:.14g}"
        ds.PixelData = px.astype("<u2").tobytes()
        ds.save_as(os.path.join(out, f"{k:03d}.dcm"), enforce_file_format=True)


if __name__ == "__main__":
    main()
