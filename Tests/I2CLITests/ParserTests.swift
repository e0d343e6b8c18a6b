// Ring 2: the parser against convert's real flag declarations: syntax forms, repetition, and the
// exact usage errors (with did-you-mean) a user sees.
import XCTest
@testable import I2CLI
import I2Core

final class ParserTests: XCTestCase {
    let flags = Convert.command.flags

    func parse(_ words: [String]) throws -> ParsedArguments { try Parser.parse(words, flags: flags) }

    /// The message of the usage error `words` must cause.
    func error(_ words: [String], file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let parsed = try parse(words)
            XCTFail("\(words) parsed without error: \(parsed)", file: file, line: line)
        } catch let e as I2Error where e.kind == .usage {
            return e.detail
        } catch {
            XCTFail("\(words) threw \(error), not a usage error", file: file, line: line)
        }
        return ""
    }

    func testLongOptionWithEqualsOrSeparateValue() throws {
        XCTAssertEqual(try parse(["--output=out.nii"]).given(Convert.output), "out.nii")
        XCTAssertEqual(try parse(["--output", "out.nii"]).given(Convert.output), "out.nii")
        XCTAssertEqual(try parse(["--name="]).given(Convert.pattern), "", "an empty inline value is a value")
        XCTAssertEqual(try parse(["--name=a=b"]).given(Convert.pattern), "a=b", "only the first = separates")
    }

    func testShortOptionWithSeparateOrAttachedValue() throws {
        XCTAssertEqual(try parse(["-o", "out.nii"]).given(Convert.output), "out.nii")
        XCTAssertEqual(try parse(["-oout.nii"]).given(Convert.output), "out.nii")
    }

    func testBundledShortSwitches() throws {
        let p = try parse(["-l0"])
        XCTAssertTrue(p.has(Convert.list))
        XCTAssertTrue(p.has(CommonFlags.null))
        let q = try parse(["-lsUID"])
        XCTAssertTrue(q.has(Convert.list))
        XCTAssertEqual(q.all(Convert.series), ["UID"], "a value-taking short flag takes the rest of the bundle")
    }

    func testDoubleDashEndsOptions() throws {
        let p = try parse(["in", "--", "--force", "-l"])
        XCTAssertEqual(p.positionals, ["in", "--force", "-l"])
        XCTAssertFalse(p.has(Convert.force))
        XCTAssertFalse(p.has(Convert.list))
    }

    func testSingleDashIsAPositional() throws {
        XCTAssertEqual(try parse(["-", "out/"]).positionals, ["-", "out/"])
    }

    func testValueIsTakenEvenWhenItLooksLikeAnOption() throws {
        XCTAssertEqual(try parse(["--name", "--force"]).given(Convert.pattern), "--force")
    }

    func testRepeatedSeriesAccumulates() throws {
        XCTAssertEqual(try parse(["--series", "1.2", "-s", "3.4", "--series=5.6"]).all(Convert.series), ["1.2", "3.4", "5.6"])
    }

    func testRepeatedNonRepeatableLastWins() throws {
        XCTAssertEqual(try parse(["--tilt", "shear", "--tilt", "resample"]).all(Convert.tilt), ["resample"])
        XCTAssertEqual(try parse(["-o", "a", "--output", "b"]).all(Convert.output), ["b"])
    }

    /// Every flag of convert: absent by default, recorded when set, repetition per its declaration.
    func testEveryFlagDefaultSetAndRepeated() throws {
        XCTAssertTrue(try parse([]).values.isEmpty, "defaults are the command's business, not the parser's")
        for f in flags {
            let value = f.choices.last ?? "v"
            let once = f.takesValue ? ["--" + f.long, value] : ["--" + f.long]
            XCTAssertEqual(try parse(once).all(f), [f.takesValue ? value : ""], "--\(f.long)")
            let twice = try parse(once + once).all(f)
            XCTAssertEqual(twice.count, f.repeatable ? 2 : 1, "--\(f.long) given twice")
            if let short = f.short {
                XCTAssertTrue(try parse(f.takesValue ? ["-\(short)", value] : ["-\(short)"]).has(f), "-\(short)")
            }
        }
    }

    func testBadChoiceListsTheChoicesAndSuggestsWhenNear() {
        XCTAssertEqual(error(["--tilt", "shaer"]),
                       "invalid value 'shaer' for --tilt (expected one of: shear, resample); did you mean 'shear'?")
        let far = error(["--tilt", "x"])
        XCTAssertTrue(far.contains("expected one of: shear, resample"), far)
        XCTAssertFalse(far.contains("did you mean"), far)
        XCTAssertTrue(error(["--format=nrd"]).hasSuffix("did you mean 'nrrd'?"))
        XCTAssertTrue(error(["--compression-level", "0"]).hasPrefix("invalid value '0' for --compression-level"))
    }

    func testUnknownOptionSuggestsTheNearest() {
        XCTAssertEqual(error(["--fromat", "nrrd"]), "unknown option '--fromat'; did you mean '--format'?")
        XCTAssertEqual(error(["--out", "x"]), "unknown option '--out'; did you mean '--output'?")
        XCTAssertEqual(error(["--zzzzzzzz"]), "unknown option '--zzzzzzzz'")
        XCTAssertEqual(error(["-x"]), "unknown option '-x'")
        XCTAssertEqual(error(["-lx"]), "unknown option '-x' in '-lx'")
    }

    func testMissingValue() {
        XCTAssertEqual(error(["in", "--output"]), "option '--output' needs a value (PATH)")
        XCTAssertEqual(error(["-o"]), "option '-o' needs a value (PATH)")
    }

    func testValueGivenToASwitch() {
        XCTAssertEqual(error(["--list=x"]), "option '--list' takes no value")
    }
}
