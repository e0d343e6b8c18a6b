// SegmentationWriter: a `Segmentation` (I2Model) → a DICOM data set (PS3.3 A.51 Segmentation IOD, or
// A.51.x Label Map Segmentation), patient and study copied from a reference instance. The top-level and
// per-segment attributes go through DicomFile paths (a few hundred lookups); the per-frame functional
// groups and the pixel buffer through the one-pass shim in CDCMTKSegWrite.h.
internal import CDCMTK
import Foundation
import I2Model

public final class SegmentationWriter {
    let file: DicomFile
    let segmentation: Segmentation
    /// The caller's pixel values until `save`: calloc'd (fresh zero pages for a large buffer), so only the
    /// pages the fill touches become resident while the label maps are still in memory; copied into the
    /// data set's (zero-filled, hence fully resident) element only when saving, after the inputs are freed.
    var pixels: UnsafeMutableRawBufferPointer?
    /// Whether the pixels are in the data set.
    var placed = false

    /// Builds everything but the pixel values. `reference` is one instance of the source series.
    public init(_ seg: Segmentation, reference: DicomFile, path: String) throws {
        segmentation = seg
        file = DicomFile(newAt: path)
        try header(seg, reference)
        try segments(seg)
        try frames(seg)
    }

    deinit { pixels.map { free($0.baseAddress) } }

    /// The zero-filled pixel data (`segmentation.pixelDataLength` bytes) for the caller to fill: BINARY bits
    /// LSB first, frames one after another; LABELMAP 8/16-bit segment numbers. Written by `save`.
    public func withPixels<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
        if pixels == nil {
            let n = segmentation.pixelDataLength
            guard let p = calloc(max(n, 1), 1) else { throw I2Error(.io, path: file.path, "pixel data: cannot allocate \(n) bytes") }
            pixels = UnsafeMutableRawBufferPointer(start: p, count: n)
        }
        return try body(pixels!)
    }

    /// Writes the Part 10 file to `target` (RLE Lossless when `rle`).
    public func save(to target: String, rle: Bool) throws {
        if !placed, pixels == nil { try withPixels { _ in } }
        var err = [CChar](repeating: 0, count: 512)
        if !placed, let staged = pixels {
            let n = staged.count
            guard let p = i2dcm_seg_pixel_buffer(file.handle, n, Int32(segmentation.bitsAllocated), &err, err.count) else {
                throw I2Error(.io, path: file.path, String(cString: err))
            }
            if n > 0 { memcpy(p, staged.baseAddress!, n) }
            free(staged.baseAddress)
            pixels = nil
            placed = true
        }
        if i2dcm_seg_save(file.handle, target, rle ? 1 : 0, &err, err.count) != 0 {
            throw I2Error(.io, path: file.path, String(cString: err))
        }
    }

    /// SegmentsOverlap, when it is known only once the pixels are filled (several masks).
    public func setOverlap(_ value: SegmentsOverlapValues) throws { try file.set(.segmentsOverlap, value.rawValue) }

    /// Sets `path`, written with keywords for reading, as tag numbers: DCMTK resolves a keyword by a linear
    /// scan of its dictionary (strcmp per entry), which dominated the run time with 100 segments.
    private func set(_ path: String, _ value: String) throws {
        let numeric = path.split(separator: ".").map { part -> String in
            let name = part.prefix { $0 != "[" }
            guard let tag = Self.keywords[String(name)] else { return String(part) }
            return tag + part.dropFirst(name.count)
        }
        try file.set(numeric.joined(separator: "."), value)
    }

    /// The keywords this writer uses in paths (PS3.6).
    static let keywords: [String: String] = [
        "SharedFunctionalGroupsSequence": "(5200,9229)", "PlaneOrientationSequence": "(0020,9116)",
        "ImageOrientationPatient": "(0020,0037)", "PixelMeasuresSequence": "(0028,9110)", "PixelSpacing": "(0028,0030)",
        "SliceThickness": "(0018,0050)", "SpacingBetweenSlices": "(0018,0088)", "ReferencedSeriesSequence": "(0008,1115)",
        "SeriesInstanceUID": "(0020,000E)", "ReferencedInstanceSequence": "(0008,114A)", "ReferencedSOPClassUID": "(0008,1150)",
        "ReferencedSOPInstanceUID": "(0008,1155)", "SegmentSequence": "(0062,0002)", "SegmentNumber": "(0062,0004)",
        "SegmentLabel": "(0062,0005)", "SegmentDescription": "(0062,0006)", "SegmentAlgorithmType": "(0062,0008)",
        "SegmentAlgorithmName": "(0062,0009)", "SegmentedPropertyCategoryCodeSequence": "(0062,0003)",
        "SegmentedPropertyTypeCodeSequence": "(0062,000F)", "SegmentedPropertyTypeModifierCodeSequence": "(0062,0011)",
        "AnatomicRegionSequence": "(0008,2218)", "AnatomicRegionModifierSequence": "(0008,2220)",
        "RecommendedDisplayCIELabValue": "(0062,000D)", "TrackingID": "(0062,0020)", "TrackingUID": "(0062,0021)",
        "CodeValue": "(0008,0100)", "CodingSchemeDesignator": "(0008,0102)", "CodingSchemeVersion": "(0008,0103)",
        "CodeMeaning": "(0008,0104)"]

    private func header(_ seg: Segmentation, _ ref: DicomFile) throws {
        let f = file
        if let cs = ref.string(.specificCharacterSet), !cs.isEmpty { f.copy(.specificCharacterSet, from: ref) }
        let now = Date()
        let date = Self.format(now, "yyyyMMdd"), time = Self.format(now, "HHmmss")
        try f.set(.sopClassUID, seg.sopClassUID)
        try f.set(.sopInstanceUID, seg.sopInstanceUID)
        try f.set(.instanceCreationDate, date)
        try f.set(.instanceCreationTime, time)
        // Patient, study (Type 2: copied, or present and empty), clinical trial subject/study when present.
        for tag: Tag in [.patientName, .patientID, .patientBirthDate, .patientSex, .studyDate, .studyTime,
                         .referringPhysicianName, .studyID, .accessionNumber] {
            if !f.copy(tag, from: ref) { try f.set(tag, "") }
        }
        for tag: Tag in [.studyInstanceUID, .studyDescription, .patientAge, .patientWeight, .clinicalTrialSponsorName,
                         .clinicalTrialProtocolID, .clinicalTrialProtocolName, .clinicalTrialSiteID,
                         .clinicalTrialSiteName, .clinicalTrialSubjectID, .clinicalTrialSubjectReadingID] {
            f.copy(tag, from: ref)
        }
        // Series (General Series + Segmentation Series), Clinical Trial Series.
        try f.set(.modality, "SEG")
        try f.set(.seriesInstanceUID, seg.seriesInstanceUID)
        try f.set(.seriesNumber, seg.seriesNumber)
        try f.set(.seriesDescription, seg.seriesDescription)
        try f.set(.seriesDate, date)
        try f.set(.seriesTime, time)
        if let v = seg.bodyPartExamined, !v.isEmpty { try f.set(.bodyPartExamined, v) }
        if let v = seg.clinicalTrialCoordinatingCenterName { try f.set(.clinicalTrialCoordinatingCenterName, v) }
        if let v = seg.clinicalTrialSeriesID { try f.set(.clinicalTrialSeriesID, v) }
        if let v = seg.clinicalTrialTimePointID { try f.set(.clinicalTrialTimePointID, v) }
        // Frame of Reference, equipment (Enhanced General Equipment is Type 1 for SEG).
        try f.set(.frameOfReferenceUID, seg.frameOfReferenceUID)
        try f.set(.positionReferenceIndicator, "")
        try f.set(.manufacturer, "i2")
        try f.set(.manufacturerModelName, "i2 nifti2seg")
        try f.set(.deviceSerialNumber, "1")
        try f.set(.softwareVersions, "i2")
        // Image: Segmentation Image module + Content Identification macro.
        try f.set(.imageType, "DERIVED\\PRIMARY")
        try f.set(.instanceNumber, seg.instanceNumber)
        try f.set(.contentLabel, seg.contentLabel)
        try f.set(.contentDescription, seg.contentDescription)
        try f.set(.contentCreatorName, seg.contentCreatorName)
        try f.set(.contentDate, date)
        try f.set(.contentTime, time)
        try f.set(.segmentationType, seg.segmentationType.rawValue)
        try f.set(.segmentsOverlap, seg.segmentsOverlap.rawValue)
        try f.set(.lossyImageCompression, "00")
        try f.set(.samplesPerPixel, "1")
        try f.set(.photometricInterpretation, "MONOCHROME2")
        try f.set(.rows, String(seg.rows))
        try f.set(.columns, String(seg.columns))
        let bits = seg.bitsAllocated
        try f.set(.bitsAllocated, String(bits))
        try f.set(.bitsStored, String(bits))
        try f.set(.highBit, String(bits - 1))
        try f.set(.pixelRepresentation, "0")
        if seg.segmentationType == .labelmap { try f.set(.pixelPaddingValue, "0") }
        try f.set(.numberOfFrames, String(seg.frames.count))
        // Shared functional groups: orientation and pixel measures hold for every frame.
        try set("SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0].ImageOrientationPatient",
                try DS.join(seg.imageOrientationPatient))
        try set("SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing", try DS.join(seg.pixelSpacing))
        try set("SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].SliceThickness", try DS.format(seg.sliceThickness))
        try set("SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].SpacingBetweenSlices", try DS.format(seg.spacingBetweenSlices))
        // Common Instance Reference: the referenced series and every instance a frame derives from.
        try set("ReferencedSeriesSequence[0].SeriesInstanceUID", seg.referencedSeriesInstanceUID)
        var seen = Set<String>(), n = 0
        for s in seg.sourceSlices where seen.insert(s.sopInstanceUID).inserted {
            try set("ReferencedSeriesSequence[0].ReferencedInstanceSequence[\(n)].ReferencedSOPClassUID", s.sopClassUID)
            try set("ReferencedSeriesSequence[0].ReferencedInstanceSequence[\(n)].ReferencedSOPInstanceUID", s.sopInstanceUID)
            n += 1
        }
    }

    private func segments(_ seg: Segmentation) throws {
        for (i, s) in seg.segments.enumerated() {
            let at = "SegmentSequence[\(i)]."
            let d = s.description
            try set(at + "SegmentNumber", String(s.number))
            try set(at + "SegmentLabel", d.segmentLabel ?? d.segmentedPropertyType.codeMeaning)
            if let v = d.segmentDescription { try set(at + "SegmentDescription", v) }
            try set(at + "SegmentAlgorithmType", d.segmentAlgorithmType.rawValue)
            if let v = d.segmentAlgorithmName, !v.isEmpty {
                try set(at + "SegmentAlgorithmName", v)
            }
            try code(at + "SegmentedPropertyCategoryCodeSequence[0].", d.segmentedPropertyCategory)
            try code(at + "SegmentedPropertyTypeCodeSequence[0].", d.segmentedPropertyType)
            for (j, m) in d.segmentedPropertyTypeModifiers.enumerated() {
                try code(at + "SegmentedPropertyTypeCodeSequence[0].SegmentedPropertyTypeModifierCodeSequence[\(j)].", m)
            }
            if let r = d.anatomicRegion {
                try code(at + "AnatomicRegionSequence[0].", r)
                for (j, m) in d.anatomicRegionModifiers.enumerated() {
                    try code(at + "AnatomicRegionSequence[0].AnatomicRegionModifierSequence[\(j)].", m)
                }
            }
            if let lab = d.recommendedDisplayCIELabValue ?? d.recommendedDisplayRGBValue?.cieLab {
                try set(at + "RecommendedDisplayCIELabValue", lab.components.map(String.init).joined(separator: "\\"))
            }
            if let v = d.trackingIdentifier { try set(at + "TrackingID", v) }
            if let v = d.trackingUniqueIdentifier { try set(at + "TrackingUID", v) }
        }
        var err = [CChar](repeating: 0, count: 512)
        let labels = seg.segments.map { Int64($0.originalLabel) }
        if i2dcm_seg_put_original_labels(file.handle, Int32(labels.count), labels, &err, err.count) != 0 {
            throw I2Error(.invalidInput, path: file.path, String(cString: err))
        }
    }

    private func code(_ at: String, _ c: CodedConcept) throws {
        try set(at + "CodeValue", c.codeValue)
        try set(at + "CodingSchemeDesignator", c.codingSchemeDesignator)
        if let v = c.codingSchemeVersion { try set(at + "CodingSchemeVersion", v) }
        try set(at + "CodeMeaning", c.codeMeaning)
    }

    private func frames(_ seg: Segmentation) throws {
        var table = ""
        table.reserveCapacity(seg.sourceSlices.count * 200)
        for s in seg.sourceSlices {
            table += s.imagePositionPatient + "\n" + s.sopClassUID + "\n" + s.sopInstanceUID + "\n"
            table += (s.frameNumber.map(String.init) ?? "") + "\n"
        }
        let slice = seg.frames.map { Int32($0.slice) }
        let segment = seg.frames.map { Int32($0.segmentNumber) }
        var err = [CChar](repeating: 0, count: 512)
        let status = segment.withUnsafeBufferPointer { sp in
            i2dcm_seg_put_frames(file.handle, Int32(seg.frames.count), seg.segmentationType == .labelmap ? nil : sp.baseAddress,
                                 slice, Int32(seg.sourceSlices.count), table, seg.dimensionOrganizationUID, &err, err.count)
        }
        if status != 0 { throw I2Error(.invalidInput, path: file.path, String(cString: err)) }
    }

    static func format(_ d: Date, _ pattern: String) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = pattern
        return f.string(from: d)
    }
}


private extension Tag {
    static let specificCharacterSet = Tag(0x0008, 0x0005)
    static let instanceCreationDate = Tag(0x0008, 0x0012)
    static let instanceCreationTime = Tag(0x0008, 0x0013)
    static let deviceSerialNumber = Tag(0x0018, 0x1000)
    static let positionReferenceIndicator = Tag(0x0020, 0x1040)
    static let lossyImageCompression = Tag(0x0028, 0x2110)
    static let pixelPaddingValue = Tag(0x0028, 0x0120)
    static let contentLabel = Tag(0x0070, 0x0080)
    static let contentDescription = Tag(0x0070, 0x0081)
    static let contentCreatorName = Tag(0x0070, 0x0084)
    static let segmentationType = Tag(0x0062, 0x0001)
    static let segmentsOverlap = Tag(0x0062, 0x0013)
    static let clinicalTrialSponsorName = Tag(0x0012, 0x0010)
    static let clinicalTrialProtocolID = Tag(0x0012, 0x0020)
    static let clinicalTrialProtocolName = Tag(0x0012, 0x0021)
    static let clinicalTrialSiteID = Tag(0x0012, 0x0030)
    static let clinicalTrialSiteName = Tag(0x0012, 0x0031)
    static let clinicalTrialSubjectID = Tag(0x0012, 0x0040)
    static let clinicalTrialSubjectReadingID = Tag(0x0012, 0x0042)
    static let clinicalTrialCoordinatingCenterName = Tag(0x0012, 0x0060)
    static let clinicalTrialSeriesID = Tag(0x0012, 0x0071)
    static let clinicalTrialTimePointID = Tag(0x0012, 0x0050)
}
