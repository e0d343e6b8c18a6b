// Voxel values as dcm2niix writes them (nii_dicom_batch.cpp, saveDcm2NiiCore): the stored integers are
// kept and one RescaleSlope/Intercept goes to the volume (NIfTI scl_slope/scl_inter); Philips images
// with a private scale slope get Philips' floating-point scaling (PhilipsPrecise); when slices differ in
// their scaling, every voxel is scaled into float32 with slope 1 (dcm2niix: intensityScaleVaries →
// nii_iVaries, "Saving as 32-bit float"). Float conversion works slice by slice on every core.
import Dispatch
import I2Model

enum Scaling {
    /// One slice's (slope, intercept) as dcm2niix stores them: in float32, as the NIfTI header holds them.
    static func scale(of s: SliceHeader) -> (slope: Double, intercept: Double) {
        if let ss = s.philipsScaleSlope, let precise = philipsPrecise(rs: s.slope, ri: s.intercept, ss: ss) {
            return precise
        }
        return (Double(Float(s.slope)), Double(Float(s.intercept)))
    }

    /// dcm2niix's PhilipsPrecise/PhilipsPreciseVal in its float arithmetic: precise value P = (R·RS + RI)
    /// / (RS·SS), i.e. slope = P(1) - P(0), intercept = P(0). nil when RS·SS is 0 (display scaling stays).
    static func philipsPrecise(rs: Double, ri: Double, ss: Double) -> (slope: Double, intercept: Double)? {
        let RS = Float(rs), RI = Float(ri), SS = Float(ss)
        guard RS * SS != 0, (RS * SS).isFinite else { return nil }
        let l0: Float = (0 * RS + RI) / (RS * SS)
        let l1: Float = (1 * RS + RI) / (RS * SS)
        guard l0 != l1 else { return (Double(RS), Double(RI)) }
        return (Double(l1 - l0), Double(l0))
    }

    /// Gives `v` the stack's scaling: one (slope, intercept) for all slices goes to the volume with the
    /// stored values kept; differing ones scale every voxel into float32 (slope 1, intercept 0).
    static func apply(to v: inout Volume, scales: [(slope: Double, intercept: Double)], sliceVoxels: Int) {
        guard let first = scales.first else { return }
        if scales.allSatisfy({ $0.slope == first.slope && $0.intercept == first.intercept }) {
            (v.slope, v.intercept) = first
            return
        }
        convert(&v, to: .float32, slopes: scales.map(\.slope), intercepts: scales.map(\.intercept), sliceVoxels: sliceVoxels)
        (v.slope, v.intercept) = (1, 0)
    }

    /// Each slice's stored (min, max).
    static func sliceRanges(_ v: Volume, sliceVoxels: Int) -> [(Double, Double)] {
        let slices = v.voxelCount / sliceVoxels
        var out = [(Double, Double)](repeating: (0, 0), count: slices)
        v.data.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { o in
                let ob = o.baseAddress!
                DispatchQueue.concurrentPerform(iterations: slices) { k in
                    (ob + k).pointee = range(UnsafeRawBufferPointer(rebasing: raw[(k * sliceVoxels * v.voxelType.byteCount)...].prefix(sliceVoxels * v.voxelType.byteCount)), v.voxelType)
                }
            }
        }
        return out
    }

    /// (min, max) of one buffer of integer voxels.
    static func range(_ raw: UnsafeRawBufferPointer, _ type: VoxelType) -> (Double, Double) {
        func scan<T: FixedWidthInteger>(_: T.Type) -> (Double, Double) {
            let p = raw.bindMemory(to: T.self)
            guard var mn = p.first else { return (0, 0) }
            var mx = mn
            for x in p { mn = Swift.min(mn, x); mx = Swift.max(mx, x) }
            return (Double(mn), Double(mx))
        }
        switch type {
        case .uint8: return scan(UInt8.self)
        case .int8: return scan(Int8.self)
        case .uint16: return scan(UInt16.self)
        case .int16: return scan(Int16.self)
        case .uint32: return scan(UInt32.self)
        case .int32: return scan(Int32.self)
        default: return (0, 0)
        }
    }

    /// Scales every voxel into type `t`; in place when the element sizes match.
    static func convert(_ v: inout Volume, to t: VoxelType, slopes: [Double], intercepts: [Double], sliceVoxels: Int) {
        let source = v.voxelType
        let inPlace = t.byteCount == source.byteCount
        var fresh = inPlace ? [] : [UInt8].uninitialized(v.voxelCount * t.byteCount)
        let slices = v.voxelCount / sliceVoxels

        // One slice: an integer add when the slope is 1 (the CT case; specialised and vectorised, no
        // closure per voxel), else through Double.
        func slice<S: FixedWidthInteger, D>(_ s: UnsafeMutablePointer<S>, _ d: UnsafeMutablePointer<D>, _ k: Int,
                                           _ make: (Double) -> D) {
            let sl = slopes[k], ic = intercepts[k]
            let base = k * sliceVoxels
            if sl == 1, ic == ic.rounded(), D.self is any FixedWidthInteger.Type {
                addIntercept(s, d, base..<(base + sliceVoxels), Int64(ic))
            } else {
                for i in base..<(base + sliceVoxels) { d[i] = make(Double(s[i]) * sl + ic) }
            }
        }
        func all<S: FixedWidthInteger, D>(_ s: UnsafeMutablePointer<S>, _ d: UnsafeMutableRawPointer, _: D.Type,
                                         _ make: @escaping (Double) -> D) {
            let dp = d.assumingMemoryBound(to: D.self)
            DispatchQueue.concurrentPerform(iterations: slices) { k in slice(s, dp, k, make) }
        }
        func dest<S: FixedWidthInteger>(_ s: UnsafeMutablePointer<S>, _ d: UnsafeMutableRawPointer) {
            switch t {
            case .uint8: all(s, d, UInt8.self) { UInt8($0) }
            case .int8: all(s, d, Int8.self) { Int8($0) }
            case .uint16: all(s, d, UInt16.self) { UInt16($0) }
            case .int16: all(s, d, Int16.self) { Int16($0) }
            case .uint32: all(s, d, UInt32.self) { UInt32($0) }
            case .int32: all(s, d, Int32.self) { Int32($0) }
            case .float32: all(s, d, Float.self) { Float($0) }
            case .float64: all(s, d, Double.self) { $0 }
            }
        }
        v.data.withUnsafeMutableBytes { raw in
            func go<S: FixedWidthInteger>(_: S.Type) {
                let s = raw.baseAddress!.assumingMemoryBound(to: S.self)
                if inPlace { dest(s, raw.baseAddress!) } else { fresh.withUnsafeMutableBytes { dest(s, $0.baseAddress!) } }
            }
            switch source {
            case .uint8: go(UInt8.self)
            case .int8: go(Int8.self)
            case .uint16: go(UInt16.self)
            case .int16: go(Int16.self)
            case .uint32: go(UInt32.self)
            case .int32: go(Int32.self)
            default: break
            }
        }
        if !inPlace { v.data = fresh }
        v.voxelType = t
    }
}

/// d[i] = s[i] + shift over `range`, for integer D (the range was checked to fit before).
@inline(__always)
private func addIntercept<S: FixedWidthInteger, D>(_ s: UnsafeMutablePointer<S>, _ d: UnsafeMutablePointer<D>,
                                                   _ range: Range<Int>, _ shift: Int64) {
    func typed<T: FixedWidthInteger>(_: T.Type) {
        let dt = UnsafeMutableRawPointer(d).assumingMemoryBound(to: T.self)
        for i in range { dt[i] = T(truncatingIfNeeded: Int64(s[i]) &+ shift) }
    }
    switch D.self {
    case is UInt8.Type: typed(UInt8.self)
    case is Int8.Type: typed(Int8.self)
    case is UInt16.Type: typed(UInt16.self)
    case is Int16.Type: typed(Int16.self)
    case is UInt32.Type: typed(UInt32.self)
    default: typed(Int32.self)
    }
}
