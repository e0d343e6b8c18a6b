// Reading a DICOM Segmentation (PS3.3 A.51, Segmentation IOD; and A.51.x Label Map Segmentation,
// DICOM 2024) into plain Swift values: the image attributes, the per-frame arrays (one pass in the shim),
// the segments as dcmqi-style SegmentDescriptions, and the pixel data as stored.
internal import CDCMTK
import Foundation
import I2Model

// SegmentationSOPClass and SegmentEntry (number, description, original label) are the writer's, in
// I2Model/Seg/Segmentation.swift: the reader fills the same types. Read back, `originalLabel` is the
// recorded label value (private creator "i2", (0077,xx01)) or, without one, the Segment Number.

/// Per-frame attributes, index = frame number - 1.
public struct SegmentationFrames: Sendable {
    /// ReferencedSegmentNumber (Segment Identification macro), nil when absent (LABELMAP).
    public var segment: [Int?]
    /// ImagePositionPatient (Plane Position macro), nil when absent.
    public var position: [Vector3?]
    /// ReferencedSOPInstanceUID of the first source image (Derivation Image macro), nil when absent.
    public var sourceUID: [String?]
    /// DimensionIndexValues (Frame Content macro).
    public var dimensionIndex: [[UInt32]]
}

public struct SegmentationObject: Sendable {
    public var path: String
    public var sopClassUID: String
    public var type: SegmentationTypeValues
    public var fractionalType: SegmentationFractionalTypeValues?
    public var maximumFractionalValue: Int
    public var rows: Int
    public var columns: Int
    public var frameCount: Int
    public var bitsAllocated: Int
    /// ImageOrientationPatient (Plane Orientation macro, shared or of the first frame).
    public var orientation: [Double]?
    /// PixelSpacing [between rows, between columns] (Pixel Measures macro).
    public var pixelSpacing: [Double]?
    public var spacingBetweenSlices: Double?
    public var sliceThickness: Double?
    public var frameOfReferenceUID: String?
    public var referencedSeriesUIDs: [String]
    public var segments: [SegmentEntry]
    public var frames: SegmentationFrames
    /// Series-level attributes in dcmqi's shape (segmentAttributes left empty).
    public var seriesMetadata: SegmentMetadata
}

/// Paths are built from the tag table (Tag.swift), which gives DCMTK tag numbers, not keywords.
public enum SegmentationReader {
    /// Reads everything but the pixel data. Throws naming `path` for anything that is not a readable SEG.
    public static func read(_ file: DicomFile) throws -> SegmentationObject {
        let path = file.path
        func bad(_ why: String) -> I2Error { I2Error(.badInput, path: path, why) }
        let sop = file.string(.sopClassUID) ?? ""
        guard sop == SegmentationSOPClass.segmentation || sop == SegmentationSOPClass.labelMap else {
            let modality = file.string(.modality).map { ", Modality \($0)" } ?? ""
            throw bad("not a DICOM Segmentation (SOP Class UID \(sop.isEmpty ? "missing" : sop)\(modality))")
        }
        if let marks = slideMarks(file) {
            throw bad("a whole-slide microscopy SEG (\(marks)): its frames are tiles placed on a slide, not slices of a patient "
                      + "volume; slide SEGs are not supported by seg2nifti")
        }
        let typeText = file.string(.segmentationType) ?? (sop == SegmentationSOPClass.labelMap ? "LABELMAP" : "")
        guard let type = SegmentationTypeValues(rawValue: typeText) else {
            throw bad("SegmentationType \(Tag.segmentationType.path) is \(typeText.isEmpty ? "missing" : "'\(typeText)'") (BINARY, FRACTIONAL or LABELMAP expected)")
        }
        guard let rows = file.int(.rows), let cols = file.int(.columns), rows > 0, cols > 0 else {
            throw bad("missing Rows/Columns")
        }
        let bits = file.int(.bitsAllocated) ?? 0
        let expectedBits: Set<Int> = type == .binary ? [1] : type == .fractional ? [8] : [8, 16]
        guard expectedBits.contains(bits) else {
            throw bad("BitsAllocated \(bits) does not fit SegmentationType \(type.rawValue) (expected \(expectedBits.sorted().map(String.init).joined(separator: " or ")))")
        }
        guard file.hasPixelData else { throw bad("missing pixel data") }
        try file.checkImageClaims()   // before frames are read or pixels allocated by NumberOfFrames/Rows/Columns
        let frames = max(file.int(.numberOfFrames) ?? 1, 1)

        func macro(_ seq: Tag, _ attribute: Tag) -> [Double]? {
            file.doubles(Tag.sharedFunctionalGroupsSequence[0] / seq[0] / attribute)
                ?? file.doubles(Tag.perFrameFunctionalGroupsSequence[0] / seq[0] / attribute)
        }
        var seg = SegmentationObject(
            path: path, sopClassUID: sop, type: type,
            fractionalType: file.string(.segmentationFractionalType).flatMap(SegmentationFractionalTypeValues.init(rawValue:)),
            maximumFractionalValue: file.int(.maximumFractionalValue) ?? 255,
            rows: rows, columns: cols, frameCount: frames, bitsAllocated: bits,
            orientation: macro(.planeOrientationSequence, .imageOrientationPatient),
            pixelSpacing: macro(.pixelMeasuresSequence, .pixelSpacing),
            spacingBetweenSlices: macro(.pixelMeasuresSequence, .spacingBetweenSlices)?.first,
            sliceThickness: macro(.pixelMeasuresSequence, .sliceThickness)?.first,
            frameOfReferenceUID: file.string(.frameOfReferenceUID),
            referencedSeriesUIDs: [], segments: [],
            frames: try readFrames(file, count: frames),
            seriesMetadata: SegmentMetadata(segmentAttributes: []))
        if type == .fractional && seg.maximumFractionalValue <= 0 {
            throw bad("MaximumFractionalValue \(Tag.maximumFractionalValue.path) must be positive")
        }
        if let o = seg.orientation, o.count != 6 { throw bad("malformed ImageOrientationPatient") }
        for i in 0..<(file.items(.referencedSeriesSequence) ?? 0) {
            if let uid = file.string(Tag.referencedSeriesSequence[i] / .seriesInstanceUID) { seg.referencedSeriesUIDs.append(uid) }
        }
        seg.segments = try readSegments(file, type: type)
        seg.seriesMetadata = seriesMetadata(file)
        return seg
    }

    /// VL Whole Slide Microscopy Image Storage: tiles of a slide, with no patient geometry.
    public static let wholeSlideMicroscopy = "1.2.840.10008.5.1.4.1.1.77.1.6"

    /// What marks `file` as a slide SEG (source images of VL Whole Slide Microscopy, a total pixel matrix,
    /// frames placed by PlanePositionSlideSequence), or nil. Such a SEG has no ImagePositionPatient: without
    /// this check it failed as "no ImagePositionPatient … give --ref", and with --ref as "no DICOM images".
    static func slideMarks(_ file: DicomFile) -> String? {
        var marks: [String] = []
        let series = Tag.referencedSeriesSequence[0]
        if file.string(series / Tag.referencedInstanceSequence[0] / .referencedSOPClassUID) == wholeSlideMicroscopy {
            marks.append("it references VL Whole Slide Microscopy images, SOP class \(wholeSlideMicroscopy)")
        }
        if file.string(.totalPixelMatrixRows) != nil || file.string(.totalPixelMatrixColumns) != nil {
            marks.append("TotalPixelMatrixRows/Columns")
        }
        if file.string(.imageOrientationSlide) != nil { marks.append("ImageOrientationSlide") }
        if file.items(Tag.sharedFunctionalGroupsSequence[0] / .planePositionSlideSequence) != nil
            || file.items(Tag.perFrameFunctionalGroupsSequence[0] / .planePositionSlideSequence) != nil {
            marks.append("frames placed by PlanePositionSlideSequence")
        }
        return marks.isEmpty ? nil : marks.joined(separator: ", ")
    }

    /// Lends the pixel data as stored: bit-packed for BINARY (frames run on across byte boundaries),
    /// else one byte (or two, little-endian) per pixel. Native data is lent in place (no copy);
    /// compressed data is decoded into a buffer first.
    public static func withPixels<R>(_ file: DicomFile, _ seg: SegmentationObject,
                                     _ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R {
        let pixels = seg.rows * seg.columns * seg.frameCount
        let count = seg.bitsAllocated == 1 ? (pixels + 7) / 8 : pixels * seg.bitsAllocated / 8
        var len = 0
        if let p = i2dcm_seg_pixel_data(file.handle, &len) {
            guard len >= count else {
                throw I2Error(.badInput, path: file.path, "pixel data has \(len) bytes, \(count) expected for \(seg.frameCount) frames of \(seg.columns)x\(seg.rows)")
            }
            return try withExtendedLifetime(file) { try body(UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt8.self), count: count)) }
        }
        var out = [UInt8].uninitialized(count)
        try out.withUnsafeMutableBytes { try file.readPixels(into: $0) }
        return try out.withUnsafeBufferPointer(body)
    }

    /// Native pixel data read piecewise from the file: BINARY frames of a large SEG (~150 MB for 100
    /// segments on a 300-slice CT) are decoded frame by frame instead of being loaded whole.
    /// When the value is the file's last element in a little-endian syntax it is read with pread at its
    /// offset, and the stream holds no reference to the DicomFile (whose dataset can then be freed);
    /// otherwise through DCMTK's partial reads of the deferred value.
    public struct PixelStream {
        let file: DicomFile?
        let path: String
        /// Where the value starts in the file, when it is read directly.
        let fileOffset: Int?
        /// The bytes the frames need (bit-packed for BINARY).
        public let count: Int

        /// True when reading no longer needs the DicomFile.
        public var isDetached: Bool { file == nil }

        /// Fills `buffer` with the bytes from `offset` on (offset + buffer.count <= count).
        public func read(offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
            guard buffer.count > 0 else { return }
            func fail() -> I2Error { I2Error(.storage, path: path, "cannot read \(buffer.count) bytes of pixel data at offset \(offset)") }
            if let start = fileOffset {
                let fd = open(path, O_RDONLY)
                guard fd >= 0 else { throw fail() }
                defer { close(fd) }
                var done = 0
                while done < buffer.count {
                    let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(start + offset + done))
                    if n <= 0 { throw fail() }
                    done += n
                }
                return
            }
            guard let file else { throw fail() }
            let status = try Condition.check(path: path) {
                i2dcm_seg_pixel_read(file.handle, offset, buffer.count, buffer.baseAddress!, nil, $0, $1)
            }
            if status != I2DCM_OK { throw fail() }   // not native after all
        }
    }

    /// The fragments of encapsulated pixel data (Basic Offset Table excluded), lent in place; nil when the
    /// pixel data is native. For BINARY RLE frames, which DCMTK does not decode.
    public static func withFragments<R>(_ file: DicomFile, _ body: ([UnsafeRawBufferPointer]) throws -> R) throws -> R? {
        let n = i2dcm_seg_fragments(file.handle, 0, nil, nil, nil, 0)
        guard n >= 0 else { return nil }   // not encapsulated
        var data = [UnsafeRawPointer?](repeating: nil, count: Int(n))
        var len = [Int](repeating: 0, count: Int(n))
        try Condition.check(path: file.path) { i2dcm_seg_fragments(file.handle, n, &data, &len, $0, $1) }
        let parts = zip(data, len).map { UnsafeRawBufferPointer(start: $0, count: $1) }
        return try withExtendedLifetime(file) { try body(parts) }
    }

    /// The offset of a PixelData value of `length` bytes that ends the file at `path`, or nil.
    static func trailingValueOffset(path: String, length: Int) -> Int? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, length % 2 == 0, Int(st.st_size) >= length + 12 else { return nil }
        let start = Int(st.st_size) - length
        var header = [UInt8](repeating: 0, count: 12)
        guard pread(fd, &header, 12, off_t(start - 12)) == 12 else { return nil }
        let le = [UInt8(length & 0xFF), UInt8((length >> 8) & 0xFF), UInt8((length >> 16) & 0xFF), UInt8((length >> 24) & 0xFF)]
        let explicit = Array(header[0...3]) == Tag.pixelData.littleEndianBytes && (header[4...5] == [0x4F, 0x57] || header[4...5] == [0x4F, 0x42])
            && header[6...7] == [0, 0] && Array(header[8...11]) == le
        let implicit = Array(header[4...7]) == Tag.pixelData.littleEndianBytes && Array(header[8...11]) == le
        return explicit || implicit ? start : nil
    }

    /// A stream over the native pixel data, or nil when it is encapsulated (use withPixels then).
    /// Throws, as withPixels does, when the value is shorter than the frames need.
    public static func pixelStream(_ file: DicomFile, _ seg: SegmentationObject) throws -> PixelStream? {
        let pixels = seg.rows * seg.columns * seg.frameCount
        let count = seg.bitsAllocated == 1 ? (pixels + 7) / 8 : pixels * seg.bitsAllocated / 8
        var len = 0
        guard try Condition.check(path: file.path, { i2dcm_seg_pixel_read(file.handle, 0, 0, nil, &len, $0, $1) }) == I2DCM_OK
        else { return nil }
        guard len >= count else {
            throw I2Error(.badInput, path: file.path, "pixel data has \(len) bytes, \(count) expected for \(seg.frameCount) frames of \(seg.columns)x\(seg.rows)")
        }
        if NativePixels.applies(to: file.transferSyntax), let start = trailingValueOffset(path: file.path, length: len) {
            return PixelStream(file: nil, path: file.path, fileOffset: start, count: count)
        }
        return PixelStream(file: file, path: file.path, fileOffset: nil, count: count)
    }

    static func readFrames(_ file: DicomFile, count: Int) throws -> SegmentationFrames {
        var segment = [Int32](repeating: -1, count: count)
        var position = [Double](repeating: .nan, count: 3 * count)
        var uids = [CChar](repeating: 0, count: count * Int(I2DCM_UID_SLOT))
        var index = [UInt32](repeating: 0, count: count * Int(I2DCM_MAX_INDEX))
        var indexCount = [Int32](repeating: 0, count: count)
        let items = try Condition.check(path: file.path) {
            i2dcm_seg_frames(file.handle, Int32(count), &segment, &position, &uids, &index, &indexCount, $0, $1)
        }
        if items > 0 && Int(items) != count {
            throw I2Error(.badInput, path: file.path, "PerFrameFunctionalGroupsSequence has \(items) items for \(count) frames (NumberOfFrames)")
        }
        var out = SegmentationFrames(segment: [], position: [], sourceUID: [], dimensionIndex: [])
        out.segment.reserveCapacity(count)
        uids.withUnsafeBufferPointer { u in
            for i in 0..<count {
                out.segment.append(segment[i] < 0 ? nil : Int(segment[i]))
                let p = Vector3(position[3 * i], position[3 * i + 1], position[3 * i + 2])
                out.position.append(p.x.isNaN ? nil : p)
                let uid = String(cString: u.baseAddress! + i * Int(I2DCM_UID_SLOT))
                out.sourceUID.append(uid.isEmpty ? nil : uid)
                out.dimensionIndex.append(Array(index[i * Int(I2DCM_MAX_INDEX)..<(i * Int(I2DCM_MAX_INDEX) + Int(indexCount[i]))]))
            }
        }
        return out
    }

    static func readSegments(_ file: DicomFile, type: SegmentationTypeValues) throws -> [SegmentEntry] {
        let n = file.items(.segmentSequence) ?? 0
        if n == 0 { throw I2Error(.badInput, path: file.path, "SegmentSequence \(Tag.segmentSequence.path) is missing or empty") }
        var numbers = [Int32](repeating: -1, count: n)
        var labels = [Int64](repeating: -1, count: n)
        _ = i2dcm_seg_segments(file.handle, Int32(n), &numbers, &labels)
        var out: [SegmentEntry] = []
        for i in 0..<n {
            let item = Tag.segmentSequence[i]
            guard numbers[i] >= 0 else {
                throw I2Error(.badInput, path: file.path, "SegmentSequence item \(i + 1) has no SegmentNumber")
            }
            /// Item `k` of the code sequence at `seq` (a path inside the segment item), as a Code Sequence Macro.
            func code(_ seq: TagPath, _ k: Int = 0) -> CodedConcept? {
                let p = item / seq[k]
                guard let v = file.string(p / .codeValue) ?? file.string(p / .longCodeValue) ?? file.string(p / .urnCodeValue),
                      let scheme = file.string(p / .codingSchemeDesignator) else { return nil }
                return CodedConcept(codeValue: v, codingSchemeDesignator: scheme, codeMeaning: file.string(p / .codeMeaning) ?? "",
                                    codingSchemeVersion: file.string(p / .codingSchemeVersion))
            }
            func codes(_ seq: TagPath) -> [CodedConcept] {
                (0..<(file.items(item / seq) ?? 0)).compactMap { code(seq, $0) }
            }
            let unknown = CodedConcept(codeValue: "", codingSchemeDesignator: "", codeMeaning: "")
            let number = Int(numbers[i])
            let original = labels[i] >= 0 ? Int(labels[i]) : nil
            var d = SegmentDescription(
                labelID: original ?? number,
                segmentAlgorithmType: file.string(item / .segmentAlgorithmType).flatMap(SegmentAlgorithmTypeValues.init(rawValue:)) ?? .manual,
                segmentedPropertyCategory: code(TagPath(.segmentedPropertyCategoryCodeSequence)) ?? unknown,
                segmentedPropertyType: code(TagPath(.segmentedPropertyTypeCodeSequence)) ?? unknown)
            d.segmentLabel = file.string(item / .segmentLabel)
            d.segmentDescription = file.string(item / .segmentDescription)
            d.segmentAlgorithmName = file.string(item / .segmentAlgorithmName)
            d.segmentedPropertyTypeModifiers = codes(Tag.segmentedPropertyTypeCodeSequence[0] / .segmentedPropertyTypeModifierCodeSequence)
            if d.segmentedPropertyTypeModifiers.isEmpty { d.segmentedPropertyTypeModifiers = codes(TagPath(.segmentedPropertyTypeModifierCodeSequence)) }
            d.anatomicRegion = code(TagPath(.anatomicRegionSequence))
            d.anatomicRegionModifiers = codes(Tag.anatomicRegionSequence[0] / .anatomicRegionModifierSequence)
            if let lab = file.doubles(item / .recommendedDisplayCIELabValue), lab.count == 3 {
                d.recommendedDisplayRGBValue = CIELabColor(l: UInt16(clamping: Int(lab[0])), a: UInt16(clamping: Int(lab[1])),
                                                           b: UInt16(clamping: Int(lab[2]))).rgb
            }
            d.trackingIdentifier = file.string(item / .trackingID)
            d.trackingUniqueIdentifier = file.string(item / .trackingUID)
            out.append(SegmentEntry(number: number, description: d, originalLabel: original ?? number))
        }
        let numbersSeen = out.map(\.number)
        if Set(numbersSeen).count != numbersSeen.count {
            throw I2Error(.badInput, path: file.path, "SegmentSequence repeats a SegmentNumber (\(numbersSeen.map(String.init).joined(separator: ", ")))")
        }
        return out
    }

    static func seriesMetadata(_ file: DicomFile) -> SegmentMetadata {
        var m = SegmentMetadata(segmentAttributes: [])
        let tags: [(WritableKeyPath<SegmentMetadata, MetadataValue<String>?>, Tag)] = [
            (\.contentCreatorName, .contentCreatorName), (\.clinicalTrialSeriesID, .clinicalTrialSeriesID),
            (\.clinicalTrialTimePointID, .clinicalTrialTimePointID), (\.clinicalTrialCoordinatingCenterName, .clinicalTrialCoordinatingCenterName),
            (\.seriesDescription, .seriesDescription), (\.seriesNumber, .seriesNumber),
            (\.instanceNumber, .instanceNumber), (\.bodyPartExamined, .bodyPartExamined),
            (\.contentLabel, .contentLabel), (\.contentDescription, .contentDescription),
        ]
        for (key, tag) in tags {
            if let v = file.string(tag), !v.isEmpty { m[keyPath: key] = .value(v) }
        }
        return m
    }
}
