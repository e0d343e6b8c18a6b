// Geometry.swift tests: the voxel → world affine with spacing folded in, the LPS ⇄ RAS flip, and
// decompose as the inverse of affine, including a sheared (gantry-tilt) matrix. Expected values are
// worked out by hand from 3-4-5 triangles and a rational rotation, so they are exact in binary.
import XCTest
@testable import I2Model

final class GeometryTests: XCTestCase {
    /// A rotation with entries ±1/3, ±2/3 (columns orthonormal, determinant −1 as in many DICOM series).
    let oblique = Matrix3(columns: [Vector3(1.0 / 3, 2.0 / 3, 2.0 / 3), Vector3(2.0 / 3, 1.0 / 3, -2.0 / 3),
                                    Vector3(2.0 / 3, -2.0 / 3, 1.0 / 3)])

    func assertMatrix(_ a: Matrix4, _ b: Matrix4, accuracy: Double = 1e-12, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, 4, file: file, line: line)
        for r in 0..<4 {
            for c in 0..<4 {
                XCTAssertEqual(a[r][c], b[r][c], accuracy: accuracy, "[\(r)][\(c)]", file: file, line: line)
            }
        }
    }

    func assertVector(_ a: Vector3, _ b: Vector3, accuracy: Double = 1e-12, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual((a - b).length, 0, accuracy: accuracy, "\(a) vs \(b)", file: file, line: line)
    }

    func testAffineOfIdentityDirectionIsDiagonalSpacingAndOrigin() {
        let m = Geometry.affine(origin: Vector3(-100, 50.5, 7), direction: .identity, spacing: [0.5, 0.75, 2.5])
        assertMatrix(m, [[0.5, 0, 0, -100], [0, 0.75, 0, 50.5], [0, 0, 2.5, 7], [0, 0, 0, 1]], accuracy: 0)
    }

    func testAffineScalesEachDirectionColumnByItsSpacing() {
        // Column c of the 3x3 part is direction.column(c) * spacing[c]: 1/3*3 = 1, 2/3*3 = 2, etc.
        let m = Geometry.affine(origin: Vector3(1, 2, 3), direction: oblique, spacing: [3, 6, 1.5])
        assertMatrix(m, [[1, 4, 1, 1], [2, 2, -1, 2], [2, -4, 0.5, 3], [0, 0, 0, 1]])
    }

    func testVolumeAffineMapsVoxelIndicesToWorldPositions() {
        let v = Volume(size: [4, 5, 6], spacing: [3, 6, 1.5], origin: Vector3(10, -20, 30), direction: oblique, voxelType: .int16)
        let m = v.affineLPS
        // Voxel (1, 2, 2): origin + 1*3*c0 + 2*6*c1 + 2*1.5*c2 = (10,-20,30) + (1,2,2) + (8,4,-8) + (2,-2,1).
        let ijk = [1.0, 2, 2, 1]
        let world = (0..<3).map { r in (0..<4).reduce(0.0) { $0 + m[r][$1] * ijk[$1] } }
        XCTAssertEqual(world[0], 21, accuracy: 1e-12)
        XCTAssertEqual(world[1], -16, accuracy: 1e-12)
        XCTAssertEqual(world[2], 25, accuracy: 1e-12)
    }

    func testFlipNegatesTheFirstTwoRowsOnly() {
        let m = Geometry.affine(origin: Vector3(1, 2, 3), direction: oblique, spacing: [3, 6, 1.5])
        let f = Geometry.flipLPSRAS(m)
        assertMatrix(f, [[-1, -4, -1, -1], [-2, -2, 1, -2], [2, -4, 0.5, 3], [0, 0, 0, 1]])
        XCTAssertEqual(Geometry.flipLPSRAS(Vector3(1, -2, 3)), Vector3(-1, 2, 3))
    }

    func testFlipTwiceIsIdentity() {
        let m = Geometry.affine(origin: Vector3(-12.5, 30.25, 7), direction: oblique, spacing: [0.75, 1.5, 2.25])
        assertMatrix(Geometry.flipLPSRAS(Geometry.flipLPSRAS(m)), m, accuracy: 0)
        let v = Vector3(-4, 5.5, -6)
        XCTAssertEqual(Geometry.flipLPSRAS(Geometry.flipLPSRAS(v)), v)
    }

    func testDecomposeRecoversOriginDirectionAndSpacing() {
        let origin = Vector3(-12.5, 30.25, 7)
        let (o, d, s) = Geometry.decompose(Geometry.affine(origin: origin, direction: oblique, spacing: [0.75, 1.5, 2.25]))
        assertVector(o, origin, accuracy: 0)
        for c in 0..<3 { assertVector(d.column(c), oblique.column(c)) }
        XCTAssertEqual(s[0], 0.75, accuracy: 1e-12)
        XCTAssertEqual(s[1], 1.5, accuracy: 1e-12)
        XCTAssertEqual(s[2], 2.25, accuracy: 1e-12)
        XCTAssertEqual(d.determinant, -1, accuracy: 1e-12, "handedness is kept")
    }

    func testDecomposeOfShearedMatrixKeepsTheNonOrthogonalSliceAxis() {
        // Gantry tilt: rows along x, columns along y, slices step (0, 3, 4) mm → unit (0, 0.6, 0.8), spacing 5.
        let m: Matrix4 = [[0.5, 0, 0, 1], [0, 0.5, 3, 2], [0, 0, 4, 3], [0, 0, 0, 1]]
        let (o, d, s) = Geometry.decompose(m)
        assertVector(o, Vector3(1, 2, 3), accuracy: 0)
        assertVector(d.column(0), Vector3(1, 0, 0))
        assertVector(d.column(1), Vector3(0, 1, 0))
        assertVector(d.column(2), Vector3(0, 0.6, 0.8))
        XCTAssertEqual(s, [0.5, 0.5, 5])
        // And back: affine(decompose(m)) == m.
        assertMatrix(Geometry.affine(origin: o, direction: d, spacing: s), m)
    }

    func testDecomposeOfNegativeColumnsKeepsTheirSign() {
        // RAS-style affine for an LPS identity: the first two columns point along −x and −y.
        let m: Matrix4 = [[-0.75, 0, 0, 90], [0, -0.75, 0, 126], [0, 0, 1.25, -72], [0, 0, 0, 1]]
        let (o, d, s) = Geometry.decompose(m)
        assertVector(o, Vector3(90, 126, -72), accuracy: 0)
        assertVector(d.column(0), Vector3(-1, 0, 0))
        assertVector(d.column(1), Vector3(0, -1, 0))
        assertVector(d.column(2), Vector3(0, 0, 1))
        XCTAssertEqual(s, [0.75, 0.75, 1.25])
    }

    func testDecomposeOfZeroColumnFallsBackToTheAxis() {
        let m: Matrix4 = [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]
        let (_, d, s) = Geometry.decompose(m)
        XCTAssertEqual(d.column(2), Vector3(0, 0, 1))
        XCTAssertEqual(s, [2, 2, 0])
    }

    func testCrossAndDeterminantFollowTheRightHandRule() {
        XCTAssertEqual(Vector3(1, 0, 0).cross(Vector3(0, 1, 0)), Vector3(0, 0, 1))
        XCTAssertEqual(Matrix3.identity.determinant, 1)
        XCTAssertEqual(Matrix3.identity[1, 1], 1)
        XCTAssertEqual(oblique[2, 0], 2.0 / 3, "subscript is (row, column)")
        assertVector(Vector3(3, 0, 4).normalized, Vector3(0.6, 0, 0.8))
    }
}
