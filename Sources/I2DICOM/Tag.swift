// The one table of DICOM tags: every tag i2 names, as PS3.6 names it (the keyword, checked against
// DCMTK's dictionary by I2DICOMTests), and the (group, element) the shim takes. Nothing else in Sources
// spells a tag as "(gggg,eeee)": DCMTK paths into sequences are built here (TagPath), and a test fails
// on any such literal outside this file.
internal import CDCMTK

public struct Tag: Hashable, Sendable, CustomStringConvertible {
    public let group: UInt16
    public let element: UInt16
    /// The PS3.6 keyword, e.g. "SeriesInstanceUID".
    public let keyword: String

    public init(_ group: UInt16, _ element: UInt16, _ keyword: String) {
        self.group = group
        self.element = element
        self.keyword = keyword
    }

    /// "(gggg,eeee)", upper-case hex: how the shim is given a tag. By number, not keyword: DCMTK resolves a
    /// keyword by a linear scan of its whole dictionary (strcmp over ~4,000 names), which for a SEG of 100
    /// segments was half of the run time.
    public var path: String { "(" + Self.hex(group) + "," + Self.hex(element) + ")" }
    public var description: String { keyword + " " + path }

    /// Item `index` of this sequence, where a path continues: `Tag.segmentSequence[0] / .segmentNumber`.
    public subscript(index: Int) -> TagPath { TagPath(self)[index] }

    /// The tag as it is encoded in a little-endian data set: group, then element, each low byte first.
    public var littleEndianBytes: [UInt8] {
        [UInt8(group & 0xFF), UInt8(group >> 8), UInt8(element & 0xFF), UInt8(element >> 8)]
    }

    public static func == (a: Tag, b: Tag) -> Bool { a.group == b.group && a.element == b.element }
    public func hash(into h: inout Hasher) { h.combine(group); h.combine(element) }

    /// DCMTK's dictionary keyword for this tag ("" when DCMTK does not know it): what the tests compare
    /// `keyword` with.
    var dictionaryKeyword: String {
        var buf = [CChar](repeating: 0, count: 128)
        _ = i2dcm_tag_keyword(group, element, &buf, buf.count)
        return String(cString: buf)
    }

    private static func hex(_ v: UInt16) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - s.count) + s
    }
}

/// A DCMTK attribute path built from the table: sequence items and the attribute inside them, e.g.
/// `Tag.sharedFunctionalGroupsSequence[0] / Tag.pixelMeasuresSequence[0] / .pixelSpacing` is
/// "(5200,9229)[0].(0028,9110)[0].(0028,0030)".
public struct TagPath: Hashable, Sendable, CustomStringConvertible {
    /// The path in DCMTK's syntax.
    public let text: String
    public init(_ tag: Tag) { text = tag.path }
    private init(text: String) { self.text = text }
    public var description: String { text }

    /// The same path, ending in item `index` of its last sequence.
    public subscript(index: Int) -> TagPath { TagPath(text: text + "[\(index)]") }

    public static func / (a: TagPath, b: Tag) -> TagPath { TagPath(text: a.text + "." + b.path) }
    public static func / (a: TagPath, b: TagPath) -> TagPath { TagPath(text: a.text + "." + b.text) }
}

public extension Tag {
    // RT Structure Set (PS3.3 C.8.8.5, C.8.8.6, C.8.8.8).
    static let structureSetLabel = Tag(0x3006, 0x0002, "StructureSetLabel")
    static let structureSetName = Tag(0x3006, 0x0004, "StructureSetName")
    static let structureSetDate = Tag(0x3006, 0x0008, "StructureSetDate")
    static let structureSetTime = Tag(0x3006, 0x0009, "StructureSetTime")
    static let referencedFrameOfReferenceSequence = Tag(0x3006, 0x0010, "ReferencedFrameOfReferenceSequence")
    static let rtReferencedStudySequence = Tag(0x3006, 0x0012, "RTReferencedStudySequence")
    static let rtReferencedSeriesSequence = Tag(0x3006, 0x0014, "RTReferencedSeriesSequence")
    static let contourImageSequence = Tag(0x3006, 0x0016, "ContourImageSequence")
    static let structureSetROISequence = Tag(0x3006, 0x0020, "StructureSetROISequence")
    static let roiNumber = Tag(0x3006, 0x0022, "ROINumber")
    static let referencedFrameOfReferenceUID = Tag(0x3006, 0x0024, "ReferencedFrameOfReferenceUID")
    static let roiName = Tag(0x3006, 0x0026, "ROIName")
    static let roiDescription = Tag(0x3006, 0x0028, "ROIDescription")
    static let roiDisplayColor = Tag(0x3006, 0x002A, "ROIDisplayColor")
    static let roiGenerationAlgorithm = Tag(0x3006, 0x0036, "ROIGenerationAlgorithm")
    static let roiContourSequence = Tag(0x3006, 0x0039, "ROIContourSequence")
    static let contourSequence = Tag(0x3006, 0x0040, "ContourSequence")
    static let contourGeometricType = Tag(0x3006, 0x0042, "ContourGeometricType")
    static let numberOfContourPoints = Tag(0x3006, 0x0046, "NumberOfContourPoints")
    static let contourNumber = Tag(0x3006, 0x0048, "ContourNumber")
    static let contourData = Tag(0x3006, 0x0050, "ContourData")
    static let rtROIObservationsSequence = Tag(0x3006, 0x0080, "RTROIObservationsSequence")
    static let observationNumber = Tag(0x3006, 0x0082, "ObservationNumber")
    static let referencedROINumber = Tag(0x3006, 0x0084, "ReferencedROINumber")
    static let rtROIIdentificationCodeSequence = Tag(0x3006, 0x0086, "RTROIIdentificationCodeSequence")
    static let rtROIInterpretedType = Tag(0x3006, 0x00A4, "RTROIInterpretedType")
    static let roiInterpreter = Tag(0x3006, 0x00A6, "ROIInterpreter")
    static let referencedFrameNumber = Tag(0x0008, 0x1160, "ReferencedFrameNumber")
    static let operatorsName = Tag(0x0008, 0x1070, "OperatorsName")
    static let specificCharacterSet = Tag(0x0008, 0x0005, "SpecificCharacterSet")
    static let imageType = Tag(0x0008, 0x0008, "ImageType")
    static let frameType = Tag(0x0008, 0x9007, "FrameType")
    static let instanceCreationDate = Tag(0x0008, 0x0012, "InstanceCreationDate")
    static let instanceCreationTime = Tag(0x0008, 0x0013, "InstanceCreationTime")
    static let sopClassUID = Tag(0x0008, 0x0016, "SOPClassUID")
    static let sopInstanceUID = Tag(0x0008, 0x0018, "SOPInstanceUID")
    static let studyDate = Tag(0x0008, 0x0020, "StudyDate")
    static let seriesDate = Tag(0x0008, 0x0021, "SeriesDate")
    static let acquisitionDate = Tag(0x0008, 0x0022, "AcquisitionDate")
    static let contentDate = Tag(0x0008, 0x0023, "ContentDate")
    static let acquisitionDateTime = Tag(0x0008, 0x002A, "AcquisitionDateTime")
    static let studyTime = Tag(0x0008, 0x0030, "StudyTime")
    static let seriesTime = Tag(0x0008, 0x0031, "SeriesTime")
    static let acquisitionTime = Tag(0x0008, 0x0032, "AcquisitionTime")
    static let contentTime = Tag(0x0008, 0x0033, "ContentTime")
    static let accessionNumber = Tag(0x0008, 0x0050, "AccessionNumber")
    static let modality = Tag(0x0008, 0x0060, "Modality")
    static let conversionType = Tag(0x0008, 0x0064, "ConversionType")
    static let manufacturer = Tag(0x0008, 0x0070, "Manufacturer")
    static let institutionName = Tag(0x0008, 0x0080, "InstitutionName")
    static let referringPhysicianName = Tag(0x0008, 0x0090, "ReferringPhysicianName")
    static let codeValue = Tag(0x0008, 0x0100, "CodeValue")
    static let codingSchemeDesignator = Tag(0x0008, 0x0102, "CodingSchemeDesignator")
    static let codingSchemeVersion = Tag(0x0008, 0x0103, "CodingSchemeVersion")
    static let codeMeaning = Tag(0x0008, 0x0104, "CodeMeaning")
    static let longCodeValue = Tag(0x0008, 0x0119, "LongCodeValue")
    static let urnCodeValue = Tag(0x0008, 0x0120, "URNCodeValue")
    static let stationName = Tag(0x0008, 0x1010, "StationName")
    static let studyDescription = Tag(0x0008, 0x1030, "StudyDescription")
    static let seriesDescription = Tag(0x0008, 0x103E, "SeriesDescription")
    static let manufacturerModelName = Tag(0x0008, 0x1090, "ManufacturerModelName")
    static let referencedSeriesSequence = Tag(0x0008, 0x1115, "ReferencedSeriesSequence")
    static let referencedInstanceSequence = Tag(0x0008, 0x114A, "ReferencedInstanceSequence")
    static let referencedSOPClassUID = Tag(0x0008, 0x1150, "ReferencedSOPClassUID")
    static let referencedSOPInstanceUID = Tag(0x0008, 0x1155, "ReferencedSOPInstanceUID")
    static let derivationDescription = Tag(0x0008, 0x2111, "DerivationDescription")
    static let sourceImageSequence = Tag(0x0008, 0x2112, "SourceImageSequence")
    static let anatomicRegionSequence = Tag(0x0008, 0x2218, "AnatomicRegionSequence")
    static let anatomicRegionModifierSequence = Tag(0x0008, 0x2220, "AnatomicRegionModifierSequence")

    static let patientName = Tag(0x0010, 0x0010, "PatientName")
    static let patientID = Tag(0x0010, 0x0020, "PatientID")
    static let patientBirthDate = Tag(0x0010, 0x0030, "PatientBirthDate")
    static let patientSex = Tag(0x0010, 0x0040, "PatientSex")
    static let patientAge = Tag(0x0010, 0x1010, "PatientAge")
    static let patientWeight = Tag(0x0010, 0x1030, "PatientWeight")

    static let clinicalTrialSponsorName = Tag(0x0012, 0x0010, "ClinicalTrialSponsorName")
    static let clinicalTrialProtocolID = Tag(0x0012, 0x0020, "ClinicalTrialProtocolID")
    static let clinicalTrialProtocolName = Tag(0x0012, 0x0021, "ClinicalTrialProtocolName")
    static let clinicalTrialSiteID = Tag(0x0012, 0x0030, "ClinicalTrialSiteID")
    static let clinicalTrialSiteName = Tag(0x0012, 0x0031, "ClinicalTrialSiteName")
    static let clinicalTrialSubjectID = Tag(0x0012, 0x0040, "ClinicalTrialSubjectID")
    static let clinicalTrialSubjectReadingID = Tag(0x0012, 0x0042, "ClinicalTrialSubjectReadingID")
    static let clinicalTrialTimePointID = Tag(0x0012, 0x0050, "ClinicalTrialTimePointID")
    static let clinicalTrialCoordinatingCenterName = Tag(0x0012, 0x0060, "ClinicalTrialCoordinatingCenterName")
    static let clinicalTrialSeriesID = Tag(0x0012, 0x0071, "ClinicalTrialSeriesID")

    static let bodyPartExamined = Tag(0x0018, 0x0015, "BodyPartExamined")
    static let scanningSequence = Tag(0x0018, 0x0020, "ScanningSequence")
    static let inversionRecovery = Tag(0x0018, 0x9009, "InversionRecovery")
    static let sequenceVariant = Tag(0x0018, 0x0021, "SequenceVariant")
    static let scanOptions = Tag(0x0018, 0x0022, "ScanOptions")
    static let mrAcquisitionType = Tag(0x0018, 0x0023, "MRAcquisitionType")
    static let sequenceName = Tag(0x0018, 0x0024, "SequenceName")
    static let sliceThickness = Tag(0x0018, 0x0050, "SliceThickness")
    static let kvp = Tag(0x0018, 0x0060, "KVP")
    static let repetitionTime = Tag(0x0018, 0x0080, "RepetitionTime")
    static let echoTime = Tag(0x0018, 0x0081, "EchoTime")
    static let inversionTime = Tag(0x0018, 0x0082, "InversionTime")
    static let echoNumbers = Tag(0x0018, 0x0086, "EchoNumbers")
    static let magneticFieldStrength = Tag(0x0018, 0x0087, "MagneticFieldStrength")
    static let spacingBetweenSlices = Tag(0x0018, 0x0088, "SpacingBetweenSlices")
    static let echoTrainLength = Tag(0x0018, 0x0091, "EchoTrainLength")
    static let deviceSerialNumber = Tag(0x0018, 0x1000, "DeviceSerialNumber")
    static let softwareVersions = Tag(0x0018, 0x1020, "SoftwareVersions")
    static let protocolName = Tag(0x0018, 0x1030, "ProtocolName")
    static let gantryDetectorTilt = Tag(0x0018, 0x1120, "GantryDetectorTilt")
    static let exposureTime = Tag(0x0018, 0x1150, "ExposureTime")
    static let xRayTubeCurrent = Tag(0x0018, 0x1151, "XRayTubeCurrent")
    static let convolutionKernel = Tag(0x0018, 0x1210, "ConvolutionKernel")
    static let flipAngle = Tag(0x0018, 0x1314, "FlipAngle")
    static let patientPosition = Tag(0x0018, 0x5100, "PatientPosition")
    static let effectiveEchoTime = Tag(0x0018, 0x9082, "EffectiveEchoTime")
    static let mrEchoSequence = Tag(0x0018, 0x9114, "MREchoSequence")
    static let mrTimingAndRelatedParametersSequence = Tag(0x0018, 0x9112, "MRTimingAndRelatedParametersSequence")
    static let mrImageFrameTypeSequence = Tag(0x0018, 0x9226, "MRImageFrameTypeSequence")
    static let complexImageComponent = Tag(0x0008, 0x9208, "ComplexImageComponent")
    static let inPlanePhaseEncodingDirection = Tag(0x0018, 0x1312, "InPlanePhaseEncodingDirection")
    static let diffusionDirectionality = Tag(0x0018, 0x9075, "DiffusionDirectionality")
    static let diffusionGradientDirectionSequence = Tag(0x0018, 0x9076, "DiffusionGradientDirectionSequence")
    static let diffusionBValue = Tag(0x0018, 0x9087, "DiffusionBValue")
    static let diffusionGradientOrientation = Tag(0x0018, 0x9089, "DiffusionGradientOrientation")
    static let mrDiffusionSequence = Tag(0x0018, 0x9117, "MRDiffusionSequence")

    static let studyInstanceUID = Tag(0x0020, 0x000D, "StudyInstanceUID")
    static let seriesInstanceUID = Tag(0x0020, 0x000E, "SeriesInstanceUID")
    static let studyID = Tag(0x0020, 0x0010, "StudyID")
    static let seriesNumber = Tag(0x0020, 0x0011, "SeriesNumber")
    static let acquisitionNumber = Tag(0x0020, 0x0012, "AcquisitionNumber")
    static let instanceNumber = Tag(0x0020, 0x0013, "InstanceNumber")
    static let patientOrientation = Tag(0x0020, 0x0020, "PatientOrientation")
    static let imagePositionPatient = Tag(0x0020, 0x0032, "ImagePositionPatient")
    static let imageOrientationPatient = Tag(0x0020, 0x0037, "ImageOrientationPatient")
    static let frameOfReferenceUID = Tag(0x0020, 0x0052, "FrameOfReferenceUID")
    static let laterality = Tag(0x0020, 0x0060, "Laterality")
    static let temporalPositionIdentifier = Tag(0x0020, 0x0100, "TemporalPositionIdentifier")
    static let positionReferenceIndicator = Tag(0x0020, 0x1040, "PositionReferenceIndicator")
    static let sliceLocation = Tag(0x0020, 0x1041, "SliceLocation")
    static let frameContentSequence = Tag(0x0020, 0x9111, "FrameContentSequence")
    static let planePositionSequence = Tag(0x0020, 0x9113, "PlanePositionSequence")
    static let planeOrientationSequence = Tag(0x0020, 0x9116, "PlaneOrientationSequence")
    static let temporalPositionIndex = Tag(0x0020, 0x9128, "TemporalPositionIndex")
    static let dimensionOrganizationUID = Tag(0x0020, 0x9164, "DimensionOrganizationUID")
    static let dimensionOrganizationSequence = Tag(0x0020, 0x9221, "DimensionOrganizationSequence")
    static let dimensionIndexSequence = Tag(0x0020, 0x9222, "DimensionIndexSequence")
    static let dimensionOrganizationType = Tag(0x0020, 0x9311, "DimensionOrganizationType")

    static let samplesPerPixel = Tag(0x0028, 0x0002, "SamplesPerPixel")
    static let photometricInterpretation = Tag(0x0028, 0x0004, "PhotometricInterpretation")
    static let planarConfiguration = Tag(0x0028, 0x0006, "PlanarConfiguration")
    static let numberOfFrames = Tag(0x0028, 0x0008, "NumberOfFrames")
    static let rows = Tag(0x0028, 0x0010, "Rows")
    static let columns = Tag(0x0028, 0x0011, "Columns")
    static let pixelSpacing = Tag(0x0028, 0x0030, "PixelSpacing")
    static let bitsAllocated = Tag(0x0028, 0x0100, "BitsAllocated")
    static let bitsStored = Tag(0x0028, 0x0101, "BitsStored")
    static let highBit = Tag(0x0028, 0x0102, "HighBit")
    static let pixelRepresentation = Tag(0x0028, 0x0103, "PixelRepresentation")
    static let pixelPaddingValue = Tag(0x0028, 0x0120, "PixelPaddingValue")
    static let burnedInAnnotation = Tag(0x0028, 0x0301, "BurnedInAnnotation")
    static let windowCenter = Tag(0x0028, 0x1050, "WindowCenter")
    static let windowWidth = Tag(0x0028, 0x1051, "WindowWidth")
    static let rescaleIntercept = Tag(0x0028, 0x1052, "RescaleIntercept")
    static let rescaleSlope = Tag(0x0028, 0x1053, "RescaleSlope")
    static let rescaleType = Tag(0x0028, 0x1054, "RescaleType")
    static let lossyImageCompression = Tag(0x0028, 0x2110, "LossyImageCompression")
    static let pixelMeasuresSequence = Tag(0x0028, 0x9110, "PixelMeasuresSequence")
    static let pixelValueTransformationSequence = Tag(0x0028, 0x9145, "PixelValueTransformationSequence")

    static let conceptNameCodeSequence = Tag(0x0040, 0xA043, "ConceptNameCodeSequence")

    static let documentTitle = Tag(0x0042, 0x0010, "DocumentTitle")
    static let encapsulatedDocument = Tag(0x0042, 0x0011, "EncapsulatedDocument")
    static let mimeTypeOfEncapsulatedDocument = Tag(0x0042, 0x0012, "MIMETypeOfEncapsulatedDocument")
    static let sourceInstanceSequence = Tag(0x0042, 0x0013, "SourceInstanceSequence")
    static let encapsulatedDocumentLength = Tag(0x0042, 0x0015, "EncapsulatedDocumentLength")

    // Whole-slide microscopy (PS3.3 C.8.12.4, C.7.6.17.3): what marks a slide SEG, which seg2nifti refuses.
    static let totalPixelMatrixColumns = Tag(0x0048, 0x0006, "TotalPixelMatrixColumns")
    static let totalPixelMatrixRows = Tag(0x0048, 0x0007, "TotalPixelMatrixRows")
    static let imageOrientationSlide = Tag(0x0048, 0x0102, "ImageOrientationSlide")
    static let planePositionSlideSequence = Tag(0x0048, 0x021A, "PlanePositionSlideSequence")

    static let segmentationType = Tag(0x0062, 0x0001, "SegmentationType")
    static let segmentSequence = Tag(0x0062, 0x0002, "SegmentSequence")
    static let segmentedPropertyCategoryCodeSequence = Tag(0x0062, 0x0003, "SegmentedPropertyCategoryCodeSequence")
    static let segmentNumber = Tag(0x0062, 0x0004, "SegmentNumber")
    static let segmentLabel = Tag(0x0062, 0x0005, "SegmentLabel")
    static let segmentDescription = Tag(0x0062, 0x0006, "SegmentDescription")
    static let segmentAlgorithmType = Tag(0x0062, 0x0008, "SegmentAlgorithmType")
    static let segmentAlgorithmName = Tag(0x0062, 0x0009, "SegmentAlgorithmName")
    static let recommendedDisplayCIELabValue = Tag(0x0062, 0x000D, "RecommendedDisplayCIELabValue")
    static let maximumFractionalValue = Tag(0x0062, 0x000E, "MaximumFractionalValue")
    static let segmentedPropertyTypeCodeSequence = Tag(0x0062, 0x000F, "SegmentedPropertyTypeCodeSequence")
    static let segmentationFractionalType = Tag(0x0062, 0x0010, "SegmentationFractionalType")
    static let segmentedPropertyTypeModifierCodeSequence = Tag(0x0062, 0x0011, "SegmentedPropertyTypeModifierCodeSequence")
    static let segmentsOverlap = Tag(0x0062, 0x0013, "SegmentsOverlap")
    static let trackingID = Tag(0x0062, 0x0020, "TrackingID")
    static let trackingUID = Tag(0x0062, 0x0021, "TrackingUID")

    static let contentLabel = Tag(0x0070, 0x0080, "ContentLabel")
    static let contentDescription = Tag(0x0070, 0x0081, "ContentDescription")
    static let contentCreatorName = Tag(0x0070, 0x0084, "ContentCreatorName")

    static let realWorldValueMappingSequence = Tag(0x0040, 0x9096, "RealWorldValueMappingSequence")
    static let realWorldValueIntercept = Tag(0x0040, 0x9224, "RealWorldValueIntercept")
    static let realWorldValueSlope = Tag(0x0040, 0x9225, "RealWorldValueSlope")

    static let sharedFunctionalGroupsSequence = Tag(0x5200, 0x9229, "SharedFunctionalGroupsSequence")
    static let perFrameFunctionalGroupsSequence = Tag(0x5200, 0x9230, "PerFrameFunctionalGroupsSequence")

    static let pixelData = Tag(0x7FE0, 0x0010, "PixelData")

    static let item = Tag(0xFFFE, 0xE000, "Item")
    static let sequenceDelimitationItem = Tag(0xFFFE, 0xE0DD, "SequenceDelimitationItem")
}

/// Vendors' private attributes: the creator that reserves the block, and the element as the vendors'
/// documentation and dcm2niix read it. Not in DCMTK's public dictionary, so named here, not checked there.
public extension Tag {
    init(private group: UInt16, _ element: UInt16, creator: String, _ name: String) {
        self.init(group, element, name)
    }

    /// Siemens CSA headers (SV10 or CSA1 binary): per image and per series.
    static let siemensCSAImageHeader = Tag(private: 0x0029, 0x1010, creator: "SIEMENS CSA HEADER", "CSAImageHeaderInfo")
    static let siemensCSASeriesHeader = Tag(private: 0x0029, 0x1020, creator: "SIEMENS CSA HEADER", "CSASeriesHeaderInfo")

    /// GE: the pulse sequence name ("epi_pepolar" for the ABCD reversed-polarity EPI) and user data 12
    /// (its polarity scheme: 1 reversed, 2 reversed then forward, 3 forward then reversed), as dcm2niix reads them.
    static let gePulseSequenceName = Tag(private: 0x0019, 0x109C, creator: "GEMS_ACQU_01", "PulseSequenceName")
    /// Philips enhanced MR: the per-frame private item that repeats the classic attributes (ImageType
    /// "B0 MAP\\B0" marks a field map in Hz, which dcm2niix names _fieldmaphz).
    static let philipsPerFrameSequence = Tag(private: 0x2005, 0x140F, creator: "Philips MR Imaging DD 005", "PhilipsPerFrameSequence")
    static let geUserData12 = Tag(private: 0x0019, 0x10B3, creator: "GEMS_ACQU_01", "UserData12")
    /// Siemens: slices in a MOSAIC image (US), the same count as the CSA's NumberOfImagesInMosaic.
    static let siemensNumberOfImagesInMosaic = Tag(private: 0x0019, 0x100A, creator: "SIEMENS MR HEADER", "NumberOfImagesInMosaic")
    /// United Imaging grid ("VFRAME") images: slices in the grid (DS), and the per-slice sequence whose
    /// items carry each slice's ImagePositionPatient (UIH's DICOM notes, as dcm2niix's UIH/README.md lists them).
    static let uihNumberOfImagesInGrid = Tag(private: 0x0065, 0x1050, creator: "UIH", "MRNumberOfSliceInVolume")
    static let uihVFrameSequence = Tag(private: 0x0065, 0x1051, creator: "UIH", "MRVFrameSequence")
    /// Philips MR scale slope (FL): precise value = stored value / scale slope (dcm2niix's PhilipsPrecise).
    static let philipsScaleSlope = Tag(private: 0x2005, 0x100E, creator: "Philips MR Imaging DD 001", "MRScaleSlope")
}

/// Attributes the BIDS sidecar reads (as dcm2niix's nii_dicom.cpp reads them), standard ones first.
public extension Tag {
    static let institutionAddress = Tag(0x0008, 0x0081, "InstitutionAddress")
    static let institutionalDepartmentName = Tag(0x0008, 0x1040, "InstitutionalDepartmentName")
    static let numberOfAverages = Tag(0x0018, 0x0083, "NumberOfAverages")
    static let imagingFrequency = Tag(0x0018, 0x0084, "ImagingFrequency")
    static let numberOfPhaseEncodingSteps = Tag(0x0018, 0x0089, "NumberOfPhaseEncodingSteps")
    static let percentSampling = Tag(0x0018, 0x0093, "PercentSampling")
    static let percentPhaseFieldOfView = Tag(0x0018, 0x0094, "PercentPhaseFieldOfView")
    static let pixelBandwidth = Tag(0x0018, 0x0095, "PixelBandwidth")
    static let exposure = Tag(0x0018, 0x1152, "Exposure")
    static let receiveCoilName = Tag(0x0018, 0x1250, "ReceiveCoilName")
    static let acquisitionMatrix = Tag(0x0018, 0x1310, "AcquisitionMatrix")
    static let sar = Tag(0x0018, 0x1316, "SAR")
    static let pulseSequenceName = Tag(0x0018, 0x9005, "PulseSequenceName")
    static let mrFOVGeometrySequence = Tag(0x0018, 0x9125, "MRFOVGeometrySequence")
    static let mrAcquisitionPhaseEncodingStepsInPlane = Tag(0x0018, 0x9231, "MRAcquisitionPhaseEncodingStepsInPlane")
    static let imageComments = Tag(0x0020, 0x4000, "ImageComments")
    static let performedProcedureStepDescription = Tag(0x0040, 0x0254, "PerformedProcedureStepDescription")

    /// Siemens: BandwidthPerPixelPhaseEncode (FD, Hz), as dcm2niix's kBandwidthPerPixelPhaseEncode.
    static let siemensBandwidthPerPixelPhaseEncode = Tag(private: 0x0019, 0x1028, creator: "SIEMENS MR HEADER", "BandwidthPerPixelPhaseEncode")
    /// Siemens: "Tra"/"Sag"/"Cor" text of the slice orientation (dcm2niix's ImageOrientationText).
    static let siemensImageOrientationText = Tag(private: 0x0051, 0x100E, creator: "SIEMENS MR HEADER", "ImageOrientationText")
    /// Siemens: the coil string ("HEA;HEP"), dcm2niix's kCoilSiemens → CoilString.
    static let siemensCoilString = Tag(private: 0x0051, 0x100F, creator: "SIEMENS MR HEADER", "CoilString")
    /// Siemens: PAT mode text ("p2" = in-plane acceleration 2), dcm2niix's kParallelInformationSiemens.
    static let siemensPATModeText = Tag(private: 0x0051, 0x1011, creator: "SIEMENS MR HEADER", "PATModeText")
    /// GE: internal pulse sequence name ("EPI", "EPI2"), dcm2niix's kInternalPulseSequenceNameGE.
    static let geInternalPulseSequenceName = Tag(private: 0x0019, 0x109E, creator: "GEMS_ACQU_01", "InternalPulseSequenceName")
    /// GE: effective echo spacing in µs, dcm2niix's kEffectiveEchoSpacingGE.
    static let geEffectiveEchoSpacing = Tag(private: 0x0043, 0x102C, creator: "GEMS_PARM_01", "EffectiveEchoSpacing")
    /// GE: ASSET R factors ("0.5\1"), dcm2niix's kAssetRFactorsGE.
    static let geAssetRFactors = Tag(private: 0x0043, 0x1083, creator: "GEMS_PARM_01", "AssetRFactors")
}

/// More of the sidecar's attributes: enhanced MR macros and Philips' private per-frame data.
public extension Tag {
    static let magnetizationTransfer = Tag(0x0018, 0x9020, "MagnetizationTransfer")
    static let mrReceiveCoilSequence = Tag(0x0018, 0x9042, "MRReceiveCoilSequence")
    static let acquisitionDuration = Tag(0x0018, 0x9073, "AcquisitionDuration")
    static let transmitterFrequency = Tag(0x0018, 0x9098, "TransmitterFrequency")
    static let mrImagingModifierSequence = Tag(0x0018, 0x9006, "MRImagingModifierSequence")
    static let partialFourierDirection = Tag(0x0018, 0x9036, "PartialFourierDirection")
    static let frameAcquisitionDateTime = Tag(0x0018, 0x9074, "FrameAcquisitionDateTime")
    static let parallelAcquisitionTechnique = Tag(0x0018, 0x9078, "ParallelAcquisitionTechnique")
    static let mrModifierSequence = Tag(0x0018, 0x9115, "MRModifierSequence")
    /// Philips enhanced: the classic attributes of each frame (ScanningSequence, ImagingFrequency, EchoNumbers…).
    static let philipsPerFrameAttributes = Tag(private: 0x2005, 0x140F, creator: "Philips MR Imaging DD 005", "PerFrameAttributesSequence")
    /// Siemens XA (enhanced): the protocol (XProtocol with the ASCCONV text), in a private shared group.
    static let siemensXAProtocol = Tag(private: 0x0021, 0x1019, creator: "SIEMENS MR SDS 01", "MrPhoenixProtocol")
    /// Siemens XA: values that the CSA image header had on older systems (dcm2niix's kBandwidthPerPixelPhaseEncode21,
    /// kPhaseEncodingDirectionPositiveSiemens, kDwellTime), in a private per-frame or shared group.
    static let siemensXABandwidthPerPixelPhaseEncode = Tag(private: 0x0021, 0x1153, creator: "SIEMENS MR SDI 02", "BandwidthPerPixelPhaseEncode")
    static let siemensXAPhaseEncodingDirectionPositive = Tag(private: 0x0021, 0x111C, creator: "SIEMENS MR SDI 02", "PhaseEncodingDirectionPositive")
    /// Siemens XA: the classic ImageType text ("ORIGINAL\\PRIMARY\\M\\ND"), dcm2niix's ImageTypeText.
    static let siemensXAImageTypeText = Tag(private: 0x0021, 0x1175, creator: "SIEMENS MR SDI 02", "ImageTypeText")
    static let siemensXADwellTime = Tag(private: 0x0021, 0x1142, creator: "SIEMENS MR SDI 02", "RealDwellTime")
    /// Siemens XA: the per-frame private functional group, and in it the frame's time after the start of
    /// the acquisition (DS, seconds): dcm2niix's kTimeAfterStart, its XA slice timing.
    static let siemensXAPerFrameGroup = Tag(private: 0x0021, 0x11FE, creator: "SIEMENS MR SDI 02", "SiemensMRSDISequence")
    static let siemensXATimeAfterStart = Tag(private: 0x0021, 0x1104, creator: "SIEMENS MR SDI 02", "TimeAfterStart")
    /// Siemens XA: the classic ScanningSequence, SequenceVariant and ScanOptions (dcm2niix's
    /// kScanningSequenceSiemens, kSequenceVariant21, kScanOptionsSiemens), in a private shared group.
    static let siemensXAScanningSequence = Tag(private: 0x0021, 0x105A, creator: "SIEMENS MR SDS 01", "ScanningSequence")
    static let siemensXASequenceVariant = Tag(private: 0x0021, 0x105B, creator: "SIEMENS MR SDS 01", "SequenceVariant")
    static let siemensXAScanOptions = Tag(private: 0x0021, 0x105C, creator: "SIEMENS MR SDS 01", "ScanOptions")
    /// GE: user-defined data (binary header with the EPI phase-encoding polarity), dcm2niix's kUserDefineDataGE.
    static let geUserDefinedData = Tag(private: 0x0043, 0x102A, creator: "GEMS_PARM_01", "UserDefinedData")
    /// GE: gradient offsets (the linear shims), dcm2niix's ShimSetting for GE.
    static let geGradientOffsetInX = Tag(private: 0x0043, 0x1002, creator: "GEMS_PARM_01", "GradientOffsetInX")
    static let geGradientOffsetInY = Tag(private: 0x0043, 0x1003, creator: "GEMS_PARM_01", "GradientOffsetInY")
    static let geGradientOffsetInZ = Tag(private: 0x0043, 0x1004, creator: "GEMS_PARM_01", "GradientOffsetInZ")
    /// GE: prescan reuse string ("TG/s3,RN/s1"), dcm2niix's PrescanReuseString.
    static let gePrescanReuseString = Tag(private: 0x0043, 0x1095, creator: "GEMS_PARM_01", "PrescanReuseString")
    /// GE: the protocol data block (gzip of "KEY value" lines: SLICEORDER, MBACCEL, DELACQNOAV, IOPT…).
    static let geProtocolDataBlock = Tag(private: 0x0025, 0x101B, creator: "GEMS_SERS_01", "ProtocolDataBlock")
    /// Philips: water-fat shift in pixels (FL), dcm2niix's kWaterFatShiftPhilips.
    static let philipsWaterFatShift = Tag(private: 0x2001, 0x1022, creator: "Philips Imaging DD 001", "WaterFatShift")
    /// Diffusion encoding in the vendors' private blocks, as dcm2niix reads them (nii_dicom.cpp).
    /// Siemens: b-value (IS) and gradient direction (FD x3, patient coordinates).
    static let siemensBValue = Tag(private: 0x0019, 0x100C, creator: "SIEMENS MR HEADER", "B_value")
    static let siemensDiffusionGradientDirection = Tag(private: 0x0019, 0x100E, creator: "SIEMENS MR HEADER", "DiffusionGradientDirection")
    /// GE: "SlopInteger6ToSlopInteger9" (IS), the first value is the b-value (plus 1e9 on some software);
    /// UserData20-22 (DS) the gradient direction in GE's image frame.
    static let geSlopInteger6To9 = Tag(private: 0x0043, 0x1039, creator: "GEMS_PARM_01", "SlopInteger6ToSlopInteger9")
    static let geUserData20 = Tag(private: 0x0019, 0x10BB, creator: "GEMS_ACQU_01", "UserData20")
    static let geUserData21 = Tag(private: 0x0019, 0x10BC, creator: "GEMS_ACQU_01", "UserData21")
    static let geUserData22 = Tag(private: 0x0019, 0x10BD, creator: "GEMS_ACQU_01", "UserData22")
    /// GE: UserData24 (DS), the number of diffusion directions.
    static let geUserData24 = Tag(private: 0x0019, 0x10E0, creator: "GEMS_ACQU_01", "UserData24")
    /// Philips: b-factor (FL), gradient RL/AP/FH (FL, patient coordinates).
    static let philipsDiffusionBFactor = Tag(private: 0x2001, 0x1003, creator: "Philips Imaging DD 001", "DiffusionBFactor")
    static let philipsDiffusionDirectionRL = Tag(private: 0x2005, 0x10B0, creator: "Philips MR Imaging DD 001", "DiffusionDirectionRL")
    static let philipsDiffusionDirectionAP = Tag(private: 0x2005, 0x10B1, creator: "Philips MR Imaging DD 001", "DiffusionDirectionAP")
    static let philipsDiffusionDirectionFH = Tag(private: 0x2005, 0x10B2, creator: "Philips MR Imaging DD 001", "DiffusionDirectionFH")
    /// UIH: b-value (FD) and gradient direction (FD x3, image space), dcm2niix's kDiffusion_bValueUIH and
    /// kDiffusionGradientDirectionUIH.
    static let uihDiffusionBValue = Tag(private: 0x0065, 0x1009, creator: "Image Private Header", "DiffusionBValue")
    static let uihDiffusionGradientDirection = Tag(private: 0x0065, 0x1037, creator: "Image Private Header", "DiffusionGradientDirection")
}

public extension Tag {
    // Structured reports (PS3.3 C.17.2, C.17.3, C.18; TID 1500's content items).
    static let mappingResource = Tag(0x0008, 0x0105, "MappingResource")
    static let referencedPerformedProcedureStepSequence = Tag(0x0008, 0x1111, "ReferencedPerformedProcedureStepSequence")
    static let referencedSOPSequence = Tag(0x0008, 0x1199, "ReferencedSOPSequence")
    static let measurementUnitsCodeSequence = Tag(0x0040, 0x08EA, "MeasurementUnitsCodeSequence")
    static let relationshipType = Tag(0x0040, 0xA010, "RelationshipType")
    static let valueType = Tag(0x0040, 0xA040, "ValueType")
    static let continuityOfContent = Tag(0x0040, 0xA050, "ContinuityOfContent")
    static let uid = Tag(0x0040, 0xA124, "UID")
    static let textValue = Tag(0x0040, 0xA160, "TextValue")
    static let conceptCodeSequence = Tag(0x0040, 0xA168, "ConceptCodeSequence")
    static let measuredValueSequence = Tag(0x0040, 0xA300, "MeasuredValueSequence")
    static let numericValue = Tag(0x0040, 0xA30A, "NumericValue")
    static let performedProcedureCodeSequence = Tag(0x0040, 0xA372, "PerformedProcedureCodeSequence")
    static let currentRequestedProcedureEvidenceSequence = Tag(0x0040, 0xA375, "CurrentRequestedProcedureEvidenceSequence")
    static let completionFlag = Tag(0x0040, 0xA491, "CompletionFlag")
    static let verificationFlag = Tag(0x0040, 0xA493, "VerificationFlag")
    static let contentTemplateSequence = Tag(0x0040, 0xA504, "ContentTemplateSequence")
    static let contentSequence = Tag(0x0040, 0xA730, "ContentSequence")
    static let templateIdentifier = Tag(0x0040, 0xDB00, "TemplateIdentifier")
    static let referencedSegmentNumber = Tag(0x0062, 0x000B, "ReferencedSegmentNumber")
}

public extension Tag {
    // Query/Retrieve (PS3.4 C.4, C.6): the level and the counts a C-FIND returns.
    static let queryRetrieveLevel = Tag(0x0008, 0x0052, "QueryRetrieveLevel")
    static let retrieveAETitle = Tag(0x0008, 0x0054, "RetrieveAETitle")
    static let modalitiesInStudy = Tag(0x0008, 0x0061, "ModalitiesInStudy")
    static let numberOfPatientRelatedStudies = Tag(0x0020, 0x1200, "NumberOfPatientRelatedStudies")
    static let numberOfStudyRelatedSeries = Tag(0x0020, 0x1206, "NumberOfStudyRelatedSeries")
    static let numberOfStudyRelatedInstances = Tag(0x0020, 0x1208, "NumberOfStudyRelatedInstances")
    static let numberOfSeriesRelatedInstances = Tag(0x0020, 0x1209, "NumberOfSeriesRelatedInstances")
}
