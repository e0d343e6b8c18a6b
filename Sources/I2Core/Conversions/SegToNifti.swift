// i2 seg2nifti's engine: a DICOM-SEG (BINARY, FRACTIONAL or LABELMAP) to a label map, or one file per
// segment, on the SEG's own grid or the --ref series' grid, plus the segment metadata as dcmqi JSON.
// Everything is decoded and checked before the first file is written; a failed write removes what
// this run already wrote, so bad input never leaves output behind.
import Foundation
import I2DICOM
import I2Model

public struct Seg2NiftiOptions: Sendable {
    public var input: String
    /// The label map (one file), or the name pattern's base with --per-segment.
    public var output: String
    /// The JSON metadata path; nil: the output's name with .json.
    public var meta: String?
    /// A DICOM series directory whose grid (as `i2 convert` builds it) the output takes.
    public var reference: String?
    /// One file per segment (OUTPUT_<number>_<SegmentLabel>.<ext>) instead of one label map.
    public var perSegment = false
    /// FRACTIONAL: a voxel belongs to a segment when value >= threshold * MaximumFractionalValue.
    public var threshold = 0.5
    /// FRACTIONAL: write each segment's value / MaximumFractionalValue as float32 (implies per segment).
    public var probability = false
    public var overwrite = false
    /// --ref: a frame whose source image reference disagrees with its plane position is an error, not a warning.
    public var strict = false
    public var write = WriteOptions()

    public init(input: String, output: String) {
        self.input = input
        self.output = output
    }
}

public enum SegToNifti: Engine {
    public static func run(_ o: Seg2NiftiOptions, _ context: EngineContext) -> Report {
        let result = Reporter(context)
        do {
            _ = try write(o, warn: context.events.warning, wrote: { result.output($0) })
        } catch let e as I2Error {
            return result.fatal(e)
        } catch {
            return result.fatal(I2Error(.internal, path: o.input, "\(error)"))
        }
        return result.finish()
    }

    /// Converts; calls `wrote` with each path once it is in place and returns them all.
    @discardableResult
    public static func write(_ o: Seg2NiftiOptions, warn: (String) -> Void = { _ in }, wrote: (String) -> Void = { _ in }) throws -> [String] {
        guard let format = FileFormat(path: o.output), format != .npy else {
            throw I2Error(.usage, path: o.output, "unknown label map format (expected .nii, .nii.gz, .nrrd, .nhdr, .mha or .mhd)")
        }
        guard o.threshold > 0 && o.threshold <= 1 else { throw I2Error(.usage, "--threshold must be in (0, 1], not \(o.threshold)") }
        return try TempFiles.spooled(o.input) { input in try write(o, input: input, format: format, warn: warn, wrote: wrote) }
    }

    /// `input`: the SEG as a regular file (a pipe's spooled copy).
    private static func write(_ o: Seg2NiftiOptions, input: String, format: FileFormat, warn: (String) -> Void, wrote: (String) -> Void) throws -> [String] {
        var file: DicomFile? = try DicomFile(path: input)
        if file!.string(.sopClassUID) == StructureSet.sopClassUID {
            return try StructureSetToNifti.convert(o, file: file!, format: format, warn: warn, wrote: wrote)
        }
        let seg = try SegmentationReader.read(file!)
        let probability = o.probability && seg.type == .fractional
        if o.probability && seg.type != .fractional {
            warn("\(o.input): --fractional probability applies to FRACTIONAL SEGs; this one is \(seg.type.rawValue)")
        }
        let grid: SegGrid
        if let dir = o.reference {
            do { grid = try SegGrid.reference(seg, series: dir, strict: o.strict, warn: warn) } catch let e as I2Error {
                // Frames in the series' planes but with their rows or columns the other way (dcmqi's) are
                // decoded on their own grid and laid into the series' (SegGrid.embed); anything else stands.
                guard let own = try SegGrid.embedding(seg, series: dir) else { throw e }
                grid = own
            }
        } else {
            grid = try SegGrid.own(seg)
        }
        try checkFrames(seg, grid)
        // Checked here, naming the file the geometry came from: the writer could only name its output.
        guard grid.volume.affineLPS.joined().allSatisfy({ $0.isFinite }) else {
            throw I2Error(.badInput, path: o.reference ?? o.input,
                          "the geometry (PixelSpacing, slice spacing, positions or orientation) has non-finite entries")
        }
        let json = o.perSegment || probability ? nil : BackgroundJSON(labelMapMetadata(seg))
        // A BINARY label map is decoded frame by frame from the file: the bit-packed frames are
        // never held whole (they are twice the size of a uint8 label map for 100 segments).
        // The DICOM dataset (thousands of per-frame items) is released before the label map is written.
        if seg.type == .binary && !(o.perSegment || probability), let stream = try SegmentationReader.pixelStream(file!, seg) {
            if stream.isDetached {
                // Before the label map is allocated: the dataset's thousands of small allocations are
                // given back to the system, not kept alongside it.
                file = nil
                Allocator.trim()
            }
            let volume = try SegFrames.labelMap(seg, stream: stream, grid: grid, threshold: o.threshold)
            file = nil
            return try convert(o, seg, grid, pixels: nil, labelMap: volume, format: format, probability: probability, json: json, wrote: wrote)
        }
        if seg.type == .binary, let written = try SegmentationReader.withFragments(file!, { fragments in
            try checkRLE(file!, seg, fragments)
            if o.perSegment || probability {
                let packed = try SegRLE.decodeBinary(fragments, rows: seg.rows, columns: seg.columns, path: seg.path)
                return try packed.withUnsafeBufferPointer { pixels in
                    try convert(o, seg, grid, pixels: pixels, format: format, probability: probability, json: json, wrote: wrote)
                }
            }
            // The label map decoded a frame at a time: the native bit stream is never whole.
            let volume = try SegFrames.labelMap(seg, frames: rleFrames(seg, fragments), grid: grid, threshold: o.threshold)
            return try convert(o, seg, grid, pixels: nil, labelMap: volume, format: format, probability: probability, json: json, wrote: wrote)
        }) {
            return written
        }
        return try SegmentationReader.withPixels(file!, seg) { pixels in
            try convert(o, seg, grid, pixels: pixels, format: format, probability: probability, json: json, wrote: wrote)
        }
    }

    /// `pixels` is the pixel data in memory; or, for a label map already decoded (SegFrames.labelMap, in
    /// dcm2niix order), nil with `labelMap`.
    static func convert(_ o: Seg2NiftiOptions, _ seg: SegmentationObject, _ grid: SegGrid, pixels: UnsafeBufferPointer<UInt8>?,
                        labelMap: Volume? = nil, format: FileFormat, probability: Bool, json: BackgroundJSON? = nil,
                        wrote: (String) -> Void) throws -> [String] {
        let stem = String(o.output.dropLast(format.rawValue.count + 1))
        let metaPath = o.meta ?? stem + ".json"
        var metadata = seg.seriesMetadata
        var outputs: [(path: String, make: () throws -> Volume)] = []
        if o.perSegment || probability {
            // One file per segment, in SegmentSequence order; each is decoded only when it is written.
            var used = Set<String>()
            var names: [String] = []
            for s in seg.segments where !(seg.type == .labelmap && s.number == 0) {
                var name = "\(stem)_\(s.number)_\(safe(s.description.segmentLabel ?? "segment"))"
                if !used.insert(name).inserted { name += "_\(s.number)" }
                let path = name + "." + format.rawValue
                names.append((path as NSString).lastPathComponent)
                outputs.append((path, { dcm2niixOrder(try SegFrames.segment(seg, s.number, pixels: pixels!, grid: grid, threshold: o.threshold, probability: probability), grid) }))
            }
            // Each file holds its segment as 1 (or a probability): labelID 1 in the list for that file.
            metadata.segmentAttributes = seg.segments.filter { !(seg.type == .labelmap && $0.number == 0) }.map { s in
                var d = s.description
                d.labelID = 1
                return [d]
            }
            metadata.segmentAttributesFileMapping = names
        } else {
            // Decoded with its rows reversed (dcm2niix's row order) already.
            let volume = convertOrder(rowsReversed: try labelMap ?? SegFrames.labelMap(seg, pixels: pixels!, grid: grid, threshold: o.threshold), grid)
            outputs.append((o.output, { volume }))
            metadata = labelMapMetadata(seg)
        }
        if let target = grid.embed {
            outputs = outputs.map { out in (out.path, { try Ortho.embed(try out.make(), into: target, path: seg.path) }) }
        }
        return try writeAll(outputs, json: { json?.bytes ?? [UInt8](metadata.encoded()) }, metaPath: metaPath, o: o, wrote: wrote)
    }

    /// Writes each volume and then the JSON, all or nothing: nothing is written when an output exists
    /// (without --force), and a failed write removes what this run wrote.
    static func writeAll(_ outputs: [(path: String, make: () throws -> Volume)], json: () -> [UInt8], metaPath: String,
                         o: Seg2NiftiOptions, wrote: (String) -> Void) throws -> [String] {
        for path in outputs.flatMap({ OutputTargets.paths(for: $0.path, sidecar: false) }) + [metaPath] where !o.overwrite && FileManager.default.fileExists(atPath: path) {
            throw I2Error(.storage, path: path, "output exists (use --force to overwrite)")
        }
        var written: [String] = []
        do {
            for out in outputs {
                let paths = try VolumeIO.write(try out.make(), to: out.path, options: o.write)
                written += paths
            }
            try AtomicFile.write(json(), to: metaPath)
            written.append(metaPath)
        } catch let e as I2Error {
            for p in written { unlink(p) }
            throw e.at(o.input)   // a fault of the volume (its geometry) is the input's, not the output's
        } catch {
            for p in written { unlink(p) }
            throw error
        }
        for p in written { wrote(p) }
        return written
    }

    /// The voxel order `i2 convert` gives the --ref series (Ortho.dcm2niixOrder), so a label map overlays
    /// the converted image array for array; on the SEG's own grid, its rows reversed. Consuming: reversed
    /// in place, not copied.
    static func dcm2niixOrder(_ v: consuming Volume, _ grid: SegGrid) -> Volume {
        Ortho.dcm2niixOrder(&v, first: grid.reference)
        return v
    }

    /// A volume decoded with its rows already reversed (SegFrames.labelMap) in i2 convert's order for the
    /// --ref series: GE reversed-polarity EPI keeps the DICOM rows, 3-D acquisitions are reoriented.
    static func convertOrder(rowsReversed v: consuming Volume, _ grid: SegGrid) -> Volume {
        guard let first = grid.reference else { return v }
        if first.pepolarReversed {
            v.reverse(axis: 1)                  // the rows back, the grid with them
            v.reverse(axis: 1, voxels: false)   // and the grid as convert has it
        }
        if first.acquisition3D { Ortho.apply(&v) }
        return v
    }

    /// The JSON beside a label map: every segment with a non-zero label, in one list.
    static func labelMapMetadata(_ seg: SegmentationObject) -> SegmentMetadata {
        var metadata = seg.seriesMetadata
        metadata.segmentAttributes = [seg.segments.filter { $0.description.labelID != 0 }.map(\.description)]
        return metadata
    }

    /// JSON encoded on another core while the label map is decoded (JSONSerialization takes ~10 ms
    /// for 100 segments, as long as freeing the DICOM data set).
    final class BackgroundJSON {
        private var encoded: [UInt8] = []
        private let done = DispatchGroup()
        init(_ metadata: SegmentMetadata) {
            DispatchQueue.global().async(group: done) { self.encoded = [UInt8](metadata.encoded()) }
        }
        var bytes: [UInt8] { done.wait(); return encoded }
    }

    /// BINARY frames are read in RLE Lossless only (not in other encapsulated syntaxes), one fragment per
    /// frame; DCMTK's decoder refuses them (1 bit allocated), SegRLE decodes them.
    static func checkRLE(_ file: DicomFile, _ seg: SegmentationObject, _ fragments: [UnsafeRawBufferPointer]) throws {
        guard file.transferSyntax == "1.2.840.10008.1.2.5" else {
            throw I2Error(.badInput, path: seg.path, "BINARY frames in transfer syntax \(file.transferSyntax): only native and RLE Lossless are read")
        }
        guard fragments.count == seg.frameCount else {
            throw I2Error(.badInput, path: seg.path, "\(fragments.count) RLE fragments for \(seg.frameCount) frames: RLE holds each frame in one fragment")
        }
    }

    /// RLE frames decoded one at a time into the caller's scratch buffer (as SegFrames.FrameSource).
    static func rleFrames(_ seg: SegmentationObject, _ fragments: [UnsafeRawBufferPointer]) -> SegFrames.FrameSource {
        { i, scratch in
            let r = SegFrames.frameBytes(seg, i)
            let window = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<r.count])
            window.initializeMemory(as: UInt8.self, repeating: 0)
            try SegRLE.decodeBinary(fragments, frames: i..<(i + 1), rows: seg.rows, columns: seg.columns, into: window, origin: r.lowerBound, path: seg.path)
            return (UnsafeBufferPointer(window.bindMemory(to: UInt8.self)), r.lowerBound)
        }
    }

    /// Every frame must land inside the grid and name a segment the SEG describes.
    static func checkFrames(_ seg: SegmentationObject, _ grid: SegGrid) throws {
        let known = Set(seg.segments.map(\.number))
        for i in 0..<seg.frameCount {
            let k = grid.sliceOfFrame[i]
            guard k >= 0 && k < grid.slices else {
                throw I2Error(.badInput, path: seg.path, "frame \(i + 1) lies outside the output grid (slice \(k) of \(grid.slices))")
            }
            if seg.type != .labelmap {
                let n = try SegFrames.segmentNumber(seg, frame: i)
                guard known.contains(n) else {
                    throw I2Error(.badInput, path: seg.path, "frame \(i + 1) references segment \(n), which SegmentSequence does not describe")
                }
            }
        }
    }

    /// A segment label as a file-name part: letters, digits, '-', '_'; others become '_'.
    static func safe(_ s: String) -> String {
        let out = String(s.unicodeScalars.map { c -> Character in
            c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "-" || c == "_") ? Character(c) : "_"
        })
        return out.isEmpty ? "segment" : String(out.prefix(64))
    }
}

