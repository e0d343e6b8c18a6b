// StructureSetWriter: a `StructureSet` (I2Model) → an RT Structure Set file (PS3.3 A.19): patient and
// study copied from a source instance, the Structure Set, ROI Contour and RT ROI Observations modules.
// The header goes through DicomFile paths; the contours (tens of thousands for a TotalSegmentator map)
// through the one-pass shim in CDCMTKRTWrite.h.
internal import CDCMTK
import I2Model

public enum StructureSetWriter {
    /// Writes `set` to `path` (the caller's temporary file: see AtomicFile). `reference`: one instance of
    /// the source series.
    public static func write(_ set: StructureSet, reference ref: DicomFile, to path: String) throws {
        let f = DicomFile(newAt: path)
        // Patient, study, RT Series.
        let (date, time) = try DerivedHeader.start(f, from: ref, sopClass: StructureSet.sopClassUID, sopInstance: set.sopInstanceUID,
                                                   modality: "RTSTRUCT", series: set.seriesInstanceUID, number: set.seriesNumber,
                                                   description: set.seriesDescription)
        try f.set(.operatorsName, "")
        // Frame of Reference (the IOD has it since 2019; dciodvfy asks for it), General Equipment.
        try DerivedHeader.frameAndEquipment(f, frameOfReference: set.frameOfReferenceUID)
        // Structure Set: the frame of reference, the study, the series and every slice a contour may lie on.
        try f.set(.structureSetLabel, set.label)
        try f.set(.structureSetName, set.seriesDescription)
        try f.set(.instanceNumber, set.instanceNumber)
        try f.set(.structureSetDate, date)
        try f.set(.structureSetTime, time)
        let frame = Tag.referencedFrameOfReferenceSequence[0]
        try f.set(frame / .frameOfReferenceUID, set.frameOfReferenceUID)
        let study = frame / Tag.rtReferencedStudySequence[0]
        // The study as RT objects reference it: the (retired) Detached Study Management SOP class, as PS3.3
        // C.8.8.5 still names it and planning systems expect.
        try f.set(study / .referencedSOPClassUID, "1.2.840.10008.3.1.2.3.1")
        try f.set(study / .referencedSOPInstanceUID, ref.string(.studyInstanceUID) ?? "")
        let series = study / Tag.rtReferencedSeriesSequence[0]
        try f.set(series / .seriesInstanceUID, set.referencedSeriesInstanceUID)
        var seen = Set<String>(), n = 0
        for s in set.sourceSlices where seen.insert(s.sopInstanceUID + "#\(s.frameNumber ?? 0)").inserted {
            let image = series / Tag.contourImageSequence[n]
            try f.set(image / .referencedSOPClassUID, s.sopClassUID)
            try f.set(image / .referencedSOPInstanceUID, s.sopInstanceUID)
            if let k = s.frameNumber { try f.set(image / .referencedFrameNumber, String(k)) }
            n += 1
        }
        for (i, roi) in set.rois.enumerated() {
            let item = Tag.structureSetROISequence[i]
            try f.set(item / .roiNumber, String(roi.number))
            try f.set(item / .referencedFrameOfReferenceUID, set.frameOfReferenceUID)
            try f.set(item / .roiName, String(roi.name.prefix(64)))
            if let d = roi.description.segmentDescription { try f.set(item / .roiDescription, d) }
            try f.set(item / .roiGenerationAlgorithm, roi.description.segmentAlgorithmType.rawValue)
        }
        // RT ROI Observations: the interpreted type, and the segment's property type as the ROI's code.
        for (i, roi) in set.rois.enumerated() {
            let item = Tag.rtROIObservationsSequence[i]
            try f.set(item / .observationNumber, String(roi.number))
            try f.set(item / .referencedROINumber, String(roi.number))
            try f.setCode(item / Tag.rtROIIdentificationCodeSequence[0], roi.description.segmentedPropertyType)
            try f.set(item / .rtROIInterpretedType, roi.interpretedType)
            try f.set(item / .roiInterpreter, "")
        }
        try contours(set, f)
        try f.save(to: path)
    }

    private static func contours(_ set: StructureSet, _ f: DicomFile) throws {
        let table = DerivedHeader.sliceTable(set.sourceSlices)
        let numbers = set.rois.map { Int32($0.number) }
        let colours = set.rois.flatMap { [$0.color.red, $0.color.green, $0.color.blue] }
        let roi = set.contours.map { Int32($0.roi) }, slice = set.contours.map { Int32($0.slice) }
        guard let planes = set.planes, planes.origins.count == set.sourceSlices.count else {
            throw I2Error(.internal, path: f.path, "structure set to write without its slices' planes")
        }
        let count = set.contours.map { Int32($0.pixels.count / 2) }
        var pixels: [Float] = []
        pixels.reserveCapacity(set.contours.reduce(0) { $0 + $1.pixels.count })
        for c in set.contours { pixels += c.pixels }
        let origins = planes.origins.flatMap(\.array), axes = planes.column.array + planes.row.array
        _ = try Condition.check(path: f.path) {
            i2dcm_rt_put_contours(f.handle, Int32(numbers.count), numbers, colours, Int32(set.contours.count), roi, slice, count,
                                  pixels, origins, axes, Int32(set.sourceSlices.count), table, $0, $1)
        }
    }
}
