// LabelMap: a label map as nifti2seg scans it. The voxels are read into memory, or for a NIfTI file
// held as MappedBytes: a .nii's pages mapped read-only, so a 157 MB map is neither copied nor
// zero-filled first; a .nii.gz inflated into memory faulted in ahead of the inflater. `grid` is the geometry in the reference frames' order; the stored array may run
// the other way along rows (i2 convert's and dcm2niix's order) or slices (another tool's), which the
// scans (LabelBuffer) follow instead of moving the voxels. Orders that permute or mirror within rows
// are moved into frame order once (Ortho.apply), as are maps the overlay and the report read as volumes.
import I2Model
import I2NIfTI

struct LabelMap {
    /// The geometry on the frames' grid (no voxels).
    private(set) var grid: Volume
    private var owned: [UInt8]
    private var mapped: (bytes: MappedBytes, offset: Int)?
    /// The stored rows run against the frames' rows (the last row first).
    private(set) var rowsReversed = false
    /// The stored slices run against the frames' slices.
    private(set) var slicesReversed = false

    /// A map already in memory.
    init(_ v: Volume) {
        var grid = v
        grid.data = []
        self.init(grid: grid, owned: v.data, mapped: nil)
    }

    private init(grid: Volume, owned: [UInt8], mapped: (bytes: MappedBytes, offset: Int)?) {
        self.grid = grid
        self.owned = owned
        self.mapped = mapped
    }

    /// Reads `path`; a NIfTI file with `map` is held as MappedBytes when its voxels can be used as stored.
    static func read(path: String, options: ReadOptions, map: Bool) throws -> LabelMap {
        if map, [.nifti, .niftiGz].contains(FileFormat(path: path)), let (grid, file, offset) = try NiftiImage.mapVolume(path: path) {
            return LabelMap(grid: grid, owned: [], mapped: (file, offset))
        }
        var v = try VolumeIO.read(path: path, options: options)
        let data = v.data
        v.data = []
        return LabelMap(grid: v, owned: data, mapped: nil)
    }

    var voxelType: VoxelType { grid.voxelType }
    var voxelCount: Int { grid.voxelCount }

    /// The stored voxels (the array's own order).
    func withVoxels<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let (file, offset) = mapped {
            return try body(UnsafeRawBufferPointer(rebasing: file.bytes[offset..<(offset + grid.byteCount)]))
        }
        return try owned.withUnsafeBytes(body)
    }

    /// Lays the map onto the frames: `plan` as Ortho.alignment gives it. Rows or slices that run the
    /// other way are followed by the scans unless `moveVoxels`; anything else moves the voxels.
    mutating func align(_ plan: [(axis: Int, reversed: Bool)], moveVoxels: Bool) {
        let reversalsOnly = plan.enumerated().allSatisfy { $0.offset == $0.element.axis && (!$0.element.reversed || grid.size[$0.offset] > 1) }
        if reversalsOnly && !plan[0].reversed && !moveVoxels && !rowsReversed && !slicesReversed {
            Ortho.apply(plan, to: &grid, voxels: false)
            rowsReversed = plan[1].reversed
            slicesReversed = plan[2].reversed
            return
        }
        var v = grid
        if let (file, offset) = mapped {
            v.data = Array(UnsafeRawBufferPointer(rebasing: file.bytes[offset..<(offset + grid.byteCount)]))
        } else {
            swap(&v.data, &owned)   // moved, not copied: in place when only reversing
        }
        Ortho.apply(plan, to: &v)
        owned = v.data
        v.data = []
        grid = v
        mapped = nil
    }

    /// The map as a Volume, for the overlay and the report, which read voxels by index: only for maps
    /// read with `map: false` and aligned with `moveVoxels`, whose array is in the frames' order. Shares
    /// the storage.
    var volume: Volume {
        precondition(mapped == nil && !rowsReversed && !slicesReversed, "a label map in the frames' order")
        var v = grid
        v.data = owned
        return v
    }
}
