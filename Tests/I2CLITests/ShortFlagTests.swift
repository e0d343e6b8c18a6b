// One meaning per short letter across the whole toolkit: `-x` may not be `--a` in one subcommand and
// `--b` in another (or in `i2` itself).
import XCTest
@testable import I2CLI

final class ShortFlagTests: XCTestCase {
    func testEachShortLetterMapsToOneLongNameEverywhere() {
        var meanings: [Character: [String: [String]]] = [:]   // letter → long name → where
        let tables = [("i2", CommandTable.topFlags)] + CommandTable.all.map { ("i2 " + $0.name, $0.flags) }
        for (owner, flags) in tables {
            for f in flags {
                guard let s = f.short else { continue }
                meanings[s, default: [:]][f.long, default: []].append(owner)
            }
        }
        for (letter, longs) in meanings.sorted(by: { $0.key < $1.key }) where longs.count > 1 {
            let list = longs.sorted { $0.key < $1.key }.map { "--\($0.key) (\($0.value.joined(separator: ", ")))" }
            XCTFail("-\(letter) means \(list.joined(separator: " and "))")
        }
        // The common ones stay what they are everywhere.
        XCTAssertEqual(meanings["o"].map { Array($0.keys) }, ["output"])
        XCTAssertEqual(meanings["h"].map { Array($0.keys) }, ["help"])
        XCTAssertEqual(meanings["0"].map { Array($0.keys) }, ["null"])
    }
}
