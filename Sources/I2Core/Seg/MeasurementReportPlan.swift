// MeasurementReportPlan: nifti2seg's measurement report: per segment its volume and, from the source
// series, the statistics of its voxels (one pass over the label maps and the source, a slab of slices
// at a time), as a TID 1500 Imaging Measurement Report: one TID 1411 Volumetric ROI measurement group
// per segment, referencing the segment in the SEG written beside it and the source series, in the
// codes highdicom and dcmqi use (PS3.16 TID 1500, 1411, 1419).
import Foundation
import I2DICOM
import I2Model

public enum Measure: String, CaseIterable, Sendable {
    case volume, mean, min, max, sd
}

/// Count, sum, sum of squares and range of the source values under each segment.
struct SegmentStatistics {
    var count: [Int]
    var sum: [Double]
    var sumOfSquares: [Double]
    var minimum: [Double]
    var maximum: [Double]

    init(segments n: Int) {
        count = Array(repeating: 0, count: n)
        sum = Array(repeating: 0, count: n)
        sumOfSquares = Array(repeating: 0, count: n)
        minimum = Array(repeating: .infinity, count: n)
        maximum = Array(repeating: -.infinity, count: n)
    }

    /// The statistics of `plan`'s segments in `volumes` (frame order, the reference's grid); with
    /// `values`, also of the source series' values under them (read a slab at a time).
    static func measure(_ plan: SegPlan, volumes: [Volume], ref: SegReference, values: Bool) throws -> SegmentStatistics {
        var s = SegmentStatistics(segments: plan.segments.count)
        let npix = ref.stack.first.rows * ref.stack.first.columns
        var segment = [Int32]()
        // Segment index of each voxel of slices `range` in input `file` (-1: none).
        func label(_ file: Int, _ range: Range<Int>) {
            segment = Array(repeating: -1, count: range.count)
            plan.segmentOf[file].withUnsafeBufferPointer { of in
                segment.withUnsafeMutableBufferPointer { out in
                    volumes[file].forEachStored(in: range) { i, x in
                        guard x > 0, x <= Double(LabelScan.maxLabel) else { return }
                        out[i - range.lowerBound] = of[Int(x)]
                    }
                }
            }
        }
        guard values else {
            for file in volumes.indices {
                label(file, 0..<volumes[file].voxelCount)
                for x in segment where x >= 0 { s.count[Int(x)] += 1 }
            }
            return s
        }
        try DicomToVolume.forEachSlab(ref.stack, geometry: ref.geometry) { first, slab in
            let range = (first * npix)..<((first + slab.size[2]) * npix)
            for file in volumes.indices {
                label(file, range)
                segment.withUnsafeBufferPointer { seg in
                    slab.forEachValue(in: 0..<range.count) { i, x in
                        let k = Int(seg[i])
                        guard k >= 0 else { return }
                        s.count[k] += 1
                        s.sum[k] += x
                        s.sumOfSquares[k] += x * x
                        if x < s.minimum[k] { s.minimum[k] = x }
                        if x > s.maximum[k] { s.maximum[k] = x }
                    }
                }
            }
        }
        return s
    }

    /// `measure` of segment `k` (nil where it is undefined: statistics of an empty segment).
    func value(_ m: Measure, segment k: Int, voxelVolume: Double) -> Double? {
        let n = Double(count[k])
        switch m {
        case .volume: return n * voxelVolume
        case .mean: return count[k] > 0 ? sum[k] / n : nil
        case .min: return count[k] > 0 ? minimum[k] : nil
        case .max: return count[k] > 0 ? maximum[k] : nil
        case .sd: return count[k] > 0 ? (Swift.max(0, sumOfSquares[k] / n - (sum[k] / n) * (sum[k] / n))).squareRoot() : nil
        }
    }
}

enum MeasurementReportPlan {
    /// What is measured without --measure: the volume, and for CT the HU statistics.
    static func defaultMeasures(modality: String) -> [Measure] {
        modality == "CT" ? [.volume, .mean, .min, .max] : [.volume]
    }

    /// Left, right, bilateral, unilateral (SNOMED CT): the modifiers that are a side.
    static func isLaterality(_ c: CodedConcept) -> Bool {
        c.codingSchemeDesignator == "SCT" && ["7771000", "24028007", "51440002", "66459002"].contains(c.codeValue)
    }

    /// The report on `seg` (its UIDs set: the groups reference its segments) with `stats`.
    static func report(seg: Segmentation, stats: SegmentStatistics, measures: [Measure], modality: String,
                       sources: [SourceSlice], uidSeed: String) -> StructuredReport {
        func dcm(_ v: String, _ m: String) -> CodedConcept { CodedConcept(codeValue: v, codingSchemeDesignator: "DCM", codeMeaning: m) }
        func sct(_ v: String, _ m: String) -> CodedConcept { CodedConcept(codeValue: v, codingSchemeDesignator: "SCT", codeMeaning: m) }
        func ucum(_ v: String, _ m: String) -> CodedConcept { CodedConcept(codeValue: v, codingSchemeDesignator: "UCUM", codeMeaning: m) }
        let names: [Measure: CodedConcept] = [.volume: sct("118565006", "Volume"), .mean: sct("373098007", "Mean"),
                                              .min: sct("255605001", "Minimum"), .max: sct("56851009", "Maximum"),
                                              .sd: sct("386136009", "Standard Deviation")]
        let intensity = modality == "CT" ? ucum("[hnsf'U]", "Hounsfield unit") : ucum("1", "no units")
        let voxelVolume = seg.pixelSpacing.reduce(1, *) * seg.spacingBetweenSlices
        var groups: [ContentItem] = []
        for (k, entry) in seg.segments.enumerated() {
            let d = entry.description
            var items: [ContentItem] = [
                ContentItem("HAS OBS CONTEXT", dcm("112039", "Tracking Identifier"), .text(String(d.segmentLabel ?? "Segment \(entry.number)"))),
                ContentItem("HAS OBS CONTEXT", dcm("112040", "Tracking Unique Identifier"),
                            .uidref(d.trackingUniqueIdentifier ?? UID.derived(from: "i2/nifti2seg/sr/tracking/\(entry.number)/" + uidSeed))),
                ContentItem("CONTAINS", dcm("121071", "Finding"), .code(d.segmentedPropertyType)),
                ContentItem("CONTAINS", dcm("121191", "Referenced Segment"),
                            .image(sopClass: seg.sopClassUID, sopInstance: seg.sopInstanceUID, segments: [entry.number])),
                ContentItem("CONTAINS", dcm("121232", "Source series for segmentation"), .uidref(seg.referencedSeriesInstanceUID)),
            ]
            // Finding Site: the anatomic region, or an anatomical property type that carries a side (the
            // TotalSegmentator preset's kidney_left): with its laterality, as highdicom's FindingSite has it.
            let (site, modifiers) = d.anatomicRegion.map { ($0, d.anatomicRegionModifiers) }
                ?? (d.segmentedPropertyTypeModifiers.contains(where: isLaterality) ? (d.segmentedPropertyType, d.segmentedPropertyTypeModifiers) : (nil, []))
            if let site {
                let sides = modifiers.filter(isLaterality).map { ContentItem("HAS CONCEPT MOD", sct("272741003", "Laterality"), .code($0)) }
                items.append(ContentItem("HAS CONCEPT MOD", sct("363698007", "Finding Site"), .code(site), children: sides))
            }
            for m in measures {
                guard let x = stats.value(m, segment: k, voxelVolume: voxelVolume) else { continue }
                items.append(ContentItem("CONTAINS", names[m]!, .num(x, unit: m == .volume ? ucum("mm3", "cubic millimeter") : intensity)))
            }
            groups.append(ContentItem("CONTAINS", dcm("125007", "Measurement Group"), .container, template: "1411", children: items))
        }
        let procedure: CodedConcept
        switch modality {
        case "CT": procedure = CodedConcept(codeValue: "25045-6", codingSchemeDesignator: "LN", codeMeaning: "CT unspecified body region")
        case "MR": procedure = CodedConcept(codeValue: "25056-3", codingSchemeDesignator: "LN", codeMeaning: "MRI unspecified body region")
        case "PT": procedure = CodedConcept(codeValue: "44136-0", codingSchemeDesignator: "LN", codeMeaning: "PET unspecified body region")
        default: procedure = sct("363679005", "Imaging")
        }
        let root = ContentItem(nil, dcm("126000", "Imaging Measurement Report"), .container, children: [
            ContentItem("HAS CONCEPT MOD", dcm("121049", "Language of Content Item and Descendants"),
                        .code(CodedConcept(codeValue: "en-US", codingSchemeDesignator: "RFC5646", codeMeaning: "English (United States)"))),
            ContentItem("HAS OBS CONTEXT", dcm("121005", "Observer Type"), .code(dcm("121007", "Device"))),
            ContentItem("HAS OBS CONTEXT", dcm("121012", "Device Observer UID"), .uidref(UID.derived(from: "i2/device"))),
            ContentItem("HAS OBS CONTEXT", dcm("121013", "Device Observer Name"), .text("i2")),
            ContentItem("HAS CONCEPT MOD", dcm("121058", "Procedure reported"), .code(procedure)),
            ContentItem("CONTAINS", dcm("126010", "Imaging Measurements"), .container, children: groups),
        ])
        var seen = Set<String>()
        let images = sources.filter { seen.insert($0.sopInstanceUID).inserted }.map { (sopClass: $0.sopClassUID, sopInstance: $0.sopInstanceUID) }
        return StructuredReport(template: "1500", root: root, evidence: [
            .init(seriesInstanceUID: seg.referencedSeriesInstanceUID, instances: images),
            .init(seriesInstanceUID: seg.seriesInstanceUID, instances: [(seg.sopClassUID, seg.sopInstanceUID)]),
        ])
    }
}
