// PlanarContours: masks to contours and back (the RT Structure Set geometry).
import XCTest
import I2TestSupport
@testable import I2Model

final class PlanarContoursTests: XCTestCase {
    typealias Point = (x: Double, y: Double)

    func loops(_ mask: [UInt8], _ w: Int, _ h: Int) -> [[Point]] {
        mask.withUnsafeBufferPointer { PlanarContours.loops($0, width: w, height: h) }
    }

    func filled(_ contours: [[Point]], _ w: Int, _ h: Int) -> [UInt8] {
        var m = [UInt8](repeating: 0, count: w * h)
        m.withUnsafeMutableBufferPointer { PlanarContours.fill(contours, width: w, height: h, into: $0) }
        return m
    }

    /// A mask from rows of "#" (inside) and "." (outside).
    func mask(_ rows: [String]) -> ([UInt8], Int, Int) {
        (rows.flatMap { $0.map { $0 == "#" ? UInt8(1) : 0 } }, rows[0].count, rows.count)
    }

    func testSinglePixelIsASquareAQuarterPixelOutsideItsCentre() {
        let (m, w, h) = mask(["...", ".#.", "..."])
        let l = loops(m, w, h)
        XCTAssertEqual(l.count, 1)
        XCTAssertEqual(Set(l[0].map { "\($0.x),\($0.y)" }), ["0.75,0.75", "1.25,0.75", "1.25,1.25", "0.75,1.25"])
        XCTAssertEqual(filled(l, w, h), m)
    }

    func testHoleIsALoopOfItsOwnAndComesBack() {
        let (m, w, h) = mask(["......", ".####.", ".#..#.", ".#..#.", ".####.", "......"])
        let l = loops(m, w, h)
        XCTAssertEqual(l.count, 2)
        XCTAssertEqual(filled(l, w, h), m)
    }

    func testPixelsTouchingAtACornerAreLoopsApart() {
        let (m, w, h) = mask(["#.#", ".#.", "#.#"])
        let l = loops(m, w, h)
        XCTAssertEqual(l.count, 5)
        XCTAssertTrue(l.allSatisfy { $0.count == 4 })
        XCTAssertEqual(filled(l, w, h), m)
    }

    /// A ring that touches itself at a corner (one boundary through that corner twice) and masks at the
    /// image border.
    func testBoundaryThroughACornerTwiceAndMasksAtTheBorder() {
        for rows in [["###.", "#..#", "#.#.", "###."], ["####", "####"], ["#"], ["##", "#."]] {
            let (m, w, h) = mask(rows)
            XCTAssertEqual(filled(loops(m, w, h), w, h), m, "\(rows)")
        }
    }

    /// 2,000 random masks (sizes 1 to 24, densities 0.1 to 0.9, seeded): each comes back exactly, and no
    /// pixel centre lies within 0.25 - 1e-9 of a contour (so no reader's rounding or edge rule can flip it).
    func testRandomMasksComeBackExactlyAndNoCentreIsNearAContour() {
        var rng = SeededRandom(seed: 2026)
        for n in 0..<2000 {
            let w = 1 + Int(rng.next() % 24), h = 1 + Int(rng.next() % 24)
            let density = 0.1 + Double(n % 9) / 10
            let m = (0..<(w * h)).map { _ in Double(rng.next() % 1000) / 1000 < density ? UInt8(1) : 0 }
            let l = loops(m, w, h)
            XCTAssertEqual(filled(l, w, h), m, "mask \(n) (\(w)x\(h))")
            for poly in l {
                XCTAssertGreaterThanOrEqual(poly.count, 4)
                for i in poly.indices {
                    let a = poly[i], b = poly[(i + 1) % poly.count]
                    for r in 0..<h { for c in 0..<w {
                        XCTAssertGreaterThan(distance((Double(c), Double(r)), a, b), 0.25 - 1e-9, "mask \(n): centre (\(c), \(r))")
                    } }
                }
            }
        }
    }

    /// Contours through the boundary pixels' centres, as rt-utils (OpenCV) and most planning systems write
    /// them, holes included: a centre on a contour counts as inside.
    func testContoursThroughBoundaryCentresComeBack() {
        let square: [Point] = [(1, 1), (4, 1), (4, 4), (1, 4)]
        let (m, w, h) = mask(["......", ".####.", ".####.", ".####.", ".####.", "......"])
        XCTAssertEqual(filled([square], w, h), m)
        // A ring: the hole's contour runs through the foreground centres around it (OpenCV's octagon).
        let (ring, rw, rh) = mask(["..........", ".########.", ".########.", ".########.", ".###..###.", ".###..###.",
                                   ".########.", ".########.", ".########.", ".........."])
        let outer: [Point] = [(1, 1), (8, 1), (8, 8), (1, 8)]
        let hole: [Point] = [(4, 3), (5, 3), (6, 4), (6, 5), (5, 6), (4, 6), (3, 5), (3, 4)]
        XCTAssertEqual(filled([outer, hole], rw, rh), ring)
    }

    func distance(_ p: Point, _ a: Point, _ b: Point) -> Double {
        let dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy
        let t = len2 > 0 ? max(0, min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2)) : 0
        let ex = p.x - a.x - t * dx, ey = p.y - a.y - t * dy
        return (ex * ex + ey * ey).squareRoot()
    }
}
