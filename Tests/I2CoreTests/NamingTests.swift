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
        XCTAssertEqual(name, "s3x3{unknown}", "unknown placeholders stay as text; dcm2niix keeps braces")
    }

    func testSplitSuffixIsAppendedAfterSanitizing() {
        XCTAssertEqual(Naming.name("{number}_{description}", stack: stack(header(), suffix: "_o2"), info: info),
                       "3_Thorax_1.0_B31f_o2")
        XCTAssertEqual(Naming.name("{number}", stack: stack(header(), suffix: "_e2_ph"), info: info), "3_e2_ph")
        XCTAssertEqual(Naming.name("{number}_", stack: stack(header(), suffix: "_e1"), info: info), "3_e1", "runs of _ collapse across the suffix")
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
        XCTAssertEqual(name, "_._.._etc_passwd")
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
        XCTAssertEqual(name, "{modality}{number}{patient}{series}{study}{description}")
    }

    // MARK: sanitize

    func testSanitizeReplacesSlashesAndSpaces() {
        XCTAssertEqual(Naming.sanitize("a/b c\td"), "a_b_c_d")
        XCTAssertEqual(Naming.sanitize("T1 MPRAGE (sag)"), "T1_MPRAGE_(sag)")
        XCTAssertEqual(Naming.sanitize("x\\y:z*?"), "x_y_z_")
        // Checked one by one against dcm2niix v1.0.20220720 (-f %p): these become _, every other printable ASCII stays.
        XCTAssertEqual(Naming.sanitize("a\"b$c*d/e:f;g<h>i?j`k|l m"), "a_b_c_d_e_f_g_h_i_j_k_l_m")
        XCTAssertEqual(Naming.sanitize("x!#%&'()+,-.=@[]^{}~y"), "x!#%&'()+,-.=@[]^{}~y")
    }

    func testSanitizeKeepsLettersDigitsDotDashUnderscore() {
        XCTAssertEqual(Naming.sanitize("AZaz09.-_"), "AZaz09.-_")
        XCTAssertEqual(Naming.sanitize("a__b"), "a_b", "dcm2niix collapses runs of _")
    }

    func testSanitizeReplacesALeadingDot() {
        // dcm2niix replaces a leading '.' by '_' (never a hidden file, never "." or "..").
        XCTAssertEqual(Naming.sanitize(".hidden"), "_hidden")
        XCTAssertEqual(Naming.sanitize("...x.y"), "_..x.y")
        XCTAssertEqual(Naming.sanitize(".."), "_.")
        XCTAssertEqual(Naming.sanitize("."), "_")
        XCTAssertEqual(Naming.sanitize("a..b"), "a..b", "inner dots are harmless in one component")
    }

    func testSanitizeOfEmptyIsSeries() {
        XCTAssertEqual(Naming.sanitize(""), "series")
    }

    func testSanitizeReplacesEachNonASCIIScalar() {
        XCTAssertEqual(Naming.sanitize("Sch\u{E4}del"), "Schadel")                // Latin-1 ä: dcm2niix's cleanISO8859
        XCTAssertEqual(Naming.sanitize("Scha\u{308}del"), "Scha_del")             // a + combining diaeresis
        XCTAssertEqual(Naming.sanitize("\u{5FC3}\u{81DF}"), "_")                 // CJK letters are not ASCII; runs of _ collapse
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
