#!/usr/bin/env python3
"""Makes United Imaging (UIH) grid ("VFRAME") files from Siemens MOSAIC files, for the mosaic tests.

make_uih_grid.py OUT_DIR MOSAIC... [--slices N] [--descending] [--no-frame-positions]

No UIH grid data is public in the project's corpora, so this builds what UIH documents (dcm2niix's
UIH/README.md, from UIH): Manufacturer "UIH", ImageType with VFRAME, (0065,1050) DS = slices in the
grid, laid out ceil(sqrt(n)) columns by ceil(n/columns) rows, and (0065,1051), a sequence with one
item per slice holding its ImagePositionPatient. The top-level ImagePositionPatient is the first
slice's. The slices are the first N tiles of each Siemens mosaic, at their true positions (the
Siemens mosaic correction, then SpacingBetweenSlices along CSA SliceNormalVector); --descending
stores them last to first. One output file per input, same series (a new SeriesInstanceUID).
"""
import argparse, math, os, sys
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid
import warnings
warnings.filterwarnings("ignore", message="The DICOM readers")
from nibabel.nicom import csareader

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("mosaics", nargs="+")
ap.add_argument("--slices", type=int, default=20)
ap.add_argument("--descending", action="store_true")
ap.add_argument("--no-frame-positions", action="store_true")
a = ap.parse_args()
os.makedirs(a.out, exist_ok=True)
series = generate_uid()
for i, path in enumerate(a.mosaics):
    ds = pydicom.dcmread(path)
    csa = csareader.get_csa_header(ds, "image")
    n_mosaic = csareader.get_n_mosaic(csa)
    normal = np.array(csareader.get_slice_normal(csa), float)
    grid = math.ceil(math.sqrt(n_mosaic))
    rows, cols = ds.Rows // grid, ds.Columns // grid
    pixels = ds.pixel_array
    tiles = [pixels[(k // grid) * rows:(k // grid + 1) * rows, (k % grid) * cols:(k % grid + 1) * cols] for k in range(n_mosaic)]
    iop = np.array(ds.ImageOrientationPatient, float)
    dy, dx = (float(v) for v in ds.PixelSpacing)
    first = np.array(ds.ImagePositionPatient, float) + iop[:3] * dx * (ds.Columns - ds.Columns / grid) / 2 \
        + iop[3:] * dy * (ds.Rows - ds.Rows / grid) / 2
    spacing = float(ds.SpacingBetweenSlices)
    order = list(range(a.slices))
    if a.descending:
        order.reverse()
    positions = [first + normal * spacing * k for k in order]
    n = a.slices
    gcols = math.ceil(math.sqrt(n))
    grows = math.ceil(n / gcols)
    grid_image = np.zeros((grows * rows, gcols * cols), dtype=pixels.dtype)
    for j, k in enumerate(order):
        r, c = j // gcols, j % gcols
        grid_image[r * rows:(r + 1) * rows, c * cols:(c + 1) * cols] = tiles[k]
    for elem in list(ds):
        if elem.tag.is_private:
            del ds[elem.tag]
    ds.Manufacturer = "UIH"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "VFRAME"]
    ds.SeriesInstanceUID = series
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.Rows, ds.Columns = grid_image.shape
    ds.PixelData = grid_image.tobytes()
    ds.ImagePositionPatient = [f"{v:.6f}" for v in positions[0]]
    block = ds.private_block(0x0065, "Image Private Header", create=True)
    block.add_new(0x50, "DS", str(n))
    if not a.no_frame_positions:
        items = []
        for p in positions:
            item = Dataset()
            item.ImagePositionPatient = [f"{v:.6f}" for v in p]
            items.append(item)
        block.add_new(0x51, "SQ", Sequence(items))
    ds.save_as(os.path.join(a.out, f"grid{i + 1:03d}.dcm"))
