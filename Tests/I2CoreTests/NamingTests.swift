// Naming.swift tests: --name pattern expansion with the split suffix, sanitizing names into one safe
// path component, and the orientation label --list prints.
import Foundation
import XCTest
@testable import I2Core
@testable import I2Model

final class NamingTests: XCTestCase {
    func header(orientation: [Double] = [1, 0, 0, 0, 1, 0]) -> SliceHeader {
        var s = SliceHeader(path: "/in/a.dcm", sopInstanceUID: "1.2.3.4.5", seriesInstanceUID: "1.2.840.99.7",
                            rows: 2, columns: 2, pixelSpacing: [1, 1], orientation: orientation, position: .zero)
        s.seriesNumber = "3"
        s.seriesDescription = "Thorax 1.0 B31f"
        s.modality = "CT"
        return s
    }

    func stack(_ h: SliceHeader, suffix: String = "") -> SliceStack {
        SliceStack(name: h.seriesInstanceUID + suffix, suffix: suffix, slices: [h])
    }

    let info = SeriesInfo(uid: "1.2.840.99.7", values: ["PatientID": "PAT-001", "StudyInstanceUID": "1.2.840.99"])

    // MARK: patterns

    func testDefaultPatternJoinsNumberAndSanitizedDescription() {
        XCTAssertEqual(Naming.name("{number}_{description}", stack: stack(header()), info: info), "3_Thorax_1.0_B31f")
    }

    func testEveryPlaceholderExpands() {
        let name = Naming.name("{modality}-{patient}-{study}-{series}-{number}", stack: stack(header()), info: info)
        XCTAssertEqual(name, "CT-PAT-001-1.2.840.99-1.2.840.99.7-3")
    }

    func testRepeatedPlaceholderAndLiteralTextAndUnknownBraces() {
        let name = Naming.name("s{number}x{number}{unknown}", stack: stack(header()), info: info)
        XCTAssertEqual(name, "s3x3_unknown_", "unknown placeholders stay as text, braces sanitized")
    }

    func testSplitSuffixIsAppendedAfterSanitizing() {
        XCTAssertEqual(Naming.name("{number}_{description}", stack: stack(header(), suffix: "_o2"), info: info),
                       "3_Thorax_1.0_B31f_o2")
        XCTAssertEqual(Naming.name("{number}", stack: stack(header(), suffix: "_e2_t3"), info: info), "3_e2_t3")
    }

    func testEmptyNumberAndDescriptionHaveDefaults() {
        var h = header()
        h.seriesNumber = ""
        h.seriesDescription = ""
        XCTAssertEqual(Naming.name("{number}_{description}", stack: stack(h), info: info), "0_series")
    }

    func testMissingSeriesInfoValuesExpandToNothing() {
        let name = Naming.name("{patient}{study}", stack: stack(header()), info: SeriesInfo(uid: "x"))
        XCTAssertEqual(name, "series")
    }

    func testDescriptionCannotEscapeTheOutputDirectory() {
        var h = header()
        h.seriesDescription = "../../etc/passwd"
        let name = Naming.name("{description}", stack: stack(h), info: info)
        XCTAssertFalse(name.contains("/"))
        XCTAssertFalse(name.hasPrefix("."))
        XCTAssertEqual(name, "_.._etc_passwd")
    }

    func testValuesAreInsertedLiterallyNotExpandedAgain() {
        // Each value spells another placeholder (a cycle), so a second expansion pass shows in any order.
        var h = header()
        h.seriesNumber = "{modality}"
        h.seriesDescription = "{number}"
        h.modality = "{patient}"
        h.seriesInstanceUID = "{study}"
        let info = SeriesInfo(uid: "u", values: ["PatientID": "{series}", "StudyInstanceUID": "{description}"])
        let name = Naming.name("{number}{description}{modality}{patient}{series}{study}", stack: stack(h), info: info)
        XCTAssertEqual(name, "_modality__number__patient__series__study__description_")
    }

    // MARK: sanitize

    func testSanitizeReplacesSlashesAndSpaces() {
        XCTAssertEqual(Naming.sanitize("a/b c\td"), "a_b_c_d")
        XCTAssertEqual(Naming.sanitize("T1 MPRAGE (sag)"), "T1_MPRAGE__sag_")
        XCTAssertEqual(Naming.sanitize("x\\y:z*?"), "x_y_z__")
    }

    func testSanitizeKeepsLettersDigitsDotDashUnderscore() {
        XCTAssertEqual(Naming.sanitize("AZaz09.-_"), "AZaz09.-_")
    }

    func testSanitizeRemovesLeadingDotsAndDotNames() {
        XCTAssertEqual(Naming.sanitize(".hidden"), "hidden")
        XCTAssertEqual(Naming.sanitize("...x.y"), "x.y")
        XCTAssertEqual(Naming.sanitize(".."), "series")
        XCTAssertEqual(Naming.sanitize("."), "series")
        XCTAssertEqual(Naming.sanitize("a..b"), "a..b", "inner dots are harmless in one component")
    }

    func testSanitizeOfEmptyIsSeries() {
        XCTAssertEqual(Naming.sanitize(""), "series")
    }

    func testSanitizeReplacesEachNonASCIIScalar() {
        XCTAssertEqual(Naming.sanitize("Sch\u{E4}del"), "Sch_del")                // precomposed ä: one scalar
        XCTAssertEqual(Naming.sanitize("Scha\u{308}del"), "Scha_del")             // a + combining diaeresis
        XCTAssertEqual(Naming.sanitize("\u{5FC3}\u{81DF}"), "__")                // CJK letters are alphabetic but not ASCII
        XCTAssertEqual(Naming.sanitize("\u{1F600}x"), "_x")
        XCTAssertEqual(Naming.sanitize("\u{0660}1"), "_1", "Arabic-Indic digit zero is not an ASCII digit")
    }

    func testSanitizeCapsTheLengthAt200() {
        XCTAssertEqual(Naming.sanitize(String(repeating: "a", count: 300)).count, 200)
        XCTAssertEqual(Naming.sanitize(String(repeating: "b", count: 200)), String(repeating: "b", count: 200))
    }

    // MARK: orientation label

    func testOrientationLabels() {
        XCTAssertEqual(Orientation.label(header(orientation: [1, 0, 0, 0, 1, 0])), "axial")
        XCTAssertEqual(Orientation.label(header(orientation: [1, 0, 0, 0, -1, 0])), "axial", "normal −z is still axial")
        XCTAssertEqual(Orientation.label(header(orientation: [1, 0, 0, 0, 0, -1])), "coronal")
        XCTAssertEqual(Orientation.label(header(orientation: [0, 1, 0, 0, 0, -1])), "sagittal")
        XCTAssertEqual(Orientation.label(header(orientation: [1.0 / 3, 2.0 / 3, 2.0 / 3, 2.0 / 3, 1.0 / 3, -2.0 / 3])), "oblique")
    }

    func testOrientationLabelThresholdIsAboutEightDegrees() {
        // Normal component 0.99 ↔ arccos 0.99 ≈ 8.1°: a 5° tilt is still axial, 10° is oblique.
        for (deg, label) in [(5.0, "axial"), (10.0, "oblique")] {
            let c = cos(deg * Double.pi / 180), s = sin(deg * Double.pi / 180)
            XCTAssertEqual(Orientation.label(header(orientation: [1, 0, 0, 0, c, -s])), label, "\(deg)°")
        }
    }
}
