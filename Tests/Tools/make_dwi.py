#!/usr/bin/env python3
"""Generates small classic (one slice per file) MR diffusion series with a vendor's diffusion tags (pydicom),
so i2's .bval/.bvec can be compared with dcm2niix's on exactly the same files.

make_dwi.py OUT_DIR --vendor {ge,siemens,philips,standard,canon,toshiba,uih} [--oblique DEG] [--slices N] [--size N]
            [--trace] [--derived] [--template FILE] [--position HFS] [--phase COL|ROW] [--reverse]

Volumes: b=0, then six directions at b=1000 (non-axis-aligned), in patient (LPS) coordinates for Siemens,
Philips and the standard (0018,9087)/(0018,9089) tags; GE's (0019,10BB/BC/BD) are written as given.
Canon/Toshiba classic files (dcm_qa_canon's layout): (0018,9087) only on b>0 images, the direction as text in
ImageComments "b=1000(x,y,z)" (image space); --canon-world also writes (0018,9089). UIH: (0065,1009) FD
b-value and (0065,1037) FD direction (image space), as dcm2niix reads them.
--trace appends an isotropic volume (b=1000, zero vector; Philips (2001,1004) 'I'); --trace-derived marks it
DERIVED (ImageType ...\TRACEW).
--derived adds a second series in the same study: an ADC map (ImageType DERIVED\\PRIMARY\\DIFFUSION\\ADC).
--template copies a real file's header (e.g. a GE classic EPI) under the generated attributes.
--implicit-unknown writes implicit VR without the private creators (private values become raw bytes).
"""
import argparse, os
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import generate_uid, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from make_series import rotation   # the same oblique rotation as the plain test series

MR = "1.2.840.10008.5.1.4.1.1.4"
DIRS = [(0, (0, 0, 0))] + [(1000, d) for d in
        [(1, 0, 0), (0, 1, 0), (0, 0, 1), (0.707107, 0.707107, 0), (0.57735, -0.57735, 0.57735), (-0.267261, 0.534522, 0.801784)]]


def ds_string(v):
    return "%.6g" % v


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--vendor", required=True, choices=["ge", "siemens", "philips", "standard", "canon", "toshiba", "uih"])
    p.add_argument("--canon-world", action="store_true", help="Canon/Toshiba: also (0018,9089) in patient coordinates")
    p.add_argument("--oblique", type=float, default=0.0)
    p.add_argument("--slices", type=int, default=3)
    p.add_argument("--size", type=int, default=8)
    p.add_argument("--trace", action="store_true")
    p.add_argument("--derived", action="store_true")
    p.add_argument("--trace-derived", action="store_true", help="the --trace volume's ImageType is DERIVED (TRACEW)")
    p.add_argument("--template")
    p.add_argument("--position", default="HFS")
    p.add_argument("--phase", default="COL")
    p.add_argument("--iop", help="ImageOrientationPatient as 6 comma-separated numbers (instead of --oblique)")
    p.add_argument("--implicit-unknown", action="store_true",
                   help="implicit VR without the private creators: readers see the private values as raw bytes")
    p.add_argument("--enhanced", action="store_true",
                   help="one enhanced MR file (Canon's, or Philips' with --vendor philips): per-frame MR Diffusion macro")
    p.add_argument("--reverse", action="store_true", help="slice positions descend along the normal")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    R = rotation(a.oblique)
    row, col = R @ np.array([1.0, 0, 0]), R @ np.array([0, 1.0, 0])
    if a.iop:
        v = [float(x) for x in a.iop.split(",")]
        row, col = np.array(v[:3]), np.array(v[3:])
    normal = np.cross(row, col)
    study, frame_uid = generate_uid(), generate_uid()
    rng = np.random.default_rng(7)
    vols = list(DIRS) + ([(1000, (0, 0, 0))] if a.trace else [])

    def base(series_uid, number, description, image_type):
        if a.template:
            ds = pydicom.dcmread(a.template)
            del ds.PixelData
        else:
            ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = MR
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = MR
        ds.Modality = "MR"
        # "standard": Siemens XA-style classic files, which carry only (0018,9087)/(0018,9089).
        ds.Manufacturer = {"ge": "GE MEDICAL SYSTEMS", "siemens": "SIEMENS", "philips": "Philips Medical Systems",
                           "standard": "SIEMENS", "canon": "CANON_MEC", "toshiba": "TOSHIBA_MEC", "uih": "UIH"}[a.vendor]
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series_uid, frame_uid
        ds.SeriesNumber, ds.SeriesDescription, ds.ProtocolName = number, description, description
        ds.PatientName, ds.PatientID, ds.StudyDate, ds.StudyTime = "DWI^TEST", "DWI", "20240101", "120000"
        ds.ImageType = image_type
        ds.ScanningSequence, ds.SequenceVariant, ds.MRAcquisitionType = "EP", "SK", "2D"
        ds.EchoTime, ds.RepetitionTime, ds.FlipAngle, ds.MagneticFieldStrength = "80", "4000", "90", "3"
        ds.PatientPosition = a.position
        ds.InPlanePhaseEncodingDirection = a.phase
        ds.Rows = ds.Columns = a.size
        ds.PixelSpacing = ["2", "2"]
        ds.SliceThickness = "3"
        ds.SpacingBetweenSlices = "3"
        ds.ImageOrientationPatient = [ds_string(v) for v in list(row) + list(col)]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        for tag in [(0x0020, 0x0100), (0x0019, 0x10A2), (0x0020, 0x0012)]:   # no volume numbers: instance order
            if tag in ds: del ds[tag]
        return ds

    def write(ds, name, pixels):
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.PixelData = pixels.astype("<i2").tobytes()
        ds["PixelData"].VR = "OW"
        if a.implicit_unknown:
            for creator in [(0x0019, 0x0010), (0x0043, 0x0010), (0x2001, 0x0010), (0x2005, 0x0010)]:
                if creator in ds: del ds[creator]
            ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        ds.save_as(os.path.join(a.out, name), enforce_file_format=True)

    series = generate_uid()
    if a.enhanced:
        enhanced(a, base, write, vols, normal, rng)
        return
    n = 0
    for v, (b, g) in enumerate(vols):
        for s in range(a.slices):
            k = (a.slices - 1 - s) if a.reverse else s
            isotropic = b > 0 and not any(g)
            kind = ["DERIVED", "PRIMARY", "DIFFUSION", "TRACEW"] if isotropic and a.trace_derived else ["ORIGINAL", "PRIMARY", "DIFFUSION", "NONE"]
            ds = base(series, 5, "dwi_test", kind)
            pos = np.array([-8.0, -8.0, -3.0]) + normal * (3.0 * k)
            ds.ImagePositionPatient = [ds_string(x) for x in pos]
            ds.SliceLocation = ds_string(float(pos @ normal))
            n += 1
            ds.InstanceNumber = n
            if a.vendor == "ge":
                ds.add_new((0x0043, 0x0010), "LO", "GEMS_PARM_01")
                ds.add_new((0x0043, 0x1039), "IS", [str(1000000000 + b), "8", "0", "0"])
                ds.add_new((0x0019, 0x0010), "LO", "GEMS_ACQU_01")
                for e, x in zip([0x10BB, 0x10BC, 0x10BD], g):
                    ds.add_new((0x0019, e), "DS", ds_string(x))
            elif a.vendor == "siemens":
                ds.add_new((0x0019, 0x0010), "LO", "SIEMENS MR HEADER")
                ds.add_new((0x0019, 0x100C), "IS", str(b))
                ds.add_new((0x0019, 0x100D), "CS", "DIRECTIONAL" if b > 0 else "NONE")
                if b > 0:
                    ds.add_new((0x0019, 0x100E), "FD", [float(x) for x in g])
                ds.SequenceName = "*ep_b%d#1" % b
            elif a.vendor == "philips":
                ds.add_new((0x2001, 0x0010), "LO", "Philips Imaging DD 001")
                ds.add_new((0x2001, 0x1003), "FL", float(b))
                ds.add_new((0x2001, 0x1004), "CS", "I" if isotropic else ("O" if b > 0 else "N"))
                ds.add_new((0x2005, 0x0010), "LO", "Philips MR Imaging DD 001")
                for e, x in zip([0x10B0, 0x10B1, 0x10B2], g):
                    ds.add_new((0x2005, e), "FL", float(x))
            elif a.vendor in ("canon", "toshiba"):
                if b > 0:
                    ds.add_new((0x0018, 0x9087), "FD", float(b))
                    ds.ImageComments = "b=%d(%s)" % (b, ",".join("%.3f" % x for x in g))
                    if a.canon_world and any(g):
                        ds.add_new((0x0018, 0x9089), "FD", [float(x) for x in g])
            elif a.vendor == "uih":
                ds.add_new((0x0065, 0x0010), "LO", "Image Private Header")
                ds.add_new((0x0065, 0x1009), "FD", float(b))
                ds.add_new((0x0065, 0x1037), "FD", [float(x) for x in g])
            else:
                ds.add_new((0x0018, 0x9087), "FD", float(b))
                ds.add_new((0x0018, 0x9075), "CS", "ISOTROPIC" if isotropic else ("DIRECTIONAL" if b > 0 else "NONE"))
                if b > 0 and not isotropic:
                    ds.add_new((0x0018, 0x9089), "FD", [float(x) for x in g])
            pixels = rng.integers(0, 1000, size=(a.size, a.size)) + 2000 * (b == 0)
            write(ds, "dwi_%03d.dcm" % n, pixels)
    if a.derived:
        adc = generate_uid()
        for s in range(a.slices):
            ds = base(adc, 6, "dwi_test_ADC", ["DERIVED", "PRIMARY", "DIFFUSION", "ADC"])
            pos = np.array([-8.0, -8.0, -3.0]) + normal * (3.0 * s)
            ds.ImagePositionPatient = [ds_string(x) for x in pos]
            ds.InstanceNumber = s + 1
            write(ds, "adc_%03d.dcm" % (s + 1), rng.integers(0, 3000, size=(a.size, a.size)))


def enhanced(a, base, write, vols, normal, rng):
    """All frames in one Enhanced MR Image: volume-major, the encoding in each frame's MR Diffusion macro."""
    ds = base(generate_uid(), 9000, "DTI_PA", ["ORIGINAL", "PRIMARY", "DIFFUSION", "NONE"])
    if a.vendor != "philips":
        ds.Manufacturer = "CANON_MEC"
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4.1"
    ds.InstanceNumber = 1
    ds.ContentQualification, ds.ImageType = "PRODUCT", ["ORIGINAL", "PRIMARY", "DIFFUSION", "NONE"]
    for k in ["ImageOrientationPatient", "PixelSpacing", "SliceThickness", "SpacingBetweenSlices"]:
        delattr(ds, k)
    shared = Dataset()
    pm = Dataset(); pm.PixelSpacing = ["2", "2"]; pm.SliceThickness = "3"; pm.SpacingBetweenSlices = "3"
    po = Dataset(); po.ImageOrientationPatient = [ds_string(v) for v in list(row_col(a)[0]) + list(row_col(a)[1])]
    shared.PixelMeasuresSequence, shared.PlaneOrientationSequence = [pm], [po]
    ds.SharedFunctionalGroupsSequence = [shared]
    frames, pixels = [], []
    for v, (b, g) in enumerate(vols):
        for s in range(a.slices):
            k = (a.slices - 1 - s) if a.reverse else s
            f = Dataset()
            pp = Dataset(); pp.ImagePositionPatient = [ds_string(x) for x in np.array([-8.0, -8.0, -3.0]) + normal * (3.0 * k)]
            fc = Dataset(); fc.InStackPositionNumber = k + 1; fc.StackID = "1"; fc.DimensionIndexValues = [1, k + 1, v + 1]
            ft = Dataset(); ft.FrameType = ["ORIGINAL", "PRIMARY", "DIFFUSION", "NONE"]
            md = Dataset(); md.DiffusionBValue = float(b)
            isotropic = b > 0 and not any(g)
            md.DiffusionDirectionality = "ISOTROPIC" if isotropic else ("DIRECTIONAL" if b > 0 else "NONE")
            if b > 0 and not isotropic:
                gd = Dataset(); gd.DiffusionGradientOrientation = [float(x) for x in g]
                md.DiffusionGradientDirectionSequence = [gd]
            f.PlanePositionSequence, f.FrameContentSequence = [pp], [fc]
            f.MRImageFrameTypeSequence, f.MRDiffusionSequence = [ft], [md]
            frames.append(f)
            pixels.append(rng.integers(0, 1000, size=(a.size, a.size)) + 2000 * (b == 0))
    ds.PerFrameFunctionalGroupsSequence = frames
    ds.NumberOfFrames = len(frames)
    write(ds, "enhanced.dcm", np.stack(pixels))


def row_col(a):
    R = rotation(a.oblique)
    row, col = R @ np.array([1.0, 0, 0]), R @ np.array([0, 1.0, 0])
    if a.iop:
        v = [float(x) for x in a.iop.split(",")]
        row, col = np.array(v[:3]), np.array(v[3:])
    return row, col


if __name__ == "__main__":
    main()
