// The one volume model: a voxel buffer plus its grid, in DICOM patient coordinates (LPS).
// Every format converts to and from this; NIfTI's RAS affine is derived at the edge (Geometry.swift).
#if canImport(Glibc)
import Glibc
#endif

/// Voxel storage types, little-endian in `Volume.data`.
public enum VoxelType: String, CaseIterable, Sendable {
    case uint8, int8, uint16, int16, uint32, int32, float32, float64

    public var byteCount: Int {
        switch self {
        case .uint8, .int8: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .float64: return 8
        }
    }
    public var isFloat: Bool { self == .float32 || self == .float64 }
    public var isSigned: Bool { self == .int8 || self == .int16 || self == .int32 || isFloat }

    /// The inclusive range an integer type holds (floats: nil).
    public var integerRange: ClosedRange<Double>? {
        switch self {
        case .uint8: return 0...255
        case .int8: return -128...127
        case .uint16: return 0...65535
        case .int16: return -32768...32767
        case .uint32: return 0...4_294_967_295
        case .int32: return -2_147_483_648...2_147_483_647
        case .float32, .float64: return nil
        }
    }
}

/// A 3-D (or 4-D: x, y, z, t) image on a regular grid.
///
/// Voxel (i, j, k) sits at `origin + i*spacing[0]*direction.column(0) + j*spacing[1]*direction.column(1)
/// + k*spacing[2]*direction.column(2)`, all in LPS millimetres. `data` is x-fastest, little-endian.
/// For a DICOM series converted by i2 convert the order is dcm2niix's: axis 0 runs along a row (IOP's
/// first vector), axis 1 UP the columns (the last DICOM row first: direction column 1 is minus IOP's
/// second vector), axis 2 along the slice normal (row x column), lowest slice first; so .nii, .nrrd,
/// .mha and .npy hold dcm2niix's array. (seg2nifti's label maps follow the same order.)
public struct Volume: Sendable {
    public var size: [Int]              // 3 or 4 entries; size[3] is the number of volumes (time/echo)
    public var spacing: [Double]        // 3 entries, mm
    public var origin: Vector3          // LPS mm, centre of voxel (0,0,0)
    public var direction: Matrix3       // columns are the LPS unit vectors of axes 0, 1, 2
    public var voxelType: VoxelType
    public var data: [UInt8]
    /// Seconds between volumes of a 4-D series (NIfTI pixdim[4]; dcm2niix writes the TR there, 3-D too).
    public var timeStep: Double = 0
    /// False when the source gave no patient geometry: NIfTI writes qform/sform code 0 (as dcm2niix does).
    public var geometryKnown = true
    /// Values per voxel: 1 (scalar) or 3 (RGB: uint8 R, G, B interleaved per voxel, NIfTI's RGB24 layout).
    public var components: Int = 1
    /// The value of a voxel is `stored * slope + intercept` (NIfTI's scl_slope/scl_inter). DICOM
    /// conversion keeps the stored integers and their rescale here, as dcm2niix does; NIfTI writes them to
    /// scl_*, every other writer writes the values themselves (`applyScale()`). Readers return 1 and 0.
    public var slope: Double = 1
    public var intercept: Double = 0

    public init(size: [Int], spacing: [Double], origin: Vector3, direction: Matrix3,
                voxelType: VoxelType, data: [UInt8]) {
        self.size = size
        self.spacing = spacing
        self.origin = origin
        self.direction = direction
        self.voxelType = voxelType
        self.data = data
    }

    /// A zero-filled volume.
    public init(size: [Int], spacing: [Double] = [1, 1, 1], origin: Vector3 = .zero,
                direction: Matrix3 = .identity, voxelType: VoxelType) {
        let count = size.reduce(1, *) * voxelType.byteCount
        self.init(size: size, spacing: spacing, origin: origin, direction: direction,
                  voxelType: voxelType, data: [UInt8](repeating: 0, count: count))
    }

    public var voxelCount: Int { size.reduce(1, *) }
    public var byteCount: Int { voxelCount * voxelType.byteCount * components }
    /// True when the stored values are not the values (slope or intercept set).
    public var isScaled: Bool { slope != 1 || intercept != 0 }

    /// Reverses the voxel order along `axis` (0, 1 or 2) in place, keeping every voxel where it is in the
    /// world: the origin moves to the far end of the axis and that direction column changes sign.
    /// With `voxels: false` only the grid is reversed (the image is mirrored in the world): dcm2niix's
    /// extra row flip of GE epi_pepolar reversed volumes.
    public mutating func reverse(axis: Int, voxels: Bool = true) {
        precondition((0..<3).contains(axis) && size.count >= 3)
        let n = size[axis]
        guard n > 1 else { return }
        let d = direction.column(axis)
        origin = origin + d * (spacing[axis] * Double(n - 1))
        var cols = (0..<3).map { direction.column($0) }
        cols[axis] = d * -1
        direction = Matrix3(columns: cols)
        guard voxels else { return }
        let bytes = voxelType.byteCount * components   // whole voxels: an RGB voxel moves as 3 bytes
        let run = size[0..<axis].reduce(1, *) * bytes          // contiguous bytes per step along the axis
        let blocks = data.count / (run * n)                    // everything above the axis (slices, volumes)
        data.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            for b in 0..<blocks { Volume.reverseRuns(base + b * run * n, run: run, count: n) }
        }
    }

    /// Reverses the order of `count` runs of `run` bytes at `base`, in place: the voxel move of
    /// `reverse`, for callers that reverse a slice while it is in cache.
    public static func reverseRuns(_ base: UnsafeMutableRawPointer, run: Int, count n: Int) {
        guard n > 1 else { return }
        let tmp = UnsafeMutableRawPointer.allocate(byteCount: run, alignment: 16)
        defer { tmp.deallocate() }
        for i in 0..<(n / 2) {
            let p = base + i * run, q = base + (n - 1 - i) * run
            tmp.copyMemory(from: p, byteCount: run)
            p.copyMemory(from: q, byteCount: run)
            q.copyMemory(from: tmp, byteCount: run)
        }
    }

    /// Voxel-to-LPS affine (4x4, row-major), spacing folded in.
    public var affineLPS: Matrix4 { Geometry.affine(origin: origin, direction: direction, spacing: spacing) }
}

extension Volume {
    /// Calls `body(index, value)` for the voxels in `range`, whatever the voxel type: the value, i.e.
    /// stored * slope + intercept (inlinable: a closure call per voxel is otherwise the cost of a
    /// whole-volume pass). Scalar volumes only.
    @inlinable public func forEachValue(in range: Range<Int>, _ body: (Int, Double) -> Void) {
        if isScaled {
            let (sl, ic) = (slope, intercept)
            forEachStored(in: range) { i, x in body(i, x * sl + ic) }
        } else {
            forEachStored(in: range, body)
        }
    }

    /// Calls `body(index, stored value)` for the voxels in `range`, slope and intercept not applied.
    @inlinable public func forEachStored(in range: Range<Int>, _ body: (Int, Double) -> Void) {
        precondition(components == 1, "per-voxel values of a scalar volume")
        data.withUnsafeBytes { raw in
            func go<T>(_: T.Type, _ value: (T) -> Double) {
                let p = raw.bindMemory(to: T.self)
                for i in range { body(i, value(p[i])) }
            }
            switch voxelType {
            case .uint8: go(UInt8.self) { Double($0) }
            case .int8: go(Int8.self) { Double($0) }
            case .uint16: go(UInt16.self) { Double($0) }
            case .int16: go(Int16.self) { Double($0) }
            case .uint32: go(UInt32.self) { Double($0) }
            case .int32: go(Int32.self) { Double($0) }
            case .float32: go(Float.self) { Double($0) }
            case .float64: go(Double.self) { $0 }
            }
        }
    }
}

extension Volume {
    /// Replaces the stored values by `stored * slope + intercept` and resets slope/intercept to 1/0.
    /// An integral slope and intercept keep an integer type (the narrowest of the stored type, int16 and
    /// int32 that holds every result); anything else becomes float32 (float64 stays float64).
    public mutating func applyScale() {
        guard isScaled else { return }
        let (sl, ic) = (slope, intercept)
        (slope, intercept) = (1, 0)
        guard components == 1 else { return }   // RGB is never scaled
        let n = voxelCount
        var lo = Double.infinity, hi = -Double.infinity
        forEachStored(in: 0..<n) { _, x in lo = Swift.min(lo, x); hi = Swift.max(hi, x) }
        let a = lo * sl + ic, b = hi * sl + ic
        var target: VoxelType = voxelType == .float64 ? .float64 : .float32
        if !voxelType.isFloat, sl == sl.rounded(), ic == ic.rounded(), n > 0 {
            target = [voxelType, .int16, .int32].first { t in
                t.integerRange.map { $0.contains(Swift.min(a, b)) && $0.contains(Swift.max(a, b)) } ?? false
            } ?? .float32
        }
        var out = [UInt8].uninitialized(n * target.byteCount)
        out.withUnsafeMutableBytes { raw in
            func put<T>(_: T.Type, _ make: @escaping (Double) -> T) {
                let p = raw.bindMemory(to: T.self)
                forEachStored(in: 0..<n) { i, x in p[i] = make(x * sl + ic) }
            }
            switch target {
            case .uint8: put(UInt8.self) { UInt8($0) }
            case .int8: put(Int8.self) { Int8($0) }
            case .uint16: put(UInt16.self) { UInt16($0) }
            case .int16: put(Int16.self) { Int16($0) }
            case .uint32: put(UInt32.self) { UInt32($0) }
            case .int32: put(Int32.self) { Int32($0) }
            case .float32: put(Float.self) { Float($0) }
            case .float64: put(Double.self) { $0 }
            }
        }
        data = out
        voxelType = target
    }

    /// This volume with its values applied (`applyScale()`), for writers without a scaling field.
    public func scaleApplied() -> Volume {
        var v = self
        v.applyScale()
        return v
    }
}

extension Array where Element == UInt8 {
    /// A buffer whose contents the caller overwrites entirely: skips zero-filling (and so touching)
    /// every page of a large volume before it is read into.
    public static func uninitialized(_ count: Int) -> [UInt8] {
        // Not backed by huge pages (MADV_HUGEPAGE): faster in the median, but where Linux must compact
        // memory first (defrag "madvise", Debian's default) a 150 MB label map took 0.55 s instead of
        // 0.2 (2 runs in 5 on a machine up for a day): slower on average, and unpredictable.
        [UInt8](unsafeUninitializedCapacity: count) { _, n in n = count }
    }
}

extension Array where Element == UInt8 {
    /// `count` zero bytes whose pages are not touched: the whole pages inside are given back to the
    /// kernel (MADV_DONTNEED: a private anonymous page then reads as zero until it is written), only the
    /// partial pages at either end are cleared. A sparse label map of 75 MB is mostly pages nobody
    /// writes; zero-filling them cost 18,000 page faults, most of the time of a sparse seg2nifti. Call
    /// `mapUntouched` once the writing is done.
    public static func zeroed(_ count: Int) -> [UInt8] {
        var out = uninitialized(count)
        out.withUnsafeMutableBytes(zeroFill)
        return out
    }

    /// Zeroes `raw` (private anonymous memory, as malloc's) as `zeroed` does.
    public static func zeroFill(_ raw: UnsafeMutableRawBufferPointer) {
        guard let (base, start, end) = pages(raw) else { raw.initializeMemory(as: UInt8.self, repeating: 0); return }
        if madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_DONTNEED) == 0 {
            base.initializeMemory(as: UInt8.self, repeating: 0, count: start - Int(bitPattern: base))
            UnsafeMutableRawPointer(bitPattern: end)!.initializeMemory(as: UInt8.self, repeating: 0, count: Int(bitPattern: base) + raw.count - end)
        } else {
            raw.initializeMemory(as: UInt8.self, repeating: 0)
        }
    }

    /// After writing into `zeroed` memory: the pages nothing wrote mapped to the kernel's zero page at
    /// once (MADV_POPULATE_READ, Linux 5.14; a no-op where refused), so a reader of the whole buffer (the
    /// .nii.gz writer's zero scan) takes no fault for each. Not before writing: a write to a page mapped
    /// that way must replace it, and with other threads running each replacement interrupts every core.
    public static func mapUntouched(_ raw: UnsafeRawBufferPointer) {
        guard let (_, start, end) = pages(UnsafeMutableRawBufferPointer(mutating: raw)) else { return }
        _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, 22)
    }

    /// The whole pages inside `raw`: its base and their start and end addresses; nil when there are none.
    private static func pages(_ raw: UnsafeMutableRawBufferPointer) -> (UnsafeMutableRawPointer, Int, Int)? {
        guard let base = raw.baseAddress else { return nil }
        let page = Int(sysconf(Int32(_SC_PAGESIZE))), at = Int(bitPattern: base)
        let start = (at + page - 1) / page * page, end = (at + raw.count) / page * page
        return end > start ? (base, start, end) : nil
    }
}

extension Array where Element == UInt8 {
    /// `uninitialized(count)` for pixels a file's header sizes, or an error naming `path` when that many
    /// bytes cannot be had: Swift aborts when an array cannot be allocated, and a header can claim
    /// gigabytes over a few KB of JPEG 2000 (fuzzing, under a 4 GiB address-space limit).
    /// Only claims of 64 MiB and more are probed (one malloc and free): below that a refusal means the
    /// machine is out of memory whatever the file says, and the probe would cost every small volume a
    /// mapping.
    public static func allocated(_ count: Int, for path: String) throws -> [UInt8] {
        if count >= 64 << 20 {
            guard let probe = malloc(count) else {
                throw I2Error(.badInput, path: path, "its pixels need \(count) bytes of memory, more than can be allocated here")
            }
            free(probe)
        }
        return uninitialized(count)
    }
}

