// A DICOM data set owned from Swift: read, query by tag or path, decode pixels, write.
// Every CDCMTK status becomes an I2Error through Condition.swift.
internal import CDCMTK
import I2Model

public final class DicomFile {
    let handle: OpaquePointer
    public let path: String
    /// The per-frame item table of an enhanced file, built on first use (FrameTable.swift).
    var frameTableState: FrameTable.State = .unbuilt

    /// Reads `path`. Throws I2Error naming `path`: .notDICOM for a file that is not DICOM at all,
    /// .notFound when there is no such file, .badInput when it cannot be read as DICOM (truncated).
    public init(path: String) throws {
        handle = try Condition.open(path: path) { i2dcm_open(path, $0, $1, $2) }
        self.path = path
    }

    /// What can still be read of a file that `init(path:)` refused (the attributes before the pixel
    /// data of a truncated file), or nil.
    public init?(damagedAt path: String) {
        guard let h = i2dcm_open_damaged(path) else { return nil }
        handle = h
        self.path = path
    }

    /// A new, empty data set to be written to `path`.
    public init(newAt path: String) {
        handle = i2dcm_new()
        self.path = path
    }

    deinit {
        frameTableState = .unbuilt   // the table points into the data set: release it first
        i2dcm_free(handle)
    }

    /// String value (multi-values joined by "\"), or nil when absent. `path` is DCMTK path syntax, as
    /// Tag and TagPath build it (callers outside this module name tags through the table, Tag.swift).
    func string(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: 256)
        let n = i2dcm_get(handle, path, &buf, buf.count)
        if n < 0 { return nil }
        if Int(n) >= buf.count {
            buf = [CChar](repeating: 0, count: Int(n) + 1)
            _ = i2dcm_get(handle, path, &buf, buf.count)
        }
        return String(cString: buf).trimmed(" \0")
    }
    public func string(_ tag: Tag) -> String? {
        // By number (i2dcm_get_tag), into a stack buffer: no path text built and parsed per lookup.
        let n = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buf -> (Int, String?) in
            let n = Int(i2dcm_get_tag(handle, tag.group, tag.element, buf.baseAddress, 256))
            return (n, n >= 0 && n < 256 ? String(cString: buf.baseAddress!).trimmed(" \0") : nil)
        }
        if n.0 < 0 { return nil }
        if let s = n.1 { return s }
        var buf = [CChar](repeating: 0, count: n.0 + 1)
        _ = i2dcm_get_tag(handle, tag.group, tag.element, &buf, buf.count)
        return String(cString: buf).trimmed(" \0")
    }
    public func string(_ path: TagPath) -> String? { string(path.text) }

    /// The first occurrence of `tag` anywhere in the data set, inside sequences too (depth first), as text.
    public func nestedString(_ tag: Tag) -> String? {
        var buf = [CChar](repeating: 0, count: 256)
        let n = i2dcm_get_nested(handle, tag.group, tag.element, &buf, buf.count)
        if n < 0 { return nil }
        if Int(n) >= buf.count {
            buf = [CChar](repeating: 0, count: Int(n) + 1)
            _ = i2dcm_get_nested(handle, tag.group, tag.element, &buf, buf.count)
        }
        return String(cString: buf).trimmed(" \0")
    }

    /// Numeric values of a (multi-valued) numeric string element.
    func doubles(_ path: String) -> [Double]? { string(path).flatMap(Self.numbers) }

    /// The numbers of a backslash-separated value as `doubles` reads them; nil when there are none.
    static func numbers(_ s: String) -> [Double]? {
        guard !s.isEmpty else { return nil }
        // Over the UTF-8 bytes (a scan reads this for every frame): each value between backslashes,
        // spaces trimmed, parsed as Double(String) parses it; values that do not parse are skipped.
        var v: [Double] = []
        var text = s
        text.withUTF8 { b in
            var start = 0
            while start <= b.count {
                var end = start
                while end < b.count && b[end] != 0x5C { end += 1 }
                var lo = start, hi = end
                while lo < hi && b[lo] == 0x20 { lo += 1 }
                while hi > lo && b[hi - 1] == 0x20 { hi -= 1 }
                if lo < hi, let d = Double(String(decoding: UnsafeBufferPointer(rebasing: b[lo..<hi]), as: UTF8.self)) { v.append(d) }
                start = end + 1
            }
        }
        return v.isEmpty ? nil : v
    }
    public func doubles(_ tag: Tag) -> [Double]? { doubles(tag.path) }
    /// Numeric values of `tag` in item `index` of the top-level sequence `sequence`, found by the element as
    /// read: for private sequences (e.g. UIH's (0065,1051)) that DCMTK's path syntax cannot enter.
    public func doubles(in sequence: Tag, item index: Int, _ tag: Tag) -> [Double]? {
        var buf = [CChar](repeating: 0, count: 256)
        let n = i2dcm_get_in_item(handle, sequence.group, sequence.element, Int32(index), tag.group, tag.element, &buf, buf.count)
        guard n >= 0, Int(n) < buf.count else { return nil }
        let v = String(cString: buf).split(separator: "\\").compactMap { Double(String($0).trimmed(" ")) }
        return v.isEmpty ? nil : v
    }
    public func doubles(_ path: TagPath) -> [Double]? { doubles(path.text) }
    /// The first value of an integer attribute, or nil when absent or not a finite integer within
    /// ±2^31 (a hostile `nan`, `inf` or `1e300` in IS used to trap in the conversion to Int).
    /// Where a present-but-invalid value must not pass for an absent one, use `integer(_:)`.
    public func int(_ tag: Tag) -> Int? { doubles(tag.path)?.first.flatMap(Self.integer) }

    /// Like `int`, but a value that is present and not a valid integer is an error naming the attribute
    /// and the value; nil only when the attribute is absent or empty.
    public func integer(_ tag: Tag) throws -> Int? {
        guard let text = string(tag), !text.isEmpty else { return nil }
        guard let first = text.split(separator: "\\").first.map({ String($0).trimmed(" ") }),
              let d = Double(first), let v = Self.integer(d) else {
            throw I2Error(.badInput, path: path, "\(tag.keyword) \(tag.path) is '\(text.prefix(40))', not an integer")
        }
        return v
    }

    static func integer(_ d: Double) -> Int? {
        d.isFinite && d.magnitude <= Double(Int32.max) ? Int(d) : nil
    }

    /// Checks what the image header claims against what the file holds, before anyone allocates by
    /// it: Rows, Columns, BitsAllocated, SamplesPerPixel, NumberOfFrames, InstanceNumber, EchoNumbers
    /// and TemporalPositionIdentifier, when present, are integers (else an error naming the attribute);
    /// native pixel data holds every frame claimed (NumberOfFrames x Rows x Columns x samples x bits);
    /// encapsulated pixel data has at least one fragment per frame (PS3.5 A.4). A header claiming
    /// 65535 x 65535 x 2 frames or 2^31-1 frames over a few bytes is refused here, not allocated.
    public func checkImageClaims() throws {
        for tag in [Tag.rows, .columns, .bitsAllocated, .samplesPerPixel, .numberOfFrames, .instanceNumber, .echoNumbers,
                    .temporalPositionIdentifier] {
            _ = try integer(tag)
        }
        guard let rows = try integer(.rows), let columns = try integer(.columns), rows > 0, columns > 0 else { return }
        let frames = max(try integer(.numberOfFrames) ?? 1, 1)
        let samples = max(try integer(.samplesPerPixel) ?? 1, 1)
        let bits = try integer(.bitsAllocated) ?? 16
        var fragments = 0, bytes = 0
        let layout = i2dcm_pixel_layout(handle, &fragments, &bytes)
        func refuse(_ why: String) -> I2Error {
            I2Error(.badInput, path: path, "the header claims \(frames) frame\(frames == 1 ? "" : "s") of \(columns)x\(rows)\(samples > 1 ? "x\(samples)" : ""): \(why)")
        }
        if layout == 0 {
            let (pixels, o1) = rows.multipliedReportingOverflow(by: columns)
            let (all, o2) = pixels.multipliedReportingOverflow(by: frames)
            let (samplesAll, o3) = all.multipliedReportingOverflow(by: samples)
            let (bitsAll, o4) = samplesAll.multipliedReportingOverflow(by: max(bits, 1))
            if o1 || o2 || o3 || o4 { throw refuse("more bytes than any file holds") }
            let needed = (bitsAll + 7) / 8
            if needed > bytes { throw refuse("\(needed) bytes of pixel data needed, the file has \(bytes)") }
        } else if layout == 1 {
            if frames > fragments {
                throw refuse("the encapsulated pixel data has only \(fragments) fragment\(fragments == 1 ? "" : "s") (at least one per frame)")
            }
            // RLE (PS3.5 G.3.1, PackBits) turns 2 bytes into at most 128: the only codec with a hard bound.
            if transferSyntax == "1.2.840.10008.1.2.5" {
                let perSample = max(1, (bits + 7) / 8)
                let (a, o1) = rows.multipliedReportingOverflow(by: columns)
                let (b, o2) = a.multipliedReportingOverflow(by: frames)
                let (decoded, o3) = b.multipliedReportingOverflow(by: samples * perSample)
                if o1 || o2 || o3 || decoded > 64 * bytes {
                    throw refuse("\(bytes) bytes of RLE cannot decode to \(o1 || o2 || o3 ? "that many" : String(decoded)) bytes (RLE expands at most 64-fold)")
                }
            }
            // DCMTK holds decoded pixel data below 4 GiB (a 32-bit length): a larger claim cannot decode,
            // so it is refused before the caller allocates by it (fuzzing: 6 JPEG 2000 frames of
            // 32768x32768 at 32 bits aborted allocating 24 GiB).
            let (a, o1) = rows.multipliedReportingOverflow(by: columns)
            let (b, o2) = a.multipliedReportingOverflow(by: frames)
            let (c, o3) = b.multipliedReportingOverflow(by: samples * max(1, (bits + 7) / 8))
            if o1 || o2 || o3 || c >= 0xFFFF_FFFE {
                throw refuse("the decoded pixel data would exceed 4 GiB")
            }
        }
    }

    /// The raw bytes of a top-level byte element (OB/UN, e.g. a private header), or nil when absent.
    public func bytes(_ tag: Tag) -> [UInt8]? {
        var data: UnsafePointer<UInt8>?
        let n = i2dcm_get_bytes(handle, tag.group, tag.element, &data)
        guard n >= 0 else { return nil }
        guard let d = data, n > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: d, count: n))
    }

    /// The raw bytes of the first occurrence of byte element `tag` anywhere, inside sequences too, or nil.
    public func nestedBytes(_ tag: Tag) -> [UInt8]? {
        var data: UnsafePointer<UInt8>?
        let n = i2dcm_get_bytes_nested(handle, tag.group, tag.element, &data)
        guard n >= 0 else { return nil }
        guard let d = data, n > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: d, count: n))
    }

    /// Number of items of the sequence at `path`, or nil when absent.
    public func items(_ path: TagPath) -> Int? {
        let n = i2dcm_items(handle, path.text)
        return n < 0 ? nil : Int(n)
    }
    public func items(_ tag: Tag) -> Int? { items(TagPath(tag)) }

    public var transferSyntax: String {
        var buf = [CChar](repeating: 0, count: 80)
        _ = i2dcm_transfer_syntax(handle, &buf, buf.count)
        return String(cString: buf)
    }

    public var hasPixelData: Bool { i2dcm_pixel_length(handle) >= 0 }

    /// Where the native pixel value starts in the file, when the fast index read it (nil otherwise):
    /// NativePixels reads it in place there, wherever other elements follow it.
    public var pixelOffset: Int? {
        let offset = i2dcm_pixel_offset(handle)
        return offset >= 0 ? offset : nil
    }

    /// Decodes the pixel data into `buffer` (exactly `buffer.count` bytes are needed).
    public func readPixels(into buffer: UnsafeMutableRawBufferPointer) throws {
        try Condition.check(path: path) { i2dcm_pixels(handle, buffer.baseAddress, buffer.count, $0, $1) }
    }

    func set(_ path: String, _ value: String) throws {
        try Condition.check(path: self.path) { i2dcm_put(handle, path, value, $0, $1) }
    }
    public func set(_ tag: Tag, _ value: String) throws { try set(tag.path, value) }
    public func set(_ path: TagPath, _ value: String) throws { try set(path.text, value) }

    /// Copies `tag` from `other` when present there.
    @discardableResult
    public func copy(_ tag: Tag, from other: DicomFile) -> Bool {
        i2dcm_copy(other.handle, handle, tag.group, tag.element) == 0
    }

    public func setPixels(_ bytes: UnsafeRawBufferPointer, bitsAllocated: Int) throws {
        try Condition.check(path: path) { i2dcm_put_pixels(handle, bytes.baseAddress, bytes.count, Int32(bitsAllocated), $0, $1) }
    }

    /// Sets an OB element such as EncapsulatedDocument.
    public func setBytes(_ tag: Tag, _ bytes: UnsafeRawBufferPointer) throws {
        try Condition.check(path: path) { i2dcm_put_bytes(handle, tag.group, tag.element, bytes.baseAddress, bytes.count, $0, $1) }
    }

    /// Writes a Part 10 file (explicit VR little endian) to `target`; a failure names `target`.
    public func save(to target: String) throws {
        try Condition.check(path: target) { i2dcm_save(handle, target, $0, $1) }
    }
}

extension String {
    func trimmed(_ set: String) -> String {
        // An ASCII set: an ASCII byte is never part of a multi-byte character in UTF-8, so trimming
        // bytes from the ends is trimming characters, whatever the text holds.
        if set.utf8.allSatisfy({ $0 < 0x80 }) {
            let u = self.utf8, cut = Array(set.utf8)
            guard let first = u.firstIndex(where: { !cut.contains($0) }) else { return "" }
            let last = u.lastIndex(where: { !cut.contains($0) })!
            if first == u.startIndex && last == u.index(before: u.endIndex) { return self }
            return String(self[first...last])
        }
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

/// Tests only: compares the fast header index of `path` with DCMTK's reading of it (FastHeader.cpp).
/// nil when the index does not take the file; else the differences found and their description.
func fastHeaderCheck(_ path: String) -> (differences: Int, report: String)? {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = i2dcm_fast_check(path, &buf, buf.count)
    return n < 0 ? nil : (Int(n), String(cString: buf))
}

/// Tests only: the tables the fast index copies from DCMTK against DCMTK's own (DicomTables.hpp):
/// differences and report.
func tablesCheck() -> (differences: Int, report: String) {
    var buf = [CChar](repeating: 0, count: 8192)
    let n = i2dcm_tables_check(&buf, buf.count)
    return (Int(n), String(cString: buf))
}
