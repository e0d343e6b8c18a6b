import Foundation
// Siemens' CSA header (private (0029,1010) per image, (0029,1020) per series): a binary list of named
// elements, each with string values. Both layouts are read: "SV10" (CSA2) and the older CSA1. The
// element names (NumberOfImagesInMosaic, SliceNormalVector, MosaicRefAcqTimes, B_value, …) are
// Siemens'; how to read the layout follows nibabel's csareader and dcm2niix's nii_dicom.cpp.
// Hostile input: every length is checked against the buffer; a malformed header gives nil.

public struct SiemensCSA: Sendable {
    /// Element name → its values (only the first VM values when VM > 0; empty strings dropped at the end).
    public var elements: [String: [String]] = [:]

    public subscript(_ name: String) -> [String]? { elements[name] }
    public func doubles(_ name: String) -> [Double]? {
        guard let v = elements[name] else { return nil }
        let d = v.compactMap { Double(Self.trimmedWhitespace($0)) }
        return d.isEmpty ? nil : d
    }
    public func double(_ name: String) -> Double? { doubles(name)?.first }
    public func int(_ name: String) -> Int? { double(name).map { Int($0) } }

    /// `s.trimmingCharacters(in: .whitespaces)`, without Foundation for ASCII text (space and tab are
    /// the only ASCII members of that set): Foundation's version bridged every value of a series CSA
    /// header through NSString, about a third of a Siemens sidecar's time.
    static func trimmedWhitespace(_ s: String) -> String {
        let u = s.utf8
        guard u.allSatisfy({ $0 < 0x80 }) else { return s.trimmingCharacters(in: .whitespaces) }
        guard let first = u.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { return "" }
        let last = u.lastIndex(where: { $0 != 0x20 && $0 != 0x09 })!
        if first == u.startIndex && last == u.index(before: u.endIndex) { return s }
        return String(s[first...last])
    }

    /// Parses `bytes`; with `only`, keeps just those elements (the others are walked, never decoded:
    /// a scan asks each file for one or two names of a header of about a hundred).
    public init?(_ bytes: [UInt8], only: [String]? = nil) {
        let wanted = only.map { $0.map { Array($0.utf8) } }
        var p = 0
        func u32() -> Int? {
            guard p + 4 <= bytes.count else { return nil }
            let v = Int(bytes[p]) | Int(bytes[p + 1]) << 8 | Int(bytes[p + 2]) << 16 | Int(bytes[p + 3]) << 24
            p += 4
            return v
        }
        func i32() -> Int? { u32().map { Int(Int32(truncatingIfNeeded: $0)) } }
        let csa2 = bytes.count >= 4 && bytes[0] == 0x53 && bytes[1] == 0x56 && bytes[2] == 0x31 && bytes[3] == 0x30  // "SV10"
        if csa2 { p = 8 }
        guard let count = u32(), count > 0, count <= 1000, u32() != nil else { return nil }
        var csa1Modifier = 0   // CSA1 item lengths are offset by the item count of element 1 (nibabel's reading)
        for index in 0..<count {
            guard p + 64 + 20 <= bytes.count else { return nil }
            let nameBytes = bytes[p..<(p + 64)].prefix { $0 != 0 }
            let keep = wanted.map { $0.contains { $0.elementsEqual(nameBytes) } } ?? true
            let name = keep ? String(decoding: nameBytes, as: UTF8.self) : ""
            p += 64
            guard let vm = i32(), p + 4 <= bytes.count else { return nil }
            p += 4  // VR
            guard i32() != nil, let items = i32(), i32() != nil, items >= 0, items <= 10_000, vm >= 0 else { return nil }
            if index <= 1 { csa1Modifier = items }
            var values: [String] = []
            var blank: [Bool] = []   // per value: only spaces and tabs (what trimmedWhitespace empties)
            for item in 0..<items {
                guard let x0 = i32(), let x1 = i32(), i32() != nil, i32() != nil else { return nil }
                let length = csa2 ? x1 : x0 - csa1Modifier
                guard length >= 0, p + length <= bytes.count else {
                    if csa2 { return nil }
                    break
                }
                if keep && (vm == 0 || item < vm) {
                    let raw = bytes[p..<(p + length)].prefix { $0 != 0 }
                    let value = String(decoding: raw, as: UTF8.self)
                    values.append(value)
                    // ASCII is decided on the bytes; anything else by trimmedWhitespace (Unicode spaces).
                    blank.append(raw.allSatisfy { $0 < 0x80 } ? raw.allSatisfy { $0 == 0x20 || $0 == 0x09 } : Self.trimmedWhitespace(value).isEmpty)
                }
                p += (length + 3) / 4 * 4
                if p > bytes.count { return nil }
            }
            guard keep else { continue }
            while blank.last == true { values.removeLast(); blank.removeLast() }
            if elements[name] == nil { elements[name] = values }
        }
    }
}

extension DicomFile {
    /// The CSA image header of a Siemens file, or nil.
    public var siemensImageCSA: SiemensCSA? { bytes(.siemensCSAImageHeader).flatMap { SiemensCSA($0) } }
    /// Only the named elements of the CSA image header (see SiemensCSA.init's `only`), or nil.
    public func siemensImageCSA(only names: [String]) -> SiemensCSA? { bytes(.siemensCSAImageHeader).flatMap { SiemensCSA($0, only: names) } }
    /// The CSA series header of a Siemens file, or nil.
    public var siemensSeriesCSA: SiemensCSA? { bytes(.siemensCSASeriesHeader).flatMap { SiemensCSA($0) } }
    /// Only the named elements of the CSA series header, or nil.
    public func siemensSeriesCSA(only names: [String]) -> SiemensCSA? { bytes(.siemensCSASeriesHeader).flatMap { SiemensCSA($0, only: names) } }
}
