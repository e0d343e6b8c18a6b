// Volume ⇄ NIfTI-1: dimensions, datatypes, scl_slope/scl_inter, and geometry. NIfTI stores a voxel →
// RAS affine; Volume is LPS, so the affine is flipped on the way in and out (Geometry.flipLPSRAS).
internal import CNIfTI
import Foundation
import I2Model

extension NiftiImage {
    /// Reads a .nii or .nii.gz into a Volume (LPS), with intensity scaling applied.
    public static func readVolume(path: String) throws -> Volume {
        let image = try NiftiImage(path: path)
        var volume = try image.grid()
        volume.data = try image.readData()
        if volume.components == 3 { return volume }   // scl_* do not apply to RGB
        applyScaling(&volume, slope: image.sclSlope, inter: image.sclInter)
        return volume
    }

    /// A .nii or .nii.gz whose voxels can be used as stored (native byte order, no scaling, scalar, whole,
    /// aligned to the voxel size), outside a Swift array: its grid (no data), the bytes, and where the
    /// voxels start in them. A .nii is mapped; a .nii.gz is inflated into memory whose pages another
    /// thread faults in ahead of the inflater. nil for anything else, which `readVolume` reads (and reports).
    public static func mapVolume(path: String) throws -> (volume: Volume, bytes: MappedBytes, offset: Int)? {
        let image = try NiftiImage(path: path)
        let n = image.nim.pointee
        let volume = try image.grid()
        let offset = Int(n.iname_offset), bytes = volume.voxelType.byteCount
        guard volume.components == 1, let iname = n.iname, String(cString: iname) == path,
              n.swapsize <= 1 || n.byteorder == nifti_short_order(),
              image.sclSlope == 0 || !image.sclSlope.isFinite || (image.sclSlope == 1 && image.sclInter == 0),
              offset >= 348, offset % bytes == 0 else { return nil }
        if nifti_is_gzfile(iname) != 0 {
            // A claim beyond what deflate can expand to is refused by readData, with its message.
            var st = stat()
            guard stat(iname, &st) == 0, volume.byteCount / 1032 <= Int(st.st_size),
                  let memory = MappedBytes(anonymous: offset + volume.byteCount),
                  Gzip.inflateFile(path, into: memory.bytes), Self.startsWithHeader(memory.bytes) else { return nil }
            return (volume, memory, offset)
        }
        // The bytes must be the header nifticlib read: a gzip stream named .nii (which znzlib inflates
        // unasked) would otherwise be taken for voxels.
        guard let file = MappedBytes(file: path), file.bytes.count - offset >= volume.byteCount, Self.startsWithHeader(file.bytes) else { return nil }
        return (volume, file, offset)
    }

    /// Whether `bytes` start with a NIfTI-1 or NIfTI-2 header (sizeof_hdr 348 or 540, either byte order).
    static func startsWithHeader(_ bytes: UnsafeMutableRawBufferPointer) -> Bool {
        guard bytes.count >= 4 else { return false }
        let size = bytes.loadUnaligned(as: UInt32.self)
        return [348, 540].contains(size) || [348, 540].contains(size.byteSwapped)
    }

    /// The volume this header describes (size, type, geometry), without voxels.
    private func grid() throws -> Volume {
        let rgb = datatypeCode == Int(DT_RGB24)   // dcm2niix's colour output: uint8 R, G, B per voxel
        guard let type = rgb ? .uint8 : voxelType else {
            throw I2Error(.badInput, path: path,
                          "unsupported NIfTI datatype \(datatypeName) (code \(datatypeCode)); "
                          + "i2 reads uint8, int8, uint16, int16, uint32, int32, float32, float64 and RGB24")
        }
        let d = dims
        if d[4...].contains(where: { $0 > 1 }) {
            throw I2Error(.badInput, path: path,
                          "NIfTI images with more than 4 dimensions are not supported (dim[1...7] = \(d))")
        }
        let size = d[3] > 1 ? Array(d[0..<4]) : Array(d[0..<3])

        let affine = affineRAS
        guard affine.joined().allSatisfy({ $0.isFinite }) else {
            throw I2Error(.badInput, path: path, "the voxel-to-world transform has non-finite entries")
        }
        var (origin, direction, spacing) = Geometry.decompose(Geometry.flipLPSRAS(affine))
        // A zero column (degenerate sform) would give zero spacing; decompose already chose a unit axis.
        spacing = spacing.map { $0 > 0 ? $0 : 1 }
        if !(origin.x.isFinite && origin.y.isFinite && origin.z.isFinite) { origin = .zero }

        var volume = Volume(size: size, spacing: spacing, origin: origin, direction: direction, voxelType: type, data: [])
        if timeStep.isFinite && timeStep > 0 { volume.timeStep = timeStep }
        if rgb { volume.components = 3 }
        return volume
    }

    /// Everything before the voxels of a single-file .nii (header + empty extender, 352 bytes), after
    /// checking that the volume fits NIfTI-1. Write these bytes, then `volume.data`.
    public static func prefix(for volume: Volume) throws -> [UInt8] {
        guard volume.size.count == 3 || volume.size.count == 4 else {
            throw I2Error(.badInput, "NIfTI output needs a 3-D or 4-D volume, not \(volume.size.count)-D")
        }
        if let bad = volume.size.first(where: { $0 < 1 || $0 > Int(Int16.max) }) {
            throw I2Error(.badInput, "dimension \(bad) does not fit NIfTI-1 (1...\(Int16.max) per axis)")
        }
        guard volume.data.count == volume.byteCount else {
            throw I2Error(.badInput, "volume holds \(volume.data.count) bytes but its size needs \(volume.byteCount)")
        }
        guard volume.spacing.count == 3, volume.direction.columns.count == 3 else {
            throw I2Error(.badInput, "the volume geometry needs 3 spacings and 3 direction columns")
        }
        let affine = Geometry.flipLPSRAS(volume.affineLPS)
        guard affine.joined().allSatisfy({ $0.isFinite }) else {
            throw I2Error(.badInput, "the volume geometry has non-finite entries")
        }
        guard volume.components == 1 || (volume.components == 3 && volume.voxelType == .uint8) else {
            throw I2Error(.badInput, "NIfTI holds scalar voxels or 8-bit RGB, not \(volume.components) \(volume.voxelType) components")
        }
        guard volume.slope.isFinite, volume.intercept.isFinite, volume.slope != 0 else {
            throw I2Error(.badInput, "the volume's value scaling (slope \(volume.slope), intercept \(volume.intercept)) cannot be written")
        }
        return headerBytes(dims: volume.size, type: volume.voxelType, spacing: volume.spacing, affineRAS: affine,
                           rgb: volume.components == 3, slope: volume.slope, intercept: volume.intercept, timeStep: volume.timeStep,
                           spatial: volume.geometryKnown)
    }

    // MARK: intensity scaling

    /// Applies value = stored * slope + inter when the header asks for it (slope 0 means "unscaled").
    /// Integers with slope 1 and an integral intercept stay integers when the result fits the type;
    /// otherwise the result is float32 (float64 stays float64 rather than losing precision).
    static func applyScaling(_ v: inout Volume, slope: Double, inter: Double) {
        guard slope != 0, slope.isFinite, inter.isFinite, !(slope == 1 && inter == 0) else { return }
        let f = { (x: Double) in x * slope + inter }
        switch v.voxelType {
        case .float64:
            v.data = mapVoxels(v.data, Double.self, Double.self) { f($0) }
            return
        case .float32:
            v.data = mapVoxels(v.data, Float.self, Float.self) { Float(f(Double($0))) }
            return
        default: break
        }
        if slope == 1, inter == inter.rounded(), let range = v.voxelType.integerRange {
            let kept: Bool
            switch v.voxelType {
            case .uint8: kept = shift(&v.data, UInt8.self, by: inter, within: range)
            case .int8: kept = shift(&v.data, Int8.self, by: inter, within: range)
            case .uint16: kept = shift(&v.data, UInt16.self, by: inter, within: range)
            case .int16: kept = shift(&v.data, Int16.self, by: inter, within: range)
            case .uint32: kept = shift(&v.data, UInt32.self, by: inter, within: range)
            default: kept = shift(&v.data, Int32.self, by: inter, within: range)
            }
            if kept { return }
        }
        switch v.voxelType {
        case .uint8: v.data = mapVoxels(v.data, UInt8.self, Float.self) { Float(f(Double($0))) }
        case .int8: v.data = mapVoxels(v.data, Int8.self, Float.self) { Float(f(Double($0))) }
        case .uint16: v.data = mapVoxels(v.data, UInt16.self, Float.self) { Float(f(Double($0))) }
        case .int16: v.data = mapVoxels(v.data, Int16.self, Float.self) { Float(f(Double($0))) }
        case .uint32: v.data = mapVoxels(v.data, UInt32.self, Float.self) { Float(f(Double($0))) }
        default: v.data = mapVoxels(v.data, Int32.self, Float.self) { Float(f(Double($0))) }
        }
        v.voxelType = .float32
    }

    /// Adds an integral intercept in place if every result fits the type; false (data untouched) if not.
    private static func shift<T: FixedWidthInteger>(_ data: inout [UInt8], _: T.Type, by inter: Double,
                                                    within range: ClosedRange<Double>) -> Bool {
        data.withUnsafeMutableBufferPointer { bytes in
            bytes.withMemoryRebound(to: T.self) { p in
                guard let lo = p.min(), let hi = p.max(),
                      range.contains(Double(lo) + inter), range.contains(Double(hi) + inter) else { return false }
                let k = Int64(inter)   // |inter| < 2^33 here, since both results fit a 32-bit range
                for i in p.indices { p[i] = T(truncatingIfNeeded: Int64(p[i]) + k) }
                return true
            }
        }
    }

    /// Converts every voxel of type T to type U through `f` into a new little-endian buffer.
    private static func mapVoxels<T, U>(_ data: [UInt8], _: T.Type, _: U.Type, _ f: (T) -> U) -> [UInt8] {
        let n = data.count / MemoryLayout<T>.stride
        return [UInt8](unsafeUninitializedCapacity: n * MemoryLayout<U>.stride) { out, count in
            data.withUnsafeBufferPointer { input in
                input.withMemoryRebound(to: T.self) { src in
                    out.withMemoryRebound(to: U.self) { dst in
                        for i in 0..<n { dst.initializeElement(at: i, to: f(src[i])) }
                    }
                }
            }
            count = n * MemoryLayout<U>.stride
        }
    }
}
