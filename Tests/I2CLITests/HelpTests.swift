// The built i2 as a user meets it: --help, --version, help SUB, and the usage errors (exit 2, one
// line on stderr, nothing on stdout). Runs TestSupport.i2Path ($I2_BINARY, else .build/debug/i2).
import XCTest
import I2TestSupport

final class HelpTests: XCTestCase {
    static let subcommands = ["receive", "watch", "process", "convert", "send", "seg2nifti", "nifti2seg"]

    func testTopHelpListsEverySubcommand() throws {
        let r = try TestSupport.i2(["--help"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for name in Self.subcommands {
            XCTAssertTrue(r.stdout.contains("\n  \(name) "), "i2 --help does not list \(name):\n\(r.stdout)")
        }
        XCTAssertEqual(r.stderr, "")
    }

    func testVersion() throws {
        let r = try TestSupport.i2(["--version"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("i2 "), r.stdout)
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 1)
    }

    func testHelpConvertAndConvertHelpAgree() throws {
        let a = try TestSupport.i2(["help", "convert"])
        let b = try TestSupport.i2(["convert", "--help"])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertTrue(a.stdout.contains("--tilt"), a.stdout)
        XCTAssertEqual(a.stdout, b.stdout)
        XCTAssertEqual(try TestSupport.i2(["convert", "-h"]).stdout, a.stdout)
    }

    func testMistypedSubcommandSuggests() throws {
        let r = try TestSupport.i2(["convret", "a", "b"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("did you mean 'convert'"), r.stderr)
        XCTAssertEqual(r.stdout, "")
    }

    func testProcessWithoutToolIsAUsageError() throws {
        let r = try TestSupport.i2(["process", "ct/"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("needs a tool"), r.stderr)
        XCTAssertEqual(r.stdout, "")
    }

    func testUnknownOptionIsOneLineWithSuggestion() throws {
        let r = try TestSupport.i2(["convert", "--fromat", "x", "in", "out"])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stdout, "")
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("'--fromat'") && r.stderr.contains("'--format'"), r.stderr)
    }

    func testNoArgumentsIsAUsageError() throws {
        let r = try TestSupport.i2([])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stdout, "", "help for a usage error goes to stderr")
        XCTAssertTrue(r.stderr.contains("convert"), r.stderr)
    }
}
