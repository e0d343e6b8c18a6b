// Small fixed-size linear algebra and the LPS ⇄ RAS conversions used at format edges.

public struct Vector3: Equatable, Sendable, CustomStringConvertible {
    public var x, y, z: Double
    public init(_ x: Double, _ y: Double, _ z: Double) { self.x = x; self.y = y; self.z = z }
    public init(_ a: [Double]) { self.init(a[0], a[1], a[2]) }
    public static let zero = Vector3(0, 0, 0)
    public var array: [Double] { [x, y, z] }
    public subscript(i: Int) -> Double {
        get { i == 0 ? x : (i == 1 ? y : z) }
        set { if i == 0 { x = newValue } else if i == 1 { y = newValue } else { z = newValue } }
    }
    public static func + (a: Vector3, b: Vector3) -> Vector3 { Vector3(a.x + b.x, a.y + b.y, a.z + b.z) }
    public static func - (a: Vector3, b: Vector3) -> Vector3 { Vector3(a.x - b.x, a.y - b.y, a.z - b.z) }
    public static func * (a: Vector3, s: Double) -> Vector3 { Vector3(a.x * s, a.y * s, a.z * s) }
    public func dot(_ b: Vector3) -> Double { x * b.x + y * b.y + z * b.z }
    public func cross(_ b: Vector3) -> Vector3 {
        Vector3(y * b.z - z * b.y, z * b.x - x * b.z, x * b.y - y * b.x)
    }
    public var length: Double { dot(self).squareRoot() }
    public var normalized: Vector3 { let l = length; return l > 0 ? self * (1 / l) : self }
    public var description: String { "(\(x), \(y), \(z))" }
}

/// 3x3 matrix stored as three columns.
public struct Matrix3: Equatable, Sendable {
    public var columns: [Vector3]
    public init(columns: [Vector3]) { self.columns = columns }
    public static let identity = Matrix3(columns: [Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)])
    public func column(_ i: Int) -> Vector3 { columns[i] }
    /// Element at row r, column c.
    public subscript(r: Int, c: Int) -> Double { columns[c][r] }
    public var determinant: Double { columns[0].dot(columns[1].cross(columns[2])) }
}

/// 4x4 affine, row-major.
public typealias Matrix4 = [[Double]]

public enum Geometry {
    /// Voxel index → world affine with spacing folded in.
    public static func affine(origin: Vector3, direction: Matrix3, spacing: [Double]) -> Matrix4 {
        var m: Matrix4 = Array(repeating: [0, 0, 0, 0], count: 4)
        for r in 0..<3 {
            for c in 0..<3 { m[r][c] = direction[r, c] * spacing[c] }
            m[r][3] = origin[r]
        }
        m[3] = [0, 0, 0, 1]
        return m
    }

    /// LPS ⇄ RAS flips the sign of the first two world axes (the same operation both ways).
    public static func flipLPSRAS(_ m: Matrix4) -> Matrix4 {
        var out = m
        for c in 0..<4 { out[0][c] = -m[0][c]; out[1][c] = -m[1][c] }
        return out
    }
    public static func flipLPSRAS(_ v: Vector3) -> Vector3 { Vector3(-v.x, -v.y, v.z) }

    /// Splits an affine (voxel → world, any handedness) into origin, unit direction columns and spacing.
    public static func decompose(_ m: Matrix4) -> (origin: Vector3, direction: Matrix3, spacing: [Double]) {
        var cols: [Vector3] = []
        var spacing: [Double] = []
        for c in 0..<3 {
            let v = Vector3(m[0][c], m[1][c], m[2][c])
            let l = v.length
            spacing.append(l)
            cols.append(l > 0 ? v * (1 / l) : Vector3(c == 0 ? 1 : 0, c == 1 ? 1 : 0, c == 2 ? 1 : 0))
        }
        return (Vector3(m[0][3], m[1][3], m[2][3]), Matrix3(columns: cols), spacing)
    }
}
