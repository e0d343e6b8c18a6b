// The two resamplings convert does only when asked: removing gantry tilt (--tilt resample) and
// equalizing irregular slice spacing (--equalize). Linear interpolation; integers are rounded.
import I2Model

enum Resample {
    /// Shifts each slice in-plane so the slice axis runs along the normal (orthogonal grid). The grid
    /// grows along the shift so that no pixel is lost (as dcm2niix does); new voxels get the minimum.
    static func untilt(_ v: Volume) -> Volume {
        let r = v.direction.column(0), c = v.direction.column(1)
        let step = v.direction.column(2) * v.spacing[2]
        let n = r.cross(c).normalized
        let along = step.dot(n)
        let a = step.dot(r) / v.spacing[0], b = step.dot(c) / v.spacing[1]
        let (sx, sy, nz) = (v.size[0], v.size[1], v.size[2])
        // Output columns/rows: the source extent swept by the per-slice shift.
        let spanI = (min(0, Double(nz - 1) * a), max(0, Double(nz - 1) * a))
        let spanJ = (min(0, Double(nz - 1) * b), max(0, Double(nz - 1) * b))
        let offI = Int(spanI.0.rounded(.down)), offJ = Int(spanJ.0.rounded(.down))
        let nx = sx + Int((spanI.1 - spanI.0).rounded(.up)), ny = sy + Int((spanJ.1 - spanJ.0).rounded(.up))
        let src = VoxelValues(v)
        let fill = src.minimum
        let volumes = v.size.count > 3 ? v.size[3] : 1
        var out = [Double](repeating: fill, count: nx * ny * nz * volumes)
        for t in 0..<volumes {
            for k in 0..<nz {
                let di = Double(offI) - Double(k) * a, dj = Double(offJ) - Double(k) * b
                for j in 0..<ny {
                    let y = Double(j) + dj
                    let j0 = Int(y.rounded(.down)), fy = y - Double(j0)
                    for i in 0..<nx {
                        let x = Double(i) + di
                        let i0 = Int(x.rounded(.down)), fx = x - Double(i0)
                        func at(_ ii: Int, _ jj: Int) -> Double? {
                            ii >= 0 && ii < sx && jj >= 0 && jj < sy ? src[((t * nz + k) * sy + jj) * sx + ii] : nil
                        }
                        let corners = [(at(i0, j0), (1 - fx) * (1 - fy)), (at(i0 + 1, j0), fx * (1 - fy)),
                                       (at(i0, j0 + 1), (1 - fx) * fy), (at(i0 + 1, j0 + 1), fx * fy)]
                        var sum = 0.0, weight = 0.0
                        for (value, w) in corners where w > 1e-12 { if let val = value { sum += val * w; weight += w } }
                        if weight > 0.5 { out[((t * nz + k) * ny + j) * nx + i] = sum / weight }
                    }
                }
            }
        }
        var size = v.size
        size[0] = nx
        size[1] = ny
        var result = src.volume(with: out, size: size)
        result.origin = v.origin + r * (Double(offI) * v.spacing[0]) + c * (Double(offJ) * v.spacing[1])
        result.direction = Matrix3(columns: [r, c, n])
        result.spacing[2] = along
        return result
    }

    /// Gaps of the equalized grid: the span over the smallest gap, rounded up.
    static func equalizedSteps(_ offsets: [Double]) -> Double {
        let gaps = zip(offsets.dropFirst(), offsets).map { $0 - $1 }
        return ((offsets.last! - offsets[0]) / max(gaps.min() ?? 1, 1e-3) - 1e-6).rounded(.up)
    }

    /// Refuses an equalized grid far beyond the data before it is allocated: one slice at 1e300 mm
    /// trapped converting the count to Int, and 0.001 mm between two slices of a long series asks
    /// for millions of slices. More than max(16 x the input slices, 1024) output slices is refused,
    /// naming `path` (4 slices 1.25 to 200 mm apart give 165: still built).
    static func checkEqualize(offsets: [Double], path: String) throws {
        let steps = equalizedSteps(offsets)
        guard steps.isFinite, steps + 1 <= Double(max(16 * offsets.count, 1024)) else {
            throw I2Error(.badInput, path: path, String(format: "--equalize: the slices span %.4g mm and their smallest gap asks for %.4g slices for %d: refusing to build that grid",
                                                        offsets.last! - offsets[0], steps + 1, offsets.count))
        }
    }

    /// Resamples slices at `offsets` (along the slice axis, ascending) to a regular spacing of at most
    /// the smallest gap, spanning exactly the first to the last slice.
    /// Callers check the grid with `checkEqualize` first.
    static func equalize(_ v: Volume, offsets: [Double]) -> Volume {
        // The smallest gap, shrunk just enough that the slices span exactly first to last.
        let span = offsets.last! - offsets[0]
        let count = Int(equalizedSteps(offsets)) + 1   // coincident slices are refused before this
        let spacing = span / Double(max(count - 1, 1))
        let plane = v.size[0] * v.size[1]
        let volumes = v.size.count > 3 ? v.size[3] : 1
        let src = VoxelValues(v)
        var out = [Double](repeating: 0, count: plane * count * volumes)
        for t in 0..<volumes {
            var k0 = 0
            for k in 0..<count {
                let z = offsets[0] + Double(k) * spacing
                while k0 + 1 < offsets.count - 1 && offsets[k0 + 1] <= z { k0 += 1 }
                let k1 = min(k0 + 1, offsets.count - 1)
                let w = k1 == k0 ? 0 : min(max((z - offsets[k0]) / (offsets[k1] - offsets[k0]), 0), 1)
                let s0 = (t * v.size[2] + k0) * plane, s1 = (t * v.size[2] + k1) * plane, d = (t * count + k) * plane
                for p in 0..<plane { out[d + p] = src[s0 + p] * (1 - w) + src[s1 + p] * w }
            }
        }
        var size = v.size
        size[2] = count
        var result = src.volume(with: out, size: size)
        // Offsets are along the normal; the slice axis may be sheared, so scale by its normal component.
        let normal = v.direction.column(0).cross(v.direction.column(1)).normalized
        result.spacing[2] = spacing / max(abs(v.direction.column(2).dot(normal)), 1e-9)
        return result
    }
}

/// Voxels of any type as Doubles, and back to the original type.
struct VoxelValues {
    let source: Volume
    let values: [Double]
    init(_ v: Volume) {
        source = v
        values = v.data.withUnsafeBytes { raw -> [Double] in
            switch v.voxelType {
            case .uint8: return raw.bindMemory(to: UInt8.self).map(Double.init)
            case .int8: return raw.bindMemory(to: Int8.self).map(Double.init)
            case .uint16: return raw.bindMemory(to: UInt16.self).map(Double.init)
            case .int16: return raw.bindMemory(to: Int16.self).map(Double.init)
            case .uint32: return raw.bindMemory(to: UInt32.self).map(Double.init)
            case .int32: return raw.bindMemory(to: Int32.self).map(Double.init)
            case .float32: return raw.bindMemory(to: Float.self).map(Double.init)
            case .float64: return Array(raw.bindMemory(to: Double.self))
            }
        }
    }
    subscript(i: Int) -> Double { values[i] }
    var minimum: Double { values.min() ?? 0 }

    /// A volume like the source (type, geometry) holding `values`, rounded and clamped for integer types.
    func volume(with values: [Double], size: [Int]? = nil) -> Volume {
        var v = source
        v.size = size ?? source.size
        let t = source.voxelType
        func pack<T>(_ make: (Double) -> T) -> [UInt8] {
            let typed = values.map { x -> T in
                guard let r = t.integerRange else { return make(x) }
                return make(min(max(x.rounded(), r.lowerBound), r.upperBound))
            }
            return typed.withUnsafeBytes { Array($0) }
        }
        switch t {
        case .uint8: v.data = pack { UInt8($0) }
        case .int8: v.data = pack { Int8($0) }
        case .uint16: v.data = pack { UInt16($0) }
        case .int16: v.data = pack { Int16($0) }
        case .uint32: v.data = pack { UInt32($0) }
        case .int32: v.data = pack { Int32($0) }
        case .float32: v.data = pack { Float($0) }
        case .float64: v.data = pack { $0 }
        }
        return v
    }
}
