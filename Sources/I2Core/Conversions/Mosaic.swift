// Mosaics: a Siemens MOSAIC or a United Imaging (UIH) grid stores one volume as one 2-D image, its
// slices as tiles left to right, top to bottom. The scan splits such a file into one SliceHeader per
// tile, each with the tile's size and its own ImagePositionPatient, so assembly stacks the tiles (and
// several mosaics over time into 4-D) like ordinary slices; the decoder copies each tile into place.
// Built to dcm2niix's behaviour (console/nii_dicom.cpp): nii_demosaic for the grid, set_nii_header_x
// for the Siemens position correction and slice direction, verify_slice_dir for the UIH direction.
import Foundation
import I2DICOM
import I2Model

enum Mosaic {
    /// What the scan needs to split a mosaic file into tiles.
    struct Layout: Equatable {
        enum Vendor { case siemens, uih }
        var vendor: Vendor
        var count: Int               // tiles (slices)
        var gridColumns: Int
        var gridRows: Int
        var tileRows: Int
        var tileColumns: Int
        /// UIH: the first and last tiles' positions from the per-slice sequence (0065,1051), when present.
        var firstPosition: [Double]?
        var lastPosition: [Double]?
        /// Siemens: CSA SliceNormalVector (dcm2niix's default F>>H, (0,0,1), when absent).
        var sliceNormal = Vector3(0, 0, 1)
    }

    /// The mosaic layout of a single-frame file, nil when it is not a mosaic. Throws, naming the file,
    /// when it claims to be one but the counts cannot describe its image.
    static func layout(of f: DicomFile, rows: Int, columns: Int) throws -> Layout? {
        let manufacturer = (f.string(.manufacturer) ?? "").uppercased()
        let imageType = (f.string(.imageType) ?? "").uppercased().split(separator: "\\").map { $0.trimmingCharacters(in: .whitespaces) }
        if imageType.contains("MOSAIC") && !manufacturer.hasPrefix("UI") {
            // Siemens (dcm2niix: manufacturer "SI…"/"CPS"; the CSA count, or (0019,100A)).
            let csa = f.siemensImageCSA
            let count = csa?.double("NumberOfImagesInMosaic") ?? number(f, .siemensNumberOfImagesInMosaic, binary: true)
            guard let n = count else {
                throw I2Error(.badInput, path: f.path, "MOSAIC image without NumberOfImagesInMosaic (CSA header or \(Tag.siemensNumberOfImagesInMosaic.path)): the number of slices in it is unknown")
            }
            let grid = try gridSize(n, rows: rows, columns: columns, path: f.path, what: "NumberOfImagesInMosaic")
            guard grid.count > 1 else { return nil }   // one tile: an ordinary image (nii_demosaic: nMosaicSlices < 2)
            var layout = Layout(vendor: .siemens, count: grid.count, gridColumns: grid.columns, gridRows: grid.columns,
                                tileRows: rows / grid.columns, tileColumns: columns / grid.columns)
            if let v = csa?.doubles("SliceNormalVector") {
                guard v.count >= 3, v.prefix(3).allSatisfy(\.isFinite), Vector3(Array(v.prefix(3))).length > 0.5 else {
                    throw I2Error(.badInput, path: f.path, "malformed CSA SliceNormalVector \(v)")
                }
                layout.sliceNormal = Vector3(Array(v.prefix(3)))
            }
            return layout
        }
        if manufacturer.hasPrefix("UI"), let n = number(f, .uihNumberOfImagesInGrid, binary: false) {
            // UIH grid (dcm2niix: (0065,1050) sets mosaicSlices; columns ceil(sqrt(n)), rows ceil(n/columns)).
            let grid = try gridSize(n, rows: rows, columns: columns, path: f.path, what: "UIH NumberOfImagesInGrid \(Tag.uihNumberOfImagesInGrid.path)")
            guard grid.count > 1 else { return nil }
            var layout = Layout(vendor: .uih, count: grid.count, gridColumns: grid.columns, gridRows: grid.rows,
                                tileRows: rows / grid.rows, tileColumns: columns / grid.columns)
            if let items = f.items(.uihVFrameSequence), items > 0 {
                layout.firstPosition = f.doubles(in: .uihVFrameSequence, item: 0, .imagePositionPatient)
                layout.lastPosition = f.doubles(in: .uihVFrameSequence, item: items - 1, .imagePositionPatient)
            }
            return layout
        }
        return nil
    }

    /// The grid for `value` tiles in a rows x columns image, or an error saying why it cannot be one.
    static func gridSize(_ value: Double, rows: Int, columns: Int, path: String, what: String) throws -> (count: Int, columns: Int, rows: Int) {
        guard value.isFinite, value >= 0, value == value.rounded(), value <= Double(rows * columns) else {
            throw I2Error(.badInput, path: path, "\(what) \(value) cannot be a number of slices in a \(columns)x\(rows) image")
        }
        let n = Int(value)
        guard n > 0 else { throw I2Error(.badInput, path: path, "\(what) is 0: a mosaic without slices") }
        let gridColumns = Int(Double(n).squareRoot().rounded(.up))
        let gridRows = (n + gridColumns - 1) / gridColumns
        return (n, gridColumns, gridRows)
    }

    /// The count as a number: a string (IS/DS), or for Siemens' US element its binary value.
    /// In an implicit-VR file DCMTK does not know these private elements and reads them as raw bytes
    /// (UN), whose text form is hex ("23\\00"): those are decoded from the bytes, never from that text.
    static func number(_ f: DicomFile, _ tag: Tag, binary: Bool) -> Double? {
        if let b = f.bytes(tag) {
            if binary { return b.count == 2 ? Double(Int(b[0]) | Int(b[1]) << 8) : nil }
            return Double(String(decoding: b, as: UTF8.self).trimmingCharacters(in: .whitespaces.union(.controlCharacters)))
        }
        return f.doubles(tag)?.first
    }

    /// The tiles of a mosaic as slices: `whole` is the file's one SliceHeader (the stored image's size
    /// and ImagePositionPatient). Throws when the tiles do not divide the image or the slice spacing
    /// or direction is unknown.
    static func tiles(_ whole: SliceHeader, layout m: Layout, file f: DicomFile) throws -> [SliceHeader] {
        // Slice spacing: dcm2niix's xyzMM[3], SpacingBetweenSlices when given, else SliceThickness.
        let spacing = [f.doubles(.spacingBetweenSlices)?.first, f.doubles(.sliceThickness)?.first]
            .compactMap({ $0 }).first(where: { $0 > 0 && $0.isFinite })
        return try tiles(whole, layout: m, spacing: spacing, path: f.path)
    }

    static func tiles(_ whole: SliceHeader, layout m: Layout, spacing: Double?, path: String) throws -> [SliceHeader] {
        guard m.gridRows > 0, m.gridColumns > 0, whole.rows % m.gridRows == 0, whole.columns % m.gridColumns == 0,
              m.tileRows > 0, m.tileColumns > 0, m.count <= m.gridRows * m.gridColumns else {
            throw I2Error(.badInput, path: path, "\(m.count) mosaic tiles in a \(m.gridColumns)x\(m.gridRows) grid do not divide the \(whole.columns)x\(whole.rows) image")
        }
        guard let spacing else {
            throw I2Error(.badInput, path: path, "mosaic without SpacingBetweenSlices or SliceThickness: the distance between its slices is unknown")
        }
        let row = whole.rowDirection.normalized, column = whole.columnDirection.normalized
        let normal = whole.normal
        var origin = whole.position
        var sign = 1.0
        switch m.vendor {
        case .siemens:
            // The stored position is the corner of the whole mosaic; the first tile's lies half the
            // difference between the mosaic and a tile in from it (dcm2niix set_nii_header_x: lFactorX =
            // (cols - cols/nRowCol)/2 voxels along the row, the same down the column).
            let grid = Double(m.gridColumns)
            let fx = (Double(whole.columns) - Double(whole.columns) / grid) / 2
            let fy = (Double(whole.rows) - Double(whole.rows) / grid) / 2
            let dx = whole.pixelSpacing.count > 1 ? whole.pixelSpacing[1] : 1, dy = whole.pixelSpacing.first ?? 1
            origin = origin + row * (dx * fx) + column * (dy * fy)
            // Tiles run along SliceNormalVector: when it points against row x column (det < 0, e.g.
            // sagittal), dcm2niix keeps the stored order and negates the slice axis.
            if Matrix3(columns: [row, column, m.sliceNormal]).determinant < 0 { sign = -1 }
        case .uih:
            // No correction: the stored position is the first slice's ("ignore for UIH grid", dcm2niix
            // after dicm2nii 47ad9e6); the scan takes the per-slice sequence's first when it is absent.
            // Direction (verify_slice_dir): the last slice's position decides whether tiles run along
            // row x column or against it.
            guard let last = m.lastPosition, last.count == 3 else {
                throw I2Error(.badInput, path: path, "UIH grid image without per-slice positions \(Tag.uihVFrameSequence.path): the direction of its slices is unknown")
            }
            let axis = [0, 1, 2].max { abs(normal[$0]) < abs(normal[$1]) }!
            let predicted = origin[axis] + normal[axis] * spacing * Double(m.count - 1)
            if abs(last[axis] - origin[axis]) > 1e-4, (last[axis] > origin[axis]) != (predicted > origin[axis]) { sign = -1 }
        }
        let direction = normal * sign
        // Stacking order: Siemens tiles stay in stored order (the slice axis follows them); a UIH grid is
        // sorted along row x column like ordinary slices (dcm2niix flips its slices when verify_slice_dir
        // finds them descending).
        let order = m.vendor == .siemens ? direction : normal
        var out: [SliceHeader] = []
        out.reserveCapacity(m.count)
        for k in 0..<m.count {
            var s = whole
            s.rows = m.tileRows
            s.columns = m.tileColumns
            s.position = origin + direction * (spacing * Double(k))
            s.positionText = ""     // computed, not as written
            s.mosaic = MosaicTile(index: k, count: m.count, gridColumns: m.gridColumns, mosaicRows: whole.rows,
                                  mosaicColumns: whole.columns, sliceDirection: order)
            out.append(s)
        }
        return out
    }

    /// Decodes the mosaic image of `path` once and copies each requested tile into its slot
    /// (`slots`: slot index in the volume, tile). One mosaic-sized buffer per file, no full-volume copy.
    static func read(_ path: String, transferSyntax: String, pixelOffset: Int? = nil, slots: [(index: Int, tile: MosaicTile)],
                     into base: UnsafeMutableRawPointer, tileRows: Int, tileColumns: Int, bytesPerVoxel: Int) throws {
        guard let firstTile = slots.first?.tile else { return }
        let mosaicBytes = firstTile.mosaicRows * firstTile.mosaicColumns * bytesPerVoxel
        var image = try [UInt8].allocated(mosaicBytes, for: path)
        try image.withUnsafeMutableBytes { buf in
            if !NativePixels.applies(to: transferSyntax) || !NativePixels.read(path: path, into: buf, at: pixelOffset) {
                try DicomFile(path: path).readPixels(into: buf)
            }
        }
        let lineBytes = tileColumns * bytesPerVoxel
        let sliceBytes = tileRows * lineBytes
        let stride = firstTile.mosaicColumns * bytesPerVoxel
        image.withUnsafeBytes { src in
            for (slot, tile) in slots {
                let top = (tile.index / tile.gridColumns) * tileRows, left = (tile.index % tile.gridColumns) * tileColumns
                for y in 0..<tileRows {
                    (base + slot * sliceBytes + y * lineBytes)
                        .copyMemory(from: src.baseAddress! + (top + y) * stride + left * bytesPerVoxel, byteCount: lineBytes)
                }
            }
        }
    }
}
