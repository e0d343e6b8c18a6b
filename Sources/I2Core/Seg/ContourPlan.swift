// ContourPlan: the segments and frames a BINARY SEG would have, as an RT Structure Set: one ROI per
// segment, and per frame (segment, slice) the loops of its mask as closed planar contours in patient
// coordinates (PlanarContours: a quarter pixel outside the boundary pixels, which every common reader
// restores exactly), each on and referencing its source slice.
import Foundation
import I2Model

enum ContourPlan {
    /// The ROIs and contours of `plan` (a BINARY plan) over `volumes`, on the grid of `seg` (its source
    /// slices, orientation and pixel spacing). Slices are traced on every core.
    static func structureSet(_ plan: SegPlan, volumes: [LabelMap], seg: Segmentation) throws -> StructureSet {
        var set = StructureSet()
        set.sourceSlices = seg.sourceSlices
        set.rois = plan.segments.map { s in
            let d = s.description
            // ROI Number: the label value itself for one label map (seg2nifti reads it back as the label),
            // the segment number for several masks (their values repeat).
            return StructureSet.ROI(number: volumes.count == 1 ? s.originalLabel : s.number, name: d.segmentLabel ?? d.segmentedPropertyType.codeMeaning,
                                    color: colour(d, number: s.number),
                                    interpretedType: d.segmentedPropertyCategory.codeValue == "123037004" ? "ORGAN" : "",
                                    description: d, originalLabel: s.originalLabel)
        }
        // Pixel (column x, row y) of slice k → patient: its position + x·Δcolumn·row direction + y·Δrow·column direction.
        let iop = seg.imageOrientationPatient
        guard iop.count == 6, seg.pixelSpacing.count == 2 else { throw I2Error(.internal, "reference orientation or pixel spacing missing") }
        let along = Vector3(iop[0], iop[1], iop[2]) * seg.pixelSpacing[1], down = Vector3(iop[3], iop[4], iop[5]) * seg.pixelSpacing[0]
        let origins = try seg.sourceSlices.map { s -> Vector3 in
            let v = s.imagePositionPatient.split(separator: "\\").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard v.count == 3, v.allSatisfy(\.isFinite) else {
                throw I2Error(.badInput, "source instance \(s.sopInstanceUID): ImagePositionPatient '\(s.imagePositionPatient)' is not three numbers")
            }
            return Vector3(v)
        }
        let npix = seg.rows * seg.columns
        set.planes = StructureSet.Planes(origins: origins, column: along, row: down)
        var traced = [[[Float]]](repeating: [], count: plan.frames.count)
        try traced.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            try plan.produce(volumes, seg: seg) { f, bits in
                var mask = [UInt8](repeating: 0, count: npix)
                for i in 0..<npix where bits[i >> 3] & (1 << (i & 7)) != 0 { mask[i] = 1 }
                let loops = mask.withUnsafeBufferPointer { PlanarContours.loops($0, width: seg.columns, height: seg.rows) }
                (base + f).pointee = loops.map { loop in loop.flatMap { [Float($0.x), Float($0.y)] } }
            }
        }
        for (f, frame) in plan.frames.enumerated() {
            for pixels in traced[f] {
                var c = StructureSet.Contour(roi: frame.segmentNumber - 1, slice: frame.slice, points: [])
                c.pixels = pixels
                set.contours.append(c)
            }
        }
        return set
    }

    /// Segment `number`'s display colour: the metadata's RGB or CIELab, else the palette's.
    static func colour(_ d: SegmentDescription, number: Int) -> RGBColor {
        d.recommendedDisplayRGBValue ?? d.recommendedDisplayCIELabValue?.rgb ?? palette(number)
    }

    /// A distinct colour for ROI `number` when the metadata gives none.
    static func palette(_ number: Int) -> RGBColor {
        let colours: [RGBColor] = [RGBColor(255, 0, 0), RGBColor(0, 255, 0), RGBColor(0, 0, 255), RGBColor(255, 255, 0),
                                   RGBColor(0, 255, 255), RGBColor(255, 0, 255), RGBColor(255, 128, 0), RGBColor(128, 0, 255)]
        return colours[(number - 1) % colours.count]
    }
}
