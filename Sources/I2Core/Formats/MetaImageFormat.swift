// MetaImage (ITK MetaIO) reading and writing: `.mha` (header + data in one file, `ElementDataFile =
// LOCAL`) and `.mhd` + `.raw`/`.zraw`. MetaImage world coordinates are LPS, like Volume, so geometry
// passes through unchanged. Writes are uncompressed little-endian.
//
// TransformMatrix convention (checked against ITK's MetaImageIO::ReadImageInformation, which does
// `SetDirection(ii, transformMatrix[ii*N ..< ii*N+N])`): the N*N numbers are N consecutive groups,
// group i being the direction vector of image axis i. Those are the columns of ITK's direction matrix
// and of `Volume.direction`, so TransformMatrix lists `direction.columns` one after another.
import Foundation
import I2Model
import I2NIfTI   // Gzip

enum MetaImageFormat: VolumeFormat {
    // MARK: Reading

    static func read(path: String) throws -> Volume { try read(path: path, allowOutsideData: false) }

    static func read(path: String, allowOutsideData: Bool) throws -> Volume {
        let bytes = try FileBytes.read(path)
        let h = HeaderText(kind: "MetaImage header", path: path)
        // The header ends with the ElementDataFile line; stop early on anything that is not
        // "Key = Value" so a binary file is not scanned to its end.
        let (lines, dataStart, stopped) = HeaderText.lines(bytes) { line in
            guard let eq = line.firstIndex(of: "=") else { return !line.trimmingCharacters(in: .whitespaces).isEmpty }
            return line[..<eq].trimmingCharacters(in: .whitespaces).lowercased() == "elementdatafile"
        }
        var fields: [String: String] = [:]
        for line in lines where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let eq = line.firstIndex(of: "=") else {
                let shown = String(line.prefix(60).map { $0.isASCII && !$0.isNewline && $0.asciiValue.map { $0 >= 32 } == true ? $0 : "?" })
                throw h.fail("line '\(shown)' is not 'Key = Value' (is 'ElementDataFile' missing?)")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            fields[key] = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        }
        guard stopped, let dataFile = fields["elementdatafile"] else { throw h.fail("missing 'ElementDataFile'") }
        func field(_ name: String) throws -> String {
            guard let v = fields[name.lowercased()] else { throw h.fail("missing '\(name)'") }
            return v
        }
        func first(_ names: [String]) -> (String, String)? {
            for n in names { if let v = fields[n.lowercased()] { return (n, v) } }
            return nil
        }
        func bool(_ name: String) throws -> Bool? {
            guard let v = fields[name.lowercased()] else { return nil }
            switch v.lowercased() {
            case "true", "t", "1", "yes": return true
            case "false", "f", "0", "no": return false
            default: throw h.fail("'\(name) = \(v)' is not True or False")
            }
        }

        if let o = fields["objecttype"], o.lowercased() != "image" { throw h.fail("'ObjectType = \(o)' is not an image") }
        let n = try h.int(try field("NDims"), field: "NDims")
        guard (1...4).contains(n) else { throw h.fail("'NDims = \(n)' is not supported (1 to 4)") }
        let dims = try h.ints(try field("DimSize"), field: "DimSize", count: n)
        let typeName = try field("ElementType")
        guard let type = voxelType(typeName) else { throw h.fail("unsupported 'ElementType = \(typeName)'") }
        var channels = 1
        if let c = fields["elementnumberofchannels"] {
            channels = try h.int(c, field: "ElementNumberOfChannels")
            // 3 channels of MET_UCHAR: RGB (as i2 and ITK write colour); nothing else.
            guard channels == 1 || (channels == 3 && type == .uint8 && n <= 3) else {
                throw h.fail("'ElementNumberOfChannels = \(c)': only single-channel images and 3-D 8-bit RGB are supported")
            }
        }
        let count = try h.byteCount(sizes: dims + [channels], type: type, field: "DimSize")

        // Geometry, padded to 3-D: axes beyond NDims get unit spacing and identity directions.
        let m = min(n, 3)
        let spacingField = first(["ElementSpacing", "ElementSize"])
        let sp = try spacingField.map { try h.doubles($0.1, field: $0.0, count: n) } ?? Array(repeating: 1, count: n)
        let originField = first(["Offset", "Position", "Origin"])
        let org = try originField.map { try h.doubles($0.1, field: $0.0, count: n) } ?? Array(repeating: 0, count: n)
        let matrixField = first(["TransformMatrix", "Rotation", "Orientation"])
        let mat = try matrixField.map { try h.doubles($0.1, field: $0.0, count: n * n) }
        var columns = Matrix3.identity.columns
        var spacing = [1.0, 1.0, 1.0]
        var origin = Vector3.zero
        for i in 0..<m {
            spacing[i] = sp[i]
            origin[i] = org[i]
            guard let mat else { continue }
            var v = Vector3.zero
            for j in 0..<m { v[j] = mat[i * n + j] }
            let len = v.length
            guard len > 0, len.isFinite else { throw h.fail("'\(matrixField?.0 ?? "")' has a zero or non-finite axis") }
            // Only renormalise visibly non-unit axes, so written-and-reread geometry stays bit-identical.
            columns[i] = abs(len - 1) > 1e-12 ? v * (1 / len) : v
        }
        var size = Array(dims.prefix(3)) + Array(repeating: 1, count: max(0, 3 - n))
        if n == 4 { size.append(dims[3]) }

        // The samples: after the header (LOCAL) or in a file beside it. HeaderSize -1: at the end.
        var source = bytes, sourcePath = path, start = dataStart
        let headerSize = try fields["headersize"].map { try h.int($0, field: "HeaderSize") } ?? 0
        if dataFile.uppercased() != "LOCAL" {
            if dataFile.uppercased().hasPrefix("LIST") || dataFile.contains("%") {
                throw h.fail("'ElementDataFile = \(dataFile)': multi-file data is not supported")
            }
            sourcePath = try DetachedData.path(dataFile, header: path, field: "ElementDataFile", allowOutside: allowOutsideData)
            source = try FileBytes.read(sourcePath)
            start = max(headerSize, 0)
        }
        if headerSize == -1 { start = -1 }

        let binary = try bool("BinaryData") ?? true
        var data: [UInt8]
        if try bool("CompressedData") ?? false {
            // zlib stream (ITK) or gzip; CompressedDataSize bounds it when present.
            let from = max(start, 0)
            var end = source.count
            if let s = fields["compresseddatasize"] {
                let size = try h.int(s, field: "CompressedDataSize")
                guard size >= 0 else { throw h.fail("'CompressedDataSize' is negative") }
                guard from + size <= source.count else {
                    throw I2Error(.badInput, path: sourcePath, "data ends after \(max(0, source.count - from)) of \(size) bytes")
                }
                end = from + size
            }
            let inflated: [UInt8]
            do { inflated = try Gzip.decompress(source[min(from, end)..<end], expected: count) }
            catch let e as I2Error { throw e.at(sourcePath) }
            data = try Samples.slice(inflated, at: 0, count: count, path: sourcePath)
        } else if binary {
            data = try Samples.slice(source, at: start, count: count, path: sourcePath)
        } else {
            data = try Samples.parseText(source[min(max(start, 0), source.count)...], count: count / type.byteCount,
                                         type: type, path: sourcePath)
        }
        let msb = try bool("BinaryDataByteOrderMSB") ?? bool("ElementByteOrderMSB") ?? false
        if msb && binary { Samples.swap(&data, width: type.byteCount) }
        var volume = Volume(size: size, spacing: spacing, origin: origin, direction: Matrix3(columns: columns),
                            voxelType: type, data: data)
        volume.components = channels
        return volume
    }

    /// MetaIO element types a Volume can hold. MetaIO fixes MET_LONG/MET_ULONG at 4 bytes.
    static func voxelType(_ name: String) -> VoxelType? {
        switch name.uppercased() {
        case "MET_CHAR": return .int8
        case "MET_UCHAR": return .uint8
        case "MET_SHORT": return .int16
        case "MET_USHORT": return .uint16
        case "MET_INT", "MET_LONG": return .int32
        case "MET_UINT", "MET_ULONG": return .uint32
        case "MET_FLOAT": return .float32
        case "MET_DOUBLE": return .float64
        default: return nil
        }
    }

    static func typeName(_ t: VoxelType) -> String {
        switch t {
        case .int8: return "MET_CHAR"
        case .uint8: return "MET_UCHAR"
        case .int16: return "MET_SHORT"
        case .uint16: return "MET_USHORT"
        case .int32: return "MET_INT"
        case .uint32: return "MET_UINT"
        case .float32: return "MET_FLOAT"
        case .float64: return "MET_DOUBLE"
        }
    }

    // MARK: Writing

    /// Values, not stored integers: a scaled volume is written with its scaling applied. RGB is
    /// `ElementNumberOfChannels = 3` (interleaved per voxel, as ITK writes it).
    static func write(_ volume: Volume, to path: String, options: WriteOptions) throws -> [String] {
        let volume = volume.scaleApplied()
        guard volume.size.count == 3 || volume.size.count == 4, volume.size.allSatisfy({ $0 >= 1 }),
              volume.spacing.count >= 3, volume.data.count == volume.byteCount else {
            throw I2Error(.badInput, path: path, "cannot write MetaImage: volume size \(volume.size) does not match its data")
        }
        // A 4-D volume is written as NDims 4 with a unit, unrotated 4th axis (as ITK does).
        let n = volume.size.count
        func list(_ v: [Double]) -> String { v.map(headerNumber).joined(separator: " ") }
        var matrix: [Double] = []
        for i in 0..<n {
            let c = i < 3 ? volume.direction.column(i).array : [0, 0, 0]
            matrix += c + (n == 4 ? [i == 3 ? 1 : 0] : [])
        }
        let pad: [Double] = n == 4 ? [0] : []
        let detached = path.lowercased().hasSuffix(".mhd")
        let url = URL(fileURLWithPath: path)
        let dataName = url.deletingPathExtension().lastPathComponent + ".raw"
        let header = """
            ObjectType = Image
            NDims = \(n)
            BinaryData = True
            BinaryDataByteOrderMSB = False
            CompressedData = False
            TransformMatrix = \(list(matrix))
            Offset = \(list(volume.origin.array + pad))
            CenterOfRotation = \(list([0, 0, 0] + pad))
            ElementSpacing = \(list(Array(volume.spacing.prefix(3)) + (n == 4 ? [1] : [])))
            DimSize = \(volume.size.map(String.init).joined(separator: " "))
            ElementType = \(typeName(volume.voxelType))\(volume.components > 1 ? "\nElementNumberOfChannels = \(volume.components)" : "")
            ElementDataFile = \(detached ? dataName : "LOCAL")

            """
        if !detached {
            try AtomicFile.write(to: path) { tmp in try FileBytes.write([Array(header.utf8), volume.data], to: tmp) }
            return [path]
        }
        // Data first, so the header never names a missing file; undo it if the header fails.
        let dataPath = url.deletingLastPathComponent().appendingPathComponent(dataName).path
        try AtomicFile.write(volume.data, to: dataPath)
        do { try AtomicFile.write(Array(header.utf8), to: path) } catch { unlink(dataPath); throw error }
        return [path, dataPath]
    }
}
