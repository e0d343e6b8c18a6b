// One NIfTI-1 file as nifticlib sees it: a `nifti_image` header (owned, freed in deinit) plus a reader
// that streams the voxels straight into a Swift buffer, and the builder for the header i2 writes.
// Only this module touches CNIfTI; everything above it works with `Volume` (NiftiImage+Volume.swift).
internal import CNIfTI
import Foundation
import I2Model

public final class NiftiImage {
    let nim: UnsafeMutablePointer<nifti_image>
    public let path: String

    /// Reads and validates the header of a .nii / .nii.gz. Voxels are read later by `readData()`.
    public init(path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw Condition.error(.missing, path: path) }
        if isDir.boolValue { throw Condition.error(.directory, path: path) }
        if access(path, R_OK) != 0 { throw Condition.error(.cannotOpen(errno: errno), path: path) }
        // nifticlib prints its own diagnostics to stderr; ours (Condition) name the file and the reason.
        nifti_set_debug_level(0)
        guard let p = nifti_image_read(path, 0) else { throw Condition.error(.unreadableHeader, path: path) }
        nim = p
        self.path = path
    }

    deinit { nifti_image_free(nim) }

    // MARK: header fields

    /// dim[1...7]; unused dimensions are 1.
    public var dims: [Int] {
        let n = nim.pointee
        return [n.nx, n.ny, n.nz, n.nt, n.nu, n.nv, n.nw].map { max(Int($0), 1) }
    }
    public var datatypeCode: Int { Int(nim.pointee.datatype) }
    public var datatypeName: String { String(cString: nifti_datatype_string(nim.pointee.datatype)) }
    public var voxelType: VoxelType? { NiftiImage.voxelType(code: nim.pointee.datatype) }
    public var sclSlope: Double { Double(nim.pointee.scl_slope) }
    public var sclInter: Double { Double(nim.pointee.scl_inter) }
    public var sformCode: Int { Int(nim.pointee.sform_code) }
    public var qformCode: Int { Int(nim.pointee.qform_code) }
    /// pixdim[4] in seconds (nifticlib's dt, converted from xyzt_units' time unit when it names one).
    public var timeStep: Double {
        let dt = Double(nim.pointee.dt)
        switch Int32(nim.pointee.time_units) {
        case NIFTI_UNITS_MSEC: return dt / 1000
        case NIFTI_UNITS_USEC: return dt / 1_000_000
        default: return dt
        }
    }

    /// Voxel → RAS mm, chosen as the NIfTI-1 standard says: sform if set, else qform, else pixdim only
    /// (nifticlib's ANALYZE fallback: diagonal, origin 0).
    public var affineRAS: Matrix4 {
        let n = nim.pointee
        if n.sform_code > 0 {
            var m = n.sto_xyz.m
            return withUnsafeBytes(of: &m) { raw in
                (0..<4).map { r in (0..<4).map { c in Double(raw.load(fromByteOffset: (r * 4 + c) * 4, as: Float.self)) } }
            }
        }
        let d = [n.dx, n.dy, n.dz].map { v -> Double in
            let a = abs(Double(v))
            return a > 0 && a.isFinite ? a : 1
        }
        if n.qform_code > 0 {
            // Recomputed in double from the quaternion (nifticlib's qto_xyz is float arithmetic).
            return NiftiImage.quaternionAffine(b: Double(n.quatern_b), c: Double(n.quatern_c), d: Double(n.quatern_d),
                                               offset: [Double(n.qoffset_x), Double(n.qoffset_y), Double(n.qoffset_z)],
                                               spacing: d, qfac: n.qfac < 0 ? -1 : 1)
        }
        return [[d[0], 0, 0, 0], [0, d[1], 0, 0], [0, 0, d[2], 0], [0, 0, 0, 1]]
    }

    // MARK: voxels

    /// Reads all voxels (little-endian, x-fastest) directly into one buffer: no second copy as with
    /// nifti_image_load, and NaN/Inf floats are kept (nifti_read_buffer would zero them).
    public func readData() throws -> [UInt8] {
        let n = nim.pointee
        let (total, overflow) = Int(n.nvox).multipliedReportingOverflow(by: Int(n.nbyper))
        guard n.iname_offset >= 0, let iname = n.iname, !overflow else { throw Condition.error(.unsupportedLayout, path: path) }
        // A header can claim any size: check it against the file before allocating. deflate expands at
        // most ~1032:1, so a .nii.gz claiming more than that is cut short (or corrupt) too.
        var st = stat()
        if stat(iname, &st) == 0 {
            let available = Int(st.st_size) - Int(n.iname_offset)
            if nifti_is_gzfile(iname) == 0 && available < total {
                throw Condition.error(.truncated(have: available, need: total), path: path)
            }
            if nifti_is_gzfile(iname) != 0 && total / 1032 > Int(st.st_size) {
                throw Condition.error(.truncated(have: nil, need: total), path: path)
            }
        }
        let inflated = nifti_is_gzfile(iname) != 0 ? Gzip.inflateFile(String(cString: iname), skip: Int(n.iname_offset), count: total) : nil
        var data = try inflated ?? readStream(iname, offset: Int(n.iname_offset), total: total)
        if n.swapsize > 1 && n.byteorder != nifti_short_order() {
            data.withUnsafeMutableBytes { nifti_swap_Nbytes(n.nvox, n.swapsize, $0.baseAddress) }
        }
        return data
    }

    /// The voxels through znzlib (zlib for .gz): plain files, and gzip streams libdeflate refused.
    private func readStream(_ iname: UnsafeMutablePointer<CChar>, offset: Int, total: Int) throws -> [UInt8] {
        errno = 0
        guard let fp = znzopen(iname, "rb", nifti_is_gzfile(iname)) else { throw Condition.error(.cannotOpenData(errno: errno), path: path) }
        var file: znzFile? = fp
        defer { Xznzclose(&file) }
        if znzseek(fp, offset, SEEK_SET) < 0 { throw Condition.error(.offsetPastEnd(offset), path: path) }
        var got = 0, corrupt = false
        var data = [UInt8].uninitialized(total)
        data.withUnsafeMutableBytes { buf in
            guard let base = buf.baseAddress else { return }
            // znzread takes at most 2^31 bytes per call on gz files; read in slices. It returns gzread's
            // -1 for a corrupt stream (as a huge size_t): that is an error, not a count (it looped forever).
            while got < total {
                let r = znzread(base + got, 1, min(total - got, 1 << 30), fp)
                if r <= 0 || r > total - got { corrupt = r != 0; break }
                got += r
            }
            (base + got).initializeMemory(as: UInt8.self, repeating: 0, count: total - got)
        }
        if corrupt { throw Condition.error(.zlib(Z_DATA_ERROR), path: path) }
        if got < total || total == 0 { throw Condition.error(.truncated(have: got, need: total), path: path) }
        return data
    }

    // MARK: type codes and geometry helpers

    static func voxelType(code: Int32) -> VoxelType? {
        switch code {
        case DT_UINT8: return .uint8
        case DT_INT8: return .int8
        case DT_UINT16: return .uint16
        case DT_INT16: return .int16
        case DT_UINT32: return .uint32
        case DT_INT32: return .int32
        case DT_FLOAT32: return .float32
        case DT_FLOAT64: return .float64
        default: return nil
        }
    }

    static func code(of type: VoxelType) -> Int32 {
        switch type {
        case .uint8: return DT_UINT8
        case .int8: return DT_INT8
        case .uint16: return DT_UINT16
        case .int16: return DT_INT16
        case .uint32: return DT_UINT32
        case .int32: return DT_INT32
        case .float32: return DT_FLOAT32
        case .float64: return DT_FLOAT64
        }
    }

    /// nifti_quatern_to_mat44 in double precision.
    static func quaternionAffine(b: Double, c: Double, d: Double, offset: [Double], spacing: [Double],
                                 qfac: Double) -> Matrix4 {
        var (a, b, c, d) = (1 - (b * b + c * c + d * d), b, c, d)
        if a < 1e-7 {   // a is ~0: renormalise (b, c, d), a 180° rotation
            let s = 1 / (b * b + c * c + d * d).squareRoot()
            b *= s; c *= s; d *= s; a = 0
        } else {
            a = a.squareRoot()
        }
        let (x, y, z) = (spacing[0], spacing[1], qfac < 0 ? -spacing[2] : spacing[2])
        return [[(a * a + b * b - c * c - d * d) * x, 2 * (b * c - a * d) * y, 2 * (b * d + a * c) * z, offset[0]],
                [2 * (b * c + a * d) * x, (a * a + c * c - b * b - d * d) * y, 2 * (c * d - a * b) * z, offset[1]],
                [2 * (b * d - a * c) * x, 2 * (c * d + a * b) * y, (a * a + d * d - c * c - b * b) * z, offset[2]],
                [0, 0, 0, 1]]
    }

    /// The 348-byte NIfTI-1 header plus the 4-byte extender (no extensions): everything before the
    /// voxels of a single-file .nii, whose data start at vox_offset 352.
    /// `rgb`: DT_RGB24 (3 bytes per voxel, as dcm2niix writes colour); `slope`/`intercept` go to scl_*.
    static func headerBytes(dims: [Int], type: VoxelType, spacing: [Double], affineRAS: Matrix4,
                            rgb: Bool = false, slope: Double = 1, intercept: Double = 0, timeStep: Double = 0,
                            spatial: Bool = true) -> [UInt8] {
        var h = nifti_1_header()
        h.sizeof_hdr = 348
        h.regular = CChar(UInt8(ascii: "r"))
        withUnsafeMutableBytes(of: &h.dim) { raw in
            let dim = raw.bindMemory(to: Int16.self)
            for i in 0..<8 { dim[i] = 1 }
            dim[0] = Int16(dims.count)
            for (i, n) in dims.enumerated() { dim[i + 1] = Int16(n) }
        }
        h.datatype = Int16(rgb ? DT_RGB24 : code(of: type))
        h.bitpix = Int16(rgb ? 24 : type.byteCount * 8)

        let rows = affineRAS.map { $0.map { Float($0) + 0 } }   // + 0: no "-0" from the LPS flip
        var m = mat44()
        withUnsafeMutableBytes(of: &m.m) { raw in
            for r in 0..<4 { for c in 0..<4 { raw.storeBytes(of: rows[r][c], toByteOffset: (r * 4 + c) * 4, as: Float.self) } }
        }
        var qb: Float = 0, qc: Float = 0, qd: Float = 0, qx: Float = 0, qy: Float = 0, qz: Float = 0
        var dx: Float = 0, dy: Float = 0, dz: Float = 0, qfac: Float = 0
        nifti_mat44_to_quatern(m, &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac)
        withUnsafeMutableBytes(of: &h.pixdim) { raw in
            let p = raw.bindMemory(to: Float.self)
            for i in 0..<8 { p[i] = 1 }
            p[0] = qfac < 0 ? -1 : 1
            for i in 0..<3 { p[i + 1] = Float(spacing[i]) }
            p[4] = Float(timeStep)   // dcm2niix: the TR in seconds, 0 when there is none
        }
        h.vox_offset = 352
        h.scl_slope = Float(slope)
        h.scl_inter = Float(intercept)
        h.xyzt_units = CChar(NIFTI_UNITS_MM | NIFTI_UNITS_SEC)   // as dcm2niix writes it, 3-D too
        h.qform_code = Int16(spatial ? NIFTI_XFORM_SCANNER_ANAT : NIFTI_XFORM_UNKNOWN)
        h.sform_code = Int16(spatial ? NIFTI_XFORM_SCANNER_ANAT : NIFTI_XFORM_UNKNOWN)
        (h.quatern_b, h.quatern_c, h.quatern_d) = (qb, qc, qd)
        (h.qoffset_x, h.qoffset_y, h.qoffset_z) = (qx, qy, qz)
        // srow straight from the affine: keeps shear that the qform cannot express.
        func store(_ row: [Float], _ raw: UnsafeMutableRawBufferPointer) {
            for c in 0..<4 { raw.storeBytes(of: row[c], toByteOffset: c * 4, as: Float.self) }
        }
        withUnsafeMutableBytes(of: &h.srow_x) { store(rows[0], $0) }
        withUnsafeMutableBytes(of: &h.srow_y) { store(rows[1], $0) }
        withUnsafeMutableBytes(of: &h.srow_z) { store(rows[2], $0) }
        withUnsafeMutableBytes(of: &h.descrip) { r in for (i, ch) in "i2".utf8.enumerated() { r[i] = ch } }
        withUnsafeMutableBytes(of: &h.magic) { r in r.copyBytes(from: [UInt8(ascii: "n"), UInt8(ascii: "+"), UInt8(ascii: "1"), 0]) }

        var out = withUnsafeBytes(of: &h) { Array($0) }
        out += [0, 0, 0, 0]   // extender: no extensions follow
        return out
    }
}
