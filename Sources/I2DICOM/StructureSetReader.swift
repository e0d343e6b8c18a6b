// StructureSetReader: an RT Structure Set file → `StructureSet` (I2Model): its ROIs (number, name,
// colour, interpreted type, identification code, generation algorithm) and every contour with its
// geometric type, points and referenced image. Placing contours on a grid is the caller's (position
// beats references). Malformed contours (ContourData not a multiple of three numbers) fail naming the ROI.
import Foundation
import I2Model

public enum StructureSetReader {
    public static func read(_ f: DicomFile) throws -> StructureSet {
        var set = StructureSet()
        set.sopInstanceUID = f.string(.sopInstanceUID) ?? ""
        set.seriesInstanceUID = f.string(.seriesInstanceUID) ?? ""
        let frame = Tag.referencedFrameOfReferenceSequence[0]
        set.frameOfReferenceUID = f.string(frame / .frameOfReferenceUID) ?? f.string(.frameOfReferenceUID) ?? ""
        let studies = frame / Tag.rtReferencedStudySequence[0]
        for i in 0..<(f.items(studies / .rtReferencedSeriesSequence) ?? 0) {
            if let uid = f.string(studies / Tag.rtReferencedSeriesSequence[i] / .seriesInstanceUID) { set.referencedSeriesUIDs.append(uid) }
        }
        // ROIs by number: StructureSetROISequence, then their observations and contours.
        var index: [Int: Int] = [:]
        for i in 0..<(f.items(.structureSetROISequence) ?? 0) {
            let item = Tag.structureSetROISequence[i]
            guard let number = f.string(item / .roiNumber).flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else {
                throw I2Error(.badInput, path: f.path, "StructureSetROISequence item \(i + 1) has no ROINumber")
            }
            guard index[number] == nil else { throw I2Error(.badInput, path: f.path, "ROI number \(number) is described twice") }
            let name = f.string(item / .roiName) ?? "ROI \(number)"
            let algorithm = SegmentAlgorithmTypeValues(rawValue: (f.string(item / .roiGenerationAlgorithm) ?? "").trimmingCharacters(in: .whitespaces)) ?? .manual
            let tissue = CodedConcept(codeValue: "85756007", codingSchemeDesignator: "SCT", codeMeaning: "Tissue")
            var d = SegmentDescription(labelID: number, segmentAlgorithmType: algorithm, segmentedPropertyCategory: tissue, segmentedPropertyType: tissue)
            d.segmentLabel = name
            if let v = f.string(item / .roiDescription), !v.isEmpty { d.segmentDescription = v }
            if algorithm != .manual { d.segmentAlgorithmName = "unknown" }
            index[number] = set.rois.count
            set.rois.append(StructureSet.ROI(number: number, name: name, color: RGBColor(128, 128, 128), interpretedType: "",
                                             description: d, originalLabel: number))
        }
        for i in 0..<(f.items(.rtROIObservationsSequence) ?? 0) {
            let item = Tag.rtROIObservationsSequence[i]
            guard let number = f.string(item / .referencedROINumber).flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }),
                  let k = index[number] else { continue }
            let type = (f.string(item / .rtROIInterpretedType) ?? "").trimmingCharacters(in: .whitespaces)
            set.rois[k].interpretedType = type
            let code = item / Tag.rtROIIdentificationCodeSequence[0]
            if let value = f.string(code / .codeValue), let scheme = f.string(code / .codingSchemeDesignator) {
                var c = CodedConcept(codeValue: value, codingSchemeDesignator: scheme, codeMeaning: f.string(code / .codeMeaning) ?? value)
                c.codingSchemeVersion = f.string(code / .codingSchemeVersion)
                set.rois[k].description.segmentedPropertyType = c
            }
            if type == "ORGAN" || type == "EXTERNAL" || set.rois[k].description.segmentedPropertyType.codingSchemeDesignator == "SCT" {
                set.rois[k].description.segmentedPropertyCategory = CodedConcept(codeValue: "123037004", codingSchemeDesignator: "SCT",
                                                                                  codeMeaning: "Anatomical Structure")
            }
        }
        for i in 0..<(f.items(.roiContourSequence) ?? 0) {
            let item = Tag.roiContourSequence[i]
            guard let number = f.string(item / .referencedROINumber).flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else {
                throw I2Error(.badInput, path: f.path, "ROIContourSequence item \(i + 1) has no ReferencedROINumber")
            }
            guard let k = index[number] else {
                throw I2Error(.badInput, path: f.path, "ROIContourSequence item \(i + 1) has contours of ROI \(number), which StructureSetROISequence does not describe")
            }
            if let rgb = f.string(item / .roiDisplayColor).map(numbers), rgb.count == 3, rgb.allSatisfy({ $0 != nil && $0! >= 0 && $0! <= 255 }) {
                set.rois[k].color = RGBColor(UInt8(rgb[0]!), UInt8(rgb[1]!), UInt8(rgb[2]!))
                set.rois[k].description.recommendedDisplayRGBValue = set.rois[k].color
            }
            let contours = item / .contourSequence
            for j in 0..<(f.items(contours) ?? 0) {
                let c = Tag.contourSequence[j]
                let at = item / c
                let values = numbers(f.string(at / .contourData) ?? "")
                let name = "ROI \(number) ('\(set.rois[k].name)') contour \(j + 1)"
                guard !values.isEmpty, values.count % 3 == 0, values.allSatisfy({ $0 != nil && $0!.isFinite }) else {
                    throw I2Error(.badInput, path: f.path, "\(name): ContourData is not a list of x, y, z numbers (\(values.count) values)")
                }
                var contour = StructureSet.Contour(roi: k, slice: -1, points: values.map { $0! })
                contour.geometricType = (f.string(at / .contourGeometricType) ?? "").trimmingCharacters(in: .whitespaces)
                contour.referencedSOPInstanceUID = f.string(at / Tag.contourImageSequence[0] / .referencedSOPInstanceUID)
                set.contours.append(contour)
            }
        }
        return set
    }

    /// Each backslash-separated value as a number, nil where one does not parse (so a count stays exact):
    /// strtod over the bytes, a ContourData of a TotalSegmentator structure set holds millions of values.
    static func numbers(_ s: String) -> [Double?] {
        guard !s.isEmpty else { return [] }
        return s.withCString { start -> [Double?] in
            var out: [Double?] = []
            var p = start
            while true {
                while p.pointee == 0x20 { p += 1 }
                var end: UnsafeMutablePointer<CChar>?
                let v = strtod(p, &end)
                var q = UnsafePointer(end ?? UnsafeMutablePointer(mutating: p))
                let parsed = q != p
                while q.pointee == 0x20 { q += 1 }
                let clean = parsed && (q.pointee == 0x5C || q.pointee == 0)
                out.append(clean ? v : nil)
                while q.pointee != 0x5C && q.pointee != 0 { q += 1 }   // the rest of a value that did not parse
                if q.pointee == 0 { break }
                p = q + 1
            }
            return out
        }
    }
}
