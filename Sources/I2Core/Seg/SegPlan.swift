// SegPlan: which segments and frames a SEG gets, from the labels found on each slice and the metadata:
// segment numbers 1...N by input file, then original label value; frames by segment, then slice
// (BINARY), or one per slice (LABELMAP); empty frames and segments left out unless asked for. Then the
// pass that makes the frames.
import Foundation
import I2Model

struct SegPlan {
    var type: SegmentationTypeValues
    var segments: [SegmentEntry] = []
    var frames: [SegmentationFrame] = []
    /// Per input file: label value → index into `segments`, -1 when the label is not a segment.
    var segmentOf: [[Int32]]
    /// For each segment index, the input file it comes from.
    var inputOf: [Int] = []
    var slices: Int
    var isEmpty: Bool { segments.isEmpty }

    init(options o: Nifti2SegOptions, metadata: SegmentMetadata, presence: [[[Int]]], warn: (String) -> Void) throws {
        type = o.type
        slices = presence.first?.count ?? 0
        segmentOf = Array(repeating: Array(repeating: -1, count: LabelScan.maxLabel + 1), count: presence.count)
        var present: [[Int: [Int]]] = []     // per input: label → slices where it occurs
        for p in presence {
            var bySlice: [Int: [Int]] = [:]
            for (k, labels) in p.enumerated() { for l in labels { bySlice[l, default: []].append(k) } }
            present.append(bySlice)
        }
        var unknown: [(Int, Int)] = []
        for (file, bySlice) in present.enumerated() {
            // One label map: every list of the metadata applies (dcmqi templates sometimes split one
            // map's labels across lists); several masks: list i describes file i.
            let described = presence.count == 1 ? metadata.segments : metadata.segmentAttributes[file]
            var labels = Set(bySlice.keys)
            if o.keepEmptySegments { labels.formUnion(described.map(\.labelID)) }
            for label in labels.sorted() {
                var d = described.first { $0.labelID == label }
                if d == nil {
                    unknown.append((file, label))
                    guard o.genericUnknownLabels else { continue }
                    d = Self.generic(label: label, like: described.first)
                }
                segmentOf[file][label] = Int32(segments.count)
                segments.append(SegmentEntry(number: segments.count + 1, description: d!, originalLabel: label))
                inputOf.append(file)
            }
        }
        if !unknown.isEmpty {
            let where_ = o.meta ?? "the \(o.preset ?? "") preset"
            let list = unknown.map { presence.count == 1 ? "\($0.1)" : "\($0.1) (in \(o.inputs[$0.0]))" }.joined(separator: ", ")
            if !o.genericUnknownLabels {
                throw I2Error(.badInput, path: o.inputs.count == 1 ? o.inputs[0] : nil,
                              "label value\(unknown.count > 1 ? "s" : "") \(list) not described in \(where_) (add segmentAttributes entries, or use --unknown-labels generic)")
            }
            warn("label value\(unknown.count > 1 ? "s" : "") \(list) not described in \(where_): written with the generic code (85756007, SCT, \"Tissue\")")
        }
        frames = plannedFrames(present: present, keepEmpty: o.keepEmptyFrames)
        // Segments whose voxels all fall on no frame: only with --empty-segments keep; none when all empty.
        if !present.contains(where: { !$0.isEmpty }) || segments.allSatisfy({ s in present[inputOf[s.number - 1]][s.originalLabel] == nil }) {
            segments = []
            frames = []
        }
    }

    func plannedFrames(present: [[Int: [Int]]], keepEmpty: Bool) -> [SegmentationFrame] {
        if type == .labelmap {
            var used = Array(repeating: keepEmpty, count: slices)
            for s in segments { for k in present[inputOf[s.number - 1]][s.originalLabel] ?? [] { used[k] = true } }
            return used.indices.filter { used[$0] }.map { SegmentationFrame(segmentNumber: 0, slice: $0) }
        }
        return segments.flatMap { s -> [SegmentationFrame] in
            let ks = keepEmpty ? Array(0..<slices) : (present[inputOf[s.number - 1]][s.originalLabel] ?? [])
            return ks.map { SegmentationFrame(segmentNumber: s.number, slice: $0) }
        }
    }

    /// `--empty-result seg`: every described segment, each with one empty frame on the first slice
    /// (a SEG needs at least one frame), so the result "nothing found" is on record.
    mutating func recordEmpty(metadata: SegmentMetadata, inputs: Int) {
        segments = []
        inputOf = []
        for (file, list) in (inputs == 1 ? [metadata.segments] : metadata.segmentAttributes).enumerated() {
            for d in list.sorted(by: { $0.labelID < $1.labelID }) {
                segments.append(SegmentEntry(number: segments.count + 1, description: d, originalLabel: d.labelID))
                inputOf.append(file)
            }
        }
        frames = type == .labelmap ? [SegmentationFrame(segmentNumber: 0, slice: 0)]
            : segments.map { SegmentationFrame(segmentNumber: $0.number, slice: 0) }
    }

    static func generic(label: Int, like: SegmentDescription?) -> SegmentDescription {
        let tissue = CodedConcept(codeValue: "85756007", codingSchemeDesignator: "SCT", codeMeaning: "Tissue")
        var d = SegmentDescription(labelID: label, segmentAlgorithmType: like?.segmentAlgorithmType ?? .automatic,
                                   segmentedPropertyCategory: tissue, segmentedPropertyType: tissue)
        d.segmentAlgorithmName = like?.segmentAlgorithmName ?? "unknown"
        d.segmentLabel = "Label \(label)"
        return d
    }

    /// Whether any voxel belongs to segments of two inputs (several masks; one label map cannot overlap).
    func overlap(_ volumes: [LabelMap]) -> Bool {
        guard volumes.count > 1 else { return false }
        var occupied = [UInt8](repeating: 0, count: (volumes[0].voxelCount + 7) / 8)
        var found = false
        occupied.withUnsafeMutableBufferPointer { occ in
            for (file, v) in volumes.enumerated() {
                segmentOf[file].withUnsafeBufferPointer { so in
                    LabelScan.typed(v) { labels in
                        for k in 0..<slices where labels.occupy(slice: k, segmentOf: so.baseAddress!, occupied: occ.baseAddress!) {
                            found = true
                        }
                    }
                }
            }
        }
        return found
    }

    /// Makes every frame's pixels, slices in parallel, and hands each frame once to `emit(frame, bytes)`
    /// (from worker threads): BINARY bits LSB first, padded to a whole byte; LABELMAP 8/16-bit segment
    /// numbers. A worker holds one slice's frames at a time, so the pixel data is never whole in memory.
    func produce(_ volumes: [LabelMap], seg: Segmentation, emit: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        guard !frames.isEmpty else { return }
        let npix = seg.rows * seg.columns
        let labelmap = type == .labelmap
        let frameBytes = labelmap ? npix * seg.bitsAllocated / 8 : (npix + 7) / 8
        // Per slice, its frames (indices) and for each segment index its place among them (-1: none).
        var framesOn = [[Int]](repeating: [], count: slices)
        for (i, f) in frames.enumerated() { framesOn[f.slice].append(i) }
        let most = framesOn.map(\.count).max() ?? 0
        let numberOf = labelmap ? segmentOf[0].map { $0 < 0 ? Int32(0) : $0 + 1 } : []
        let workers = min(slices, Processors.active)
        var failure = [Error?](repeating: nil, count: workers)
        failure.withUnsafeMutableBufferPointer { failed in
            let failedBase = failed.baseAddress!
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(most * frameBytes, 1), alignment: 16)
                defer { buffer.deallocate() }
                var placeOf = [Int32](repeating: -1, count: max(segments.count, 1))
                do {
                    for k in stride(from: w, to: slices, by: workers) where !framesOn[k].isEmpty {
                        let on = framesOn[k]
                        if labelmap {
                            LabelScan.typed(volumes[0]) { labels in
                                numberOf.withUnsafeBufferPointer { nb in
                                    labels.labels(slice: k, numberOf: nb.baseAddress!, into: buffer.baseAddress!, sixteen: seg.bitsAllocated == 16)
                                }
                            }
                        } else {
                            memset(buffer.baseAddress!, 0, on.count * frameBytes)
                            for (place, f) in on.enumerated() { placeOf[frames[f].segmentNumber - 1] = Int32(place) }
                            for (file, v) in volumes.enumerated() {
                                segmentOf[file].withUnsafeBufferPointer { so in
                                    placeOf.withUnsafeBufferPointer { po in
                                        LabelScan.typed(v) { labels in
                                            labels.pack(slice: k, segmentOf: so.baseAddress!, frameOf: po.baseAddress!,
                                                        frameBits: frameBytes * 8, bits: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self))
                                        }
                                    }
                                }
                            }
                            for f in on { placeOf[frames[f].segmentNumber - 1] = -1 }
                        }
                        for (place, f) in on.enumerated() {
                            try emit(f, UnsafeRawBufferPointer(rebasing: buffer[(place * frameBytes)..<((place + 1) * frameBytes)]))
                        }
                    }
                } catch {
                    (failedBase + w).pointee = error
                }
            }
        }
        if let e = failure.compactMap({ $0 }).first { throw e }
    }

    /// The native pixel data whole (BINARY frames packed across byte boundaries): for frames whose pixel
    /// count is not a multiple of 8, where frames share bytes and cannot be written one by one.
    func packed(_ volumes: [LabelMap], seg: Segmentation) -> [UInt8] {
        let npix = seg.rows * seg.columns
        var bits = [UInt8](repeating: 0, count: seg.pixelDataLength)
        var frameOf = [Int32](repeating: -1, count: max(segments.count, 1) * slices)   // [slice][segment]
        for (i, f) in frames.enumerated() { frameOf[f.slice * max(segments.count, 1) + f.segmentNumber - 1] = Int32(i) }
        bits.withUnsafeMutableBufferPointer { out in
            frameOf.withUnsafeBufferPointer { fo in
                for (file, v) in volumes.enumerated() {
                    segmentOf[file].withUnsafeBufferPointer { so in
                        LabelScan.typed(v) { labels in
                            for k in 0..<slices {
                                labels.pack(slice: k, segmentOf: so.baseAddress!, frameOf: fo.baseAddress! + k * max(segments.count, 1),
                                            frameBits: npix, bits: out.baseAddress!)
                            }
                        }
                    }
                }
            }
        }
        return bits
    }
}
