// nifti2seg: a label map (or several masks) on the grid of a reference series → one DICOM-SEG.
// Steps: read the inputs and the metadata, find the reference series whose grid they lie on, list the
// labels per slice, turn labels into segments 1...N (original values recorded), choose the frames, then
// fill the pixel buffer DCMTK owns in one pass and write the file atomically.
import Foundation
import I2DICOM
import I2Model

public struct Nifti2SegOptions: Sendable {
    public var inputs: [String]
    public var reference: String
    public var output: String
    /// dcmqi metainfo JSON; nil with `preset`.
    public var meta: String?
    public var preset: String?
    public var type: SegmentationTypeValues = .binary
    public var rle = false
    public var keepEmptyFrames = false
    public var keepEmptySegments = false
    /// Labels the metadata does not describe get a generic code (and a warning) instead of an error.
    public var genericUnknownLabels = false
    /// When every label is empty, still write a SEG that records it.
    public var writeEmptyResult = false
    public var uidSeed: String?
    public var overwrite = false

    public init(inputs: [String], reference: String, output: String) {
        self.inputs = inputs
        self.reference = reference
        self.output = output
    }
}

public enum Nifti2SegOutcome: Sendable, Equatable {
    case written(String)
    /// Every label was empty and no SEG was asked for in that case.
    case empty
}

public enum NiftiToSeg {
    public static let presets = ["totalsegmentator"]

    public static func run(_ o: Nifti2SegOptions, warn: (String) -> Void) throws -> Nifti2SegOutcome {
        if !o.overwrite, FileManager.default.fileExists(atPath: o.output) {
            throw I2Error(.io, path: o.output, "output exists (use --force to replace it)")
        }
        let metadata = try loadMetadata(o, warn: warn)
        guard !o.inputs.isEmpty else { throw I2Error(.usage, "no label map given") }
        if o.inputs.count > 1, metadata.segmentAttributes.count != o.inputs.count {
            throw I2Error(.invalidInput, path: o.meta, "\(o.inputs.count) input files, but segmentAttributes has \(metadata.segmentAttributes.count) lists: dcmqi's convention is one list per input file, in order")
        }
        if o.rle, o.type == .binary {
            // RLE works on whole bytes per pixel: pydicom/highdicom refuse RLE with 1 bit allocated, and
            // highdicom will not write it, so such a file would not be read back by common toolkits.
            throw I2Error(.usage, "--compress rle needs --type labelmap: RLE of 1-bit BINARY frames is not decoded by pydicom, highdicom or DCMTK")
        }
        if o.type == .labelmap, o.inputs.count > 1 {
            throw I2Error(.usage, "--type labelmap takes one label map: several masks may overlap, which a label map cannot hold")
        }
        var volumes = try o.inputs.map { path -> Volume in
            guard FileManager.default.fileExists(atPath: path) else { throw I2Error(.io, path: path, "no such file") }
            let v = try VolumeIO.read(path: path)
            guard v.size.count == 3 || (v.size.count == 4 && v.size[3] == 1) else {
                throw I2Error(.invalidInput, path: path, "a \(v.size.count)-D image: a label map must be 3-D")
            }
            return v
        }
        guard FileManager.default.fileExists(atPath: o.reference) else {
            throw I2Error(.io, path: o.reference, "reference series: no such file or directory")
        }
        let ref: SegReference
        do { ref = try SegReference.load(o.reference, matching: volumes[0]) } catch let e as I2Error { throw e.at(o.inputs[0]) }
        for (i, v) in volumes.enumerated().dropFirst() {
            if let why = SegReference.mismatch(v, stack: ref.stack, geometry: ref.geometry) {
                throw I2Error(.invalidInput, path: o.inputs[i], "not on the grid of the reference series: \(why)")
            }
        }
        let presence = try zip(volumes, o.inputs).map { try LabelScan.presence($0, path: $1) }
        var plan = try SegPlan(options: o, metadata: metadata, presence: presence, warn: warn)
        if plan.isEmpty && !o.writeEmptyResult { return .empty }
        if plan.isEmpty { plan.recordEmpty(metadata: metadata, inputs: o.inputs.count) }

        var seg = Segmentation(segmentationType: o.type, segments: plan.segments, frames: plan.frames,
                               sourceSlices: ref.sources, rows: ref.stack.first.rows, columns: ref.stack.first.columns)
        try describe(&seg, o: o, ref: ref, metadata: metadata, volumes: volumes)
        let writer = try SegmentationWriter(seg, reference: ref.file, path: o.output)
        let overlap = try writer.withPixels { buf in plan.fill(buf, volumes: volumes, seg: seg) }
        if o.inputs.count > 1 {
            // Computed for masks; a single label map cannot overlap. Set before saving.
            try writer.setOverlap(overlap ? .yes : .no)
        }
        volumes.removeAll()   // the label maps are no longer needed: free them before the file is encoded
        try AtomicFile.write(to: o.output) { tmp in try writer.save(to: tmp, rle: o.rle) }
        return .written(o.output)
    }

    static func loadMetadata(_ o: Nifti2SegOptions, warn: (String) -> Void) throws -> SegmentMetadata {
        if let p = o.preset {
            guard p == "totalsegmentator" else { throw I2Error(.usage, "unknown preset '\(p)' (known: \(presets.joined(separator: ", ")))") }
            if o.meta != nil { throw I2Error(.usage, "--meta and --preset exclude each other") }
            return TotalSegmentator.metadata()
        }
        guard let path = o.meta else { throw I2Error(.usage, "needs --meta META.json (dcmqi metainfo) or --preset totalsegmentator") }
        guard let data = FileManager.default.contents(atPath: path) else { throw I2Error(.io, path: path, "cannot read the metadata file") }
        let m = try SegmentMetadata.decode(data, path: path)
        for key in m.ignoredKeys { warn("\(path): \(key): not a dcmqi metainfo field, ignored") }
        return m
    }

    /// UIDs, series and content attributes, geometry.
    static func describe(_ seg: inout Segmentation, o: Nifti2SegOptions, ref: SegReference, metadata m: SegmentMetadata,
                         volumes: [Volume]) throws {
        let refSeries = ref.stack.first.seriesInstanceUID
        // Default seed: what the SEG is made from, so a rerun on the same inputs replaces the earlier SEG.
        let seed = (o.uidSeed ?? "content:" + volumes.map { ContentHash.hex($0.data) }.joined(separator: ",") + "/ref:" + refSeries)
            + (o.type == .binary ? "" : "/" + o.type.rawValue)
        seg.seriesInstanceUID = UID.derived(from: "i2/nifti2seg/series/" + seed)
        seg.sopInstanceUID = UID.derived(from: "i2/nifti2seg/instance/" + seed)
        seg.dimensionOrganizationUID = UID.derived(from: "i2/nifti2seg/dimensions/" + seed)
        seg.referencedSeriesInstanceUID = refSeries
        let f = ref.file
        func refText(_ tag: String) -> String? { f.string(tag).flatMap { $0.isEmpty ? nil : $0 } }
        seg.frameOfReferenceUID = refText("(0020,0052)") ?? UID.derived(from: "frame-of-reference/" + refSeries)
        let first = ref.stack.first
        seg.imageOrientationPatient = first.orientation
        seg.pixelSpacing = first.pixelSpacing.count > 1 ? Array(first.pixelSpacing.prefix(2)) : [first.pixelSpacing.first ?? 1, first.pixelSpacing.first ?? 1]
        // From the positions (as `i2 convert` takes it), rounded to 1e-6 mm so float noise stays out of the text.
        let step = ref.stack.sliceCount > 1 ? (ref.geometry.spacing[2] * 1e6).rounded() / 1e6 : nil
        seg.spacingBetweenSlices = step ?? first.thickness ?? 1
        seg.sliceThickness = first.thickness ?? seg.spacingBetweenSlices
        seg.segmentsOverlap = .no
        func text(_ v: MetadataValue<String>?, _ tag: String) -> String? {
            switch v {
            case .value(let s)?: return s
            case .fromReference?: return refText(tag)
            case nil: return nil
            }
        }
        let refNumber = Int(refText("(0020,0011)") ?? "") ?? 0
        seg.seriesNumber = text(m.seriesNumber, "(0020,0011)") ?? String(min(max(refNumber, 0), Int(Int32.max) - 1000) + 1000)
        seg.seriesDescription = String((text(m.seriesDescription, "(0008,103E)") ?? "Segmentation").prefix(64))
        seg.instanceNumber = text(m.instanceNumber, "(0020,0013)") ?? "1"
        seg.contentLabel = codeString(text(m.contentLabel, "(0070,0080)") ?? "SEGMENTATION")
        seg.contentDescription = String((text(m.contentDescription, "(0070,0081)") ?? seg.seriesDescription).prefix(64))
        seg.contentCreatorName = text(m.contentCreatorName, "(0070,0084)") ?? ""
        seg.bodyPartExamined = text(m.bodyPartExamined, "(0018,0015)") ?? refText("(0018,0015)")
        seg.clinicalTrialSeriesID = text(m.clinicalTrialSeriesID, "(0012,0071)")
        seg.clinicalTrialTimePointID = text(m.clinicalTrialTimePointID, "(0012,0050)")
        seg.clinicalTrialCoordinatingCenterName = text(m.clinicalTrialCoordinatingCenterName, "(0012,0060)")
    }

    /// A Code String (CS) value: upper case, digits, space and underscore, at most 16 characters.
    static func codeString(_ s: String) -> String {
        let mapped = s.uppercased().map { c -> Character in
            c.isASCII && (c.isLetter || c.isNumber || c == " " || c == "_") ? c : "_"
        }
        let out = String(String(mapped).prefix(16))
        return out.isEmpty ? "SEGMENTATION" : out
    }
}
