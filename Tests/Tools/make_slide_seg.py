#!/usr/bin/env python3
"""A tiny VL Whole Slide Microscopy image (pydicom; 16x16 total pixel matrix in four 8x8 tiles) and a
BINARY SEG of it made by highdicom (tiled: TotalPixelMatrix*, PlanePositionSlideSequence, no
ImagePositionPatient). usage: make_slide_seg.py SOURCE.dcm SEG.dcm"""
import sys, numpy as np, pydicom, highdicom as hd
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pydicom.sr.codedict import codes
out_src, out_seg = sys.argv[1], sys.argv[2]
ds = Dataset()
ds.file_meta = FileMetaDataset(); ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds.SOPClassUID = '1.2.840.10008.5.1.4.1.1.77.1.6'; ds.SOPInstanceUID = generate_uid()
ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID; ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
ds.StudyInstanceUID = generate_uid(); ds.SeriesInstanceUID = generate_uid(); ds.FrameOfReferenceUID = generate_uid()
ds.Modality = 'SM'; ds.PatientID = 'P'; ds.PatientName = 'W^S'; ds.PatientBirthDate=''; ds.PatientSex=''
ds.StudyDate='20240101'; ds.StudyTime='000000'; ds.StudyID='1'; ds.AccessionNumber=''; ds.ReferringPhysicianName=''
ds.SeriesNumber = 1; ds.InstanceNumber = 1; ds.Manufacturer = 'x'; ds.ManufacturerModelName='x'; ds.DeviceSerialNumber='1'; ds.SoftwareVersions='1'
ds.ImageType = ['ORIGINAL', 'PRIMARY', 'VOLUME', 'NONE']
ds.ContainerIdentifier = 'C1'; ds.IssuerOfTheContainerIdentifierSequence = []; ds.ContainerTypeCodeSequence = []
sd = Dataset(); sd.SpecimenIdentifier = 'S1'; sd.SpecimenUID = generate_uid(); sd.IssuerOfTheSpecimenIdentifierSequence = []; sd.SpecimenPreparationSequence = []
ds.SpecimenDescriptionSequence = [sd]
ds.Rows = ds.Columns = 8; ds.TotalPixelMatrixRows = 16; ds.TotalPixelMatrixColumns = 16; ds.NumberOfFrames = 4
ds.DimensionOrganizationType = 'TILED_FULL'; ds.TotalPixelMatrixFocalPlanes = 1; ds.NumberOfOpticalPaths = 1
ds.ImageOrientationSlide = [0, -1, 0, -1, 0, 0]
o = Dataset(); o.XOffsetInSlideCoordinateSystem = 20; o.YOffsetInSlideCoordinateSystem = 40; o.ZOffsetInSlideCoordinateSystem = 0
ds.TotalPixelMatrixOriginSequence = [o]
op = Dataset(); op.OpticalPathIdentifier = '1'; op.IlluminationTypeCodeSequence = [Dataset()]; 
ic = op.IlluminationTypeCodeSequence[0]; ic.CodeValue='111744'; ic.CodingSchemeDesignator='DCM'; ic.CodeMeaning='Brightfield illumination'
icc = Dataset(); icc.CodeValue='414298005'; icc.CodingSchemeDesignator='SCT'; icc.CodeMeaning='Full Spectrum'
op.IlluminationColorCodeSequence = [icc]
ds.OpticalPathSequence = [op]
sh = Dataset(); pm = Dataset(); pm.PixelSpacing = [0.5, 0.5]; pm.SliceThickness = 0.01; sh.PixelMeasuresSequence = [pm]
ds.SharedFunctionalGroupsSequence = [sh]
ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = 'MONOCHROME2'; ds.BitsAllocated = 8; ds.BitsStored = 8; ds.HighBit = 7; ds.PixelRepresentation = 0
ds.AcquisitionDateTime = '20240101000000'; ds.VolumetricProperties='VOLUME'; ds.SpecimenLabelInImage='NO'; ds.BurnedInAnnotation='NO'; ds.FocusMethod='AUTO'; ds.ExtendedDepthOfField='NO'
ds.PixelData = np.arange(4*64, dtype=np.uint8).tobytes()
ds.save_as(out_src, enforce_file_format=True)
src = pydicom.dcmread(out_src)
mask = np.zeros((16, 16), bool); mask[2:10, 3:12] = True
desc = hd.seg.SegmentDescription(segment_number=1, segment_label='tumour', segmented_property_category=codes.SCT.Tissue,
    segmented_property_type=codes.SCT.Tissue, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL)
seg = hd.seg.Segmentation([src], mask[None], hd.seg.SegmentationTypeValues.BINARY, [desc], generate_uid(), 2, generate_uid(), 1,
    'i2', 'test', '1', 'i2', tile_pixel_array=True, omit_empty_frames=False)
seg.save_as(out_seg)
