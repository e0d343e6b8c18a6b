// man/ and completions/ as checked in must be exactly what the code generates now (swift-format's
// GeneratedFilesValidityTests): a flag added without regenerating fails here, naming the file.
import Foundation
import XCTest
@testable import I2CLI
import I2TestSupport

final class GeneratedFilesTests: XCTestCase {
    /// Every generated file: its path in the package and the `--generate` argument producing it.
    static let files: [(path: String, what: String)] =
        [("man/i2.1", "man")] + CommandTable.all.map { ("man/i2-\($0.name).1", "man-\($0.name)") }
        + [("completions/i2.bash", "complete-bash"), ("completions/_i2", "complete-zsh"), ("completions/i2.fish", "complete-fish")]

    func testCheckedInFilesMatchTheGenerator() {
        for file in Self.files {
            let url = TestSupport.packageRoot.appendingPathComponent(file.path)
            guard let checkedIn = try? String(contentsOf: url, encoding: .utf8) else {
                XCTFail("\(file.path) is missing: run `swift build && bash Tests/regenerate-docs.sh`")
                continue
            }
            if checkedIn != Generate.file(file.what) {
                XCTFail("\(file.path) is stale (differs from `i2 --generate \(file.what)`): run `swift build && bash Tests/regenerate-docs.sh`")
            }
        }
    }

    /// A man page left behind by a removed or renamed subcommand is stale too.
    func testNoManPageWithoutASubcommand() throws {
        let man = TestSupport.packageRoot.appendingPathComponent("man")
        let present = try FileManager.default.contentsOfDirectory(atPath: man.path).filter { $0.hasSuffix(".1") }
        let expected = Set(Self.files.map { URL(fileURLWithPath: $0.path).lastPathComponent }.filter { $0.hasSuffix(".1") })
        for name in present where !expected.contains(name) {
            XCTFail("man/\(name) belongs to no subcommand: delete it, or run `bash Tests/regenerate-docs.sh`")
        }
    }

    /// Every value `--generate` accepts produces something.
    func testEveryGenerateChoiceProducesAFile() throws {
        let generate = try XCTUnwrap(CommandTable.topFlags.first { $0.long == "generate" })
        for what in generate.choices {
            XCTAssertFalse(Generate.file(what).isEmpty, "i2 --generate \(what) printed nothing")
        }
        XCTAssertEqual(Set(generate.choices), Set(Self.files.map(\.what)))
    }
}
