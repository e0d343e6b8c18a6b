// Segmentation: the Segmentation IOD (PS3.3 A.51) as i2 writes it, in the standard's vocabulary: the
// segments (Segment Description Macro, C.8.20.4) with their numbers, the frames (which segment, which
// source slice), the source slices they derive from, and the series/content attributes. Pixels are not
// held here: the writer hands out the buffer DCMTK owns and the converter fills it in place.

/// SegmentsOverlap (0062,0013), PS3.3 C.8.20.2.
public enum SegmentsOverlapValues: String, Sendable {
    case yes = "YES", no = "NO", undefined = "UNDEFINED"
}

/// The SOP classes a Segmentation can be (PS3.4 B.5).
public enum SegmentationSOPClass {
    /// Segmentation Storage: BINARY and FRACTIONAL.
    public static let segmentation = "1.2.840.10008.5.1.4.1.1.66.4"
    /// Label Map Segmentation Storage (DICOM 2024, Sup 243): LABELMAP.
    public static let labelMap = "1.2.840.10008.5.1.4.1.1.66.7"
}

/// One segment as written: its number in the SEG (1...N), its description, and the label value it had in
/// the input label map (recorded in the private element (0077,xx01) under creator "i2").
public struct SegmentEntry: Sendable {
    public var number: Int
    public var description: SegmentDescription
    public var originalLabel: Int
    public init(number: Int, description: SegmentDescription, originalLabel: Int) {
        self.number = number
        self.description = description
        self.originalLabel = originalLabel
    }
}

/// One frame: the segment it shows (0 for LABELMAP, where a frame holds all segments) and the index of
/// the source slice it covers.
public struct SegmentationFrame: Sendable, Equatable {
    public var segmentNumber: Int
    public var slice: Int
    public init(segmentNumber: Int, slice: Int) {
        self.segmentNumber = segmentNumber
        self.slice = slice
    }
}

/// A source image slice a frame derives from (Derivation Image / Source Image Sequence, PS3.3 C.7.6.16.2.6).
public struct SourceSlice: Sendable {
    public var sopClassUID: String
    public var sopInstanceUID: String
    /// 1-based frame of a multi-frame source; nil for single-frame instances.
    public var frameNumber: Int?
    /// ImagePositionPatient exactly as the source instance states it.
    public var imagePositionPatient: String
    public init(sopClassUID: String, sopInstanceUID: String, frameNumber: Int?, imagePositionPatient: String) {
        self.sopClassUID = sopClassUID
        self.sopInstanceUID = sopInstanceUID
        self.frameNumber = frameNumber
        self.imagePositionPatient = imagePositionPatient
    }
}

/// A Segmentation instance, everything but the pixels.
public struct Segmentation: Sendable {
    public var segmentationType: SegmentationTypeValues
    public var segments: [SegmentEntry]
    /// In pixel-data order: by segment number, then by slice (BINARY); by slice (LABELMAP).
    public var frames: [SegmentationFrame]
    public var sourceSlices: [SourceSlice]
    public var rows: Int
    public var columns: Int
    /// ImageOrientationPatient of the source series (row direction, then column direction).
    public var imageOrientationPatient: [Double]
    /// PixelSpacing: between rows, then between columns (mm).
    public var pixelSpacing: [Double]
    public var sliceThickness: Double
    public var spacingBetweenSlices: Double
    public var segmentsOverlap: SegmentsOverlapValues
    public var seriesInstanceUID: String
    public var sopInstanceUID: String
    public var dimensionOrganizationUID: String
    public var referencedSeriesInstanceUID: String
    public var frameOfReferenceUID: String
    /// Series and content attributes already resolved against the reference (see SegmentMetadata).
    public var seriesNumber: String
    public var seriesDescription: String
    public var instanceNumber: String
    public var contentLabel: String
    public var contentDescription: String
    public var contentCreatorName: String
    public var bodyPartExamined: String?
    public var clinicalTrialSeriesID: String?
    public var clinicalTrialTimePointID: String?
    public var clinicalTrialCoordinatingCenterName: String?

    public init(segmentationType: SegmentationTypeValues, segments: [SegmentEntry], frames: [SegmentationFrame],
                sourceSlices: [SourceSlice], rows: Int, columns: Int) {
        self.segmentationType = segmentationType
        self.segments = segments
        self.frames = frames
        self.sourceSlices = sourceSlices
        self.rows = rows
        self.columns = columns
        imageOrientationPatient = [1, 0, 0, 0, 1, 0]
        pixelSpacing = [1, 1]
        sliceThickness = 1
        spacingBetweenSlices = 1
        segmentsOverlap = .no
        seriesInstanceUID = ""
        sopInstanceUID = ""
        dimensionOrganizationUID = ""
        referencedSeriesInstanceUID = ""
        frameOfReferenceUID = ""
        seriesNumber = "1"
        seriesDescription = "Segmentation"
        instanceNumber = "1"
        contentLabel = "SEGMENTATION"
        contentDescription = ""
        contentCreatorName = ""
    }

    public var sopClassUID: String {
        segmentationType == .labelmap ? SegmentationSOPClass.labelMap : SegmentationSOPClass.segmentation
    }

    /// 1 for BINARY, 8 for FRACTIONAL, 8 or 16 for LABELMAP (16 when a segment number exceeds 255).
    public var bitsAllocated: Int {
        switch segmentationType {
        case .binary: return 1
        case .fractional: return 8
        case .labelmap: return (segments.map(\.number).max() ?? 0) > 255 ? 16 : 8
        }
    }

    /// Pixel data length in bytes: BINARY frames are packed one after another without padding (PS3.5 8.1.1),
    /// the whole padded to an even length.
    public var pixelDataLength: Int {
        let pixels = rows * columns * frames.count
        let bytes = bitsAllocated == 1 ? (pixels + 7) / 8 : pixels * bitsAllocated / 8
        return bytes + bytes % 2
    }
}
