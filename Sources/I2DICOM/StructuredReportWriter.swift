// StructuredReportWriter: a `StructuredReport` (I2Model) → an SR file: patient and study copied from a
// source instance (DerivedHeader), the SR Document Series, General and Enhanced General Equipment, SR
// Document General (evidence) and SR Document Content modules (PS3.3 A.35.13 for Comprehensive 3D SR).
import I2Model

public enum StructuredReportWriter {
    /// Writes `report` to `path` (the caller's temporary file: see AtomicFile). `reference`: one instance
    /// of the source series.
    public static func write(_ report: StructuredReport, reference ref: DicomFile, to path: String) throws {
        let f = DicomFile(newAt: path)
        let (date, time) = try DerivedHeader.start(f, from: ref, sopClass: report.sopClassUID, sopInstance: report.sopInstanceUID,
                                                   modality: "SR", series: report.seriesInstanceUID, number: report.seriesNumber,
                                                   description: report.seriesDescription)
        try f.set(.referencedPerformedProcedureStepSequence, "")
        try DerivedHeader.equipment(f, serial: true)
        // SR Document General: complete, not verified (verification names a person who signed it).
        try f.set(.instanceNumber, report.instanceNumber)
        try f.set(.completionFlag, "COMPLETE")
        try f.set(.verificationFlag, "UNVERIFIED")
        try f.set(.contentDate, date)
        try f.set(.contentTime, time)
        try f.set(.performedProcedureCodeSequence, "")
        let study = Tag.currentRequestedProcedureEvidenceSequence[0]
        try f.set(study / .studyInstanceUID, ref.string(.studyInstanceUID) ?? "")
        for (s, series) in report.evidence.enumerated() {
            let at = study / Tag.referencedSeriesSequence[s]
            try f.set(at / .seriesInstanceUID, series.seriesInstanceUID)
            for (i, instance) in series.instances.enumerated() {
                try f.set(at / Tag.referencedSOPSequence[i] / .referencedSOPClassUID, instance.sopClass)
                try f.set(at / Tag.referencedSOPSequence[i] / .referencedSOPInstanceUID, instance.sopInstance)
            }
        }
        // SR Document Content: the root container at the top level, its template, then the tree.
        try item(report.root, at: nil, f)
        try f.set(Tag.contentTemplateSequence[0] / .mappingResource, "DCMR")
        try f.set(Tag.contentTemplateSequence[0] / .templateIdentifier, report.template)
        try f.save(to: path)
    }

    /// One content item and its children; `at` nil for the root (whose attributes are the data set's).
    private static func item(_ c: ContentItem, at: TagPath?, _ f: DicomFile) throws {
        func put(_ tag: Tag, _ value: String) throws { try at.map { try f.set($0 / tag, value) } ?? f.set(tag, value) }
        func code(_ tag: Tag, _ concept: CodedConcept) throws {
            try f.setCode(at.map { $0 / tag[0] } ?? tag[0], concept)
        }
        if let r = c.relationship { try put(.relationshipType, r) }
        switch c.value {
        case .container:
            try put(.valueType, "CONTAINER")
            try put(.continuityOfContent, "SEPARATE")
            if let t = c.template, let at {
                try f.set(at / Tag.contentTemplateSequence[0] / .mappingResource, "DCMR")
                try f.set(at / Tag.contentTemplateSequence[0] / .templateIdentifier, t)
            }
        case .text(let s):
            try put(.valueType, "TEXT")
            try put(.textValue, s)
        case .code(let v):
            try put(.valueType, "CODE")
            try code(.conceptCodeSequence, v)
        case .uidref(let u):
            try put(.valueType, "UIDREF")
            try put(.uid, u)
        case .num(let x, let unit):
            try put(.valueType, "NUM")
            let value = Tag.measuredValueSequence[0]
            let base = at.map { $0 / value } ?? value
            try f.setCode(base / Tag.measurementUnitsCodeSequence[0], unit)
            try f.set(base / .numericValue, try DS.format(x))
        case .image(let sopClass, let sopInstance, let segments):
            try put(.valueType, "IMAGE")
            let sop = at.map { $0 / Tag.referencedSOPSequence[0] } ?? Tag.referencedSOPSequence[0]
            try f.set(sop / .referencedSOPClassUID, sopClass)
            try f.set(sop / .referencedSOPInstanceUID, sopInstance)
            if !segments.isEmpty { try f.set(sop / .referencedSegmentNumber, segments.map(String.init).joined(separator: "\\")) }
        }
        try code(.conceptNameCodeSequence, c.concept)
        for (i, child) in c.children.enumerated() {
            try item(child, at: at.map { $0 / Tag.contentSequence[i] } ?? Tag.contentSequence[i], f)
        }
    }
}
