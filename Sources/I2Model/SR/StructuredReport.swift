// A DICOM Structured Report (PS3.3 C.17) as i2 writes it: a tree of content items under one root
// container, the template it follows, and the instances it references as evidence. What goes into the
// tree (TID 1500 for nifti2seg's measurement report) is decided in I2Core (MeasurementReportPlan); the
// writer (I2DICOM.StructuredReportWriter) only encodes it.

public struct ContentItem: Sendable {
    public enum Value: Sendable {
        case container
        case text(String)
        case code(CodedConcept)
        case uidref(String)
        /// A measurement (NUM): value and unit.
        case num(Double, unit: CodedConcept)
        /// An image reference (IMAGE); `segments` names segments of a Segmentation (ReferencedSegmentNumber).
        case image(sopClass: String, sopInstance: String, segments: [Int])
    }

    /// RelationshipType with the parent (CONTAINS, HAS OBS CONTEXT, HAS CONCEPT MOD, ...); nil for the root.
    public var relationship: String?
    public var concept: CodedConcept
    public var value: Value
    /// ContentTemplateSequence of a container that follows a template, e.g. "1411".
    public var template: String?
    public var children: [ContentItem]

    public init(_ relationship: String?, _ concept: CodedConcept, _ value: Value, template: String? = nil,
                children: [ContentItem] = []) {
        self.relationship = relationship
        self.concept = concept
        self.value = value
        self.template = template
        self.children = children
    }

    /// The number of items in this subtree.
    public var count: Int { children.reduce(1) { $0 + $1.count } }
}

public struct StructuredReport: Sendable {
    /// Comprehensive 3D SR Storage: what TID 1500 reports with volumetric measurements use (highdicom,
    /// dcmqi).
    public static let comprehensive3DSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.34"

    /// One series of instances the report references (CurrentRequestedProcedureEvidenceSequence).
    public struct Evidence: Sendable {
        public var seriesInstanceUID: String
        /// (SOP class, SOP instance) of each referenced instance.
        public var instances: [(sopClass: String, sopInstance: String)]
        public init(seriesInstanceUID: String, instances: [(sopClass: String, sopInstance: String)]) {
            self.seriesInstanceUID = seriesInstanceUID
            self.instances = instances
        }
    }

    public var sopClassUID = comprehensive3DSOPClassUID
    public var seriesInstanceUID = ""
    public var sopInstanceUID = ""
    public var seriesNumber = "1"
    public var seriesDescription = ""
    public var instanceNumber = "1"
    /// The root template's identifier (DCMR), e.g. "1500".
    public var template: String
    public var root: ContentItem
    /// In the study of the source series.
    public var evidence: [Evidence]

    public init(template: String, root: ContentItem, evidence: [Evidence]) {
        self.template = template
        self.root = root
        self.evidence = evidence
    }
}
