// SegmentMetadata.swift tests: dcmqi's own example templates (Tests/Fixtures/dcmqi/json) decode to the
// values written in them, encode back to the shape dcmqi writes, and bad input gets one error naming the
// file, the field and its position. Expected values are copied from the fixture files.
import Foundation
import XCTest
@testable import I2Model
import I2TestSupport

final class SegmentMetadataTests: XCTestCase {
    static let fixtures = ["seg-example.json", "seg-example_liver_spine.json", "seg-example_liver_spine_gapped.json",
                           "seg-example_liver_spine_gapped_merged.json", "seg-example_multiple_segments.json",
                           "seg-example_multiple_segments_merged.json", "seg-example_multiple_segments_reordered.json",
                           "seg-example_multiple_segments_single_input_file.json", "seg-example_partial_overlaps.json"]

    func fixtureData(_ name: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture("dcmqi/json/\(name)")))
    }

    func load(_ name: String) throws -> SegmentMetadata {
        try SegmentMetadata.decode(try fixtureData(name), path: name)
    }

    func code(_ value: String, _ meaning: String) -> CodedConcept {
        CodedConcept(codeValue: value, codingSchemeDesignator: "SCT", codeMeaning: meaning)
    }

    /// The error text for decoding `json` as META.json, or a failure when it decodes.
    func decodeError(_ json: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try SegmentMetadata.decode(Data(json.utf8), path: "META.json")
            XCTFail("decoded without error", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    /// A minimal valid segment; tests replace one part of it to break it.
    let liver = #"{"labelID": 1, "SegmentAlgorithmType": "MANUAL", "SegmentedPropertyCategoryCodeSequence": {"CodeValue": "85756007", "CodingSchemeDesignator": "SCT", "CodeMeaning": "Tissue"}, "SegmentedPropertyTypeCodeSequence": {"CodeValue": "10200004", "CodingSchemeDesignator": "SCT", "CodeMeaning": "Liver"}}"#

    func document(_ lists: [[String]], top: String = "") -> String {
        #"{\#(top)"segmentAttributes": [\#(lists.map { "[" + $0.joined(separator: ", ") + "]" }.joined(separator: ", "))]}"#
    }

    func liver(_ old: String, _ new: String) -> String { liver.replacingOccurrences(of: old, with: new) }

    func testSegExampleDecodesEveryAttributeItHolds() throws {
        let m = try load("seg-example.json")
        XCTAssertEqual(m.schema, "https://raw.githubusercontent.com/qiicr/dcmqi/master/doc/schemas/seg-schema.json#")
        XCTAssertEqual(m.contentCreatorName, .value("Doe^John"))
        XCTAssertEqual(m.clinicalTrialSeriesID, .value("Session1"))
        XCTAssertEqual(m.clinicalTrialTimePointID, .value("1"))
        XCTAssertEqual(m.clinicalTrialCoordinatingCenterName, .value("BWH"))
        XCTAssertEqual(m.seriesDescription, .value("Segmentation"))
        XCTAssertEqual(m.seriesNumber, .value("300"))
        XCTAssertEqual(m.instanceNumber, .value("1"))
        XCTAssertNil(m.bodyPartExamined)
        XCTAssertEqual(m.segmentAttributes.count, 1)
        let s = try XCTUnwrap(m.segment(labelID: 1))
        XCTAssertEqual(s.segmentLabel, "Liver")
        XCTAssertEqual(s.segmentDescription, "Liver Segmentation")
        XCTAssertEqual(s.segmentAlgorithmType, .semiautomatic)
        XCTAssertEqual(s.segmentAlgorithmName, "SlicerEditor")
        XCTAssertEqual(s.segmentedPropertyCategory, code("85756007", "Tissue"))
        XCTAssertEqual(s.segmentedPropertyType, code("10200004", "Liver"))
        XCTAssertEqual(s.segmentedPropertyTypeModifiers, [])
        XCTAssertNil(s.anatomicRegion)
        XCTAssertEqual(s.recommendedDisplayRGBValue, RGBColor(221, 130, 101))
        XCTAssertEqual(s.trackingIdentifier, "Liver")
        XCTAssertEqual(s.trackingUniqueIdentifier, "1.2.3")
        XCTAssertEqual(m.ignoredKeys, [])
    }

    func testOneListPerInputFileAndOneFlatSegmentList() throws {
        let m = try load("seg-example_multiple_segments.json")
        XCTAssertEqual(m.segmentAttributes.map { $0.map(\.labelID) }, [[1], [2], [3]])
        XCTAssertEqual(m.segments.map(\.segmentLabel), ["Liver", "Thoracic spine", "Heart"])
        let heart = try XCTUnwrap(m.segment(labelID: 3))
        XCTAssertEqual(heart.segmentAlgorithmType, .manual)
        XCTAssertNil(heart.segmentAlgorithmName)
        XCTAssertEqual(heart.segmentedPropertyCategory, code("123037004", "Anatomical Structure"))
        XCTAssertEqual(heart.segmentedPropertyType, code("80891009", "Heart"))
        XCTAssertEqual(heart.recommendedDisplayRGBValue, RGBColor(206, 110, 84))
        XCTAssertNil(m.segment(labelID: 4))
        let single = try load("seg-example_multiple_segments_single_input_file.json")
        XCTAssertEqual(single.segmentAttributes.map { $0.map(\.labelID) }, [[1, 2, 3]])
    }

    func testGappedLabelValuesAndFileMapping() throws {
        let gapped = try load("seg-example_liver_spine_gapped.json")
        XCTAssertEqual(gapped.segments.map(\.labelID), [1, 5])
        XCTAssertEqual(gapped.segment(labelID: 5)?.segmentLabel, "Thoracic spine")
        XCTAssertEqual(gapped.segment(labelID: 5, inputFile: 1)?.segmentedPropertyType, code("122495006", "Thoracic spine"))
        XCTAssertNil(gapped.segment(labelID: 5, inputFile: 0))
        let reordered = try load("seg-example_multiple_segments_reordered.json")
        XCTAssertEqual(reordered.segmentAttributesFileMapping, ["liver_seg.nrrd", "spine_seg.nrrd", "heart_seg.nrrd"])
    }

    func testPartialOverlapsKeepsListsAndTheEmptyBodyPart() throws {
        let m = try load("seg-example_partial_overlaps.json")
        XCTAssertEqual(m.segmentAttributes.map { $0.map(\.labelID) }, [[1, 4, 5], [2], [3]])
        XCTAssertEqual(m.bodyPartExamined, .value(""))
        XCTAssertEqual(m.contentCreatorName, .value("Slicer"))
        XCTAssertEqual(m.segment(labelID: 4)?.segmentLabel, "LIGHT_BLUE")
        XCTAssertEqual(m.segment(labelID: 4)?.segmentedPropertyCategory, code("49755003", "Morphologically Altered Structure"))
        XCTAssertEqual(m.segment(labelID: 4)?.recommendedDisplayRGBValue, RGBColor(140, 224, 228))
    }

    func testEveryFixtureDecodesWithNothingIgnoredAndRoundTrips() throws {
        for name in Self.fixtures {
            let m = try load(name)
            XCTAssertEqual(m.ignoredKeys, [], name)
            XCTAssertEqual(try SegmentMetadata.decode(m.encoded(), path: name), m, name)
        }
    }

    func testEncodedEqualsTheFilesDcmqiWrote() throws {
        for name in ["seg-example_liver_spine_gapped_merged.json", "seg-example_multiple_segments_merged.json",
                     "seg-example_partial_overlaps.json"] {
            let original = try JSONSerialization.jsonObject(with: try fixtureData(name)) as? NSDictionary
            let ours = try JSONSerialization.jsonObject(with: try load(name).encoded()) as? NSDictionary
            XCTAssertEqual(ours, original, name)
        }
    }

    func testEncodedIsSortedAndWritesNullForFromReference() throws {
        var m = try SegmentMetadata.decode(Data(document([[liver]]).utf8), path: "META.json")
        m.seriesNumber = .fromReference
        m.bodyPartExamined = .value("ABDOMEN")
        let text = String(decoding: m.encoded(), as: UTF8.self)
        // JSONSerialization's .sortedKeys compares case-insensitively (dcmqi's jsoncpp sorts by code point,
        // which would put segmentAttributes last); either way the output is stable from run to run.
        let positions = ["BodyPartExamined", "segmentAttributes", "SeriesNumber"].map { text.range(of: "\"\($0)\"")!.lowerBound }
        XCTAssertEqual(positions, positions.sorted())
        XCTAssertEqual(m.encoded(), m.encoded())
        XCTAssertTrue(text.contains("\n"), "pretty-printed")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: m.encoded()) as? [String: Any])
        XCTAssertTrue(object["SeriesNumber"] is NSNull)
        XCTAssertNil(object["SeriesDescription"], "absent stays absent")
    }

    func testNullMeansFromTheReferenceSeries() throws {
        let json = document([[liver]], top: #""SeriesNumber": null, "BodyPartExamined": null, "ContentCreatorName": null, "ClinicalTrialSeriesID": null, "SeriesDescription": "AI", "#)
        let m = try SegmentMetadata.decode(Data(json.utf8), path: "META.json")
        XCTAssertEqual(m.seriesNumber, .fromReference)
        XCTAssertEqual(m.bodyPartExamined, .fromReference)
        XCTAssertEqual(m.contentCreatorName, .fromReference)
        XCTAssertEqual(m.clinicalTrialSeriesID, .fromReference)
        XCTAssertNil(m.clinicalTrialTimePointID)
        XCTAssertEqual(m.seriesNumber?.resolved(reference: "7"), "7")
        XCTAssertEqual(m.seriesDescription?.resolved(reference: "CT"), "AI")
    }

    func testIntegerSeriesNumberIsKeptAsText() throws {
        let m = try SegmentMetadata.decode(Data(document([[liver]], top: #""SeriesNumber": 300, "#).utf8), path: "META.json")
        XCTAssertEqual(m.seriesNumber, .value("300"))
    }

    func testCodeSequencesMayBeArraysAndModifiersMayRepeat() throws {
        let segment = liver(#""SegmentAlgorithmType": "MANUAL""#, #""SegmentAlgorithmType": "MANUAL", "SegmentedPropertyTypeModifierCodeSequence": [{"CodeValue": "7771000", "CodingSchemeDesignator": "SCT", "CodeMeaning": "Left"}, {"CodeValue": "24028007", "CodingSchemeDesignator": "SCT", "CodeMeaning": "Right"}], "AnatomicRegionSequence": [{"CodeValue": "818981001", "CodingSchemeDesignator": "SCT", "CodeMeaning": "Abdomen", "CodingSchemeVersion": "2020"}]"#)
        let s = try XCTUnwrap(SegmentMetadata.decode(Data(document([[segment]]).utf8), path: "META.json").segments.first)
        XCTAssertEqual(s.segmentedPropertyTypeModifiers.map(\.codeMeaning), ["Left", "Right"])
        XCTAssertEqual(s.anatomicRegion, CodedConcept(codeValue: "818981001", codingSchemeDesignator: "SCT",
                                                      codeMeaning: "Abdomen", codingSchemeVersion: "2020"))
    }

    func testUnknownKeysAreIgnoredAndListed() throws {
        let json = document([[liver(#""labelID": 1"#, #""labelID": 1, "SegmentLable": "x""#)]], top: #""Comment": "hi", "#)
        let m = try SegmentMetadata.decode(Data(json.utf8), path: "META.json")
        XCTAssertEqual(m.ignoredKeys, ["Comment", "segmentAttributes[0][0].SegmentLable"])
        XCTAssertNil(m.segments[0].segmentLabel)
    }

    func testMissingCodeValueNamesTheFieldAndItsPosition() {
        let broken = liver(#"{"CodeValue": "10200004", "#, "{")
        XCTAssertEqual(decodeError(document([[liver, liver(#""labelID": 1"#, #""labelID": 2"#), broken.replacingOccurrences(of: #""labelID": 1"#, with: #""labelID": 3"#)]])),
                       "META.json: segmentAttributes[0][2].SegmentedPropertyTypeCodeSequence: missing CodeValue")
    }

    func testMalformedJSONGivesLineAndColumn() {
        let json = "{\n  \"SeriesNumber\": \"1\",\n  \"segmentAttributes\": [\n  [,]\n]}"
        XCTAssertTrue(decodeError(json).hasPrefix("META.json: line 4, column 4: "), decodeError(json))
        XCTAssertTrue(decodeError("{\"segmentAttributes\": [").hasPrefix("META.json: line 1, column 24: "))
    }

    func testWrongTypesAndValuesAreNamed() {
        let cases: [(String, String)] = [
            (document([[liver(#""labelID": 1"#, #""labelID": "1""#)]]),
             "segmentAttributes[0][0].labelID: expected an integer, found a string"),
            (document([[liver(#""labelID": 1"#, #""labelID": 0"#)]]),
             "segmentAttributes[0][0].labelID: must be between 1 and 65535, found 0"),
            (document([[liver(#""labelID": 1"#, #""labelID": 1.5"#)]]),
             "segmentAttributes[0][0].labelID: expected an integer, found a number"),
            (document([[liver, liver]]), "segmentAttributes[0][1].labelID: 1 is already used by segmentAttributes[0][0]"),
            (document([[liver(#""MANUAL""#, #""AUTO""#)]]),
             "segmentAttributes[0][0].SegmentAlgorithmType: \"AUTO\" is not one of AUTOMATIC, SEMIAUTOMATIC, MANUAL"),
            (document([[liver(#""MANUAL""#, #""AUTOMATIC""#)]]),
             "segmentAttributes[0][0]: missing SegmentAlgorithmName, required when SegmentAlgorithmType is AUTOMATIC"),
            (document([[liver(#""labelID": 1"#, #""labelID": 1, "recommendedDisplayRGBValue": [1, 2, 256]"#)]]),
             "segmentAttributes[0][0].recommendedDisplayRGBValue[2]: must be between 0 and 255, found 256"),
            (document([[liver(#""labelID": 1"#, #""labelID": 1, "recommendedDisplayRGBValue": [1, 2]"#)]]),
             "segmentAttributes[0][0].recommendedDisplayRGBValue: expected an array of 3 integers, found an array"),
            (document([[liver(#""labelID": 1"#, #""labelID": 1, "TrackingUniqueIdentifier": "1.2.x""#)]]),
             "segmentAttributes[0][0].TrackingUniqueIdentifier: \"1.2.x\" is not a valid UID"),
            (document([[liver(#""labelID": 1, "#, "")]]), "segmentAttributes[0][0]: missing labelID"),
            (document([[liver(#""SegmentAlgorithmType": "MANUAL", "#, "")]]), "segmentAttributes[0][0]: missing SegmentAlgorithmType"),
            (document([[liver(#""CodeMeaning": "Liver""#, #""CodeMeaning": """#)]]),
             "segmentAttributes[0][0].SegmentedPropertyTypeCodeSequence: empty CodeMeaning"),
            (document([[liver(#""SegmentedPropertyCategoryCodeSequence": {"#, #""SegmentedPropertyCategoryCodeSequence": [], "x": {"#)]]),
             "segmentAttributes[0][0].SegmentedPropertyCategoryCodeSequence: expected exactly one code, found 0"),
            (document([[liver]], top: #""SeriesNumber": "3a", "#), "SeriesNumber: \"3a\" is not an integer string"),
            (document([[liver]], top: #""SeriesDescription": 5, "#), "SeriesDescription: expected a string or null, found a number"),
            (document([[liver], []]), "segmentAttributes[1]: expected a non-empty array of segments, found an array"),
            (document([]), "segmentAttributes: expected a non-empty array of arrays, found an array"),
            (#"{"SeriesNumber": "1"}"#, "missing segmentAttributes"),
            ("[]", "expected a JSON object at the top level, found an array"),
        ]
        for (json, message) in cases {
            XCTAssertEqual(decodeError(json), "META.json: " + message)
        }
    }
}
