// SegmentMetadata: dcmqi's segmentation metainfo JSON (doc/schemas/seg-schema.json), the template format
// dcmqi, pydicom-seg and Slicer use for DICOM-SEG attributes, so existing templates work unchanged and
// seg2nifti can write the same shape back. Parsed with JSONSerialization rather than Codable so that every
// error names the file, the field and its position ("segmentAttributes[0][2].labelID: ...").
// Model first; the JSON reading and writing (`MetadataJSON`) follow at the bottom.
import Foundation

/// A top-level attribute that a template may set, or leave to the reference series by writing `null`
/// (absent keys are `nil` at the use site, so each attribute has three states: absent, null, value).
public enum MetadataValue<Value: Hashable & Sendable>: Hashable, Sendable {
    case value(Value)
    /// JSON `null`: copy the attribute from the series the segmentation references.
    case fromReference

    /// The template's own value, if it gave one.
    public var literal: Value? {
        if case .value(let v) = self { return v }
        return nil
    }

    /// The value to write: the template's, or the reference series' when the template said `null`.
    public func resolved(reference: Value?) -> Value? { literal ?? reference }
}

/// One segment of a dcmqi template: the Segment Description Macro (PS3.3 C.8.20.4.1, Table C.8.20-4)
/// plus `labelID`, the voxel value of this segment in its input label map.
public struct SegmentDescription: Hashable, Sendable {
    /// Voxel value in the input label map (dcmqi `labelID`), 1...65535.
    public var labelID: Int
    /// Segment Label (0062,0005).
    public var segmentLabel: String?
    /// Segment Description (0062,0006).
    public var segmentDescription: String?
    /// Segment Algorithm Type (0062,0008).
    public var segmentAlgorithmType: SegmentAlgorithmTypeValues
    /// Segment Algorithm Name (0062,0009).
    public var segmentAlgorithmName: String?
    /// Segmented Property Category Code Sequence (0062,0003), single item; CID 7150.
    public var segmentedPropertyCategory: CodedConcept
    /// Segmented Property Type Code Sequence (0062,000F), single item; CID 7151.
    public var segmentedPropertyType: CodedConcept
    /// Segmented Property Type Modifier Code Sequence (0062,0011), e.g. laterality (CID 244).
    public var segmentedPropertyTypeModifiers: [CodedConcept] = []
    /// Anatomic Region Sequence (0008,2218), single item (General Anatomy Optional Macro, Table 10-7).
    public var anatomicRegion: CodedConcept?
    /// Anatomic Region Modifier Sequence (0008,2220).
    public var anatomicRegionModifiers: [CodedConcept] = []
    /// dcmqi `recommendedDisplayRGBValue`; becomes Recommended Display CIELab Value (0062,000D).
    public var recommendedDisplayRGBValue: RGBColor?
    /// Recommended Display CIELab Value (0062,000D) when the template gives it directly.
    public var recommendedDisplayCIELabValue: CIELabColor?
    /// Tracking ID (0062,0020).
    public var trackingIdentifier: String?
    /// Tracking UID (0062,0021).
    public var trackingUniqueIdentifier: String?

    /// The Type 1 attributes; the optional ones are plain `var`s, set as needed.
    public init(labelID: Int, segmentAlgorithmType: SegmentAlgorithmTypeValues,
                segmentedPropertyCategory: CodedConcept, segmentedPropertyType: CodedConcept) {
        self.labelID = labelID
        self.segmentAlgorithmType = segmentAlgorithmType
        self.segmentedPropertyCategory = segmentedPropertyCategory
        self.segmentedPropertyType = segmentedPropertyType
    }
}

/// A whole dcmqi metainfo document: series-level attributes plus `segmentAttributes`, one inner list
/// per input label-map file, in input order.
public struct SegmentMetadata: Hashable, Sendable {
    /// "@schema": the schema URL dcmqi templates carry; kept so a template round-trips.
    public var schema: String?
    public var contentCreatorName: MetadataValue<String>?
    public var clinicalTrialSeriesID: MetadataValue<String>?
    public var clinicalTrialTimePointID: MetadataValue<String>?
    public var clinicalTrialCoordinatingCenterName: MetadataValue<String>?
    public var seriesDescription: MetadataValue<String>?
    /// Series Number (IS): a JSON string as in dcmqi, or an integer, which is accepted and kept as text.
    public var seriesNumber: MetadataValue<String>?
    public var instanceNumber: MetadataValue<String>?
    public var bodyPartExamined: MetadataValue<String>?
    public var contentLabel: MetadataValue<String>?
    public var contentDescription: MetadataValue<String>?
    /// dcmqi `segmentAttributesFileMapping`: the input file each inner list describes.
    public var segmentAttributesFileMapping: [String]?
    public var segmentAttributes: [[SegmentDescription]]
    /// Keys that were present but are not part of the schema (e.g. a misspelt "SegmentLable"), with
    /// their position, so a command can warn about them. Never encoded.
    public var ignoredKeys: [String] = []

    public init(segmentAttributes: [[SegmentDescription]]) {
        self.segmentAttributes = segmentAttributes
    }

    /// All segments in file order then list order: the order dcmqi numbers them in the SEG.
    public var segments: [SegmentDescription] { segmentAttributes.flatMap { $0 } }

    /// The first segment with this label value. Label values are unique within one input file but may
    /// repeat across files; use `segment(labelID:inputFile:)` then.
    public func segment(labelID: Int) -> SegmentDescription? { segments.first { $0.labelID == labelID } }

    public func segment(labelID: Int, inputFile: Int) -> SegmentDescription? {
        guard segmentAttributes.indices.contains(inputFile) else { return nil }
        return segmentAttributes[inputFile].first { $0.labelID == labelID }
    }

    /// The series-level text attributes, keyed by their dcmqi (= DICOM keyword) names.
    static var textAttributes: [(key: String, path: WritableKeyPath<SegmentMetadata, MetadataValue<String>?>)] {
        [("ContentCreatorName", \.contentCreatorName), ("ClinicalTrialSeriesID", \.clinicalTrialSeriesID),
         ("ClinicalTrialTimePointID", \.clinicalTrialTimePointID),
         ("ClinicalTrialCoordinatingCenterName", \.clinicalTrialCoordinatingCenterName),
         ("SeriesDescription", \.seriesDescription), ("SeriesNumber", \.seriesNumber),
         ("InstanceNumber", \.instanceNumber), ("BodyPartExamined", \.bodyPartExamined),
         ("ContentLabel", \.contentLabel), ("ContentDescription", \.contentDescription)]
    }

    /// Reads a dcmqi metainfo document. `path` is only used to attribute errors.
    public static func decode(_ data: Data, path: String) throws -> SegmentMetadata {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw I2Error(.badInput, path: path, MetadataJSON.syntaxMessage(error as NSError, in: data))
        }
        return try MetadataJSON.Reader(path: path).metadata(root)
    }

    /// dcmqi-style JSON: pretty-printed, keys sorted, `null` where the template said "from reference".
    public func encoded() -> Data {
        var root: [String: Any] = [:]
        root["@schema"] = schema
        for (key, path) in Self.textAttributes {
            switch self[keyPath: path] {
            case .value(let v)?: root[key] = v
            case .fromReference?: root[key] = NSNull()
            case nil: break
            }
        }
        root["segmentAttributesFileMapping"] = segmentAttributesFileMapping
        root["segmentAttributes"] = segmentAttributes.map { $0.map(MetadataJSON.object(for:)) }
        // Only strings, numbers, arrays, dictionaries and NSNull go in, so serialization cannot fail.
        var out = try! JSONSerialization.data(withJSONObject: root,
                                              options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        out.append(0x0A)
        return out
    }
}

/// dcmqi JSON ⇄ model, and the messages for malformed input.
public enum MetadataJSON {
    static let segmentKeys: Set<String> = [
        "labelID", "SegmentLabel", "SegmentDescription", "SegmentAlgorithmType", "SegmentAlgorithmName",
        "SegmentedPropertyCategoryCodeSequence", "SegmentedPropertyTypeCodeSequence",
        "SegmentedPropertyTypeModifierCodeSequence", "AnatomicRegionSequence", "AnatomicRegionModifierSequence",
        "recommendedDisplayRGBValue", "RecommendedDisplayCIELabValue", "TrackingIdentifier",
        "TrackingUniqueIdentifier"]

    static func object(for s: SegmentDescription) -> [String: Any] {
        // A single item is written as an object, as dcmqi does; several as an array (which we also read).
        func sequence(_ codes: [CodedConcept]) -> Any? {
            codes.isEmpty ? nil : codes.count == 1 ? object(for: codes[0]) as Any : codes.map(object(for:)) as Any
        }
        var o: [String: Any] = ["labelID": s.labelID, "SegmentAlgorithmType": s.segmentAlgorithmType.rawValue,
                                "SegmentedPropertyCategoryCodeSequence": object(for: s.segmentedPropertyCategory),
                                "SegmentedPropertyTypeCodeSequence": object(for: s.segmentedPropertyType)]
        o["SegmentLabel"] = s.segmentLabel
        o["SegmentDescription"] = s.segmentDescription
        o["SegmentAlgorithmName"] = s.segmentAlgorithmName
        o["SegmentedPropertyTypeModifierCodeSequence"] = sequence(s.segmentedPropertyTypeModifiers)
        o["AnatomicRegionSequence"] = s.anatomicRegion.map(object(for:))
        o["AnatomicRegionModifierSequence"] = sequence(s.anatomicRegionModifiers)
        o["recommendedDisplayRGBValue"] = s.recommendedDisplayRGBValue?.components
        o["RecommendedDisplayCIELabValue"] = s.recommendedDisplayCIELabValue?.components
        o["TrackingIdentifier"] = s.trackingIdentifier
        o["TrackingUniqueIdentifier"] = s.trackingUniqueIdentifier
        return o
    }

    /// "line L, column C: reason" from JSONSerialization's error. Darwin reports the byte offset in
    /// userInfo; swift-corelibs-foundation only says "around character N." / "at N." in its message.
    public static func syntaxMessage(_ error: NSError, in data: Data) -> String {
        let reason = (error.userInfo[NSDebugDescriptionErrorKey] as? String) ?? error.localizedDescription
        if reason.range(of: #"line [0-9]+, column [0-9]+"#, options: .regularExpression) != nil {
            return reason  // newer Foundation parsers already say where
        }
        var offset = error.userInfo["NSJSONSerializationErrorIndex"] as? Int
        if offset == nil, let r = reason.range(of: #"(character|at) [0-9]+"#, options: .regularExpression) {
            offset = Int(reason[r].split(separator: " ")[1])
        }
        if offset == nil, reason.localizedCaseInsensitiveContains("end of file") { offset = data.count }
        guard let at = offset else { return "not valid JSON: \(reason)" }
        var line = 1, column = 1
        for byte in data.prefix(at) {
            if byte == 0x0A { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
        }
        return "line \(line), column \(column): \(reason)"
    }
}

extension MetadataJSON {
    /// Walks the parsed JSON; `at` is the position of the value in hand, used in every message.
    struct Reader {
        let path: String

        func fail(_ at: String, _ message: String) -> I2Error {
            I2Error(.badInput, path: path, at.isEmpty ? message : "\(at): \(message)")
        }

        func kind(_ v: Any) -> String {
            switch v {
            case is NSNull: return "null"
            case is String: return "a string"
            case let n as NSNumber: return String(cString: n.objCType) == "c" ? "true/false" : "a number"
            case is [Any]: return "an array"
            default: return "an object"
            }
        }

        func object(_ v: Any, _ at: String) throws -> [String: Any] {
            guard let o = v as? [String: Any] else {
                throw fail(at, "expected an object, found \(kind(v))")
            }
            return o
        }

        /// An optional string; `null` counts as absent inside segments.
        func string(_ o: [String: Any], _ key: String, _ at: String) throws -> String? {
            guard let v = o[key], !(v is NSNull) else { return nil }
            guard let s = v as? String else { throw fail(join(at, key), "expected a string, found \(kind(v))") }
            return s
        }

        /// A JSON integer (booleans and fractions rejected) within `range`.
        func integer(_ v: Any, _ at: String, _ range: ClosedRange<Int>) throws -> Int {
            guard let n = v as? NSNumber, String(cString: n.objCType) != "c",
                  n.doubleValue.rounded() == n.doubleValue, let i = Int(exactly: n.doubleValue) else {
                throw fail(at, "expected an integer, found \(kind(v))")
            }
            guard range.contains(i) else {
                throw fail(at, "must be between \(range.lowerBound) and \(range.upperBound), found \(i)")
            }
            return i
        }

        func integers(_ v: Any, _ at: String, count: Int, _ range: ClosedRange<Int>) throws -> [Int] {
            guard let a = v as? [Any], a.count == count else {
                throw fail(at, "expected an array of \(count) integers, found \(kind(v))")
            }
            return try a.enumerated().map { try integer($1, "\(at)[\($0)]", range) }
        }

        func join(_ at: String, _ key: String) -> String { at.isEmpty ? key : "\(at).\(key)" }

        func metadata(_ root: Any) throws -> SegmentMetadata {
            guard let o = root as? [String: Any] else {
                throw fail("", "expected a JSON object at the top level, found \(kind(root))")
            }
            guard let groupsValue = o["segmentAttributes"] else { throw fail("", "missing segmentAttributes") }
            guard let groups = groupsValue as? [Any], !groups.isEmpty else {
                throw fail("segmentAttributes", "expected a non-empty array of arrays, found \(kind(groupsValue))")
            }
            var m = SegmentMetadata(segmentAttributes: [])
            var known: Set<String> = ["@schema", "segmentAttributes", "segmentAttributesFileMapping"]
            m.schema = try string(o, "@schema", "")
            for (key, path) in SegmentMetadata.textAttributes {
                known.insert(key)
                guard let v = o[key] else { continue }
                m[keyPath: path] = try text(v, key, isInteger: key.hasSuffix("Number"))
            }
            if let v = o["segmentAttributesFileMapping"], !(v is NSNull) {
                guard let names = v as? [String] else {
                    throw fail("segmentAttributesFileMapping", "expected an array of strings, found \(kind(v))")
                }
                m.segmentAttributesFileMapping = names
            }
            var ignored = o.keys.filter { !known.contains($0) }.sorted()
            for (g, groupValue) in groups.enumerated() {
                let at = "segmentAttributes[\(g)]"
                guard let group = groupValue as? [Any], !group.isEmpty else {
                    throw fail(at, "expected a non-empty array of segments, found \(kind(groupValue))")
                }
                var firstUse: [Int: String] = [:]
                m.segmentAttributes.append(try group.enumerated().map { i, v in
                    let s = try segment(v, "\(at)[\(i)]", ignored: &ignored)
                    if let earlier = firstUse[s.labelID] {
                        throw fail("\(at)[\(i)].labelID", "\(s.labelID) is already used by \(earlier)")
                    }
                    firstUse[s.labelID] = "\(at)[\(i)]"
                    return s
                })
            }
            m.ignoredKeys = ignored
            return m
        }

        /// A series-level attribute: string, `null` (= from the reference series), or for IS attributes
        /// an integer string or JSON integer.
        func text(_ v: Any, _ key: String, isInteger: Bool) throws -> MetadataValue<String> {
            if v is NSNull { return .fromReference }
            if isInteger, let n = v as? NSNumber, String(cString: n.objCType) != "c" {
                return .value(String(try integer(n, key, Int(Int32.min)...Int(Int32.max))))
            }
            guard let s = v as? String else { throw fail(key, "expected a string or null, found \(kind(v))") }
            let trimmed = s.trimmingCharacters(in: .whitespaces)
            if isInteger, !trimmed.isEmpty, trimmed.range(of: #"^[+-]?[0-9]{1,11}$"#, options: .regularExpression) == nil {
                throw fail(key, "\"\(s)\" is not an integer string")
            }
            return .value(s)
        }

        func segment(_ v: Any, _ at: String, ignored: inout [String]) throws -> SegmentDescription {
            let o = try object(v, at)
            ignored += o.keys.filter { !MetadataJSON.segmentKeys.contains($0) }.sorted().map { join(at, $0) }
            guard let label = o["labelID"] else { throw fail(at, "missing labelID") }
            guard let typeText = try string(o, "SegmentAlgorithmType", at) else {
                throw fail(at, "missing SegmentAlgorithmType")
            }
            guard let type = SegmentAlgorithmTypeValues(rawValue: typeText) else {
                let allowed = SegmentAlgorithmTypeValues.allCases.map(\.rawValue).joined(separator: ", ")
                throw fail(join(at, "SegmentAlgorithmType"), "\"\(typeText)\" is not one of \(allowed)")
            }
            guard let category = try singleCode(o, "SegmentedPropertyCategoryCodeSequence", at) else {
                throw fail(at, "missing SegmentedPropertyCategoryCodeSequence")
            }
            guard let property = try singleCode(o, "SegmentedPropertyTypeCodeSequence", at) else {
                throw fail(at, "missing SegmentedPropertyTypeCodeSequence")
            }
            // Type 1C in the macro; DCMTK refuses to write the segment without it, so say so here.
            if type.requiresAlgorithmName, (try string(o, "SegmentAlgorithmName", at) ?? "").isEmpty {
                throw fail(at, "missing SegmentAlgorithmName, required when SegmentAlgorithmType is \(typeText)")
            }
            func list(_ key: String) throws -> [CodedConcept] {
                guard let v = o[key], !(v is NSNull) else { return [] }
                return try codes(v, join(at, key))
            }
            var s = SegmentDescription(labelID: try integer(label, join(at, "labelID"), 1...65535),
                                       segmentAlgorithmType: type, segmentedPropertyCategory: category,
                                       segmentedPropertyType: property)
            s.segmentLabel = try string(o, "SegmentLabel", at)
            s.segmentDescription = try string(o, "SegmentDescription", at)
            s.segmentAlgorithmName = try string(o, "SegmentAlgorithmName", at)
            s.segmentedPropertyTypeModifiers = try list("SegmentedPropertyTypeModifierCodeSequence")
            s.anatomicRegion = try singleCode(o, "AnatomicRegionSequence", at)
            s.anatomicRegionModifiers = try list("AnatomicRegionModifierSequence")
            if let v = o["recommendedDisplayRGBValue"], !(v is NSNull) {
                let c = try integers(v, join(at, "recommendedDisplayRGBValue"), count: 3, 0...255)
                s.recommendedDisplayRGBValue = RGBColor(UInt8(c[0]), UInt8(c[1]), UInt8(c[2]))
            }
            if let v = o["RecommendedDisplayCIELabValue"], !(v is NSNull) {
                let c = try integers(v, join(at, "RecommendedDisplayCIELabValue"), count: 3, 0...65535)
                s.recommendedDisplayCIELabValue = CIELabColor(l: UInt16(c[0]), a: UInt16(c[1]), b: UInt16(c[2]))
            }
            s.trackingIdentifier = try string(o, "TrackingIdentifier", at)
            s.trackingUniqueIdentifier = try string(o, "TrackingUniqueIdentifier", at)
            if let uid = s.trackingUniqueIdentifier,
               uid.count > 64 || uid.range(of: #"^[0-9]+(\.[0-9]+)*$"#, options: .regularExpression) == nil {
                throw fail(join(at, "TrackingUniqueIdentifier"), "\"\(uid)\" is not a valid UID")
            }
            return s
        }
    }
}
