// seg2nifti for an RT Structure Set (recognised by its SOP class): every ROI rasterized onto the full
// grid of the --ref series, one label per ROI (its ROI Number, or 1...N in ROI Number order when a
// number exceeds 65535), or one file per ROI (--per-segment, for ROIs that overlap), and the ROIs'
// names, colours and codes as dcmqi metainfo JSON (it feeds back into nifti2seg).
//
// Contours are placed by position: a CLOSED_PLANAR contour lies on the slice whose plane all its points
// are within a quarter of the slice spacing of; one that lies on no slice is an error (a mask with a
// missing part is a wrong answer). The rule inside a slice is PlanarContours.fill's: even-odd over the
// ROI's contours on the slice (holes, islands), and a pixel whose centre lies on a contour counts as
// inside. POINT and OPEN_* contours and ROIs without contours are reported on stderr, not drawn.
import Foundation
import I2DICOM
import I2Model

enum StructureSetToNifti {
    static func convert(_ o: Seg2NiftiOptions, file: DicomFile, format: FileFormat, warn: (String) -> Void,
                        wrote: (String) -> Void) throws -> [String] {
        guard let dir = o.reference else {
            throw I2Error(.usage, path: o.input, "an RT Structure Set has no image grid of its own: give the image series with --ref SERIES_DIR")
        }
        let set = try StructureSetReader.read(file)
        let path = o.input
        guard !set.rois.isEmpty else { throw I2Error(.badInput, path: path, "the structure set describes no ROI") }
        let grid = try ReferenceGrid(dir, object: path, what: "RTSTRUCT",
                                     referencing: Set(set.contours.compactMap(\.referencedSOPInstanceUID)), series: Set(set.referencedSeriesUIDs))
        if let mine = Optional(set.frameOfReferenceUID), !mine.isEmpty, let theirs = grid.frameOfReferenceUID, !theirs.isEmpty, mine != theirs {
            throw I2Error(.badInput, path: path, "its frame of reference \(mine) is not the --ref series' (\(theirs)): the contours' coordinates do not apply to those images")
        }
        let columns = grid.volume.size[0], rows = grid.volume.size[1], slices = grid.slices
        // Contours by ROI and slice, in pixel coordinates; what cannot be drawn is counted for the report.
        var polygons = [[Int: [[(x: Double, y: Double)]]]](repeating: [:], count: set.rois.count)
        var notAreas = [Int: [String: Int]]()
        for (i, c) in set.contours.enumerated() {
            let roi = set.rois[c.roi]
            guard c.geometricType == "CLOSED_PLANAR" else {
                notAreas[c.roi, default: [:]][c.geometricType.isEmpty ? "untyped" : c.geometricType, default: 0] += 1
                continue
            }
            let points = stride(from: 0, to: c.points.count, by: 3).map { Vector3(c.points[$0], c.points[$0 + 1], c.points[$0 + 2]) }
            guard let k = grid.slice(containing: points) else {
                throw I2Error(.badInput, path: path, "ROI \(roi.number) ('\(roi.name)'): contour \(i + 1) (at \(points[0])) lies on no slice of the --ref series \(dir) (within a quarter of the slice spacing)")
            }
            polygons[c.roi][k, default: []].append(points.map { grid.pixel($0, slice: k) })
        }
        for (r, kinds) in notAreas.sorted(by: { $0.key < $1.key }) {
            let roi = set.rois[r]
            let list = kinds.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            warn("\(path): ROI \(roi.number) ('\(roi.name)'): \(list) contour(s) enclose no area: not drawn")
        }
        for (r, roi) in set.rois.enumerated() where polygons[r].isEmpty {
            warn("\(path): ROI \(roi.number) ('\(roi.name)') has no closed contour: its label is empty")
        }
        // Labels: the ROI Numbers when they fit a 16-bit label map, else 1...N in ROI Number order.
        let order = set.rois.indices.sorted { set.rois[$0].number < set.rois[$1].number }
        var label = [Int](repeating: 0, count: set.rois.count)
        let byNumber = set.rois.allSatisfy { $0.number >= 1 && $0.number <= 65535 }
        for (n, r) in order.enumerated() { label[r] = byNumber ? set.rois[r].number : n + 1 }
        if !byNumber { warn("\(path): ROI numbers outside 1...65535: labels are 1...\(set.rois.count) in ROI Number order (see the JSON)") }
        let wide = label.max()! > 255
        let npix = columns * rows
        // i2 convert's voxel order (Ortho.dcm2niixOrder) without reversing afterwards (a copy of the whole
        // map): rows are filled reversed (GE reversed-polarity EPI: kept), the grid reversed; a 3-D
        // acquisition is then reoriented as convert does.
        let first = grid.stack.first
        func row(_ y: Int) -> Int { first.pepolarReversed ? y : rows - 1 - y }
        func finish(_ v: Volume) -> Volume {
            guard first.acquisition3D else { return v }
            var v = v
            Ortho.apply(&v)
            return v
        }

        /// ROI r's pixels on slice k in `buffer` (zero outside the box returned; nil: none), each pixel 0 or 1.
        func mask(_ r: Int, slice k: Int, into buffer: UnsafeMutableBufferPointer<UInt8>) -> (rows: ClosedRange<Int>, columns: ClosedRange<Int>)? {
            guard let polys = polygons[r][k], let box = PlanarContours.box(polys, width: columns, height: rows) else { return nil }
            for y in box.rows { for x in box.columns { buffer[y * columns + x] = 0 } }
            PlanarContours.fill(polys, width: columns, height: rows, into: buffer)
            return box
        }
        func empty(_ type: VoxelType) throws -> Volume {
            var v = grid.volume
            v.voxelType = type
            v.data = try [UInt8].allocated(npix * slices * type.byteCount, for: path)
            v.data.withUnsafeMutableBytes([UInt8].zeroFill)
            return v
        }
        let descriptions = order.map { r -> SegmentDescription in
            var d = set.rois[r].description
            d.labelID = label[r]
            return d
        }
        let stem = String(o.output.dropLast(format.rawValue.count + 1))
        let metaPath = o.meta ?? stem + ".json"
        var metadata = SegmentMetadata(segmentAttributes: [descriptions])
        var outputs: [(path: String, make: () throws -> Volume)] = []
        if o.perSegment {
            // One mask per ROI, each as large as the series but mostly zero: one buffer serves them all,
            // filled in i2 convert's row order (no reversing copy) and cleared where the last ROI was
            // drawn. The writer has released the previous volume when the next is made, so the buffer is
            // never copied.
            var used = Set<String>(), names: [String] = []
            var ordered = grid.volume
            ordered.voxelType = .uint8
            ordered.data = []
            ordered.reverse(axis: 1, voxels: false)   // the rows are filled reversed (row(_:))
            let shared = Box(try empty(.uint8).data)
            var drawn: [(slice: Int, rows: ClosedRange<Int>, columns: ClosedRange<Int>)] = []
            for r in order {
                let roi = set.rois[r]
                var name = "\(stem)_\(roi.number)_\(SegToNifti.safe(roi.name))"
                if !used.insert(name).inserted { name += "_\(roi.number)" }
                let file = name + "." + format.rawValue
                names.append((file as NSString).lastPathComponent)
                outputs.append((file, {
                    var scratch = [UInt8](repeating: 0, count: npix)
                    shared.value.withUnsafeMutableBufferPointer { data in
                        for d in drawn { for y in d.rows { for x in d.columns { data[d.slice * npix + row(y) * columns + x] = 0 } } }
                        drawn.removeAll()
                        scratch.withUnsafeMutableBufferPointer { s in
                            for k in 0..<slices {
                                guard let box = mask(r, slice: k, into: s) else { continue }
                                drawn.append((k, box.rows, box.columns))
                                for y in box.rows {
                                    let start = k * npix + row(y) * columns
                                    for x in box.columns where s[y * columns + x] != 0 { data[start + x] = 1 }
                                }
                            }
                        }
                    }
                    var v = ordered
                    v.data = shared.value
                    return finish(v)
                }))
            }
            metadata.segmentAttributes = descriptions.map { d in var d = d; d.labelID = 1; return [d] }
            metadata.segmentAttributesFileMapping = names
        } else {
            var v = try empty(wide ? .uint16 : .uint8)
            v.reverse(axis: 1, voxels: false)
            var scratch = [UInt8](repeating: 0, count: npix)
            var overlap: (a: Int, b: Int, count: Int)?
            v.data.withUnsafeMutableBytes { raw in
                scratch.withUnsafeMutableBufferPointer { s in
                    for k in 0..<slices {
                        for r in order {
                            guard let box = mask(r, slice: k, into: s) else { continue }
                            let value = label[r]
                            for y in box.rows { for x in box.columns where s[y * columns + x] != 0 {
                                let at = k * npix + row(y) * columns + x
                                let old = wide ? Int(raw.load(fromByteOffset: 2 * at, as: UInt16.self)) : Int(raw[at])
                                if old != 0 && old != value {
                                    let other = label.firstIndex(of: old)!
                                    if overlap == nil { overlap = (other, r, 0) }
                                    if overlap!.a == other && overlap!.b == r { overlap!.count += 1 }
                                }
                                if wide { raw.storeBytes(of: UInt16(value), toByteOffset: 2 * at, as: UInt16.self) } else { raw[at] = UInt8(value) }
                            } }
                        }
                    }
                }
            }
            if let ov = overlap {
                let a = set.rois[ov.a], b = set.rois[ov.b]
                throw I2Error(.badInput, path: path, "ROIs \(a.number) ('\(a.name)') and \(b.number) ('\(b.name)') overlap (\(ov.count) voxels or more): a label map holds one label per voxel; use --per-segment for one file per ROI")
            }
            outputs.append((o.output, { finish(v) }))
        }
        return try SegToNifti.writeAll(outputs, json: { [UInt8](metadata.encoded()) }, metaPath: metaPath, o: o, wrote: wrote)
    }
}

/// A value the per-ROI closures share and mutate in place.
private final class Box<T> {
    var value: T
    init(_ value: T) { self.value = value }
}
