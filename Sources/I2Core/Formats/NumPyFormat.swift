// NumPy .npy plus a JSON sidecar carrying the geometry .npy cannot hold. Arrays are C order with shape
// (nz, ny, nx) or (nt, nz, ny, nx): Volume data is x-fastest, so arr[k, j, i] is voxel (i, j, k) and the
// voxel buffer is written as is. Reading accepts format versions 1-3, either byte order, Fortran order.
import Foundation
import I2Model

enum NumPyFormat: VolumeFormat {
    static func read(path: String) throws -> Volume {
        let (header, dataOffset) = try readHeader(path)
        let (type, bigEndian) = try voxelType(header.descr, path)
        let shape = header.shape
        guard (2...4).contains(shape.count) else {
            throw I2Error(.badInput, path: path, "shape \(shape) is not an image: i2 reads 2-D, 3-D and 4-D arrays")
        }
        guard shape.allSatisfy({ $0 > 0 }) else { throw I2Error(.badInput, path: path, "array shape \(shape) is empty") }
        var count = 1
        for d in shape + [type.byteCount] {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw I2Error(.badInput, path: path, "array shape \(shape) is too large") }
            count = p
        }
        var data = try readData(path, offset: dataOffset, count: count)
        if bigEndian { swapBytes(&data, size: type.byteCount) }
        if header.fortranOrder { data = fortranToC(data, shape: shape, itemSize: type.byteCount) }

        // numpy order is slowest-first; Volume sizes are x-first. A 2-D array is one slice.
        // RGB as i2 writes it: uint8 (k, j, i, c) with c = 3, named so by the sidecar's axes.
        let rgb = shape.count == 4 && shape[3] == 3 && type == .uint8 && sidecarAxes(sidecarPath(path)) == rgbAxes
        var size = Array((rgb ? Array(shape.dropLast()) : shape).reversed())
        if size.count == 2 { size.append(1) }
        var volume = Volume(size: size, spacing: [1, 1, 1], origin: .zero, direction: .identity,
                            voxelType: type, data: data)
        if rgb { volume.components = 3 }
        // Without a sidecar the geometry is unknown: identity (1 mm, origin 0) rather than an error,
        // so arrays made by any numpy code can be converted.
        if let geometry = try readSidecar(sidecarPath(path), shape: shape) {
            (volume.origin, volume.direction, volume.spacing) = geometry
        }
        return volume
    }

    /// Values, not stored integers: a scaled volume is written with its scaling applied. RGB adds a
    /// last, fastest axis of 3 (arr[k, j, i, c]).
    static func write(_ volume: Volume, to path: String, options: WriteOptions) throws -> [String] {
        let volume = volume.scaleApplied()
        guard volume.size.count == 3 || volume.size.count == 4, volume.size.allSatisfy({ $0 > 0 }) else {
            throw I2Error(.badInput, path: path, "NumPy output needs a 3-D or 4-D volume, size \(volume.size)")
        }
        guard volume.data.count == volume.byteCount, volume.spacing.count == 3 else {
            throw I2Error(.badInput, path: path, "volume holds \(volume.data.count) bytes but its size needs \(volume.byteCount)")
        }
        if volume.components > 1 && volume.size.count == 4 {
            throw I2Error(.badInput, path: path, "NumPy output of 4-D RGB volumes is not supported (write .nii)")
        }
        let rgb = volume.components > 1
        let shape = Array(volume.size.reversed()) + (rgb ? [volume.components] : [])
        let descr = descriptor(volume.voxelType)
        let header = npyHeader(descr: descr, shape: shape)
        try AtomicFile.write(to: path) { tmp in
            let out = try OutputFile(tmp)
            defer { out.abandon() }
            try out.write(header)
            try out.write(volume.data)
            try out.close()
        }
        let json = sidecarPath(path)
        let affine = volume.affineLPS.map { $0.map { $0 + 0 } }   // + 0: no "-0" in the JSON
        let sidecar: [String: Any] = [
            "format": "i2 NumPy sidecar 1",
            "axes": rgb ? rgbAxes : shape.count == 4 ? ["t", "k", "j", "i"] : ["k", "j", "i"],
            "axes_note": "array index order, slowest first: arr[k, j, i] (arr[t, k, j, i] for 4-D) is voxel "
                + "(i, j, k) of volume t; i, j, k are the volume axes 0, 1, 2 that the affines map: "
                + "world = affine · (i, j, k, 1), in mm",
            "shape": shape,
            "dtype": descr,
            "spacing": volume.spacing,
            "affine_lps": affine,
            "affine_ras": Geometry.flipLPSRAS(affine).map { $0.map { $0 + 0 } },
        ]
        try AtomicFile.write(Array(try sidecarText(sidecar).utf8), to: json)
        return [path, json]
    }

    /// Pretty JSON with one line per key and per matrix row (JSONSerialization's own pretty printing
    /// puts every number of a 4x4 affine on its own line).
    static func sidecarText(_ object: [String: Any]) throws -> String {
        func compact(_ v: Any) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed, .sortedKeys]), as: UTF8.self)
        }
        let lines = try object.keys.sorted().map { key -> String in
            let value = object[key] ?? NSNull()
            if let rows = value as? [[Double]] {
                return "  \(try compact(key)): [\n    " + (try rows.map(compact).joined(separator: ",\n    ")) + "\n  ]"
            }
            return "  \(try compact(key)): \(try compact(value))"
        }
        return "{\n" + lines.joined(separator: ",\n") + "\n}\n"
    }

    // MARK: header

    struct Header { var descr: String; var fortranOrder: Bool; var shape: [Int] }

    static func sidecarPath(_ path: String) -> String {
        (path.lowercased().hasSuffix(".npy") ? String(path.dropLast(4)) : path) + ".json"
    }

    static func descriptor(_ t: VoxelType) -> String {
        switch t {
        case .uint8: return "|u1"
        case .int8: return "|i1"
        case .uint16: return "<u2"
        case .int16: return "<i2"
        case .uint32: return "<u4"
        case .int32: return "<i4"
        case .float32: return "<f4"
        case .float64: return "<f8"
        }
    }

    static func voxelType(_ descr: String, _ path: String) throws -> (VoxelType, bigEndian: Bool) {
        var code = Substring(descr)
        var big = false
        if let c = code.first, "<>|=".contains(c) { big = c == ">"; code = code.dropFirst() }
        let types: [Substring: VoxelType] = ["u1": .uint8, "b1": .uint8, "i1": .int8, "u2": .uint16, "i2": .int16,
                                             "u4": .uint32, "i4": .int32, "f4": .float32, "f8": .float64]
        guard let t = types[code] else {
            throw I2Error(.badInput, path: path, "unsupported NumPy dtype '\(descr)': i2 reads u1, i1, u2, i2, "
                          + "u4, i4, f4 and f8 (convert first, e.g. arr.astype(np.int32))")
        }
        return (t, big && t.byteCount > 1)
    }

    /// Version 1.0 header, padded with spaces so the data start on a 64-byte boundary.
    static func npyHeader(descr: String, shape: [Int]) -> [UInt8] {
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': ("
            + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",), }" : "), }")
        dict += String(repeating: " ", count: (64 - (10 + dict.utf8.count + 1) % 64) % 64) + "\n"
        let n = UInt16(dict.utf8.count)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(n & 0xff), UInt8(n >> 8)] + Array(dict.utf8)
    }

    /// Parses the preamble and header dict; returns it with the byte offset of the data.
    static func readHeader(_ path: String) throws -> (Header, Int) {
        guard FileManager.default.fileExists(atPath: path) else { throw I2Error(.storage, path: path, "no such file") }
        let head = try readData(path, offset: 0, count: 12, what: "the NumPy preamble")
        guard head.starts(with: [0x93] + Array("NUMPY".utf8)) else {
            throw I2Error(.badInput, path: path, "not a NumPy .npy file (no \\x93NUMPY magic)")
        }
        let major = head[6]
        let (lenBytes, start): (Int, Int)
        switch major {
        case 1: (lenBytes, start) = (Int(head[8]) | Int(head[9]) << 8, 10)
        case 2, 3: (lenBytes, start) = (Int(head[8]) | Int(head[9]) << 8 | Int(head[10]) << 16 | Int(head[11]) << 24, 12)
        default: throw I2Error(.badInput, path: path, "unsupported .npy format version \(major).\(head[7])")
        }
        guard lenBytes <= 1 << 20 else { throw I2Error(.badInput, path: path, "implausible .npy header length \(lenBytes)") }
        let text = try readData(path, offset: start, count: lenBytes, what: "the .npy header")
        var parser = NpyDictParser(text)
        guard let header = parser.header() else {
            throw I2Error(.badInput, path: path, "malformed .npy header: \(String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return (header, start + lenBytes)
    }

    /// Reads exactly `count` bytes at `offset` into a fresh buffer (no whole-file staging copy).
    static func readData(_ path: String, offset: Int, count: Int, what: String = "the array data") throws -> [UInt8] {
        guard let fh = fopen(path, "rb") else {
            throw I2Error(.storage, path: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { fclose(fh) }
        // Header-claimed sizes are checked against the file before anything is allocated.
        var st = stat()
        if fstat(fileno(fh), &st) == 0 && Int(st.st_size) - offset < count {
            throw I2Error(.badInput, path: path,
                          "file is truncated: \(what) needs \(count) bytes, \(max(Int(st.st_size) - offset, 0)) present")
        }
        var got = 0
        let data = [UInt8](unsafeUninitializedCapacity: count) { buf, n in
            if fseeko(fh, off_t(offset), SEEK_SET) == 0, let base = buf.baseAddress { got = fread(base, 1, count, fh) }
            if got < count, let base = buf.baseAddress { (base + got).initialize(repeating: 0, count: count - got) }
            n = count
        }
        guard got == count else {
            throw I2Error(.badInput, path: path, "file is truncated: \(what) needs \(count) bytes, \(got) present")
        }
        return data
    }

    /// Geometry from NAME.json, nil when there is no sidecar.
    static let rgbAxes = ["k", "j", "i", "c"]

    /// The sidecar's "axes", if it exists and has them (malformed sidecars fail later, in readSidecar).
    static func sidecarAxes(_ json: String) -> [String]? {
        guard let bytes = try? FileBytes.read(json),
              let dict = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else { return nil }
        return dict["axes"] as? [String]
    }

    static func readSidecar(_ json: String, shape: [Int]) throws -> (Vector3, Matrix3, [Double])? {
        guard FileManager.default.fileExists(atPath: json) else { return nil }
        let object = try? JSONSerialization.jsonObject(with: Data(try FileBytes.read(json)))
        guard let dict = object as? [String: Any] else { throw I2Error(.badInput, path: json, "sidecar is not a JSON object") }
        if let s = dict["shape"] as? [Int], s != shape {
            throw I2Error(.badInput, path: json, "sidecar describes shape \(s) but the array has shape \(shape)")
        }
        let expected = shape.count == 4 ? ((dict["axes"] as? [String]) == rgbAxes ? rgbAxes : ["t", "k", "j", "i"]) : ["k", "j", "i"]
        if let axes = dict["axes"] as? [String], axes != expected {
            throw I2Error(.badInput, path: json, "sidecar axes \(axes) are not the i2 order \(expected)")
        }
        let rows = (dict["affine_lps"] as? [Any])?.compactMap { ($0 as? [Any])?.compactMap { ($0 as? NSNumber)?.doubleValue } }
        guard let m = rows, m.count == 4, m.allSatisfy({ $0.count == 4 }), m.joined().allSatisfy({ $0.isFinite }) else {
            throw I2Error(.badInput, path: json, "sidecar has no valid 4x4 \"affine_lps\"")
        }
        let g = Geometry.decompose(m)
        return (g.origin, g.direction, g.spacing.map { $0 > 0 ? $0 : 1 })
    }

    // MARK: byte order and memory order

    static func swapBytes(_ data: inout [UInt8], size: Int) {
        func swap<T: FixedWidthInteger>(_: T.Type) {
            data.withUnsafeMutableBufferPointer { $0.withMemoryRebound(to: T.self) { p in
                for i in p.indices { p[i] = p[i].byteSwapped }
            } }
        }
        switch size {
        case 2: swap(UInt16.self)
        case 4: swap(UInt32.self)
        case 8: swap(UInt64.self)
        default: break
        }
    }

    /// Fortran order (first index fastest) → C order (last index fastest) for the same `shape`.
    static func fortranToC(_ data: [UInt8], shape: [Int], itemSize: Int) -> [UInt8] {
        func run<T>(_: T.Type) -> [UInt8] {
            var out = data   // same size; every element is overwritten below
            data.withUnsafeBufferPointer { $0.withMemoryRebound(to: T.self) { src in
                out.withUnsafeMutableBufferPointer { $0.withMemoryRebound(to: T.self) { dst in
                    let n = shape.count
                    var cStride = [Int](repeating: 1, count: n)
                    for a in stride(from: n - 2, through: 0, by: -1) { cStride[a] = cStride[a + 1] * shape[a + 1] }
                    var index = [Int](repeating: 0, count: n)
                    var base = 0, i = 0
                    // Walk the source in its own (Fortran) order; axis 0 is the contiguous run.
                    while i < src.count {
                        var o = base
                        for k in 0..<shape[0] { dst[o] = src[i + k]; o += cStride[0] }
                        i += shape[0]
                        var a = 1
                        while a < n {
                            index[a] += 1; base += cStride[a]
                            if index[a] < shape[a] { break }
                            base -= cStride[a] * shape[a]; index[a] = 0; a += 1
                        }
                    }
                } }
            } }
            return out
        }
        switch itemSize {
        case 1: return run(UInt8.self)
        case 2: return run(UInt16.self)
        case 4: return run(UInt32.self)
        default: return run(UInt64.self)
        }
    }
}

/// The Python-literal dict of an .npy header: {'descr': '<i2', 'fortran_order': False, 'shape': (3, 4), }.
private struct NpyDictParser {
    let s: [UInt8]
    var i = 0
    init(_ bytes: [UInt8]) { s = bytes }

    mutating func header() -> NumPyFormat.Header? {
        var descr: String?, fortran: Bool?, shape: [Int]?
        guard eat("{") else { return nil }
        while !eat("}") {
            guard let key = string(), eat(":") else { return nil }
            switch key {
            case "descr": guard let d = string() else { return nil }; descr = d
            case "fortran_order": guard let f = bool() else { return nil }; fortran = f
            case "shape": guard let t = tuple() else { return nil }; shape = t
            default: return nil
            }
            _ = eat(",")
        }
        guard let d = descr, let f = fortran, let sh = shape else { return nil }
        return NumPyFormat.Header(descr: d, fortranOrder: f, shape: sh)
    }

    mutating func skipSpace() { while i < s.count, s[i] == 0x20 || s[i] == 0x0a || s[i] == 0x09 || s[i] == 0x0d { i += 1 } }

    mutating func eat(_ token: String) -> Bool {
        skipSpace()
        let t = Array(token.utf8)
        guard s.count - i >= t.count, Array(s[i..<i + t.count]) == t else { return false }
        i += t.count
        return true
    }

    mutating func string() -> String? {
        skipSpace()
        guard i < s.count, s[i] == 0x27 || s[i] == 0x22 else { return nil }
        let quote = s[i]
        guard let end = s[(i + 1)...].firstIndex(of: quote) else { return nil }
        defer { i = end + 1 }
        return String(decoding: s[(i + 1)..<end], as: UTF8.self)
    }

    mutating func bool() -> Bool? { eat("True") ? true : (eat("False") ? false : nil) }

    mutating func tuple() -> [Int]? {
        guard eat("(") else { return nil }
        var out: [Int] = []
        while !eat(")") {
            skipSpace()
            let start = i
            while i < s.count, (0x30...0x39).contains(s[i]) { i += 1 }
            guard i > start, let v = Int(String(decoding: s[start..<i], as: UTF8.self)) else { return nil }
            out.append(v)
            _ = eat("L")   // Python 2 long suffix
            _ = eat(",")
        }
        return out
    }
}
