// OverlayPlan: the source series with each label drawn in its colour, as 8-bit RGB on the source's own
// grid (frame order), for PACS viewers that show neither SEG nor RTSTRUCT: the source windowed to gray
// (the series' own window, else --window), each segment's voxels blended half and half with its colour
// (`fill`) or only its boundary (4-neighbours of another segment or none) painted in it (`outline`).
// VolumeToDicom writes it as a Secondary Capture series with the source's positions, orientation and
// frame of reference, BurnedInAnnotation YES.
import Foundation
import I2DICOM
import I2Model

public enum OverlayPlan {
    public enum Style: String, CaseIterable, Sendable { case fill, outline }

    /// Window presets (center, width) for --window.
    public static let presets: [String: (center: Double, width: Double)] = [
        "soft-tissue": (40, 400), "lung": (-600, 1500), "bone": (400, 1800), "brain": (40, 80), "liver": (60, 160),
    ]

    /// --window's text: a preset name or "CENTER,WIDTH"; nil for text that is neither.
    public static func window(_ text: String) -> (center: Double, width: Double)? {
        if let p = presets[text] { return p }
        let v = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard v.count == 2, let c = v[0], let w = v[1], c.isFinite, w.isFinite, w > 0 else { return nil }
        return (c, w)
    }

    /// Slice k of the overlay as interleaved RGB bytes. `volumes` and `plan` as nifti2seg has them (frame
    /// order, the reference's grid); `colours[i]` is segment i's colour; the source read a slab at a time
    /// (`source`), so neither the source nor the overlay (3 bytes a voxel) is ever whole in memory.
    static func slice(_ k: Int, source: DicomToVolume.SlabCursor, window: (center: Double, width: Double), volumes: [Volume],
                      plan: SegPlan, colours: [RGBColor], style: Style) throws -> [UInt8] {
        let slab = try source.slab(holding: k)
        let (nx, ny) = (slab.volume.size[0], slab.volume.size[1])
        let npix = nx * ny, base = k * npix, within = (k - slab.start) * npix
        // Segment index of each pixel (-1: none): the first input file that gives one wins.
        var segment = [Int32](repeating: -1, count: npix)
        for (file, v) in volumes.enumerated() {
            plan.segmentOf[file].withUnsafeBufferPointer { of in
                v.forEachStored(in: base..<(base + npix)) { i, x in
                    guard segment[i - base] < 0, x > 0, x <= Double(LabelScan.maxLabel) else { return }
                    segment[i - base] = of[Int(x)]
                }
            }
        }
        var out = [UInt8](repeating: 0, count: npix * 3)
        let low = window.center - window.width / 2
        out.withUnsafeMutableBufferPointer { o in
            let width = window.width
            slab.volume.forEachValue(in: within..<(within + npix)) { i, x in
                // Half up, as .rounded() for the non-negative values that are not clamped: no libm call.
                let v = (x - low) / width * 255
                let g: UInt8 = v <= 0 ? 0 : v >= 255 ? 255 : UInt8(v + 0.5)
                let j = 3 * (i - within)
                o[j] = g; o[j + 1] = g; o[j + 2] = g
            }
            for i in 0..<npix where segment[i] >= 0 {
                let c = colours[Int(segment[i])]
                if style == .outline {
                    let (x, y) = (i % nx, i / nx)
                    let inner = x > 0 && x < nx - 1 && y > 0 && y < ny - 1
                        && segment[i - 1] == segment[i] && segment[i + 1] == segment[i]
                        && segment[i - nx] == segment[i] && segment[i + nx] == segment[i]
                    if inner { continue }
                    o[3 * i] = c.red; o[3 * i + 1] = c.green; o[3 * i + 2] = c.blue
                } else {
                    o[3 * i] = UInt8((Int(o[3 * i]) + Int(c.red) + 1) / 2)
                    o[3 * i + 1] = UInt8((Int(o[3 * i + 1]) + Int(c.green) + 1) / 2)
                    o[3 * i + 2] = UInt8((Int(o[3 * i + 2]) + Int(c.blue) + 1) / 2)
                }
            }
        }
        return out
    }
}
