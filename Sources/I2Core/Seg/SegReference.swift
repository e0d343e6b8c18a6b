// SegReference: the series a SEG is written against (nifti2seg --ref): its slices in the order
// `i2 convert` stacks them, the exact ImagePositionPatient text and SOP class of each (kept by the scan), the grid they
// form, and the check that a label map lies on that grid (else an error naming what differs).
import Foundation
import I2DICOM
import I2Model

struct SegReference {
    var stack: SliceStack
    var geometry: StackGeometry
    var sources: [SourceSlice]
    var file: DicomFile           // the first slice: patient, study, frame of reference are copied from it
    var size: [Int] { [stack.first.columns, stack.first.rows, stack.sliceCount] }

    /// Tolerances of the grid check: positions and spacings in mm, direction cosines unitless.
    static let mmTolerance = 1e-3, directionTolerance = 1e-4

    /// The image series found in a reference directory, before one is chosen by its grid.
    struct Candidates {
        var scan: DicomScan
        var stacks: [SliceStack]
    }

    /// Reads the headers under `dir` (a directory or a file of the series) on `threads` threads; needs no
    /// label map, so it can run while the label map is read.
    static func scan(_ dir: String, threads: Int) throws -> Candidates {
        let (files, listErrors) = DicomScan.files(in: [dir])
        if let e = listErrors.first { throw I2Error(.badInput, path: dir, "reference series: \(e.detail)") }
        let scan = DicomScan(files: files, threads: threads)
        var stacks = SeriesAssembly.stacks(scan.slices).filter { $0.volumes == 1 }
        // Slide tiles have no patient geometry: as a reference they used to be reported as a grid mismatch
        // of the label map (their tile size), naming the wrong file for the wrong reason.
        let slides = stacks.filter { $0.first.sopClassUID == SegmentationReader.wholeSlideMicroscopy }
        stacks.removeAll { $0.first.sopClassUID == SegmentationReader.wholeSlideMicroscopy }
        guard !stacks.isEmpty else {
            if let s = slides.first { throw SegReference.slideReference(s.first.path) }
            throw scan.errors.first ?? I2Error(.badInput, path: dir, "no DICOM image series found in the reference")
        }
        return Candidates(scan: scan, stacks: stacks)
    }

    /// A reference that is a whole-slide microscopy image, named.
    static func slideReference(_ path: String) -> I2Error {
        I2Error(.badInput, path: path, "a VL Whole Slide Microscopy image (SOP class \(SegmentationReader.wholeSlideMicroscopy)): "
                + "its frames are tiles of a slide with no patient position; slide SEGs are not supported")
    }

    /// Several series: the first whose grid matches `wanted`, so a study folder works too.
    static func select(_ c: Candidates, matching wanted: Volume) throws -> SegReference {
        var firstMismatch: I2Error?
        func damage(_ uid: String) -> I2Error? {
            guard c.scan.damagedSeries.contains(uid) else { return nil }
            return c.scan.errors.first { $0.detail.contains(uid) } ?? c.scan.errors.first
        }
        for stack in c.stacks {
            let g = SeriesAssembly.geometry(stack)
            if let why = mismatch(wanted, stack: stack, geometry: g) {
                if damage(stack.first.seriesInstanceUID) == nil {
                    firstMismatch = firstMismatch ?? I2Error(.badInput, "the label map is not on the grid of reference series \(stack.first.seriesInstanceUID): \(why)")
                }
                continue
            }
            if let e = damage(stack.first.seriesInstanceUID) { throw e }
            return try SegReference(stack: stack, geometry: g)
        }
        // No series fits. A damaged one (now a slice short) may be the one meant (issue 11 item 3): name
        // the bad reference file, not the label map's grid.
        if let e = c.stacks.lazy.compactMap({ damage($0.first.seriesInstanceUID) }).first { throw e }
        throw firstMismatch ?? I2Error(.badInput, "no reference series fits the label map")
    }

    init(stack: SliceStack, geometry: StackGeometry) throws {
        self.stack = stack
        self.geometry = geometry
        // The scan kept each slice's SOP class and position text, so no file is opened twice.
        sources = try stack.slices.prefix(stack.sliceCount).map { s in
            let text = s.positionText.isEmpty ? try DS.join(s.position.array) : s.positionText
            return SourceSlice(sopClassUID: s.sopClassUID, sopInstanceUID: s.sopInstanceUID,
                               frameNumber: s.frameCount > 1 ? s.frame + 1 : nil, imagePositionPatient: text)
        }
        file = try DicomFile(path: stack.first.path)
    }

    /// Why `v` is not on the stack's grid, or nil when it is (within the tolerances).
    static func mismatch(_ v: Volume, stack: SliceStack, geometry g: StackGeometry) -> String? {
        let want = [stack.first.columns, stack.first.rows, stack.sliceCount]
        func fmt(_ a: [Double]) -> String { "(" + a.map { String(format: "%.6g", $0) }.joined(separator: ", ") + ")" }
        if Array(v.size.prefix(3)) != want {
            return "dimensions \(v.size.prefix(3).map(String.init).joined(separator: "x")), the reference has \(want.map(String.init).joined(separator: "x")) (columns x rows x slices)"
        }
        for axis in 0..<3 where (axis < 2 || want[2] > 1) {
            let a = v.direction.column(axis), b = g.direction.column(axis)
            if (0..<3).contains(where: { abs(a[$0] - b[$0]) > directionTolerance }) {
                return "direction of axis \(axis) is \(fmt(a.array)), the reference's is \(fmt(b.array)) (LPS)"
            }
        }
        for axis in 0..<3 where (axis < 2 || want[2] > 1) && abs(v.spacing[axis] - g.spacing[axis]) > mmTolerance {
            return "spacing \(fmt(Array(v.spacing.prefix(3)))) mm, the reference's is \(fmt(g.spacing)) mm"
        }
        if (0..<3).contains(where: { abs(v.origin[$0] - g.origin[$0]) > mmTolerance }) {
            return "origin \(fmt(v.origin.array)) mm, the reference's first slice is at \(fmt(g.origin.array)) mm (LPS)"
        }
        return nil
    }
}
