// The sidecar's hand-written JSON must be byte for byte what JSONSerialization wrote before it
// (pretty printed, keys sorted by Foundation's numeric, case-insensitive compare, slashes as they are).
import Foundation
import XCTest
@testable import I2Core

final class SidecarJSONTests: XCTestCase {
    func foundation(_ o: [String: Any]) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]))
    }

    func testSameBytesAsJSONSerialization() throws {
        let o: [String: Any] = [
            "MRAcquisitionType": "2D", "Modality": "MR", "InstitutionName": "x/y \"q\" \\ é\n\t\r\u{8}\u{c}\u{1}\u{1f}",
            "InstitutionalDepartmentName": "d", "ScanOptions": "PFP", "ScanningSequence": "EP", "SAR": 0.0123,
            "EchoTime": 0.03, "EchoTime1": 0.00492, "EchoTime2": 7.38e-3, "EchoTime10": 1, "B0": true, "Ba": false,
            "SliceTiming": [0.0, 0.5, 1.0, 2500000000000000.0, 1e20, -0.0, 1.2345e-5, 0.30000000000000004] as [Any],
            "ImageType": ["ORIGINAL", "PRIMARY", "M"], "Empty": [String](), "ShimSetting": [1, -2, 3.5] as [Any],
            "ConversionNotes": ["a: b"], "Count": 42, "Negative": -7, "Third": 1.0 / 3.0, "a_b": "underscore", "a1b": 1,
        ]
        XCTAssertEqual(SidecarJSON.data(o), try foundation(o))
    }

    func testKeyOrderMatchesFoundationOnEveryPair() throws {
        let keys = ["A", "a", "AB", "Ab", "aB", "abc", "Abd", "x2", "x10", "x02", "x2a", "x2B", "EchoTime", "EchoTime1", "EchoTime10",
                    "MRAcquisitionType", "Modality", "SAR", "ScanOptions", "B0FieldSource", "BaseResolution", "Z9", "z", "0", "9z", "a_b", "aB_"]
        for a in keys {
            for b in keys where a != b {
                let both: [String: Any] = [a: 1, b: 2]
                XCTAssertEqual(SidecarJSON.data(both), try foundation(both), "\(a) vs \(b)")
            }
        }
    }

    func testOtherValueTypesAreLeftToJSONSerialization() {
        XCTAssertNil(SidecarJSON.data(["x": Float(1.5)]))
        XCTAssertNil(SidecarJSON.data(["x": Double.nan]))
    }
}
