// TotalSegmentator.swift tests: the compiled-in preset says what TotalSegmentator's own CSVs
// (Resources/totalsegmentator) say, label by label, and the generated table is not stale. Expected values
// come from reading the CSVs here, or are copied from their rows (quoted next to each assertion).
import Foundation
import XCTest
@testable import I2Model
import I2TestSupport

/// Reads Resources/totalsegmentator/*.csv: plain commas, double-quoted fields, CRLF or LF line ends.
enum TotalSegmentatorCSV {
    static let directory = TestSupport.packageRoot.appendingPathComponent("Resources/totalsegmentator")

    static func rows(_ name: String) throws -> [[String: String]] {
        let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        var records: [[String]] = [], field = "", record: [String] = [], quoted = false
        for ch in text.unicodeScalars {
            switch ch {
            case "\"": quoted.toggle()
            case "," where !quoted: record.append(field); field = ""
            case "\r" where !quoted: continue
            case "\n" where !quoted: record.append(field); records.append(record); field = ""; record = []
            default: field.unicodeScalars.append(ch)
            }
        }
        if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        let header = records.removeFirst()
        return records.map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }

    /// structure name → its snomed_mapping.csv row.
    static func mapping() throws -> [String: [String: String]] {
        Dictionary(uniqueKeysWithValues: try rows("snomed_mapping.csv").map { ($0["Structure"]!, $0) })
    }

    /// (label value, structure) of the `total` task, in file order.
    static func totalLabels() throws -> [(value: Int, structure: String)] {
        try rows("total_labels.csv").map { (Int($0["label"]!)!, $0["structure"]!) }
    }

    /// The code a row gives for one sequence column group, or nil when those columns are empty.
    static func code(_ row: [String: String], _ sequence: String) -> CodedConcept? {
        let value = row["\(sequence).CodeValue"]!
        if value.isEmpty { return nil }
        return CodedConcept(codeValue: value, codingSchemeDesignator: row["\(sequence).CodingSchemeDesignator"]!,
                            codeMeaning: row["\(sequence).CodeMeaning"]!)
    }

    static func color(_ row: [String: String]) -> RGBColor {
        let c = row["DicomRGBColor"]!.split(separator: ",").map { UInt8($0)! }
        return RGBColor(c[0], c[1], c[2])
    }
}

final class TotalSegmentatorTests: XCTestCase {
    func testGeneratedTableMatchesTheGeneratorOutput() throws {
        let python = try TestSupport.tool("python3", package: "python3")
        let script = TestSupport.packageRoot.appendingPathComponent("Tests/Tools/generate_totalsegmentator_table.py").path
        let checkedIn = TestSupport.packageRoot.appendingPathComponent("Sources/I2Model/Seg/TotalSegmentatorTable.swift")
        let dir = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fresh = dir + "/TotalSegmentatorTable.swift"
        let run = try TestSupport.run(python, [script, "--output", fresh])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: fresh)), try Data(contentsOf: checkedIn),
                       "Sources/I2Model/Seg/TotalSegmentatorTable.swift is stale: run "
                       + "python3 Tests/Tools/generate_totalsegmentator_table.py and commit the result")
    }

    func testAll117LabelsArePresentOnceInLabelOrder() throws {
        let csv = try TotalSegmentatorCSV.totalLabels()
        XCTAssertEqual(csv.count, 117)
        let segments = TotalSegmentator.metadata().segments
        XCTAssertEqual(segments.map(\.labelID), Array(1...117))
        XCTAssertEqual(Set(segments.map(\.labelID)).count, 117)
        for (value, structure) in csv {
            XCTAssertEqual(TotalSegmentator.metadata().segment(labelID: value)?.segmentLabel, structure, "label \(value)")
            XCTAssertEqual(TotalSegmentator.label(value)?.structure, structure)
        }
    }

    func testOneInputFileAndSeriesDefaults() {
        let m = TotalSegmentator.metadata()
        XCTAssertEqual(m.segmentAttributes.count, 1, "one multi-label NIfTI in, so one list")
        XCTAssertEqual(m.seriesDescription, .value("TotalSegmentator"))
        XCTAssertNil(m.bodyPartExamined)
        XCTAssertNil(m.seriesNumber)
    }

    func testCodesAreTheSnomedMappingRows() throws {
        let mapping = try TotalSegmentatorCSV.mapping()
        for (value, structure) in try TotalSegmentatorCSV.totalLabels() {
            let row = try XCTUnwrap(mapping[structure], "\(structure) missing from snomed_mapping.csv")
            let s = try XCTUnwrap(TotalSegmentator.metadata().segment(labelID: value))
            XCTAssertEqual(s.segmentedPropertyCategory, TotalSegmentatorCSV.code(row, "SegmentedPropertyCategoryCodeSequence"))
            XCTAssertEqual(s.segmentedPropertyType, TotalSegmentatorCSV.code(row, "SegmentedPropertyTypeCodeSequence"))
            XCTAssertEqual(s.segmentedPropertyTypeModifiers.first,
                           TotalSegmentatorCSV.code(row, "SegmentedPropertyTypeModifierCodeSequence"), structure)
            XCTAssertEqual(s.anatomicRegion, TotalSegmentatorCSV.code(row, "AnatomicRegionSequence"), structure)
            XCTAssertEqual(s.anatomicRegionModifiers.first,
                           TotalSegmentatorCSV.code(row, "AnatomicRegionModifierSequence"), structure)
            XCTAssertLessThanOrEqual(s.segmentedPropertyTypeModifiers.count, 1)
            XCTAssertLessThanOrEqual(s.anatomicRegionModifiers.count, 1)
        }
    }

    func testEveryCodeHasAllThreeFields() {
        for s in TotalSegmentator.metadata().segments {
            let codes = [s.segmentedPropertyCategory, s.segmentedPropertyType] + s.segmentedPropertyTypeModifiers
                + (s.anatomicRegion.map { [$0] } ?? []) + s.anatomicRegionModifiers
            for c in codes {
                XCTAssertFalse(c.codeValue.isEmpty || c.codingSchemeDesignator.isEmpty || c.codeMeaning.isEmpty,
                               "label \(s.labelID): \(c)")
            }
        }
    }

    func testKidneysShareTheTypeAndDifferByLaterality() throws {
        // snomed_mapping.csv: kidney_left,...,SCT,64033007,Kidney,SCT,7771000,Left,...
        //                     kidney_right,...,SCT,64033007,Kidney,SCT,24028007,Right,...
        // total_labels.csv: 2,kidney_right / 3,kidney_left
        let m = TotalSegmentator.metadata()
        let left = try XCTUnwrap(m.segment(labelID: 3)), right = try XCTUnwrap(m.segment(labelID: 2))
        XCTAssertEqual(left.segmentLabel, "kidney_left")
        XCTAssertEqual(right.segmentLabel, "kidney_right")
        let kidney = CodedConcept(codeValue: "64033007", codingSchemeDesignator: "SCT", codeMeaning: "Kidney")
        XCTAssertEqual(left.segmentedPropertyType, kidney)
        XCTAssertEqual(right.segmentedPropertyType, kidney)
        XCTAssertEqual(left.segmentedPropertyTypeModifiers,
                       [CodedConcept(codeValue: "7771000", codingSchemeDesignator: "SCT", codeMeaning: "Left")])
        XCTAssertEqual(right.segmentedPropertyTypeModifiers,
                       [CodedConcept(codeValue: "24028007", codingSchemeDesignator: "SCT", codeMeaning: "Right")])
        XCTAssertNotEqual(left.segmentedPropertyTypeModifiers, right.segmentedPropertyTypeModifiers)
    }

    func testKidneyCystTakesItsSideFromTheAnatomicRegion() throws {
        // snomed_mapping.csv: kidney_cyst_left,SCT,49755003,Morphologically Altered Structure,SCT,367643001,
        // Cyst,,,,SCT,64033007,Kidney,SCT,7771000,Left; total_labels.csv: 23,kidney_cyst_left
        let s = try XCTUnwrap(TotalSegmentator.metadata().segment(labelID: 23))
        XCTAssertEqual(s.segmentedPropertyType.codeValue, "367643001")
        XCTAssertEqual(s.segmentedPropertyTypeModifiers, [])
        XCTAssertEqual(s.anatomicRegion?.codeValue, "64033007")
        XCTAssertEqual(s.anatomicRegionModifiers.map(\.codeMeaning), ["Left"])
    }

    func testSegmentsAreAutomaticTotalSegmentatorWithTheCSVColours() throws {
        let mapping = try TotalSegmentatorCSV.mapping()
        var colors = Set<RGBColor>()
        for (value, structure) in try TotalSegmentatorCSV.totalLabels() {
            let s = try XCTUnwrap(TotalSegmentator.metadata().segment(labelID: value))
            XCTAssertEqual(s.segmentAlgorithmType, .automatic)
            XCTAssertEqual(s.segmentAlgorithmName, "TotalSegmentator")
            XCTAssertEqual(s.recommendedDisplayRGBValue, TotalSegmentatorCSV.color(mapping[structure]!), structure)
            colors.insert(try XCTUnwrap(s.recommendedDisplayRGBValue))
        }
        XCTAssertEqual(colors.count, 117, "every structure has its own colour")
    }

    func testPresetSurvivesTheDcmqiJSONRoundTrip() throws {
        let m = TotalSegmentator.metadata()
        XCTAssertEqual(try SegmentMetadata.decode(m.encoded(), path: "total.json"), m)
    }
}
