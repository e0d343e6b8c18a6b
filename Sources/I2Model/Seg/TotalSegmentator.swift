// TotalSegmentator preset: the segment metadata for the `total` task's multi-label output (label value →
// structure, SNOMED CT codes, laterality, colour), so its label maps become DICOM-SEG without a
// hand-written dcmqi template. The 117-row table is generated into TotalSegmentatorTable.swift from
// Resources/totalsegmentator/ (TotalSegmentator 2.18.0) and compiled in, so no resource files ship.

/// Segment descriptions for TotalSegmentator (github.com/wasserth/TotalSegmentator) output.
public enum TotalSegmentator {
    /// The TotalSegmentator release the label table and codes were taken from.
    public static let version = "2.18.0"
    /// Segment Algorithm Name (0062,0009) written for every segment.
    public static let algorithmName = "TotalSegmentator"

    /// One label of a TotalSegmentator task, as its CSVs describe it.
    public struct Label: Hashable, Sendable {
        /// Voxel value in the multi-label output.
        public var value: Int
        /// TotalSegmentator's structure name, e.g. "kidney_left"; also its per-structure file name.
        public var structure: String
        public var category: CodedConcept
        public var type: CodedConcept
        /// Laterality (Left/Right) where the type itself is not sided.
        public var typeModifier: CodedConcept?
        /// For findings such as a kidney cyst: the organ the finding is in ...
        public var anatomicRegion: CodedConcept?
        /// ... and that organ's side.
        public var anatomicRegionModifier: CodedConcept?
        /// The CSV's DicomRGBColor. TotalSegmentator ships a distinct colour for every structure, so no
        /// palette of our own is needed.
        public var color: RGBColor

        init(_ value: Int, _ structure: String, category: CodedConcept, type: CodedConcept,
             typeModifier: CodedConcept? = nil, anatomicRegion: CodedConcept? = nil,
             anatomicRegionModifier: CodedConcept? = nil, color: RGBColor) {
            self.value = value
            self.structure = structure
            self.category = category
            self.type = type
            self.typeModifier = typeModifier
            self.anatomicRegion = anatomicRegion
            self.anatomicRegionModifier = anatomicRegionModifier
            self.color = color
        }
    }

    /// The `total` task's labels (1...117), in label-value order.
    public static var labels: [Label] { totalTask }

    /// The label with this voxel value in the `total` task's output.
    public static func label(_ value: Int) -> Label? { totalTask.first { $0.value == value } }

    /// dcmqi-style metadata for one multi-label NIfTI from the `total` task: one input file, one segment
    /// per label. SegmentLabel is the structure name (what TotalSegmentator users search for). Series
    /// attributes other than SeriesDescription stay absent, for the caller's defaults; none is `null`, so
    /// the encoded preset is also a valid template for dcmqi itself (its schema has no nulls).
    public static func metadata() -> SegmentMetadata {
        var metadata = SegmentMetadata(segmentAttributes: [totalTask.map(segment(for:))])
        metadata.schema = "https://raw.githubusercontent.com/qiicr/dcmqi/master/doc/schemas/seg-schema.json#"
        metadata.seriesDescription = .value("TotalSegmentator")
        return metadata
    }

    static func segment(for label: Label) -> SegmentDescription {
        var s = SegmentDescription(labelID: label.value, segmentAlgorithmType: .automatic,
                                   segmentedPropertyCategory: label.category, segmentedPropertyType: label.type)
        s.segmentLabel = label.structure
        s.segmentAlgorithmName = algorithmName
        s.segmentedPropertyTypeModifiers = label.typeModifier.map { [$0] } ?? []
        s.anatomicRegion = label.anatomicRegion
        s.anatomicRegionModifiers = label.anatomicRegionModifier.map { [$0] } ?? []
        s.recommendedDisplayRGBValue = label.color
        return s
    }

    /// Shorthand for the generated table: (designator, value, meaning), the CSV's column order.
    static func code(_ designator: String, _ value: String, _ meaning: String) -> CodedConcept {
        CodedConcept(codeValue: value, codingSchemeDesignator: designator, codeMeaning: meaning)
    }
}
