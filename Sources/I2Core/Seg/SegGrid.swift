// The grid a SEG is decoded onto, and the slice each frame lands on: either the SEG's own geometry
// (plane positions + shared orientation and pixel measures, gaps filled on the regular grid), or the
// referenced series' grid exactly as `i2 convert` builds it (`--ref`).
import Foundation
import I2DICOM
import I2Model

struct SegGrid {
    /// The output geometry (no voxels yet: `data` is empty): size [columns, rows, slices].
    var volume: Volume
    /// The slice index of every frame (index = frame number - 1).
    var sliceOfFrame: [Int]
    /// The first slice of the --ref series (nil on the SEG's own grid): what decides i2 convert's voxel
    /// order for it (Ortho.dcm2niixOrder).
    var reference: SliceHeader? = nil
    /// A SEG whose frames lie in the --ref series' planes with their rows or columns the other way (dcmqi
    /// takes its input NIfTI's orientation, so its frames have the rows reversed against the images'):
    /// decoded on its own grid, then laid into this grid (the --ref series' as i2 convert orders it).
    var embed: Volume? = nil

    /// The --ref grid for a SEG whose frames are not in the reference's in-plane orientation, or nil when
    /// they are (then a frame that lies on no slice is misplaced, and that error stands).
    static func embedding(_ seg: SegmentationObject, series dir: String) throws -> SegGrid? {
        let ref = try ReferenceGrid(dir, object: seg.path, what: "SEG", referencing: Set(seg.frames.sourceUID.compactMap { $0 }),
                                    series: Set(seg.referencedSeriesUIDs))
        guard let iop = seg.orientation, iop.count == 6 else { return nil }
        let f = ref.stack.first
        let row = Vector3(iop[0], iop[1], iop[2]), column = Vector3(iop[3], iop[4], iop[5])
        if (row - f.rowDirection).length < 1e-4 && (column - f.columnDirection).length < 1e-4 { return nil }
        var own = try SegGrid.own(seg)
        var target = ref.volume
        Ortho.dcm2niixGrid(&target, first: f)
        own.embed = target
        return own
    }

    var slices: Int { volume.size[2] }

    /// The SEG's own geometry. Positions are projected on the normal; distinct positions must lie on a
    /// regular grid whose step is SpacingBetweenSlices (or the smallest gap); slices no frame covers
    /// stay empty.
    static func own(_ seg: SegmentationObject) throws -> SegGrid {
        func bad(_ why: String) -> I2Error { I2Error(.badInput, path: seg.path, why) }
        guard let iop = seg.orientation else { throw bad("no ImageOrientationPatient (Plane Orientation macro): the geometry is unknown; give --ref") }
        // A zero, non-finite or parallel row/column direction has no normal: NaN positions on the normal
        // used to trap in the slice index conversion. Refuse it by name instead.
        let rawRow = Vector3(iop[0], iop[1], iop[2]), rawCol = Vector3(iop[3], iop[4], iop[5])
        guard iop.allSatisfy(\.isFinite), rawRow.length > 1e-6, rawCol.length > 1e-6,
              rawRow.normalized.cross(rawCol.normalized).length > 0.01 else {
            throw bad("ImageOrientationPatient \(iop.map { String(format: "%g", $0) }.joined(separator: "\\")) is degenerate "
                      + "(a zero, non-finite or parallel row and column direction): the geometry is unknown; give --ref")
        }
        let row = rawRow.normalized, col = rawCol.normalized
        let normal = row.cross(col).normalized
        var positions: [Vector3] = []
        for (i, p) in seg.frames.position.enumerated() {
            guard let p else { throw bad("frame \(i + 1) has no ImagePositionPatient (Plane Position macro): the geometry is unknown; give --ref") }
            guard p.array.allSatisfy(\.isFinite) else { throw bad("frame \(i + 1) has a non-finite ImagePositionPatient") }
            positions.append(p)
        }
        let ps = seg.pixelSpacing ?? [1, 1]
        let inPlane = [ps.count > 1 ? ps[1] : 1, ps[0]]
        let d = positions.map { $0.dot(normal) }
        let distinct = Set(d.map { ($0 * 1e3).rounded() }).sorted().map { $0 / 1e3 }
        guard let first = distinct.first, let last = distinct.last else { throw bad("no frames") }
        let firstFrame = d.indices.min { d[$0] < d[$1] }!, lastFrame = d.indices.max { d[$0] < d[$1] }!
        var slices = 1
        // One plane: its step only orients the grid. A declared spacing of 0 or NaN (seen fuzzing) is no step.
        let declared = [seg.spacingBetweenSlices, seg.sliceThickness].compactMap { $0 }.first { $0.isFinite && $0 > 0 }
        var step = normal * (declared ?? 1)
        if distinct.count > 1 {
            let gaps = zip(distinct.dropFirst(), distinct).map { $0 - $1 }
            var candidates = [gaps.min()!]
            if let s = seg.spacingBetweenSlices, s > 0 { candidates.insert(s, at: 0) }
            // The step is the declared spacing when every gap is a whole multiple of it (one or more: a
            // spacing larger than the gaps, 1e300 say, is no step of theirs), else the smallest gap.
            guard let along = candidates.first(where: { s in gaps.allSatisfy { g in (g / s).rounded() >= 1 && abs(g / s - (g / s).rounded()) < 0.02 } }) else {
                throw bad(String(format: "frame positions are not on a regular grid (gaps %@ mm along the normal)",
                                 gaps.map { String(format: "%.4g", $0) }.joined(separator: ", ")))
            }
            // Counted in Double first: positions 1e300 apart are finite, their slice count is no Int.
            let span = ((last - first) / along).rounded()
            guard span.isFinite, span < 100_000 else {
                throw bad(String(format: "frame positions span %.4g slices of %.4g mm: refusing to build that grid", span + 1, along))
            }
            slices = Int(span) + 1
            // Across the whole span, so a tilted stack keeps its (sheared) slice direction.
            step = (positions[lastFrame] - positions[firstFrame]) * (1 / Double(slices - 1))
        }
        let along = step.dot(normal)
        let origin = positions[firstFrame]
        let sliceOfFrame = try d.map { v -> Int in
            let k = ((v - first) / along).rounded()
            guard k.isFinite, k >= 0, k < Double(slices) else { throw bad("frame position \(v) mm along the normal is off the grid") }
            return Int(k)
        }
        let volume = Volume(size: [seg.columns, seg.rows, slices], spacing: inPlane + [step.length], origin: origin,
                            direction: Matrix3(columns: [row, col, step.normalized]), voxelType: .uint8, data: [])
        return SegGrid(volume: volume, sliceOfFrame: sliceOfFrame)
    }

    /// The referenced series' grid, as `i2 convert SERIES_DIR` builds it. Frames are placed by their
    /// plane position, else (no position, or another frame of reference) by their source image
    /// (DerivationImageSequence). A reference that disagrees with the position is a warning, with
    /// `strict` an error.
    static func reference(_ seg: SegmentationObject, series dir: String, strict: Bool = false,
                          warn: (String) -> Void = { _ in }) throws -> SegGrid {
        let wanted = Set(seg.frames.sourceUID.compactMap { $0 })
        let referenced = Set(seg.referencedSeriesUIDs)
        let ref = try ReferenceGrid(dir, object: seg.path, what: "SEG", referencing: wanted, series: referenced)
        let f = ref.stack.first
        guard f.rows == seg.rows && f.columns == seg.columns else {
            throw I2Error(.badInput, path: seg.path, "frames are \(seg.columns)x\(seg.rows) but the --ref series is \(f.columns)x\(f.rows)")
        }
        let bySOP = ref.bySOP, duplicates = ref.sharedInstances
        let refFoR = ref.frameOfReferenceUID
        let sameFrame = seg.frameOfReferenceUID == nil || refFoR == nil || seg.frameOfReferenceUID == refFoR
        func slice(at p: Vector3) -> Int? { ref.slice(at: p) }
        var sliceOfFrame: [Int] = []
        var disagreements: [String] = []
        for i in 0..<seg.frameCount {
            let uid = seg.frames.sourceUID[i]
            // Position is the truth (issue 11 item 1): the Derivation Image Sequence may sit in the shared
            // functional groups (syngo.via: one reference for every frame) or be off by one slice. The
            // reference places a frame only when it has no usable position.
            if sameFrame, let p = seg.frames.position[i], p.array.allSatisfy(\.isFinite) {
                guard let k = slice(at: p) else {
                    if let uid, !duplicates, bySOP[uid] == nil {
                        throw I2Error(.badInput, path: seg.path, "frame \(i + 1) references instance \(uid), which is not in the --ref series \(dir), and its position \(p) lies on none of its slices")
                    }
                    throw I2Error(.badInput, path: seg.path, "frame \(i + 1) at \(p) lies on no slice of the --ref series \(dir)")
                }
                if let uid {
                    if duplicates {
                        // Several slices share one SOP instance (multi-frame source): nothing to compare by.
                    } else if let r = bySOP[uid] {
                        if r != k { disagreements.append("frame \(i + 1) lies on slice \(k + 1) by its position but references the image of slice \(r + 1) (\(uid))") }
                    } else {
                        disagreements.append("frame \(i + 1) references instance \(uid), which is not in the --ref series \(dir)")
                    }
                }
                sliceOfFrame.append(k)
                continue
            }
            if let uid, !duplicates {
                guard let k = bySOP[uid] else {
                    throw I2Error(.badInput, path: seg.path, "frame \(i + 1) references instance \(uid), which is not in the --ref series \(dir)")
                }
                sliceOfFrame.append(k)
                continue
            }
            guard sameFrame else {
                throw I2Error(.badInput, path: seg.path, "FrameOfReferenceUID \(seg.frameOfReferenceUID!) differs from the --ref series' \(refFoR!), and frame \(i + 1) names no source image to place it by")
            }
            guard let p = seg.frames.position[i] else {
                throw I2Error(.badInput, path: seg.path, "frame \(i + 1) has neither a source image reference nor a plane position")
            }
            guard let k = slice(at: p) else {
                throw I2Error(.badInput, path: seg.path, "frame \(i + 1) at \(p) lies on no slice of the --ref series \(dir)")
            }
            sliceOfFrame.append(k)
        }
        if let first = disagreements.first {
            let more = disagreements.count > 1 ? " (and \(disagreements.count - 1) more frames)" : ""
            let text = "source image references disagree with the plane positions: \(first)\(more); frames are placed by their position"
            if strict { throw I2Error(.badInput, path: seg.path, text + " (--strict)") }
            warn("\(seg.path): \(text)")
        }
        return SegGrid(volume: ref.volume, sliceOfFrame: sliceOfFrame, reference: ref.stack.first)
    }
}
