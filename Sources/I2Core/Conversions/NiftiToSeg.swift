// nifti2seg: a label map (or several masks) on the grid of a reference series → a DICOM-SEG, an RT
// Structure Set, an overlay series and a measurement report (--as). Steps: read the inputs and the metadata, find the reference series whose grid
// they lie on, list the labels per slice, turn labels into segments 1...N (original values recorded),
// choose the frames, then write each object atomically: for the SEG, DCMTK writes the data set and the
// frames follow it slice by slice; for the structure set, each frame's mask becomes its contours.
import Foundation
import I2DICOM
import I2Model

/// The objects nifti2seg writes from one label map.
public enum DerivedObject: String, CaseIterable, Sendable {
    case seg, rtstruct, overlay, sr
}

public struct Nifti2SegOptions: Sendable {
    public var inputs: [String]
    /// What to write: one object to `output`, several into the directory `output` (seg.dcm, rtstruct.dcm,
    /// overlay/, sr.dcm). The overlay is a directory of instances.
    public var objects: [DerivedObject] = [.seg]
    /// The overlay's window: a preset name or "CENTER,WIDTH"; nil: the series' own (see OverlayPlan).
    public var window: String?
    public var overlayStyle = OverlayPlan.Style.fill
    /// What the measurement report gives per segment; nil: MeasurementReportPlan.defaultMeasures.
    public var measures: [Measure]?
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
    public var read = ReadOptions()

    public init(inputs: [String], reference: String, output: String) {
        self.inputs = inputs
        self.reference = reference
        self.output = output
    }

    /// Where `object` is written.
    public func path(of object: DerivedObject) -> String {
        objects.count == 1 ? output : (output.hasSuffix("/") ? output : output + "/") + object.rawValue + (object == .overlay ? "" : ".dcm")
    }
}

public enum Nifti2SegOutcome: Sendable, Equatable {
    /// The files written, in the order of `objects`.
    case written([String])
    /// Every label was empty and no SEG was asked for in that case.
    case empty
}

/// The label maps, handed from a worker thread after DispatchGroup.wait.
private final class ReadResult: @unchecked Sendable {
    var value: Result<[LabelMap], Error> = .failure(CancellationError())
}

public enum NiftiToSeg: Engine {
    /// The engine: the SEG's path as the output, or an emptyResult error when every label is empty.
    public static func run(_ o: Nifti2SegOptions, _ context: EngineContext) -> Report {
        let result = Reporter(context)
        do {
            switch try write(o, warn: context.events.warning) {
            case .written(let paths): for p in paths { result.output(p) }
            case .empty:
                return result.fatal(I2Error(.emptyResult, path: o.inputs.joined(separator: ", "),
                                            "every label is empty: nothing written (--empty-result seg writes objects that record it)"))
            }
        } catch let e as I2Error {
            return result.fatal(e)
        } catch {
            return result.fatal(I2Error(.internal, path: o.output, "\(error)"))
        }
        return result.finish()
    }

    public static let presets = ["totalsegmentator"]

    public static func write(_ o: Nifti2SegOptions, warn: (String) -> Void) throws -> Nifti2SegOutcome {
        guard !o.objects.isEmpty, Set(o.objects).count == o.objects.count else { throw I2Error(.usage, "--as names each object once") }
        if o.objects.contains(.sr), !o.objects.contains(.seg) {
            throw I2Error(.usage, "--as sr needs seg too: the report's measurement groups reference the SEG's segments (--as seg,sr)")
        }
        for object in o.objects where !o.overwrite && FileManager.default.fileExists(atPath: o.path(of: object)) {
            throw I2Error(.storage, path: o.path(of: object), "output exists (use --force to replace it)")
        }
        let metadata = try loadMetadata(o, warn: warn)
        guard !o.inputs.isEmpty else { throw I2Error(.usage, "no label map given") }
        if o.inputs.count > 1, metadata.segmentAttributes.count != o.inputs.count {
            throw I2Error(.badInput, path: o.meta, "\(o.inputs.count) input files, but segmentAttributes has \(metadata.segmentAttributes.count) lists: dcmqi's convention is one list per input file, in order")
        }
        if o.type == .labelmap, o.inputs.count > 1 {
            throw I2Error(.usage, "--type labelmap takes one label map: several masks may overlap, which a label map cannot hold")
        }
        DicomEnvironment.preload()   // every object is written through DCMTK: loaded while the inputs are read
        // The label maps are read on one core while the reference headers are scanned on the others:
        // inflating a .nii.gz runs on one core only. Read errors are reported first.
        // The overlay and the report read the label maps as volumes in the frames' order; the SEG and the
        // structure set scan them as they are stored: a plain .nii mapped, not read.
        let asVolumes = o.objects.contains(.overlay) || o.objects.contains(.sr)
        let read = ReadResult()
        let reading = DispatchGroup()
        DispatchQueue.global().async(group: reading) {
            read.value = Result {
                try o.inputs.map { path -> LabelMap in
                    guard FileManager.default.fileExists(atPath: path) else { throw I2Error(.storage, path: path, "no such file") }
                    let m = try LabelMap.read(path: path, options: o.read, map: !asVolumes)
                    let v = m.grid
                    guard v.size.count == 3 || (v.size.count == 4 && v.size[3] == 1) else {
                        throw I2Error(.badInput, path: path, "a \(v.size.count)-D image: a label map must be 3-D")
                    }
                    guard v.components == 1 else { throw I2Error(.badInput, path: path, "an RGB image: a label map must be scalar") }
                    return m
                }
            }
        }
        let candidates = Result { try SegReference.scan(o.reference, threads: Processors.active - 1) }
        reading.wait()
        var maps = try read.value.get()
        read.value = .failure(CancellationError())   // the only reference left: reversing rows below is in place, not a copy
        guard FileManager.default.fileExists(atPath: o.reference) else {
            throw I2Error(.storage, path: o.reference, "reference series: no such file or directory")
        }
        let ref: SegReference
        do { ref = try SegReference.select(candidates.get(), matching: maps[0].grid) } catch let e as I2Error {
            // A label map drawn on `i2 convert`'s output lies on the reference grid in another axis order:
            // dcm2niix's (the rows reversed; 3-D acquisitions reoriented to the nearest RAS order, which
            // may permute the axes), or another tool's (slices stored the other way). Any order whose
            // axes are the reference's is taken back to the frames' order: the world geometry decides,
            // so a match is exact, and every voxel stays where it is.
            var found: (SegReference, [(axis: Int, reversed: Bool)])?
            for stack in try candidates.get().stacks {
                guard let plan = Ortho.alignment(of: maps[0].grid, to: SeriesAssembly.geometry(stack).direction) else { continue }
                var grid = maps[0].grid
                Ortho.apply(plan, to: &grid, voxels: false)
                if let r = try? SegReference.select(candidates.get(), matching: grid) { found = (r, plan); break }
            }
            guard let (r, plan) = found else { throw e.at(o.inputs[0]) }
            ref = r
            for i in maps.indices { maps[i].align(plan, moveVoxels: asVolumes) }
        }
        for (i, m) in maps.enumerated().dropFirst() {
            if let why = SegReference.mismatch(m.grid, stack: ref.stack, geometry: ref.geometry) {
                throw I2Error(.badInput, path: o.inputs[i], "not on the grid of the reference series: \(why)")
            }
        }
        // The labels per slice, and each map's content hash for the default UID seed.
        let scans = try zip(maps, o.inputs).map { try LabelScan.presence($0, path: $1) }
        let presence = scans.map(\.labels)
        let hashes = scans.map(\.hash)
        var plan = try SegPlan(options: o, metadata: metadata, presence: presence, warn: warn)
        if plan.isEmpty && !o.writeEmptyResult { return .empty }
        if plan.isEmpty { plan.recordEmpty(metadata: metadata, inputs: o.inputs.count) }

        if o.objects.count > 1 {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: o.output, isDirectory: &isDirectory), !isDirectory.boolValue {
                throw I2Error(.usage, path: o.output, "several objects (--as) go into a directory: -o names a file")
            }
            do { try FileManager.default.createDirectory(atPath: o.output, withIntermediateDirectories: true) } catch {
                throw I2Error(.storage, path: o.output, "cannot create the output directory: \(error.localizedDescription)")
            }
        }
        // The SEG last: writing it frees the label maps the other objects are made from.
        var written: [DerivedObject: [String]] = [:]
        for object in o.objects.sorted(by: { ($0 == .seg ? 1 : 0) < ($1 == .seg ? 1 : 0) }) {
            switch object {
            case .seg: try writeSEG(o, plan: plan, volumes: &maps, ref: ref, metadata: metadata, hashes: hashes)
            case .rtstruct: try writeStructureSet(o, metadata: metadata, presence: presence, volumes: maps, ref: ref,
                                                  hashes: hashes, warn: warn)
            case .sr: try writeReport(o, plan: plan, volumes: maps.map(\.volume), ref: ref, metadata: metadata, hashes: hashes)
            case .overlay:
                written[object] = try writeOverlay(o, plan: plan, volumes: maps.map(\.volume), ref: ref, metadata: metadata, hashes: hashes)
                continue
            }
            written[object] = [o.path(of: object)]
        }
        return .written(o.objects.flatMap { written[$0] ?? [] })
    }

    /// The DICOM-SEG of `plan` at o.path(of: .seg). Frees `volumes` once the frames are made. `hashes`:
    /// the label maps' content hashes, for the default UID seed.
    static func writeSEG(_ o: Nifti2SegOptions, plan: SegPlan, volumes: inout [LabelMap], ref: SegReference,
                         metadata: SegmentMetadata, hashes: [String]) throws {
        let output = o.path(of: .seg)
        var seg = Segmentation(segmentationType: o.type, segments: plan.segments, frames: plan.frames,
                               sourceSlices: ref.sources, rows: ref.stack.first.rows, columns: ref.stack.first.columns)
        try describe(&seg, o: o, ref: ref, metadata: metadata)
        let writer = try SegmentationWriter(seg, reference: ref.file, path: output)
        setUIDs(&seg, o: o, refSeries: ref.stack.first.seriesInstanceUID,
                contentHashes: hashes + [contentOptions(o, sources: ref.sources)])
        try writer.setUIDs(seg)
        if o.inputs.count > 1 {
            // Only masks can overlap; known from the voxels, and needed before the data set is saved.
            try writer.setOverlap(plan.overlap(volumes) ? .yes : .no)
        }
        try AtomicFile.write(to: output) { tmp in
            let npix = seg.rows * seg.columns
            if o.rle {
                // Each frame its own fragment, encoded as its slice is made; the fragments are small.
                var fragments = [[UInt8]](repeating: [], count: seg.frames.count)
                try fragments.withUnsafeMutableBufferPointer { out in
                    let base = out.baseAddress!
                    try plan.produce(volumes, seg: seg) { f, bytes in
                        (base + f).pointee = o.type == .labelmap
                            ? SegRLE.encode(bytes: bytes, bytesPerPixel: seg.bitsAllocated / 8, rows: seg.rows, columns: seg.columns)
                            : SegRLE.encode(bits: bytes, rows: seg.rows, columns: seg.columns)
                    }
                }
                volumes.removeAll()
                try writer.save(to: tmp, rleFragments: fragments)
            } else if o.type == .binary && npix % 8 != 0 {
                // Frames share bytes: packed whole, then written at once.
                let bits = plan.packed(volumes, seg: seg)
                volumes.removeAll()
                try writer.save(to: tmp) { out in try bits.withUnsafeBytes { try out.put($0, at: 0) } }
            } else {
                // Each frame straight to its place in the file, as its slice is made.
                let frameBytes = o.type == .binary ? npix / 8 : npix * seg.bitsAllocated / 8
                try writer.save(to: tmp) { out in
                    try plan.produce(volumes, seg: seg) { f, bytes in try out.put(bytes, at: f * frameBytes) }
                }
            }
        }
    }

    /// The measurement report (TID 1500) at o.path(of: .sr): per segment of the SEG written beside it
    /// (same plan, same UIDs), its volume and the source's statistics under it.
    static func writeReport(_ o: Nifti2SegOptions, plan: SegPlan, volumes: [Volume], ref: SegReference,
                            metadata: SegmentMetadata, hashes: [String]) throws {
        var seg = Segmentation(segmentationType: o.type, segments: plan.segments, frames: plan.frames,
                               sourceSlices: ref.sources, rows: ref.stack.first.rows, columns: ref.stack.first.columns)
        try describe(&seg, o: o, ref: ref, metadata: metadata)
        let contentHashes = hashes + [contentOptions(o, sources: ref.sources)]
        setUIDs(&seg, o: o, refSeries: ref.stack.first.seriesInstanceUID, contentHashes: contentHashes)
        let modality = ref.stack.first.modality
        let measures = o.measures ?? MeasurementReportPlan.defaultMeasures(modality: modality)
        let stats = try SegmentStatistics.measure(plan, volumes: volumes, ref: ref, values: measures.contains { $0 != .volume })
        let seed = uidSeed(o, refSeries: ref.stack.first.seriesInstanceUID,
                           contentHashes: contentHashes + ["sr:" + measures.map(\.rawValue).joined(separator: ",")])
        var report = MeasurementReportPlan.report(seg: seg, stats: stats, measures: measures, modality: modality,
                                                  sources: ref.sources, uidSeed: seed)
        report.seriesInstanceUID = UID.derived(from: "i2/nifti2seg/sr/series/" + seed)
        report.sopInstanceUID = UID.derived(from: "i2/nifti2seg/sr/instance/" + seed)
        report.seriesNumber = String((Int(seg.seriesNumber) ?? 1000) + 2)
        report.seriesDescription = String(("Measurements: " + seg.seriesDescription).prefix(64))
        report.instanceNumber = seg.instanceNumber
        try AtomicFile.write(to: o.path(of: .sr)) { tmp in try StructuredReportWriter.write(report, reference: ref.file, to: tmp) }
    }

    /// The overlay series (OverlayPlan) in the directory o.path(of: .overlay), which appears whole (built
    /// hidden beside it, then renamed); its instances' paths.
    static func writeOverlay(_ o: Nifti2SegOptions, plan: SegPlan, volumes: [Volume], ref: SegReference,
                             metadata: SegmentMetadata, hashes: [String]) throws -> [String] {
        let source = DicomToVolume.SlabCursor(ref.stack, geometry: ref.geometry)
        let f = ref.file
        let window = try o.window.flatMap(OverlayPlan.window)
            ?? f.doubles(.windowCenter).flatMap { c in f.doubles(.windowWidth).flatMap { w in
                c.first.flatMap { c0 in w.first.flatMap { $0 > 0 ? (c0, $0) : nil } } } }
            ?? (ref.stack.first.modality == "CT" ? (40, 400) : range(ref))
        let colours = plan.segments.map { ContourPlan.colour($0.description, number: $0.number) }
        var rgb = Volume(size: ref.size, spacing: ref.geometry.spacing, origin: ref.geometry.origin,
                         direction: ref.geometry.direction, voxelType: .uint8, data: [])
        rgb.components = 3   // no voxels: each slice is made as it is written
        let dir = o.path(of: .overlay)
        let target = URL(fileURLWithPath: dir)
        let temporary = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).i2tmp-\(getpid())").path
        try? FileManager.default.removeItem(atPath: temporary)
        do {
            try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
            let seed = uidSeed(o, refSeries: ref.stack.first.seriesInstanceUID, contentHashes: hashes + [contentOptions(o, sources: ref.sources), "overlay:\(window.0),\(window.1),\(o.overlayStyle.rawValue)"])
            var seg = Segmentation(segmentationType: .binary, segments: plan.segments, frames: [], sourceSlices: ref.sources,
                                   rows: ref.stack.first.rows, columns: ref.stack.first.columns)
            try describe(&seg, o: o, ref: ref, metadata: metadata)
            let paths = try VolumeToDicom.write(rgb, reference: o.reference, into: temporary, uidSeed: "i2/nifti2seg/overlay/" + seed,
                                                seriesDescription: "i2 overlay: " + seg.seriesDescription, burnedIn: true) { k in
                try OverlayPlan.slice(k, source: source, window: window, volumes: volumes, plan: plan, colours: colours, style: o.overlayStyle)
            }
            if FileManager.default.fileExists(atPath: dir) { try FileManager.default.removeItem(atPath: dir) }
            guard rename(temporary, dir) == 0 else {
                throw I2Error(.storage, path: dir, "cannot move the overlay into place: \(String(cString: strerror(errno)))")
            }
            return paths.map { dir + "/" + ($0 as NSString).lastPathComponent }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }

    /// The value range of the reference series as a window (center, width), for sources without a window.
    static func range(_ ref: SegReference) throws -> (Double, Double) {
        var lo = Double.infinity, hi = -Double.infinity
        try DicomToVolume.forEachSlab(ref.stack, geometry: ref.geometry) { _, slab in
            slab.forEachValue(in: 0..<slab.voxelCount) { _, x in if x.isFinite { lo = min(lo, x); hi = max(hi, x) } }
        }
        return lo <= hi ? ((lo + hi) / 2, max(hi - lo, 1)) : (0, 1)
    }

    /// The RT Structure Set of the label maps at o.path(of: .rtstruct): the segments a BINARY SEG without
    /// empty frames would have, as ROIs with their contours.
    static func writeStructureSet(_ o: Nifti2SegOptions, metadata: SegmentMetadata, presence: [[[Int]]], volumes: [LabelMap],
                                  ref: SegReference, hashes: [String], warn: (String) -> Void) throws {
        var binary = o
        binary.type = .binary
        binary.keepEmptyFrames = false
        var plan = try SegPlan(options: binary, metadata: metadata, presence: presence, warn: { _ in })
        if plan.isEmpty { plan.recordEmpty(metadata: metadata, inputs: o.inputs.count) }
        var seg = Segmentation(segmentationType: .binary, segments: plan.segments, frames: plan.frames,
                               sourceSlices: ref.sources, rows: ref.stack.first.rows, columns: ref.stack.first.columns)
        try describe(&seg, o: o, ref: ref, metadata: metadata)
        var set = try ContourPlan.structureSet(plan, volumes: volumes, seg: seg)
        set.referencedSeriesInstanceUID = seg.referencedSeriesInstanceUID
        set.frameOfReferenceUID = seg.frameOfReferenceUID
        set.seriesNumber = String((Int(seg.seriesNumber) ?? 1000) + 1)
        set.seriesDescription = seg.seriesDescription
        set.label = String(seg.contentLabel.prefix(16))
        set.instanceNumber = seg.instanceNumber
        let seed = uidSeed(o, refSeries: ref.stack.first.seriesInstanceUID, contentHashes: hashes + [contentOptions(o, sources: ref.sources)])
        set.seriesInstanceUID = UID.derived(from: "i2/nifti2seg/rtstruct/series/" + seed)
        set.sopInstanceUID = UID.derived(from: "i2/nifti2seg/rtstruct/instance/" + seed)
        let output = o.path(of: .rtstruct)
        try AtomicFile.write(to: output) { tmp in try StructureSetWriter.write(set, reference: ref.file, to: tmp) }
    }


    static func loadMetadata(_ o: Nifti2SegOptions, warn: (String) -> Void) throws -> SegmentMetadata {
        if let p = o.preset {
            guard p == "totalsegmentator" else { throw I2Error(.usage, "unknown preset '\(p)' (known: \(presets.joined(separator: ", ")))") }
            if o.meta != nil { throw I2Error(.usage, "--meta and --preset exclude each other") }
            return TotalSegmentator.metadata()
        }
        guard let path = o.meta else { throw I2Error(.usage, "needs --meta META.json (dcmqi metainfo) or --preset totalsegmentator") }
        guard let data = FileManager.default.contents(atPath: path) else { throw I2Error(.storage, path: path, "cannot read the metadata file") }
        let m = try SegmentMetadata.decode(data, path: path)
        for key in m.ignoredKeys { warn("\(path): \(key): not a dcmqi metainfo field, ignored") }
        return m
    }

    /// Everything besides the label maps that changes the SEG's content, hashed into the default UID seed
    /// (issue 11 item 2): a rerun with a corrected --meta or another --empty-* choice must get new UIDs,
    /// else a PACS keeps the earlier object ("AlreadyStored"); identical inputs still give identical UIDs.
    static func contentOptions(_ o: Nifti2SegOptions, sources: [SourceSlice]) -> String {
        let meta = o.preset.map { "preset:" + $0 }
            ?? o.meta.flatMap { FileManager.default.contents(atPath: $0) }.map { "meta:" + Hash.hex([UInt8]($0)) } ?? "meta:none"
        let flags = [o.rle, o.keepEmptyFrames, o.keepEmptySegments, o.genericUnknownLabels, o.writeEmptyResult]
            .map { $0 ? "1" : "0" }.joined()
        let refs = Hash.hex(sources.map { $0.sopInstanceUID + "@" + $0.imagePositionPatient }.joined(separator: "\\"))
        return [meta, "opts:" + flags, "inputs:\(o.inputs.count)", "sources:" + refs].joined(separator: "/")
    }

    /// The seed of every UID nifti2seg derives: --uid-seed, or by default what the objects are made from,
    /// so a rerun on the same inputs replaces the earlier objects in a PACS.
    static func uidSeed(_ o: Nifti2SegOptions, refSeries: String, contentHashes: [String]) -> String {
        o.uidSeed ?? "content:" + contentHashes.joined(separator: ",") + "/ref:" + refSeries
    }

    /// The deterministic UIDs. `contentHashes`: Hash.hex of each label map, for the default seed.
    static func setUIDs(_ seg: inout Segmentation, o: Nifti2SegOptions, refSeries: String, contentHashes: [String]) {
        let seed = uidSeed(o, refSeries: refSeries, contentHashes: contentHashes) + (o.type == .binary ? "" : "/" + o.type.rawValue)
        seg.seriesInstanceUID = UID.derived(from: "i2/nifti2seg/series/" + seed)
        seg.sopInstanceUID = UID.derived(from: "i2/nifti2seg/instance/" + seed)
        seg.dimensionOrganizationUID = UID.derived(from: "i2/nifti2seg/dimensions/" + seed)
    }

    /// Series and content attributes, geometry (everything but the UIDs).
    static func describe(_ seg: inout Segmentation, o: Nifti2SegOptions, ref: SegReference, metadata m: SegmentMetadata) throws {
        let refSeries = ref.stack.first.seriesInstanceUID
        seg.referencedSeriesInstanceUID = refSeries
        let f = ref.file
        func refText(_ tag: Tag) -> String? { f.string(tag).flatMap { $0.isEmpty ? nil : $0 } }
        seg.frameOfReferenceUID = refText(.frameOfReferenceUID) ?? UID.derived(from: "frame-of-reference/" + refSeries)
        let first = ref.stack.first
        seg.imageOrientationPatient = first.orientation
        seg.pixelSpacing = first.pixelSpacing.count > 1 ? Array(first.pixelSpacing.prefix(2)) : [first.pixelSpacing.first ?? 1, first.pixelSpacing.first ?? 1]
        // From the positions (as `i2 convert` takes it), rounded to 1e-6 mm so float noise stays out of the text.
        let step = ref.stack.sliceCount > 1 ? (ref.geometry.spacing[2] * 1e6).rounded() / 1e6 : nil
        seg.spacingBetweenSlices = step ?? first.thickness ?? 1
        seg.sliceThickness = first.thickness ?? seg.spacingBetweenSlices
        seg.segmentsOverlap = .no
        func text(_ v: MetadataValue<String>?, _ tag: Tag) -> String? {
            switch v {
            case .value(let s)?: return s
            case .fromReference?: return refText(tag)
            case nil: return nil
            }
        }
        let refNumber = Int(refText(.seriesNumber) ?? "") ?? 0
        seg.seriesNumber = text(m.seriesNumber, .seriesNumber) ?? String(min(max(refNumber, 0), Int(Int32.max) - 1000) + 1000)
        seg.seriesDescription = String((text(m.seriesDescription, .seriesDescription) ?? "Segmentation").prefix(64))
        seg.instanceNumber = text(m.instanceNumber, .instanceNumber) ?? "1"
        seg.contentLabel = codeString(text(m.contentLabel, .contentLabel) ?? "SEGMENTATION")
        seg.contentDescription = String((text(m.contentDescription, .contentDescription) ?? seg.seriesDescription).prefix(64))
        seg.contentCreatorName = text(m.contentCreatorName, .contentCreatorName) ?? ""
        seg.bodyPartExamined = text(m.bodyPartExamined, .bodyPartExamined) ?? refText(.bodyPartExamined)
        seg.clinicalTrialSeriesID = text(m.clinicalTrialSeriesID, .clinicalTrialSeriesID)
        seg.clinicalTrialTimePointID = text(m.clinicalTrialTimePointID, .clinicalTrialTimePointID)
        seg.clinicalTrialCoordinatingCenterName = text(m.clinicalTrialCoordinatingCenterName, .clinicalTrialCoordinatingCenterName)
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
