// Series.swift tests: how SeriesAssembly groups slice headers into stacks (series, orientation, echo,
// temporal position, duplicates, 4-D) and the grid it derives (sort along the normal, spacing from the
// positions, gantry tilt, irregular spacing). Positions are built by hand from a known normal and step.
import Foundation
import XCTest
@testable import I2Model

final class SeriesTests: XCTestCase {
    static let axial: [Double] = [1, 0, 0, 0, 1, 0]              // normal +z
    static let coronal: [Double] = [1, 0, 0, 0, 0, -1]           // normal +y
    static let sagittal: [Double] = [0, 1, 0, 0, 0, -1]          // normal −x
    /// Rows (1/3, 2/3, 2/3), columns (2/3, 1/3, −2/3): normal (−2/3, 2/3, −1/3), pointing down in z.
    static let oblique: [Double] = [1.0 / 3, 2.0 / 3, 2.0 / 3, 2.0 / 3, 1.0 / 3, -2.0 / 3]

    func slice(_ sop: String, _ position: Vector3, orientation: [Double] = axial, series: String = "1.2.3",
               instance: Int = 0, echo: Int? = nil, temporal: Int? = nil, frame: Int = 0) -> SliceHeader {
        var s = SliceHeader(path: "/in/\(sop).dcm", frame: frame, frameCount: frame > 0 ? frame + 1 : 1,
                            sopInstanceUID: sop, seriesInstanceUID: series, rows: 4, columns: 4,
                            pixelSpacing: [0.5, 0.5], orientation: orientation, position: position)
        s.instanceNumber = instance
        s.echo = echo
        s.temporal = temporal
        return s
    }

    /// Slices k = 0..<count at `origin + k*step`, named "s<k>", handed over in a scrambled order.
    func stack(count: Int, origin: Vector3 = .zero, step: Vector3, orientation: [Double] = axial,
               series: String = "1.2.3") -> [SliceHeader] {
        let order = scrambled(count)
        return order.map { k in slice("s\(k)", origin + step * Double(k), orientation: orientation, series: series, instance: count - k) }
    }

    /// A fixed permutation that is neither sorted nor reversed (multiplication by a unit mod count).
    func scrambled(_ count: Int) -> [Int] {
        guard count > 2 else { return Array((0..<count).reversed()) }
        var mult = count / 2 + 1
        while gcd(mult, count) != 1 { mult += 1 }
        return (0..<count).map { ($0 * mult + 1) % count }
    }
    func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    func names(_ stack: SliceStack) -> [String] { stack.slices.map(\.sopInstanceUID) }

    func assertVector(_ a: Vector3, _ b: Vector3, accuracy: Double = 1e-9, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual((a - b).length, 0, accuracy: accuracy, "\(a) vs \(b)", file: file, line: line)
    }

    func only(_ slices: [SliceHeader], file: StaticString = #filePath, line: UInt = #line) -> SliceStack? {
        let stacks = SeriesAssembly.stacks(slices)
        XCTAssertEqual(stacks.count, 1, "stacks: \(stacks.map(\.name))", file: file, line: line)
        return stacks.first
    }

    // MARK: sorting

    func testScrambledAxialSlicesSortByPositionNotInstanceNumber() throws {
        let input = stack(count: 7, origin: Vector3(-50, -60, 10), step: Vector3(0, 0, 2.5))
        XCTAssertNotEqual(input.map(\.sopInstanceUID), (0..<7).map { "s\($0)" }, "input must be scrambled")
        let s = try XCTUnwrap(only(input))
        XCTAssertEqual(names(s), (0..<7).map { "s\($0)" })
        XCTAssertEqual(s.name, "1.2.3")
        XCTAssertEqual(s.suffix, "")
        XCTAssertEqual(s.volumes, 1)
        XCTAssertEqual(s.sliceCount, 7)
        let g = SeriesAssembly.geometry(s)
        assertVector(g.origin, Vector3(-50, -60, 10))
        XCTAssertEqual(Array(g.spacing.prefix(2)), [0.5, 0.5])
        XCTAssertEqual(g.spacing[2], 2.5, accuracy: 1e-12)
        XCTAssertEqual(g.tilt, Tilt.none)
        XCTAssertNil(g.irregular)
        XCTAssertEqual(g.offsets, (0..<7).map { 10 + 2.5 * Double($0) })
    }

    func testObliqueNormalSortsAlongTheNormalWhereZWouldBeWrong() throws {
        // Normal (−2/3, 2/3, −1/3): a step of 3 mm along it is (−2, 2, −1), so z falls as the slices advance.
        let origin = Vector3(5, 6, 7)
        let input = stack(count: 6, origin: origin, step: Vector3(-2, 2, -1), orientation: Self.oblique)
        let s = try XCTUnwrap(only(input))
        XCTAssertEqual(names(s), (0..<6).map { "s\($0)" })
        let byZ = input.sorted { $0.position.z < $1.position.z }.map(\.sopInstanceUID)
        XCTAssertEqual(byZ, (0..<6).reversed().map { "s\($0)" }, "sorting by z alone gives the opposite order")
        let g = SeriesAssembly.geometry(s)
        assertVector(g.origin, origin)
        XCTAssertEqual(g.spacing[2], 3, accuracy: 1e-9)
        assertVector(g.direction.column(0), Vector3(1.0 / 3, 2.0 / 3, 2.0 / 3))
        assertVector(g.direction.column(1), Vector3(2.0 / 3, 1.0 / 3, -2.0 / 3))
        assertVector(g.direction.column(2), Vector3(-2.0 / 3, 2.0 / 3, -1.0 / 3))
        XCTAssertEqual(g.tilt, Tilt.none)
        XCTAssertNil(g.irregular)
        // Offsets along the normal: origin·n = (−10 + 12 − 7)/3 = −5/3, then +3 per slice.
        for (k, d) in g.offsets.enumerated() { XCTAssertEqual(d, -5.0 / 3 + 3 * Double(k), accuracy: 1e-9) }
    }

    func testCoronalSlicesWithEqualZSortAlongY() throws {
        let input = stack(count: 5, origin: Vector3(-100, -20, 40), step: Vector3(0, 4, 0), orientation: Self.coronal)
        let s = try XCTUnwrap(only(input))
        XCTAssertEqual(names(s), (0..<5).map { "s\($0)" })
        let g = SeriesAssembly.geometry(s)
        assertVector(g.direction.column(2), Vector3(0, 1, 0))
        XCTAssertEqual(g.spacing[2], 4, accuracy: 1e-12)
    }

    func testSliceAxisPointsAlongIncreasingNormalAndOriginIsTheFirstSortedSlice() throws {
        // Sagittal normal is −x: the first slice is the one with the largest x, the axis points to −x.
        let input = stack(count: 4, origin: Vector3(30, 0, 0), step: Vector3(-1.5, 0, 0), orientation: Self.sagittal)
        let s = try XCTUnwrap(only(input))
        XCTAssertEqual(s.first.sopInstanceUID, "s0")
        XCTAssertEqual(s.first.position, Vector3(30, 0, 0))
        let g = SeriesAssembly.geometry(s)
        assertVector(g.origin, Vector3(30, 0, 0))
        assertVector(g.direction.column(2), Vector3(-1, 0, 0))
        XCTAssertEqual(g.spacing[2], 1.5, accuracy: 1e-12)
        XCTAssertGreaterThan(g.direction.determinant, 0, "row × column = normal keeps the grid right-handed")
    }

    func testFeetFirstAxialWithNegativeNormalStartsAtTheTop() throws {
        // Columns along −y: normal (1,0,0)×(0,−1,0) = (0,0,−1); ascending along it means descending z.
        let input = stack(count: 5, origin: Vector3(0, 0, 100), step: Vector3(0, 0, -2), orientation: [1, 0, 0, 0, -1, 0])
        let s = try XCTUnwrap(only(input))
        XCTAssertEqual(s.slices.map(\.position.z), [100, 98, 96, 94, 92])
        let g = SeriesAssembly.geometry(s)
        assertVector(g.origin, Vector3(0, 0, 100))
        assertVector(g.direction.column(2), Vector3(0, 0, -1))
    }

    // MARK: spacing

    func testSpacingComesFromPositionsNotSliceThicknessAndInPlaneFromPixelSpacing() throws {
        var input = stack(count: 4, step: Vector3(0, 0, 2.5))
        for i in input.indices {
            input[i].thickness = 5
            input[i].pixelSpacing = [0.6, 0.7]     // between rows (axis 1), between columns (axis 0)
        }
        let g = SeriesAssembly.geometry(try XCTUnwrap(only(input)))
        XCTAssertEqual(g.spacing[0], 0.7)
        XCTAssertEqual(g.spacing[1], 0.6)
        XCTAssertEqual(g.spacing[2], 2.5, accuracy: 1e-12)
    }

    func testSingleSliceHasUnitSpacingAlongTheNormal() throws {
        let s = try XCTUnwrap(only([slice("a", Vector3(1, 2, 3))]))
        let g = SeriesAssembly.geometry(s)
        XCTAssertEqual(g.spacing, [0.5, 0.5, 1])
        XCTAssertEqual(g.tilt, Tilt.none)
        XCTAssertNil(g.irregular)
        assertVector(g.direction.column(2), Vector3(0, 0, 1))
        XCTAssertEqual(g.offsets, [3])
    }

    // MARK: gantry tilt

    func testInPlaneDriftOfTenDegreesIsAShear() throws {
        // Axial orientation, but each slice moves 2 mm up and 2·tan 10° mm along y.
        let tan10 = tan(10 * Double.pi / 180), cos10 = cos(10 * Double.pi / 180), sin10 = sin(10 * Double.pi / 180)
        let input = stack(count: 8, origin: Vector3(0, -10, -30), step: Vector3(0, 2 * tan10, 2))
        let s = try XCTUnwrap(only(input))
        XCTAssertEqual(names(s), (0..<8).map { "s\($0)" })
        let g = SeriesAssembly.geometry(s)
        guard case .sheared(let degrees) = g.tilt else { return XCTFail("expected a shear, got \(g.tilt)") }
        XCTAssertEqual(degrees, 10, accuracy: 1e-6)
        XCTAssertEqual(g.spacing[2], 2 / cos10, accuracy: 1e-9, "the slice axis is the actual step")
        assertVector(g.direction.column(2), Vector3(0, sin10, cos10))
        assertVector(g.origin, Vector3(0, -10, -30))
        XCTAssertNil(g.irregular)
        for (k, d) in g.offsets.enumerated() { XCTAssertEqual(d, -30 + 2 * Double(k), accuracy: 1e-9) }
    }

    func testTiltedOrientationWithPositionsAlongZIsAShear() throws {
        // Tilted gantry as scanners write it: columns (0, cos10, −sin10), normal (0, sin10, cos10), table along z.
        let c = cos(10 * Double.pi / 180), sn = sin(10 * Double.pi / 180)
        let input = stack(count: 6, origin: Vector3(0, 0, 50), step: Vector3(0, 0, 3), orientation: [1, 0, 0, 0, c, -sn])
        let g = SeriesAssembly.geometry(try XCTUnwrap(only(input)))
        guard case .sheared(let degrees) = g.tilt else { return XCTFail("expected a shear, got \(g.tilt)") }
        XCTAssertEqual(degrees, 10, accuracy: 1e-6)
        XCTAssertEqual(g.spacing[2], 3, accuracy: 1e-9)
        assertVector(g.direction.column(2), Vector3(0, 0, 1))
        XCTAssertNil(g.irregular)
    }

    func testStraightStacksHaveNoTilt() throws {
        for (iop, step) in [(Self.axial, Vector3(0, 0, 1.25)), (Self.oblique, Vector3(-2, 2, -1)), (Self.coronal, Vector3(0, 0.8, 0))] {
            let g = SeriesAssembly.geometry(try XCTUnwrap(only(stack(count: 10, origin: Vector3(-123.4, 56.7, 89.1), step: step, orientation: iop))))
            XCTAssertEqual(g.tilt, Tilt.none, "\(iop)")
            XCTAssertNil(g.irregular)
        }
    }

    // MARK: irregular spacing

    func testMissingSliceIsIrregularNamingTheTwoSlicesAroundTheGap() throws {
        let zs: [Double] = [0, 1, 2, 4, 5]
        let input = [3, 0, 4, 2, 1].map { slice("z\(Int(zs[$0]))", Vector3(0, 0, zs[$0])) }
        let g = SeriesAssembly.geometry(try XCTUnwrap(only(input)))
        let irr = try XCTUnwrap(g.irregular)
        XCTAssertEqual(irr.before.sopInstanceUID, "z2")
        XCTAssertEqual(irr.after.sopInstanceUID, "z4")
        XCTAssertEqual(irr.gap, 2, accuracy: 1e-12)
        XCTAssertEqual(irr.typical, 1, accuracy: 1e-12)
        XCTAssertEqual(g.offsets, zs)
    }

    func testHalfPercentGapJitterIsRegular() throws {
        let gaps = [1.005, 0.995, 1.0, 1.005, 0.995, 1.0, 1.0]
        let zs = gaps.reduce(into: [0.0]) { $0.append($0.last! + $1) }
        let input = zs.enumerated().reversed().map { slice("j\($0.offset)", Vector3(0, 0, $0.element)) }
        let g = SeriesAssembly.geometry(try XCTUnwrap(only(input)))
        XCTAssertNil(g.irregular)
        XCTAssertEqual(g.tilt, Tilt.none)
    }

    func testHalfPercentPositionJitterIsRegular() throws {
        // Regular 2.5 mm slices whose positions are each off by ±0.0125 mm (0.5% of the spacing): the
        // gaps alternate 2.475 / 2.525, 1% either side of the true 2.5 but 2% apart from each other.
        let jittered = (0..<9).map { k in 2.5 * Double(k) + (k % 2 == 0 ? -0.0125 : 0.0125) }
        // The same happens with rounding in real headers: 0.625 mm slices with ImagePositionPatient written
        // to two decimals (at most 0.005 mm off) give gaps of 0.62 and 0.63 mm.
        let rounded: [Double] = [-100.00, -99.38, -98.75, -98.12, -97.50, -96.88, -96.25, -95.62, -95.00]
        for (zs, spacing) in [(jittered, 2.5), (rounded, 0.625)] {
            let input = zs.enumerated().reversed().map { slice("r\($0.offset)", Vector3(0, 0, $0.element)) }
            let g = SeriesAssembly.geometry(try XCTUnwrap(only(input)))
            XCTAssertTrue(g.irregular == nil, "\(spacing) mm: refused as irregular, gap \(g.irregular?.gap ?? 0) vs typical \(g.irregular?.typical ?? 0)")
            XCTAssertEqual(g.spacing[2], spacing, accuracy: 0.005 * spacing)
        }
    }

    func testTwoPercentGapIsIrregular() throws {
        let gaps = [1.0, 1.0, 1.02, 1.0, 1.0]
        let zs = gaps.reduce(into: [0.0]) { $0.append($0.last! + $1) }
        let input = zs.enumerated().reversed().map { slice("j\($0.offset)", Vector3(0, 0, $0.element)) }
        let irr = try XCTUnwrap(SeriesAssembly.geometry(try XCTUnwrap(only(input))).irregular)
        XCTAssertEqual(irr.before.sopInstanceUID, "j2")
        XCTAssertEqual(irr.after.sopInstanceUID, "j3")
        XCTAssertEqual(irr.gap, 1.02, accuracy: 1e-9)
        XCTAssertEqual(irr.typical, 1, accuracy: 1e-9)
    }

    // MARK: splitting

    func testLocalizerWithAnotherOrientationBecomesItsOwnStack() throws {
        let main = stack(count: 6, origin: Vector3(-40, -40, 0), step: Vector3(0, 0, 3))
        let scouts = [slice("loc1", Vector3(-200, 10, 200), orientation: Self.coronal),
                      slice("loc2", Vector3(-200, -10, 200), orientation: Self.coronal)]
        // Localizers first in the input: the larger group still keeps the plain name.
        let stacks = SeriesAssembly.stacks(scouts + main)
        XCTAssertEqual(stacks.map(\.name), ["1.2.3", "1.2.3_o2"])
        XCTAssertEqual(stacks.map(\.suffix), ["", ""], "dcm2niix gives no suffix: the run's name clash rule adds a, b, ...")
        XCTAssertEqual(names(stacks[0]), (0..<6).map { "s\($0)" })
        XCTAssertEqual(names(stacks[1]), ["loc2", "loc1"], "sorted along +y")
        // The main stack's grid is exactly what it is without the localizers.
        let alone = SeriesAssembly.geometry(try XCTUnwrap(only(main)))
        let mixed = SeriesAssembly.geometry(stacks[0])
        XCTAssertEqual(mixed.origin, alone.origin)
        XCTAssertEqual(mixed.direction, alone.direction)
        XCTAssertEqual(mixed.spacing, alone.spacing)
        XCTAssertEqual(mixed.offsets, alone.offsets)
        XCTAssertNil(mixed.irregular)
        XCTAssertEqual(mixed.tilt, Tilt.none)
    }

    func testEchoesSplitIntoPlainAndE2() throws {
        var input: [SliceHeader] = []
        for k in [2, 0, 3, 1] {
            for e in [2, 1] { input.append(slice("e\(e)k\(k)", Vector3(0, 0, Double(k) * 4), instance: k * 2 + e, echo: e)) }
        }
        let stacks = SeriesAssembly.stacks(input)
        XCTAssertEqual(stacks.map(\.name), ["1.2.3_e1", "1.2.3_e2"])
        XCTAssertEqual(stacks.map(\.suffix), ["_e1", "_e2"], "dcm2niix: every echo of a multi-echo series is named")
        XCTAssertEqual(names(stacks[0]), (0..<4).map { "e1k\($0)" })
        XCTAssertEqual(names(stacks[1]), (0..<4).map { "e2k\($0)" })
        XCTAssertEqual(stacks.map(\.volumes), [1, 1])
    }

    func testTemporalPositionsStackAsOneFourDSeriesInTemporalOrder() throws {
        var input: [SliceHeader] = []
        for t in [3, 1, 2] {
            // Instance numbers run against the temporal positions: TemporalPositionIdentifier decides.
            for k in 0..<3 { input.append(slice("t\(t)k\(k)", Vector3(0, 0, Double(k)), instance: 10 - t, temporal: t)) }
        }
        let s = try XCTUnwrap(only(input))
        XCTAssertEqual(s.volumes, 3)
        XCTAssertEqual(s.suffix, "")
        XCTAssertEqual(names(s), [1, 2, 3].flatMap { t in (0..<3).map { "t\(t)k\($0)" } })
    }

    func testSingleEchoTwoIsNamedE2AndPhaseIsSplitAsPh() throws {
        var input: [SliceHeader] = []
        for k in 0..<3 {
            var m = slice("m\(k)", Vector3(0, 0, Double(k)), echo: 2)
            m.imageType = "ORIGINAL_PRIMARY_M_ND"
            var p = slice("p\(k)", Vector3(0, 0, Double(k)), echo: 2)
            p.imageType = "ORIGINAL_PRIMARY_P_ND"
            input += [p, m]
        }
        let stacks = SeriesAssembly.stacks(input)
        XCTAssertEqual(stacks.map(\.suffix), ["_e2", "_e2_ph"])
        XCTAssertEqual(stacks.map(\.volumes), [1, 1])
        XCTAssertEqual(names(stacks[1]), ["p0", "p1", "p2"])
    }

    func testSeriesNumbersUnderOneUIDAreKeptApartAsDcm2niixDoes() {
        var input: [SliceHeader] = []
        for n in ["1", "2"] {
            var s = slice("n\(n)", .zero)       // one image, the same position, series 1 and 2
            s.seriesNumber = n
            input.append(s)
        }
        let stacks = SeriesAssembly.stacks(input)
        XCTAssertEqual(stacks.map(\.name), ["1.2.3_s1", "1.2.3_s2"])
        XCTAssertEqual(stacks.map(\.volumes), [1, 1])
    }

    func testComplexComponentsSplitAsDcm2niixNamesThem() {
        var input: [SliceHeader] = []
        for (i, c) in ["MAGNITUDE", "PHASE", "REAL", "IMAGINARY"].enumerated() {
            var s = slice("c\(i)", .zero)
            s.complexComponent = c
            input.append(s)
        }
        XCTAssertEqual(Set(SeriesAssembly.stacks(input).map(\.suffix)), ["", "_ph", "_real", "_imaginary"])
    }

    func testSameUIDWithDifferentPositionsOrContentIsKeptApart() throws {
        let input = stack(count: 3, step: Vector3(0, 0, 1))
        var moved = input[0]
        moved.path = "/in/other.dcm"
        moved.position = Vector3(0, 0, 3)       // one UID, another position: a fourth slice
        XCTAssertEqual(try XCTUnwrap(only(input + [moved])).slices.count, 4)
        var same = input[0]
        same.path = "/in/copy.dcm"              // same header, but the files differ
        let kept = SeriesAssembly.stacks(input + [same], sameContent: { _, _ in false })
        XCTAssertEqual(kept.flatMap(\.slices).count, 4)
        let dropped = SeriesAssembly.stacks(input + [same], sameContent: { _, _ in true })
        XCTAssertEqual(dropped.flatMap(\.slices).count, 3)
    }

    func testDuplicateSOPInstanceUIDIsDropped() throws {
        let input = stack(count: 4, step: Vector3(0, 0, 1))
        var copy = input[1]
        copy.path = "/elsewhere/copy.dcm"     // the same instance received twice
        let s = try XCTUnwrap(only(input + [copy, input[2]]))
        XCTAssertEqual(names(s), ["s0", "s1", "s2", "s3"])
        XCTAssertEqual(s.volumes, 1)
        XCTAssertNil(SeriesAssembly.geometry(s).irregular)
    }

    func testFramesOfOneMultiFrameFileShareTheUIDAndAreKept() throws {
        let input = (0..<3).map { slice("mf", Vector3(0, 0, Double($0) * 2), frame: $0) }
        let s = try XCTUnwrap(only(input.reversed()))
        XCTAssertEqual(s.slices.map(\.frame), [0, 1, 2])
    }

    func testSamePositionDifferentUIDIsKeptAndTwoPerPositionIsFourD() throws {
        // Two acquisitions of the same 3 positions, no echo/temporal tags: ordered by instance number.
        var input: [SliceHeader] = []
        for k in [1, 2, 0] {
            input.append(slice("b\(k)", Vector3(0, 0, Double(k) * 5), instance: 10 + k))
            input.append(slice("a\(k)", Vector3(0, 0, Double(k) * 5), instance: 1 + k))
        }
        let s = try XCTUnwrap(only(input))
        XCTAssertEqual(s.volumes, 2)
        XCTAssertEqual(s.sliceCount, 3)
        XCTAssertEqual(names(s), ["a0", "a1", "a2", "b0", "b1", "b2"])
        let g = SeriesAssembly.geometry(s)
        XCTAssertEqual(g.spacing[2], 5, accuracy: 1e-12)
        XCTAssertEqual(g.offsets, [0, 5, 10])
        XCTAssertNil(g.irregular)
    }

    func testStacksOfDifferentSeriesStaySeparateInOrderOfAppearance() throws {
        let a = stack(count: 3, step: Vector3(0, 0, 1), series: "9.9")
        let b = stack(count: 4, step: Vector3(0, 0, 1), series: "1.1").map { s -> SliceHeader in
            var s = s; s.sopInstanceUID = "b" + s.sopInstanceUID; return s
        }
        let stacks = SeriesAssembly.stacks([b[0]] + a + Array(b.dropFirst()))
        XCTAssertEqual(stacks.map(\.name), ["1.1", "9.9"])
        XCTAssertEqual(stacks.map(\.slices.count), [4, 3])
        XCTAssertTrue(stacks[0].slices.allSatisfy { $0.seriesInstanceUID == "1.1" })
    }

    func testHeaderDerivedDirections() {
        let s = slice("x", .zero, orientation: Self.coronal)
        XCTAssertEqual(s.normal, Vector3(0, 1, 0))
        XCTAssertEqual(s.label, "/in/x.dcm")
        XCTAssertEqual(slice("y", .zero, frame: 2).label, "/in/y.dcm (frame 3)")
    }
}
