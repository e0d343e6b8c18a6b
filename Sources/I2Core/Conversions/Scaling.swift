// RescaleSlope/Intercept applied so that the written values equal the scaled DICOM values exactly:
// integers stay integers in the narrowest of (stored type, int16, int32) that holds them; anything
// with a fractional slope or intercept becomes float32. Works in place when the byte size allows,
// so a CT never needs a second copy of its voxels.
import I2Model

enum Scaling {
    static func apply(to v: inout Volume, slopes: [Double], intercepts: [Double], sliceVoxels: Int) {
        if slopes.allSatisfy({ $0 == 1 }) && intercepts.allSatisfy({ $0 == 0 }) { return }
        let integral = slopes.allSatisfy { $0 == $0.rounded() } && intercepts.allSatisfy { $0 == $0.rounded() }
        var target = VoxelType.float32
        if integral {
            var lo = Double.infinity, hi = -Double.infinity
            forEachSlice(v, sliceVoxels: sliceVoxels) { k, mn, mx in
                let a = mn * slopes[k] + intercepts[k], b = mx * slopes[k] + intercepts[k]
                lo = min(lo, a, b); hi = max(hi, a, b)
            }
            target = [v.voxelType, .int16, .int32].first { t in
                t.integerRange.map { $0.contains(lo) && $0.contains(hi) } ?? false
            } ?? .float32
        }
        convert(&v, to: target, slopes: slopes, intercepts: intercepts, sliceVoxels: sliceVoxels)
    }

    /// Calls `body(sliceIndex, min, max)` with each slice's stored range.
    static func forEachSlice(_ v: Volume, sliceVoxels: Int, _ body: (Int, Double, Double) -> Void) {
        v.data.withUnsafeBytes { raw in
            func scan<T: BinaryInteger>(_: T.Type) {
                let p = raw.bindMemory(to: T.self)
                for k in 0..<(p.count / sliceVoxels) {
                    var mn = p[k * sliceVoxels], mx = mn
                    for i in (k * sliceVoxels)..<((k + 1) * sliceVoxels) { let x = p[i]; if x < mn { mn = x }; if x > mx { mx = x } }
                    body(k, Double(mn), Double(mx))
                }
            }
            switch v.voxelType {
            case .uint8: scan(UInt8.self)
            case .int8: scan(Int8.self)
            case .uint16: scan(UInt16.self)
            case .int16: scan(Int16.self)
            case .uint32: scan(UInt32.self)
            case .int32: scan(Int32.self)
            default: break
            }
        }
    }

    /// Scales every voxel into type `t`, slice by slice; in place when the element sizes match.
    static func convert(_ v: inout Volume, to t: VoxelType, slopes: [Double], intercepts: [Double], sliceVoxels: Int) {
        let source = v.voxelType
        let inPlace = t.byteCount == source.byteCount
        var fresh = inPlace ? [] : [UInt8](repeating: 0, count: v.voxelCount * t.byteCount)
        let slices = v.voxelCount / sliceVoxels

        func run<S: BinaryInteger, D>(_ s: UnsafeMutableBufferPointer<S>, _ d: UnsafeMutableBufferPointer<D>, _ make: (Double) -> D) {
            for k in 0..<slices {
                let sl = slopes[k], ic = intercepts[k]
                for i in (k * sliceVoxels)..<((k + 1) * sliceVoxels) { d[i] = make(Double(s[i]) * sl + ic) }
            }
        }
        func dest<S: BinaryInteger>(_ s: UnsafeMutableBufferPointer<S>, _ d: UnsafeMutableRawBufferPointer) {
            switch t {
            case .uint8: run(s, d.bindMemory(to: UInt8.self)) { UInt8($0) }
            case .int8: run(s, d.bindMemory(to: Int8.self)) { Int8($0) }
            case .uint16: run(s, d.bindMemory(to: UInt16.self)) { UInt16($0) }
            case .int16: run(s, d.bindMemory(to: Int16.self)) { Int16($0) }
            case .uint32: run(s, d.bindMemory(to: UInt32.self)) { UInt32($0) }
            case .int32: run(s, d.bindMemory(to: Int32.self)) { Int32($0) }
            case .float32: run(s, d.bindMemory(to: Float.self)) { Float($0) }
            case .float64: run(s, d.bindMemory(to: Double.self)) { $0 }
            }
        }
        v.data.withUnsafeMutableBytes { raw in
            func go<S: BinaryInteger>(_: S.Type) {
                let s = raw.bindMemory(to: S.self)
                if inPlace { dest(s, raw) } else { fresh.withUnsafeMutableBytes { dest(s, $0) } }
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
