// Tools compiled into i2, so the workflow can be run and tested with nothing else installed. Each is
// described by the same JSON as an external tool (`i2 process --describe NAME` prints it, as a
// template), with "command": "builtin:NAME"; it writes its outputs exactly as an external tool would.
import Foundation
import I2Model

public enum BuiltinTools {
    public static let names = ["threshold"]

    public static func spec(_ name: String) -> ToolSpec? {
        guard let json = descriptions[name] else { return nil }
        // The descriptions are constants checked by the tests, so decoding them cannot fail.
        return try! ToolSpec.decode(Data(json.utf8), path: "builtin:\(name)", directory: "/")
    }

    /// Runs built-in `name` on `volume`, writing into `output` what its description's outputs name.
    static func run(_ name: String, volume: Volume, parameters: [String: String], output: String) throws {
        guard volume.components == 1 else { throw I2Error(.badInput, "\(name): RGB images are not supported") }
        switch name {
        case "threshold": try threshold(volume, parameters: parameters, output: output)
        default: throw I2Error(.usage, "no built-in tool \(name) (built in: \(names.joined(separator: ", ")))")
        }
    }

    static let descriptions: [String: String] = ["threshold": """
        {
          "name": "threshold",
          "version": "1",
          "description": "Voxels with lower <= value <= upper (CT: Hounsfield units) as one segment; by default bone, above 300 HU. Copy this description to make your own tool.",
          "accepts": {"modalities": ["CT"], "minSlices": 1},
          "input": "nii",
          "command": "builtin:threshold",
          "parameters": {"lower": "300", "upper": ""},
          "outputs": [
            {
              "type": "segmentation",
              "path": "threshold.nii",
              "meta": {
                "ContentCreatorName": "i2^threshold",
                "SeriesDescription": "Bone (threshold)",
                "SeriesNumber": null,
                "BodyPartExamined": null,
                "segmentAttributes": [[{
                  "labelID": 1,
                  "SegmentLabel": "Bone",
                  "SegmentDescription": "Voxels in the threshold range",
                  "SegmentAlgorithmType": "AUTOMATIC",
                  "SegmentAlgorithmName": "i2 threshold",
                  "SegmentedPropertyCategoryCodeSequence": {"CodeValue": "85756007", "CodingSchemeDesignator": "SCT", "CodeMeaning": "Tissue"},
                  "SegmentedPropertyTypeCodeSequence": {"CodeValue": "272673000", "CodingSchemeDesignator": "SCT", "CodeMeaning": "Bone"},
                  "recommendedDisplayRGBValue": [241, 214, 145]
                }]]
              }
            }
          ]
        }
        """]

    /// 1 where lower ≤ value ≤ upper, else 0, as a uint8 label map on the volume's grid.
    static func threshold(_ v: Volume, parameters: [String: String], output: String) throws {
        func bound(_ key: String) throws -> Double? {
            guard let s = parameters[key]?.trimmingCharacters(in: .whitespaces), !s.isEmpty else { return nil }
            guard let d = Double(s), d.isFinite else { throw I2Error(.usage, "threshold: parameter \(key)=\(s) is not a number") }
            return d
        }
        let lower = try bound("lower") ?? -.infinity, upper = try bound("upper") ?? .infinity
        guard lower <= upper else { throw I2Error(.usage, "threshold: lower (\(lower)) is above upper (\(upper))") }
        let n = v.size[0] * v.size[1] * v.size[2]
        var labels = [UInt8](repeating: 0, count: n)
        let chunks = max(1, min(Processors.active, n / 1_000_000))
        let per = (n + chunks - 1) / chunks
        labels.withUnsafeMutableBufferPointer { out in
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                v.forEachValue(in: (c * per)..<min(n, (c + 1) * per)) { i, x in out[i] = x >= lower && x <= upper ? 1 : 0 }
            }
        }
        let map = Volume(size: Array(v.size.prefix(3)), spacing: v.spacing, origin: v.origin, direction: v.direction,
                         voxelType: .uint8, data: labels)
        _ = try VolumeIO.write(map, to: output + "/threshold.nii")
    }
}
