// NRRD (teem) reading and writing: attached `.nrrd` (gzip by default) and detached `.nhdr` + `.raw`.
// Reads raw/gzip/ASCII encodings in either byte order, RAS/LAS/LPS spaces (converted to LPS), and one
// non-spatial axis (e.g. `kinds: list domain domain domain`), which becomes the Volume's 4th axis.
import Foundation
import I2Model
import I2NIfTI   // Gzip

enum NRRDFormat: VolumeFormat {
    // MARK: Reading

    static func read(path: String) throws -> Volume { try read(path: path, allowOutsideData: false) }

    static func read(path: String, allowOutsideData: Bool) throws -> Volume {
        let bytes = try FileBytes.read(path)
        let h = HeaderText(kind: "NRRD header", path: path)
        guard bytes.starts(with: Array("NRRD000".utf8)) else { throw h.fail("missing the 'NRRD000x' magic line") }
        // The header ends at the first empty line; a detached header may simply end with the file.
        let (lines, dataStart, sawBlank) = HeaderText.lines(bytes) { $0.isEmpty }
        var fields: [String: String] = [:]
        for line in lines.dropFirst() where !line.isEmpty && !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { throw h.fail("line '\(line)' is not 'field: value'") }
            let after = line.index(after: colon)
            if after < line.endIndex && line[after] == "=" { continue }   // "key:=value" pairs carry no geometry
            let key = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let synonyms = ["datafile": "data file", "lineskip": "line skip", "byteskip": "byte skip",
                            "centerings": "centers", "spacedirections": "space directions",
                            "spaceorigin": "space origin", "spacedimension": "space dimension"]
            fields[synonyms[key] ?? key] = line[after...].trimmingCharacters(in: .whitespaces)
        }
        func field(_ name: String) throws -> String {
            guard let v = fields[name] else { throw h.fail("missing '\(name)'") }
            return v
        }

        guard let type = voxelType(try field("type")) else { throw h.fail("unsupported type '\(fields["type"] ?? "")'") }
        let dimension = try h.int(try field("dimension"), field: "dimension")
        guard (1...4).contains(dimension) else { throw h.fail("'dimension' \(dimension) is not supported (1 to 4)") }
        let sizes = try h.ints(try field("sizes"), field: "sizes", count: dimension)
        let count = try h.byteCount(sizes: sizes, type: type, field: "sizes")

        // Which axes are spatial, and where each points.
        var vectors: [Vector3?]
        var haveDirections = false
        if let text = fields["space directions"] {
            vectors = try parseVectors(text, h: h, field: "space directions")
            guard vectors.count == dimension else {
                throw h.fail("'space directions' has \(vectors.count) entries, expected \(dimension)")
            }
            haveDirections = true
        } else {
            // No directions: spacings on an identity grid; the one non-spatial axis (4-D only) is the
            // axis whose kind is not a domain kind, else the last.
            let spacings = try fields["spacings"].map { try h.doubles($0, field: "spacings", count: dimension) }
                ?? Array(repeating: 1, count: dimension)
            let kinds = fields["kinds"].map { $0.split(separator: " ").map { $0.lowercased() } } ?? []
            var list = dimension == 4 ? 3 : -1
            let nonDomain = kinds.indices.filter { !["domain", "space", "time"].contains(kinds[$0]) }
            if dimension == 4, kinds.count == 4, nonDomain.count == 1 { list = nonDomain[0] }
            vectors = []
            var axis = 0
            for i in 0..<dimension {
                if i == list { vectors.append(nil); continue }
                let s = spacings[i].isFinite && spacings[i] != 0 ? spacings[i] : 1
                vectors.append(Matrix3.identity.column(axis) * s)
                axis += 1
            }
        }
        let spatial = vectors.indices.filter { vectors[$0] != nil }
        let others = vectors.indices.filter { vectors[$0] == nil }
        guard others.count <= 1, dimension - others.count <= 3 else {
            throw h.fail("'space directions'/'kinds' must give at most 3 spatial axes and 1 non-spatial axis")
        }
        guard !spatial.isEmpty, haveDirections ? spatial.count >= 2 : true else {
            throw h.fail("'space directions' needs at least two spatial axes")
        }

        // World space → LPS. Without a named space, `space dimension: 3` is taken as already LPS.
        var flip = Vector3(1, 1, 1)
        if let space = fields["space"]?.lowercased() {
            switch space {
            case "left-posterior-superior", "lps": break
            case "right-anterior-superior", "ras": flip = Vector3(-1, -1, 1)
            case "left-anterior-superior", "las": flip = Vector3(1, -1, 1)
            default: throw h.fail("'space: \(space)' is not supported (use left-posterior-superior, right-anterior-superior or left-anterior-superior)")
            }
        } else if let sd = fields["space dimension"], sd.trimmingCharacters(in: .whitespaces) != "3" {
            throw h.fail("'space dimension: \(sd)' is not supported (must be 3)")
        }
        func toLPS(_ v: Vector3) -> Vector3 { Vector3(v.x * flip.x, v.y * flip.y, v.z * flip.z) }

        var columns: [Vector3] = []
        var spacing: [Double] = []
        var size: [Int] = []
        for i in spatial {
            let v = toLPS(vectors[i] ?? .zero)
            let len = v.length
            guard len > 0, len.isFinite else { throw h.fail("'space directions' has a zero or non-finite vector") }
            columns.append(v * (1 / len))
            spacing.append(len)
            size.append(sizes[i])
        }
        while columns.count < 3 {   // 1-D or 2-D: complete the grid with unit axes
            let next = columns.count == 2 ? columns[0].cross(columns[1]).normalized : Matrix3.identity.column(columns.count)
            columns.append(next); spacing.append(1); size.append(1)
        }
        if let k = others.first { size.append(sizes[k]) }
        var origin = Vector3.zero
        if let text = fields["space origin"] {
            let o = try parseVectors(text, h: h, field: "space origin")
            guard o.count == 1, let v = o[0] else { throw h.fail("'space origin' must be one (x,y,z) vector") }
            origin = toLPS(v)
        }

        // The samples: attached after the blank line, or in `data file` relative to the header.
        var source = bytes, sourcePath = path, offset = dataStart
        if let file = fields["data file"] {
            if file.hasPrefix("LIST") || (file.contains("%") && file.contains(" ")) {
                throw h.fail("'data file: \(file)': multi-file data is not supported")
            }
            sourcePath = try DetachedData.path(file, header: path, field: "data file", allowOutside: allowOutsideData)
            source = try FileBytes.read(sourcePath)
            offset = 0
        } else if !sawBlank {
            throw h.fail("no empty line ends the header and no 'data file' is given")
        }
        let lineSkip = try fields["line skip"].map { try h.int($0, field: "line skip") } ?? 0
        let byteSkip = try fields["byte skip"].map { try h.int($0, field: "byte skip") } ?? 0
        guard lineSkip >= 0, byteSkip >= -1 else { throw h.fail("negative 'line skip' or 'byte skip'") }
        // Stop at the end of the data: a huge claim (line skip: 1000000000) must not spin through it.
        var skipped = 0
        while skipped < lineSkip && offset < source.count {
            while offset < source.count && source[offset] != 0x0A { offset += 1 }
            offset = min(offset + 1, source.count)
            skipped += 1
        }
        guard skipped == lineSkip else {
            throw h.fail("'line skip: \(lineSkip)' goes past the end of the data (\(skipped) lines)")
        }

        let encoding = try field("encoding").lowercased()
        var data: [UInt8]
        switch encoding {
        case "raw":
            data = try Samples.slice(source, at: byteSkip < 0 ? -1 : offset + byteSkip, count: count, path: sourcePath)
        case "gzip", "gz":
            guard byteSkip >= 0 else { throw h.fail("'byte skip: -1' cannot be used with gzip encoding") }
            let inflated: [UInt8]
            do { inflated = try Gzip.decompress(source[min(offset, source.count)...], expected: count + byteSkip) }
            catch let e as I2Error { throw e.at(sourcePath) }
            data = try Samples.slice(inflated, at: byteSkip, count: count, path: sourcePath)
        case "ascii", "text", "txt":
            let start = min(offset + max(byteSkip, 0), source.count)
            data = try Samples.parseText(source[start...], count: count / type.byteCount, type: type, path: sourcePath)
        default:
            throw h.fail("unsupported encoding '\(encoding)' (raw, gzip or ascii)")
        }
        if type.byteCount > 1 && encoding != "ascii" && encoding != "text" && encoding != "txt" {
            switch try field("endian").lowercased() {
            case "little": break
            case "big": Samples.swap(&data, width: type.byteCount)
            case let e: throw h.fail("'endian: \(e)' must be little or big")
            }
        }
        // RGB (as i2 and Slicer write it): a first axis of 3 uint8 colour samples, already interleaved.
        let kindList = fields["kinds"].map { $0.split(separator: " ").map { $0.lowercased() } } ?? []
        if let k = others.first, k == 0, dimension == 4, kindList.first == "rgb-color", sizes[0] == 3, type == .uint8 {
            var v = Volume(size: Array(size.dropLast()), spacing: spacing, origin: origin,
                           direction: Matrix3(columns: columns), voxelType: type, data: data)
            v.components = 3
            return v
        }
        if let k = others.first, k != dimension - 1 {
            data = moveAxisLast(data, sizes: sizes, axis: k, width: type.byteCount)
        }
        return Volume(size: size, spacing: spacing, origin: origin, direction: Matrix3(columns: columns),
                      voxelType: type, data: data)
    }

    /// All teem spellings of the types a Volume can hold.
    static func voxelType(_ name: String) -> VoxelType? {
        switch name.lowercased().split(separator: " ").joined(separator: " ") {
        case "signed char", "int8", "int8_t": return .int8
        case "uchar", "unsigned char", "uint8", "uint8_t": return .uint8
        case "short", "short int", "signed short", "signed short int", "int16", "int16_t": return .int16
        case "ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t": return .uint16
        case "int", "signed int", "int32", "int32_t": return .int32
        case "uint", "unsigned int", "uint32", "uint32_t": return .uint32
        case "float": return .float32
        case "double": return .float64
        default: return nil
        }
    }

    /// Parses "(a,b,c) none (d,e,f)" into vectors (nil for `none`).
    static func parseVectors(_ text: String, h: HeaderText, field: String) throws -> [Vector3?] {
        var out: [Vector3?] = []
        var rest = Substring(text)
        while true {
            rest = rest.drop(while: { $0 == " " || $0 == "\t" })
            if rest.isEmpty { return out }
            if rest.lowercased().hasPrefix("none") {
                out.append(nil)
                rest = rest.dropFirst(4)
            } else if rest.first == "(", let close = rest.firstIndex(of: ")") {
                let inner = rest[rest.index(after: rest.startIndex)..<close]
                out.append(Vector3(try h.doubles(inner, field: field, count: 3)))
                rest = rest[rest.index(after: close)...]
            } else {
                throw h.fail("'\(field)' is not a list of (x,y,z) vectors: '\(text)'")
            }
        }
    }

    /// Moves the non-spatial axis `axis` to the slowest position, copying runs of contiguous samples.
    static func moveAxisLast(_ data: [UInt8], sizes: [Int], axis: Int, width: Int) -> [UInt8] {
        let run = sizes[..<axis].reduce(1, *) * width        // contiguous bytes below the axis
        let n = sizes[axis]
        let outer = sizes[(axis + 1)...].reduce(1, *)
        var out = [UInt8](repeating: 0, count: data.count)
        data.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                for o in 0..<outer {
                    for c in 0..<n {
                        memcpy(d + (c * outer + o) * run, s + (o * n + c) * run, run)
                    }
                }
            }
        }
        return out
    }

    // MARK: Writing

    /// Values, not stored integers: a scaled volume is written with its scaling applied (NRRD has no
    /// standard slope field). RGB is a first, fastest axis of 3 (`kinds: RGB-color domain domain domain`).
    static func write(_ volume: Volume, to path: String, options: WriteOptions) throws -> [String] {
        let volume = volume.scaleApplied()
        guard volume.size.count == 3 || volume.size.count == 4, volume.size.allSatisfy({ $0 >= 1 }),
              volume.spacing.count >= 3, volume.data.count == volume.byteCount else {
            throw I2Error(.badInput, path: path, "cannot write NRRD: volume size \(volume.size) does not match its data")
        }
        let rgb = volume.components == 3
        if rgb && volume.size.count == 4 {
            throw I2Error(.badInput, path: path, "cannot write NRRD: 4-D RGB volumes are not supported (write .nii)")
        }
        let detached = path.lowercased().hasSuffix(".nhdr")
        let fourD = volume.size.count == 4
        func vector(_ v: Vector3) -> String { "(\(headerNumber(v.x)),\(headerNumber(v.y)),\(headerNumber(v.z)))" }
        let dirs = (0..<3).map { vector(volume.direction.column($0) * volume.spacing[$0]) }
        var header = """
            NRRD0004
            # Complete NRRD file format specification at:
            # http://teem.sourceforge.net/nrrd/format.html
            type: \(typeName(volume.voxelType))
            dimension: \(volume.size.count + (rgb ? 1 : 0))
            space: left-posterior-superior
            sizes: \(((rgb ? [3] : []) + volume.size).map(String.init).joined(separator: " "))
            space directions: \(rgb ? "none " : "")\(dirs.joined(separator: " "))\(fourD ? " none" : "")
            kinds: \(rgb ? "RGB-color " : "")domain domain domain\(fourD ? " list" : "")
            endian: little
            encoding: \(detached ? "raw" : "gzip")
            space origin: \(vector(volume.origin))

            """
        if !detached {
            header += "\n"   // the empty line that ends an attached header
            let members = volume.data.withUnsafeBytes {
                Gzip.compress($0, level: options.compressionLevel, threads: options.threads)
            }
            try AtomicFile.write(to: path) { tmp in try FileBytes.write([Array(header.utf8)] + members, to: tmp) }
            return [path]
        }
        // Detached: NAME.nhdr names NAME.raw beside it. The data goes first so the header never
        // points at a missing file; if the header fails, the new data file is removed again.
        let url = URL(fileURLWithPath: path)
        let dataName = url.deletingPathExtension().lastPathComponent + ".raw"
        let dataPath = url.deletingLastPathComponent().appendingPathComponent(dataName).path
        header += "data file: \(dataName)\n"
        try AtomicFile.write(volume.data, to: dataPath)
        do { try AtomicFile.write(Array(header.utf8), to: path) } catch { unlink(dataPath); throw error }
        return [path, dataPath]
    }

    /// teem's canonical type names.
    static func typeName(_ t: VoxelType) -> String {
        switch t {
        case .int8: return "signed char"
        case .uint8: return "unsigned char"
        case .int16: return "short"
        case .uint16: return "unsigned short"
        case .int32: return "int"
        case .uint32: return "unsigned int"
        case .float32: return "float"
        case .float64: return "double"
        }
    }
}
