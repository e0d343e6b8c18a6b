// The --ref series of a derived object (SEG, RT Structure Set) as the grid `i2 convert` builds from it:
// which series of the directory the object references, its slices, and where a plane at a given
// position lies on that grid (for irregular spacing, the grid `i2 convert --equalize` resamples to).
import Foundation
import I2DICOM
import I2Model

struct ReferenceGrid {
    var stack: SliceStack
    /// The output geometry (no voxels: `data` is empty): size [columns, rows, slices].
    var volume: Volume
    /// Grid slice of each instance of the stack, by SOP Instance UID.
    var bySOP: [String: Int]
    /// Several slices share one SOP instance (a multi-frame source): references cannot tell them apart.
    var sharedInstances: Bool
    var frameOfReferenceUID: String?
    /// The grid slice of each slice of the stack, in stack order.
    var gridIndex: [Int]
    private var normal: Vector3
    private var along: Double

    var slices: Int { volume.size[2] }

    /// Reads `dir` and picks the series `object` (a file, named in errors; `what`: "SEG", "RTSTRUCT")
    /// refers to: the one holding an instance of `instances`, else of `series`, else the only one.
    init(_ dir: String, object: String, what: String, referencing instances: Set<String>, series: Set<String>) throws {
        let (files, errors) = DicomScan.files(in: [dir])
        if let e = errors.first { throw e }
        let scan = DicomScan(files: files)
        let stacks = SeriesAssembly.stacks(scan.slices)
        // Nothing to place frames on: the --ref folder is at fault (a SEG or a non-image there says so
        // through the scan's error), not the SEG, which the message used to name.
        if stacks.isEmpty { throw scan.errors.first ?? I2Error(.badInput, path: dir, "no DICOM images in --ref \(dir)") }
        guard let stack = stacks.first(where: { s in s.slices.contains { instances.contains($0.sopInstanceUID) } })
            ?? stacks.first(where: { series.contains($0.first.seriesInstanceUID) })
            ?? (stacks.count == 1 ? stacks.first : nil) else {
            throw I2Error(.badInput, path: object, "none of the \(stacks.count) series in --ref \(dir) is the one this \(what) references")
        }
        if scan.damagedSeries.contains(stack.first.seriesInstanceUID), let e = scan.errors.first { throw e }
        if stack.first.sopClassUID == SegmentationReader.wholeSlideMicroscopy { throw SegReference.slideReference(stack.first.path) }
        let g = SeriesAssembly.geometry(stack)
        let f = stack.first
        var slices = stack.sliceCount
        var spacing = g.spacing
        if slices == 1, let t = f.thickness, t > 0 { spacing[2] = t }
        let normal = f.normal
        // Where each slice of the stack lies on the output grid: itself, or for irregular spacing its
        // place on the grid `i2 convert --equalize` resamples to (a mask is not interpolated, so every
        // slice must fall on that grid).
        var gridIndex = Array(0..<slices)
        if let irr = g.irregular {
            let o = g.offsets, span = o.last! - o[0]
            let gaps = zip(o.dropFirst(), o).map { $0 - $1 }
            let steps = (span / max(gaps.min() ?? 1, 1e-3) - 1e-6).rounded(.up)
            guard steps.isFinite, steps < 100_000 else {   // a slice at 1e300 mm: no grid, and no Int
                throw I2Error(.badInput, path: irr.before.label, String(format: "--ref series: slice positions span %.4g mm: refusing to build that grid", span))
            }
            let count = Int(steps) + 1
            let step = span / Double(max(count - 1, 1))
            gridIndex = o.map { Int((($0 - o[0]) / step).rounded()) }
            if let k = o.indices.first(where: { abs(o[$0] - o[0] - Double(gridIndex[$0]) * step) > 0.01 * step }) {
                throw I2Error(.badInput, path: irr.before.label,
                              String(format: "--ref series: irregular slice spacing (%.4g mm instead of %.4g mm) and slice %@ is not on the %.4g mm grid `i2 convert --equalize` builds", irr.gap, irr.typical, stack.slices[k].label, step))
            }
            slices = count
            spacing[2] = step / max(abs(g.direction.column(2).dot(normal)), 1e-9)
        }
        var bySOP: [String: Int] = [:]
        var duplicates = false
        for (k, s) in stack.slices.prefix(stack.sliceCount).enumerated() where bySOP.updateValue(gridIndex[k], forKey: s.sopInstanceUID) != nil { duplicates = true }
        self.stack = stack
        self.bySOP = bySOP
        self.sharedInstances = duplicates
        self.gridIndex = gridIndex
        // From the first image itself: the scan's series values do not keep it.
        self.frameOfReferenceUID = (try? DicomFile(path: f.path))?.string(.frameOfReferenceUID).flatMap { $0.isEmpty ? nil : $0 }
        self.normal = normal
        self.along = slices > 1 ? spacing[2] * g.direction.column(2).dot(normal) : 1
        self.volume = Volume(size: [f.columns, f.rows, slices], spacing: spacing, origin: g.origin,
                             direction: g.direction, voxelType: .uint8, data: [])
    }

    /// The grid slice a plane through `p` lies on (within 1% of the slice spacing), nil when it lies on none.
    func slice(at p: Vector3) -> Int? {
        // A finite but huge position (1e300) is no slice, not a trap converting it to Int.
        let d = ((p - volume.origin).dot(normal) / along).rounded()
        guard d.isFinite, d >= 0, d < Double(slices) else { return nil }
        let k = Int(d)
        let expected = volume.origin + volume.direction.column(2) * (Double(k) * volume.spacing[2])
        return k >= 0 && k < slices && (p - expected).length < 0.01 * max(volume.spacing[2], 1) ? k : nil
    }

    /// The grid slice on whose plane every point lies (within a quarter of the slice spacing, measured
    /// along the normal), nil when there is none: how RT contours are placed.
    func slice(containing points: [Vector3]) -> Int? {
        guard let first = points.first else { return nil }
        let k = ((first - volume.origin).dot(normal) / along).rounded()
        guard k.isFinite, k >= 0, k < Double(slices) else { return nil }
        for p in points where abs((p - volume.origin).dot(normal) / along - k) > 0.25 { return nil }
        return Int(k)
    }

    /// The in-plane pixel coordinates (x = column, y = row) of `p` on grid slice `k`.
    func pixel(_ p: Vector3, slice k: Int) -> (x: Double, y: Double) {
        let q = p - (volume.origin + volume.direction.column(2) * (Double(k) * volume.spacing[2]))
        return (q.dot(volume.direction.column(0)) / volume.spacing[0], q.dot(volume.direction.column(1)) / volume.spacing[1])
    }
}
