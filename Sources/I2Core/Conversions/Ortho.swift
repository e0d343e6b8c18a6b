// dcm2niix's reorientation of 3-D acquisitions (nii_ortho.cpp nii_setOrtho, applied in
// nii_dicom_batch.cpp instead of nii_flipY when is3DAcq, more than one slice and a single volume):
// the voxel axes are permuted and reversed so the NIfTI (RAS) sform comes closest to a positive
// diagonal, with voxel (0,0,0) at the corner nearest the most right-posterior-inferior point.
// Every voxel stays where it is in the world; only the array order and the affine change.
import I2Model

enum Ortho {
    /// The (source axis, reversed) for each output axis, or nil when dcm2niix keeps the order.
    static func plan(_ v: Volume) -> [(axis: Int, reversed: Bool)]? {
        // The RAS sform's 3x3 (spacing folded in) and the RAS position of a voxel.
        let ras: [Vector3] = (0..<3).map { a in
            let c = v.direction.column(a) * v.spacing[a]
            return Vector3(-c.x, -c.y, c.z)
        }
        let o = Vector3(-v.origin.x, -v.origin.y, v.origin.z)
        func s(_ r: Int, _ c: Int) -> Double { ras[c].array[r] }
        // isMat44Canonical: positive diagonal, zero elsewhere.
        if (0..<3).allSatisfy({ r in (0..<3).allSatisfy({ c in r == c ? s(r, c) > 0 : s(r, c) == 0 }) }) { return nil }
        // minCornerFlip: of the 8 corners, the one nearest the per-coordinate minimum (first on ties).
        var flips: [[Int]] = [], corners: [Vector3] = []
        for i in 0..<8 {
            let f = [i & 1 != 0 ? -1 : 1, i & 2 != 0 ? -1 : 1, i & 4 != 0 ? -1 : 1]
            var p = o
            for a in 0..<3 where f[a] < 0 { p = p + ras[a] * Double(v.size[a] - 1) }
            flips.append(f); corners.append(p)
        }
        let lo = Vector3(corners.map(\.x).min()!, corners.map(\.y).min()!, corners.map(\.z).min()!)
        var best = 0
        for i in 1..<8 where (corners[i] - lo).length < (corners[best] - lo).length { best = i }
        let f = flips[best]
        // getBestOrient: the signed permutation P (rows: sform axes, columns: voxel axes... as dcm2niix's
        // LOAD_MAT33 tables) maximising sum(orig' .* P); strictly greater than the previous best, from 0.
        let tables: [[[Int]]] = [
            [[f[0], 0, 0], [0, f[1], 0], [0, 0, f[2]]],
            [[f[0], 0, 0], [0, 0, f[1]], [0, f[2], 0]],
            [[0, f[0], 0], [f[1], 0, 0], [0, 0, f[2]]],
            [[0, f[0], 0], [0, 0, f[1]], [f[2], 0, 0]],
            [[0, 0, f[0]], [f[1], 0, 0], [0, f[2], 0]],
            [[0, 0, f[0]], [0, f[1], 0], [f[2], 0, 0]],
        ]
        var bestValue = 0.0
        var orient: [[Int]]?
        for m in tables {
            var value = 0.0
            for i in 0..<3 { for j in 0..<3 { value += s(i, j) * Double(m[j][i]) } }
            if value > bestValue { bestValue = value; orient = m }
        }
        guard let m = orient else { return nil }
        // setOrientVec: output axis j comes from voxel axis i where m[i][j] != 0, reversed when negative.
        var plan: [(axis: Int, reversed: Bool)] = Array(repeating: (0, false), count: 3)
        for i in 0..<3 { for j in 0..<3 where m[i][j] != 0 { plan[j] = (i, m[i][j] < 0) } }
        if plan.enumerated().allSatisfy({ $0.offset == $0.element.axis && !$0.element.reversed }) { return nil }
        return plan
    }

    /// dcm2niix's voxel order for a volume in the frames' order, as i2 convert writes it: the rows
    /// reversed (nii_flipY; GE reversed-polarity EPI keeps its rows), then a 3-D acquisition reoriented
    /// (nii_setOrtho). `first`: the series' first slice; nil (no series known) reverses the rows only.
    static func dcm2niixOrder(_ v: inout Volume, first: SliceHeader?) {
        v.reverse(axis: 1, voxels: !(first?.pepolarReversed ?? false))
        // Applied after the row flip, the result is the same, every voxel staying where it is.
        if first?.acquisition3D == true { apply(&v) }
    }

    /// The grid (no voxels) Ortho.dcm2niixOrder gives a volume of `first`'s series.
    static func dcm2niixGrid(_ v: inout Volume, first: SliceHeader) {
        v.data = []
        v.reverse(axis: 1, voxels: false)
        if first.acquisition3D, v.size[2] > 1, let p = plan(v) { apply(p, to: &v, voxels: false) }
    }

    /// `v` laid into the empty grid `target` (every voxel at its place in the world, zero elsewhere): its
    /// axes must be the target's in some order, its voxels on the target's, and it must fit.
    static func embed(_ v: Volume, into target: Volume, path: String) throws -> Volume {
        func bad(_ why: String) -> I2Error { I2Error(.badInput, path: path, "its frames do not lie on the grid of the --ref series: \(why)") }
        guard let plan = alignment(of: v, to: target.direction) else { throw bad("their axes are not the series' axes") }
        var s = v
        apply(plan, to: &s)
        var offset = [0, 0, 0]
        for a in 0..<3 {
            guard abs(s.spacing[a] - target.spacing[a]) < 1e-3 || (s.size[a] == 1 && a == 2) else { throw bad("spacing differs along axis \(a)") }
            let d = (s.origin - target.origin).dot(target.direction.column(a)) / target.spacing[a]
            guard abs(d - d.rounded()) * target.spacing[a] < 1e-3 else { throw bad("offset by a fraction of a voxel along axis \(a)") }
            offset[a] = Int(d.rounded())
            guard offset[a] >= 0, offset[a] + s.size[a] <= target.size[a] else { throw bad("they reach outside the series along axis \(a)") }
        }
        var out = target
        out.voxelType = s.voxelType
        let bytes = s.voxelType.byteCount, (nx, ny) = (target.size[0], target.size[1])
        out.data = [UInt8](repeating: 0, count: nx * ny * target.size[2] * bytes)
        let run = s.size[0] * bytes
        out.data.withUnsafeMutableBytes { dst in
            s.data.withUnsafeBytes { src in
                for z in 0..<s.size[2] {
                    for y in 0..<s.size[1] {
                        let from = (z * s.size[1] + y) * run
                        let to = (((z + offset[2]) * ny + y + offset[1]) * nx + offset[0]) * bytes
                        dst.baseAddress!.advanced(by: to).copyMemory(from: src.baseAddress!.advanced(by: from), byteCount: run)
                    }
                }
            }
        }
        return out
    }

    /// Applies dcm2niix's nii_setOrtho to a single 3-D volume of scalar voxels.
    static func apply(_ v: inout Volume) {
        guard v.size.count == 3 || (v.size.count == 4 && v.size[3] == 1), v.size[2] > 1, v.components == 1,
              let plan = plan(v) else { return }
        apply(plan, to: &v)
    }

    /// The signed axis permutation that lays `v`'s axes onto `target`'s direction columns, as `plan` gives
    /// one (for each target axis, the source axis and whether it runs the other way); nil when some axis
    /// of `v` is parallel to none of them (an oblique difference, not an order).
    static func alignment(of v: Volume, to target: Matrix3, tolerance: Double = 1e-4) -> [(axis: Int, reversed: Bool)]? {
        var plan: [(axis: Int, reversed: Bool)] = []
        for j in 0..<3 {
            let t = target.column(j)
            guard let i = (0..<3).first(where: { abs(abs(v.direction.column($0).dot(t)) - 1) < tolerance }),
                  !plan.contains(where: { $0.axis == i }) else { return nil }
            plan.append((i, v.direction.column(i).dot(t) < 0))
        }
        return plan
    }

    /// Moves the voxels of a 3-D scalar volume as `plan` says (output axis j = source axis plan[j].axis,
    /// reversed or not) and adjusts the grid, so every voxel stays where it is in the world. Without
    /// `voxels`, only the grid changes (for trying a grid against a reference before moving anything).
    static func apply(_ plan: [(axis: Int, reversed: Bool)], to v: inout Volume, voxels: Bool = true) {
        // Axes in their order, some reversed (i2 convert's rows, another tool's slices): in place, where a
        // moved copy would double the memory of a label map for a moment.
        if plan.enumerated().allSatisfy({ $0.offset == $0.element.axis && (!$0.element.reversed || v.size[$0.offset] > 1) }) {
            for (a, rev) in plan where rev { v.reverse(axis: a, voxels: voxels && !v.data.isEmpty) }
            return
        }
        let n = Array(v.size.prefix(3))
        var origin = v.origin
        for (a, rev) in plan where rev { origin = origin + v.direction.column(a) * (v.spacing[a] * Double(n[a] - 1)) }
        let strides = [1, n[0], n[0] * n[1]]
        let outSize = plan.map { n[$0.axis] }
        let bytes = v.voxelType.byteCount
        // Input offset (in voxels) of output voxel (x, y, z): each output axis steps its source axis.
        let step = plan.map { $0.reversed ? -strides[$0.axis] : strides[$0.axis] }
        let start = plan.reduce(0) { $0 + ($1.reversed ? strides[$1.axis] * (n[$1.axis] - 1) : 0) }
        let count = v.data.count
        if voxels && count > 0 { v.data = v.data.withUnsafeBytes { src in
            [UInt8](unsafeUninitializedCapacity: count) { dst, initialized in
                // Voxels moved as whole values (a typed load per voxel, a block copy per row that keeps
                // its direction), not as byte counts: ~10x faster on a 16-bit volume.
                func move<T>(_: T.Type) {
                    let s = src.baseAddress!.assumingMemoryBound(to: T.self)
                    let d = UnsafeMutableRawPointer(dst.baseAddress!).assumingMemoryBound(to: T.self)
                    var o = 0
                    for z in 0..<outSize[2] {
                        for y in 0..<outSize[1] {
                            var i = start + z * step[2] + y * step[1]
                            if step[0] == 1 {
                                (d + o).update(from: s + i, count: outSize[0])
                                o += outSize[0]
                                continue
                            }
                            for _ in 0..<outSize[0] {
                                d[o] = s[i]
                                o += 1
                                i += step[0]
                            }
                        }
                    }
                }
                switch bytes {
                case 1: move(UInt8.self)
                case 2: move(UInt16.self)
                case 4: move(UInt32.self)
                default: move(UInt64.self)
                }
                initialized = count
            }
        } }
        v.direction = Matrix3(columns: plan.map { v.direction.column($0.axis) * ($0.reversed ? -1 : 1) })
        v.spacing = plan.map { v.spacing[$0.axis] }
        v.size = outSize + v.size.dropFirst(3)
        v.origin = origin
    }
}
