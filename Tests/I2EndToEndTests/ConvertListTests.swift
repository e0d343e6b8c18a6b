// `i2 convert --list`: 7 tab-separated columns, all documented; '-' for an empty field (never a
// trailing tab); a header line when stdout is a terminal, none when piped.
import Foundation
import XCTest
import I2TestSupport

final class ConvertListTests: E2ECase {
    static let header = ["NAME", "MODALITY", "ORIENTATION", "SIZE", "SLICES", "NUMBER", "DESCRIPTION"]

    /// ct-3slice has no SeriesDescription: its last column is "-", not empty.
    func testPipedListHasSevenFilledColumnsAndNoHeader() throws {
        let r = try E2E.i2(["convert", "--list", TestSupport.fixture("dcmqi/ct-3slice"), TestSupport.fixture("pydicom-ct2")])
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        XCTAssertEqual(lines.count, 2, r.stdout)
        for line in lines {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            XCTAssertEqual(fields.count, 7, line)
            XCTAssertFalse(fields.contains { $0.isEmpty }, "empty field in \(line.debugDescription)")
            XCTAssertFalse(line.hasSuffix("\t"), line.debugDescription)
            XCTAssertFalse(line.hasPrefix("NAME"), "header in piped output")
        }
        XCTAssertTrue(lines.contains { $0.hasSuffix("\t-") && $0.contains("512x512x3") }, r.stdout)
        XCTAssertTrue(lines.contains { $0.hasSuffix("\tRoutine Brain") }, r.stdout)
    }

    /// Under a pseudo-terminal (script(1)) the first line names the columns.
    func testTerminalListStartsWithAHeader() throws {
        let script = "/usr/bin/script"
        guard FileManager.default.isExecutableFile(atPath: script) else { throw XCTSkip("no script(1) for a pseudo-terminal") }
        let cmd = "'\(TestSupport.i2Path)' convert --list '\(TestSupport.fixture("dcmqi/ct-3slice"))'"
        let r = try TestSupport.run(script, ["-qec", cmd, "/dev/null"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let lines = r.stdout.replacingOccurrences(of: "\r", with: "").split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, Self.header.joined(separator: "\t"), r.stdout)
        XCTAssertEqual(lines.count, 2, r.stdout)
    }

    /// The man page names every column.
    func testManPageDocumentsEveryColumn() throws {
        let r = try E2E.i2(["--generate", "man-convert"])
        guard let start = r.stdout.range(of: "\\fB\\-\\-list\\fR") else { return XCTFail("no --list in the man page") }
        let text = String(r.stdout[start.lowerBound...].prefix(1500))
        XCTAssertTrue(text.contains("7 tab-separated columns"), text)
        for column in Self.header { XCTAssertTrue(text.contains(column), "\(column) not in: \(text)") }
    }
}
