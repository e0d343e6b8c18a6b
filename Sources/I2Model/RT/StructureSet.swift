// An RT Structure Set (PS3.3 A.19) as i2 writes it from a label map: one ROI per segment, closed planar
// contours on the source slices, everything but the header copied from the source series.

public struct StructureSet: Sendable {
    public struct ROI: Sendable {
        /// ROI Number: the segment number (1...N, as in the SEG of the same label map).
        public var number: Int
        public var name: String
        public var color: RGBColor
        /// RTROIInterpretedType: ORGAN for anatomical structures, else empty (Type 2).
        public var interpretedType: String
        /// The segment's codes and algorithm, as the SEG path has them.
        public var description: SegmentDescription
        public var originalLabel: Int

        public init(number: Int, name: String, color: RGBColor, interpretedType: String, description: SegmentDescription, originalLabel: Int) {
            self.number = number
            self.name = name
            self.color = color
            self.interpretedType = interpretedType
            self.description = description
            self.originalLabel = originalLabel
        }
    }

    public struct Contour: Sendable {
        /// Index into `rois`.
        public var roi: Int
        /// Index into `sourceSlices`: the slice the contour lies on, which it references (-1 in a structure
        /// set read from a file: placed by its position).
        public var slice: Int
        /// x, y, z of each vertex in mm (patient coordinates): a structure set read from a file.
        public var points: [Double]
        /// x, y of each vertex in pixels of its slice (`StructureSet.planes` maps them to mm): a structure set
        /// i2 writes (exact: its vertices lie on quarter pixels), a third of the memory of `points`.
        public var pixels: [Float] = []
        /// ContourGeometricType: CLOSED_PLANAR (what i2 writes), OPEN_PLANAR, OPEN_NONPLANAR, POINT.
        public var geometricType = "CLOSED_PLANAR"
        /// The image the contour references (ContourImageSequence), when it names one.
        public var referencedSOPInstanceUID: String?

        public init(roi: Int, slice: Int, points: [Double]) {
            self.roi = roi
            self.slice = slice
            self.points = points
        }
    }

    public var rois: [ROI] = []
    public var contours: [Contour] = []
    public var sourceSlices: [SourceSlice] = []
    public var referencedSeriesInstanceUID = ""
    public var frameOfReferenceUID = ""
    public var seriesInstanceUID = ""
    public var sopInstanceUID = ""
    public var seriesNumber = "1"
    public var seriesDescription = "Structure set"
    /// StructureSetLabel (Type 1, at most 16 characters).
    public var label = "I2"
    public var instanceNumber = "1"
    /// Where the pixels of each source slice lie: the patient position of pixel (0, 0) of each slice, and
    /// the step of one column and of one row, in mm.
    public struct Planes: Sendable {
        public var origins: [Vector3]
        public var column: Vector3
        public var row: Vector3
        public init(origins: [Vector3], column: Vector3, row: Vector3) {
            self.origins = origins
            self.column = column
            self.row = row
        }
    }
    /// For contours given in pixels (written ones).
    public var planes: Planes?
    /// Series named in RTReferencedSeriesSequence (a structure set read from a file).
    public var referencedSeriesUIDs: [String] = []

    public init() {}

    /// The RT Structure Set Storage SOP class.
    public static let sopClassUID = "1.2.840.10008.5.1.4.1.1.481.3"
}
