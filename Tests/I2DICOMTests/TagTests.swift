// Tag.swift: the one tag table. Keywords are DCMTK's (the standard's), paths are DCMTK path syntax, and
// no file in Sources spells a tag as a "(gggg,eeee)" literal outside the table.
import Foundation
import XCTest
@testable import I2DICOM
import I2TestSupport

final class TagTests: XCTestCase {
    static let sources = TestSupport.packageRoot.appendingPathComponent("Sources")
    static let table = sources.appendingPathComponent("I2DICOM/Tag.swift")

    /// Every entry of the table, parsed from its source: `static let name = Tag(0xGGGG, 0xEEEE, "Keyword")`.
    func entries() throws -> [(name: String, tag: Tag)] {
        let text = try String(contentsOf: Self.table, encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"static let (\w+) = Tag\(0x([0-9A-F]{4}), 0x([0-9A-F]{4}), "(\w+)"\)"#)
        return pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { m in
            let s = { (i: Int) in String(text[Range(m.range(at: i), in: text)!]) }
            return (s(1), Tag(UInt16(s(2), radix: 16)!, UInt16(s(3), radix: 16)!, s(4)))
        }
    }

    func testKeywordsAreTheDictionaryKeywords() throws {
        let all = try entries()
        XCTAssertGreaterThan(all.count, 100)
        for (name, tag) in all {
            XCTAssertEqual(tag.keyword, tag.dictionaryKeyword, "\(name) \(tag.path)")
            XCTAssertEqual(name.lowercased(), tag.keyword.lowercased(), "Swift name follows the keyword")
        }
        XCTAssertEqual(Set(all.map(\.tag)).count, all.count, "each tag once")
        XCTAssertEqual(Set(all.map(\.name)).count, all.count, "each name once")
    }

    func testPathsAreDCMTKSyntaxWithUpperCaseHex() {
        XCTAssertEqual(Tag.seriesDescription.path, "(0008,103E)")
        XCTAssertEqual(TagPath(.segmentSequence).text, "(0062,0002)")
        XCTAssertEqual((Tag.sharedFunctionalGroupsSequence[0] / Tag.pixelMeasuresSequence[0] / .pixelSpacing).text,
                       "(5200,9229)[0].(0028,9110)[0].(0028,0030)")
        XCTAssertEqual((Tag.segmentSequence[3] / Tag.segmentedPropertyTypeCodeSequence[0] / .codeValue).text,
                       "(0062,0002)[3].(0062,000F)[0].(0008,0100)")
        XCTAssertEqual(Tag(0x0010, 0x0010, "Other"), .patientName, "equality is by number")
    }

    /// No "(gggg,eeee)" outside Tag.swift, in code or string literals (comments may name tags).
    func testNoRawTagLiteralsOutsideTheTable() throws {
        let tag = try NSRegularExpression(pattern: #"\([0-9A-Fa-f]{4},[0-9A-Fa-f]{4}\)"#)
        var found: [String] = []
        let files = FileManager.default.enumerator(at: Self.sources, includingPropertiesForKeys: nil)!
        for case let url as URL in files where ["swift", "h", "hpp", "c", "cpp"].contains(url.pathExtension) {
            if url.standardizedFileURL == Self.table.standardizedFileURL { continue }
            let text = try String(contentsOf: url, encoding: .utf8)
            for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = Self.withoutComment(String(line))
                if tag.firstMatch(in: code, range: NSRange(code.startIndex..., in: code)) != nil {
                    let relative = url.path.replacingOccurrences(of: TestSupport.packageRoot.path + "/", with: "")
                    found.append("\(relative):\(i + 1): \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        XCTAssertEqual(found, [], "raw tag literals outside Sources/I2DICOM/Tag.swift:\n" + found.joined(separator: "\n"))
    }

    /// The line up to a `//` comment that starts outside a string literal.
    static func withoutComment(_ line: String) -> String {
        var inString = false, previous: Character = " "
        var index = line.startIndex
        while index < line.endIndex {
            let c = line[index]
            if c == "\"" && previous != "\\" { inString.toggle() }
            if !inString && c == "/" && previous == "/" { return String(line[..<line.index(before: index)]) }
            previous = c
            index = line.index(after: index)
        }
        return line
    }

    func testTheScanCatchesALiteral() {
        XCTAssertEqual(Self.withoutComment(#"let x = f.string("(0010,0010)") // (0010,0010)"#), #"let x = f.string("(0010,0010)") "#)
        XCTAssertEqual(Self.withoutComment("// (0010,0010) PatientName"), "")
        XCTAssertEqual(Self.withoutComment(#"s = "a // b (0010,0010)""#), #"s = "a // b (0010,0010)""#)
    }
}
