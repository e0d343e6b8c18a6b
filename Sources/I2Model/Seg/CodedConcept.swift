// CodedConcept: one item of a DICOM code sequence (PS3.3 Table 8.8-1, Code Sequence Macro), e.g. the
// SegmentedPropertyTypeCodeSequence item (SCT, 10200004, "Liver"), and its dcmqi JSON form
// ({"CodeValue", "CodingSchemeDesignator", "CodeMeaning"}), read with SegmentMetadata's reader so errors
// carry the field path.
import Foundation

/// A coded concept: the triplet every DICOM code sequence item carries, plus the optional scheme version.
public struct CodedConcept: Hashable, Sendable, CustomStringConvertible {
    /// Code Value (0008,0100), e.g. "10200004".
    public var codeValue: String
    /// Coding Scheme Designator (0008,0102), e.g. "SCT" (SNOMED CT), "DCM".
    public var codingSchemeDesignator: String
    /// Code Meaning (0008,0104), human-readable text, e.g. "Liver".
    public var codeMeaning: String
    /// Coding Scheme Version (0008,0103); needed only where the designator alone is ambiguous.
    public var codingSchemeVersion: String?

    public init(codeValue: String, codingSchemeDesignator: String, codeMeaning: String,
                codingSchemeVersion: String? = nil) {
        self.codeValue = codeValue
        self.codingSchemeDesignator = codingSchemeDesignator
        self.codeMeaning = codeMeaning
        self.codingSchemeVersion = codingSchemeVersion
    }

    /// Two codes denote the same concept when value and scheme agree; Code Meaning is display text and
    /// may legitimately differ in wording or case between sources ("Small Intestine" vs "Small intestine").
    public func isSameConcept(as other: CodedConcept) -> Bool {
        codeValue == other.codeValue && codingSchemeDesignator == other.codingSchemeDesignator
    }

    /// The notation PS3.16 uses: (10200004, SCT, "Liver").
    public var description: String { "(\(codeValue), \(codingSchemeDesignator), \"\(codeMeaning)\")" }
}

extension MetadataJSON {
    /// The dcmqi form, also used for each item when a sequence is written as an array.
    static func object(for c: CodedConcept) -> [String: Any] {
        var o = ["CodeValue": c.codeValue, "CodingSchemeDesignator": c.codingSchemeDesignator,
                 "CodeMeaning": c.codeMeaning]
        o["CodingSchemeVersion"] = c.codingSchemeVersion
        return o
    }
}

extension MetadataJSON.Reader {
    /// A code sequence: dcmqi writes one object; an array of objects is accepted too.
    func codes(_ v: Any, _ at: String) throws -> [CodedConcept] {
        guard let a = v as? [Any] else { return [try code(v, at)] }
        return try a.enumerated().map { try code($1, "\(at)[\($0)]") }
    }

    func singleCode(_ o: [String: Any], _ key: String, _ at: String) throws -> CodedConcept? {
        guard let v = o[key], !(v is NSNull) else { return nil }
        let list = try codes(v, join(at, key))
        guard list.count == 1 else {
            throw fail(join(at, key), "expected exactly one code, found \(list.count)")
        }
        return list[0]
    }

    func code(_ v: Any, _ at: String) throws -> CodedConcept {
        let o = try object(v, at)
        func field(_ key: String) throws -> String {
            guard let s = try string(o, key, at) else { throw fail(at, "missing \(key)") }
            guard !s.trimmingCharacters(in: .whitespaces).isEmpty else { throw fail(at, "empty \(key)") }
            return s
        }
        return CodedConcept(codeValue: try field("CodeValue"),
                            codingSchemeDesignator: try field("CodingSchemeDesignator"),
                            codeMeaning: try field("CodeMeaning"),
                            codingSchemeVersion: try string(o, "CodingSchemeVersion", at))
    }
}
