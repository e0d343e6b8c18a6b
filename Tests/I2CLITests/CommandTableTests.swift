// Ring 2 over every command's table at once: what the parser and the typed accessors rely on.
import XCTest
@testable import I2CLI
import I2Core

final class CommandTableTests: XCTestCase {
    /// The table finds each command by the name the command itself declares.
    func testEachBuilderIsNamedAsItsCommand() {
        for b in CommandTable.builders { XCTAssertEqual(b.build().name, b.name) }
        XCTAssertEqual(Set(CommandTable.all.map(\.name)).count, CommandTable.builders.count)
        XCTAssertEqual(CommandTable.named("convert")?.name, "convert")
        XCTAssertNil(CommandTable.named("nope"))
    }

    func testLongNamesAreUniquePerCommand() {
        for c in CommandTable.all {
            let names = c.flags.map(\.long)
            XCTAssertEqual(names.count, Set(names).count, "i2 \(c.name) declares a flag twice: \(names)")
        }
    }

    /// The default a flag shows in help is a value the parser would accept, so reading an absent flag
    /// through ParsedArguments (value, choice, int, seconds) gives the documented default.
    func testDeclaredDefaultsAreValidValues() throws {
        for c in CommandTable.all {
            for f in c.flags {
                guard let d = f.defaultValue else { continue }
                XCTAssertTrue(f.takesValue, "i2 \(c.name) --\(f.long): a switch with a default")
                if !f.choices.isEmpty { XCTAssertTrue(f.choices.contains(d), "i2 \(c.name) --\(f.long): default '\(d)' is not a choice") }
                let parsed = try Parser.parse([], flags: c.flags)
                XCTAssertEqual(parsed.value(f), d)
                XCTAssertNil(parsed.given(f))
                let reparsed = try Parser.parse(["--" + f.long, d], flags: c.flags)
                XCTAssertEqual(reparsed.value(f), d, "i2 \(c.name) --\(f.long) \(d) does not parse to itself")
            }
        }
    }

    /// Running a command with only a bad flag is a usage error (status 2), never a crash or a run.
    func testEveryCommandRefusesAnUnknownFlag() {
        for c in CommandTable.all {
            XCTAssertEqual(I2CLI.run(c, ["--no-such-flag"], stop: StopToken()), ExitStatus.usage.rawValue, c.name)
        }
    }
}
