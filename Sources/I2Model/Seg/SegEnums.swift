// Enumerated values of the Segmentation IOD, named after the attributes they belong to (as highdicom's
// seg/enum.py does), so code reads like PS3.3. Raw values are the exact DICOM Code String (CS) values.

/// Segmentation Type (0062,0001): how a frame's pixel values encode segment membership.
/// PS3.3 C.8.20.2 (Segmentation Image Module), values defined in C.8.20.2.3.
public enum SegmentationTypeValues: String, CaseIterable, Sendable {
    /// 1 bit per pixel: 1 means the segmented property is present, 0 absent.
    case binary = "BINARY"
    /// 8 bits per pixel, 0 ... Maximum Fractional Value (0062,000E); see `SegmentationFractionalTypeValues`.
    case fractional = "FRACTIONAL"
    /// Each pixel value is a Segment Number (0062,0004); segments cannot overlap (C.8.20.2.3.3).
    case labelmap = "LABELMAP"
}

/// Segmentation Fractional Type (0062,0010), required when the type is FRACTIONAL.
/// PS3.3 C.8.20.2 (Segmentation Image Module), values defined in C.8.20.2.3.2.
public enum SegmentationFractionalTypeValues: String, CaseIterable, Sendable {
    /// Pixel value / Maximum Fractional Value is the probability that the property occupies the voxel.
    case probability = "PROBABILITY"
    /// Pixel value / Maximum Fractional Value is the fraction of the voxel the property occupies.
    case occupancy = "OCCUPANCY"
}

/// Segment Algorithm Type (0062,0008), Type 1 in every segment.
/// PS3.3 C.8.20.4.1 (Segment Description Macro, Table C.8.20-4). Segment Algorithm Name (0062,0009)
/// is required (Type 1C) when the value is not MANUAL.
public enum SegmentAlgorithmTypeValues: String, CaseIterable, Sendable {
    /// Calculated segment.
    case automatic = "AUTOMATIC"
    /// Calculated segment with user assistance.
    case semiautomatic = "SEMIAUTOMATIC"
    /// User-entered segment.
    case manual = "MANUAL"

    /// Whether Segment Algorithm Name (0062,0009) must be present for this type.
    public var requiresAlgorithmName: Bool { self != .manual }
}
