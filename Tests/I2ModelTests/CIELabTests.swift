// CIELab.swift tests: sRGB → Recommended Display CIELab Value agrees with what dcmqi wrote into real
// SEGs and with highdicom's documented and computed values, the PS3.3 C.10.7.1.1 scaling is exact at its
// ends, and every TotalSegmentator colour comes back from CIELab within ±1 per channel.
import XCTest
@testable import I2Model

final class CIELabTests: XCTestCase {
    /// RGB from dcmqi's JSON templates → the RecommendedDisplayCIELabValue dcmqi stored for it, read with
    /// dcmdump from shared/testdata/dcmqi: liver.dcm (json/seg-example.json) and partial_overlaps.dcm
    /// (json/seg-example_partial_overlaps.json; GREEN, ORANGE, PURPLE, LIGHT_BLUE, DARK_BLUE).
    let dcmqiWritten: [(RGBColor, [Int])] = [
        (RGBColor(221, 130, 101), [41661, 41167, 40792]),
        (RGBColor(128, 174, 128), [43803, 26565, 37722]),
        (RGBColor(216, 101, 79), [37064, 44082, 41620]),
        (RGBColor(183, 156, 220), [45062, 38660, 25486]),
        (RGBColor(140, 224, 228), [55193, 26619, 30325]),
        (RGBColor(0, 151, 206), [38399, 29410, 23264]),
    ]

    /// Computed with highdicom 0.28.2 (`CIELabColor.from_rgb(r, g, b).value`); orange is also the example
    /// in highdicom's CIELabColor docstring. Includes primaries, white, and TotalSegmentator colours that
    /// reach the linear branch of f(t) (vertebrae_C3 60,35,0) and a near-pure blue (vertebrae_L2 26,1,222).
    let highdicomComputed: [(RGBColor, [Int])] = [
        (RGBColor(255, 165, 0), [49107, 39048, 53188]),
        (RGBColor(255, 255, 255), [65535, 32897, 32893]),
        (RGBColor(255, 0, 0), [34886, 53484, 50172]),
        (RGBColor(0, 255, 0), [57498, 10747, 54274]),
        (RGBColor(0, 0, 255), [21170, 53250, 5175]),
        (RGBColor(50, 170, 60), [40266, 18801, 44698]),
        (RGBColor(46, 138, 184), [35558, 30026, 24735]),
        (RGBColor(60, 35, 0), [10695, 35128, 39070]),
        (RGBColor(26, 1, 222), [18451, 51229, 8215]),
    ]

    func testMatchesWhatDcmqiStoredInItsSEGs() {
        for (rgb, lab) in dcmqiWritten {
            XCTAssertEqual(CIELabColor(rgb).components, lab, "\(rgb)")
        }
    }

    func testMatchesHighdicom() {
        for (rgb, lab) in highdicomComputed {
            XCTAssertEqual(rgb.cieLab.components, lab, "\(rgb)")
        }
    }

    func testStoredValuesConvertBackToTheTemplateColours() {
        // highdicom's to_rgb() gives back exactly these RGBs for these stored values.
        for (rgb, lab) in dcmqiWritten + highdicomComputed {
            XCTAssertEqual(CIELabColor(l: UInt16(lab[0]), a: UInt16(lab[1]), b: UInt16(lab[2])).rgb, rgb, "\(lab)")
        }
    }

    func testBlackIsZeroLightnessAndNeutralChroma() {
        // a* = b* = 0 → (0 + 128) * 65535 / 255 = 32896 exactly (0x8080), as C.10.7.1.1 notes.
        XCTAssertEqual(RGBColor(0, 0, 0).cieLab.components, [0, 32896, 32896])
        XCTAssertEqual(CIELabColor(l: 0, a: 32896, b: 32896).rgb, RGBColor(0, 0, 0))
    }

    func testScalingEndsOfTheRanges() {
        // PS3.3 C.10.7.1.1: L* 0...100 → 0...65535, a*/b* -128...127 → 0...65535.
        XCTAssertEqual(CIELabColor(lStar: 100, aStar: -128, bStar: 127).components, [65535, 0, 65535])
        XCTAssertEqual(CIELabColor(lStar: 0, aStar: 0, bStar: 0).components, [0, 32896, 32896])
        // By hand: 53 * 65535/100 = 34733.55; (10.5 + 128) * 257 = 35594.5, a tie, which rounds away from
        // zero as dcmqi's C round() does (highdicom's Python round() gives 35594); (-20.25 + 128) * 257 = 27691.75.
        XCTAssertEqual(CIELabColor(lStar: 53, aStar: 10.5, bStar: -20.25).components, [34734, 35595, 27692])
        let top = CIELabColor(l: 65535, a: 65535, b: 0)
        XCTAssertEqual(top.lStar, 100, accuracy: 1e-12)
        XCTAssertEqual(top.aStar, 127, accuracy: 1e-12)
        XCTAssertEqual(top.bStar, -128, accuracy: 1e-12)
    }

    func testOutOfGamutValuesAreClampedToTheRGBRange() {
        // L* = 100 with a* = -128 is far outside sRGB: green over-saturates, red and blue go negative.
        let rgb = CIELabColor(l: 65535, a: 0, b: 32896).rgb
        XCTAssertEqual(rgb.green, 255)
        XCTAssertEqual(rgb.red, 0)
    }

    func testEveryTotalSegmentatorColourRoundTripsWithinOne() throws {
        let mapping = try TotalSegmentatorCSV.mapping()
        let labels = try TotalSegmentatorCSV.totalLabels()
        XCTAssertEqual(labels.count, 117)
        for (_, structure) in labels {
            let rgb = TotalSegmentatorCSV.color(try XCTUnwrap(mapping[structure]))
            let back = rgb.cieLab.rgb
            for (a, b) in zip(rgb.components, back.components) {
                XCTAssertLessThanOrEqual(abs(a - b), 1, "\(structure): \(rgb) → \(rgb.cieLab) → \(back)")
            }
        }
    }
}
