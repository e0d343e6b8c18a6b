// The roff the man page generator writes: escaping rules, and the checked-in pages read cleanly by groff.
import Foundation
import XCTest
@testable import I2CLI
import I2Core
import I2TestSupport

final class ManPageTests: XCTestCase {
    func testEscaping() {
        XCTAssertEqual(ManPage.text("a\\b"), "a\\eb")
        XCTAssertEqual(ManPage.text(".TH at the start"), "\\&.TH at the start")
        XCTAssertEqual(ManPage.text("'quoted' start"), "\\&'quoted' start")
        XCTAssertEqual(ManPage.text("use --name or '-'"), "use \\-\\-name or '\\-'")
        XCTAssertEqual(ManPage.text("image-processing"), "image-processing", "a hyphen inside a word stays a hyphen")
        XCTAssertEqual(ManPage.text("no-sidecar", code: true), "no\\-sidecar", "in code every hyphen is a minus")
        XCTAssertEqual(ManPage.text("`man-SUB` prints"), "\\fBman\\-SUB\\fR prints", "backticks are bold code")
    }

    func testSentence() {
        XCTAssertEqual(ManPage.sentence("gzip level"), "Gzip level.")
        XCTAssertEqual(ManPage.sentence("Done."), "Done.")
    }

    func testCommandPageSections() throws {
        let page = ManPage.command(try XCTUnwrap(CommandTable.named("convert")))
        for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH ARGUMENTS", ".SH OPTIONS", ".SH EXAMPLES",
                        ".SH \"EXIT STATUS\"", ".SH \"SEE ALSO\""] {
            XCTAssertTrue(page.contains("\n" + section + "\n"), "i2-convert(1) lacks \(section)")
        }
        XCTAssertTrue(page.contains("\\fB\\-\\-tilt\\fR \\fIMODE\\fR"))
        XCTAssertFalse(page.contains("\n\n"), "a blank line in roff prints as one")
    }

    func testExtraSectionsComeBeforeExitStatus() {
        let c = Command(name: "demo", summary: "demo", description: "Demo.", flags: [], positionals: [],
                        extraManSections: [("Files", "~/.config/i2/nodes.json\n.hidden start")], run: { _, _ in Report() })
        let page = ManPage.command(c)
        XCTAssertTrue(page.contains(".SH \"FILES\"\n~/.config/i2/nodes.json\n.PP\n\\&.hidden start\n"), page)
        XCTAssertLessThan(page.range(of: "FILES")!.lowerBound, page.range(of: "EXIT STATUS")!.lowerBound)
    }

    /// groff with all warnings on finds nothing to complain about in the checked-in pages.
    func testGroffReadsThePagesWithoutWarnings() throws {
        let groff = try TestSupport.tool("groff", package: "groff-base")
        for file in GeneratedFilesTests.files where file.path.hasPrefix("man/") {
            let path = TestSupport.packageRoot.appendingPathComponent(file.path).path
            let r = try TestSupport.run(groff, ["-man", "-ww", "-z", "-Tutf8", path])
            XCTAssertEqual(r.status, 0, file.path)
            XCTAssertEqual(r.stderr, "", "groff warns about \(file.path)")
        }
    }
}
