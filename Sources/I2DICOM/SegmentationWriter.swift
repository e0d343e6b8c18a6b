// SegmentationWriter: a `Segmentation` (I2Model) → a DICOM data set (PS3.3 A.51 Segmentation IOD, or
// A.51.x Label Map Segmentation), patient and study copied from a reference instance. The top-level and
// per-segment attributes go through DicomFile paths (a few hundred lookups); the per-frame functional
// groups through the one-pass shim in CDCMTKSegWrite.h. DCMTK saves the data set; the PixelData element
// is appended here, so the frames go straight from the caller to the file.
internal import CDCMTK
import Foundation
import I2Model

public final class SegmentationWriter {
    let file: DicomFile
    let segmentation: Segmentation

    /// Builds everything but the pixel values. `reference` is one instance of the source series.
    public init(_ seg: Segmentation, reference: DicomFile, path: String) throws {
        segmentation = seg
        file = DicomFile(newAt: path)
        try header(seg, reference)
        try segments(seg)
        try frames(seg)
    }

    /// Writes frame bytes into the native PixelData value of a file being saved.
    public struct PixelOutput: Sendable {
        let fd: Int32
        let start: Int
        let path: String
        /// Writes `bytes` at `offset` within the value; callable from several threads at once. The value
        /// starts as zeros, so all-zero blocks (most of a mask) are skipped: they stay holes that read as
        /// zero, and the file holds the same bytes for a fraction of the copying.
        public func put(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
            let block = 4096
            var i = 0
            while i < bytes.count {
                // The block of the file holding byte i, clipped to `bytes`.
                let end = min(bytes.count, (start + offset + i) / block * block + block - start - offset)
                if Self.isZero(UnsafeRawBufferPointer(rebasing: bytes[i..<end])) { i = end; continue }
                var j = end
                while j < bytes.count {
                    let next = min(bytes.count, j + block)
                    if Self.isZero(UnsafeRawBufferPointer(rebasing: bytes[j..<next])) { break }
                    j = next
                }
                try write(UnsafeRawBufferPointer(rebasing: bytes[i..<j]), at: offset + i)
                i = j
            }
        }

        static func isZero(_ b: UnsafeRawBufferPointer) -> Bool {
            var i = 0
            while i + 8 <= b.count { if b.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }; i += 8 }
            while i < b.count { if b[i] != 0 { return false }; i += 1 }
            return true
        }

        func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
            var done = 0
            while done < bytes.count {
                let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(start + offset + done))
                if n <= 0 { throw I2Error(.storage, path: path, "write failed: \(String(cString: strerror(errno)))") }
                done += n
            }
        }
    }

    /// Writes the Part 10 file to `target` with native pixel data (explicit VR little endian). DCMTK writes
    /// the data set; the PixelData element follows it (the last top-level element), its value
    /// (`segmentation.pixelDataLength` bytes, zero until written) filled by `body` through `PixelOutput`:
    /// BINARY bits LSB first, frames one after another; LABELMAP 8/16-bit segment numbers.
    public func save(to target: String, native body: (PixelOutput) throws -> Void) throws {
        let length = segmentation.pixelDataLength
        guard length < Int(UInt32.max) else {
            throw I2Error(.badInput, path: file.path, "pixel data of \(length) bytes exceeds what a native DICOM element can hold (4 GB); use --compress rle")
        }
        try appendPixelData(to: target, rle: false) { fd, end in
            let header = Self.elementHeader(vr: segmentation.bitsAllocated > 8 ? "OW" : "OB", length: UInt32(length))
            try Self.write(fd, header, target)
            // The value's size up front: bytes no frame writes (empty frames, padding) read as zero.
            if ftruncate(fd, off_t(end + header.count + length)) != 0 {
                throw I2Error(.storage, path: target, "cannot extend: \(String(cString: strerror(errno)))")
            }
            try body(PixelOutput(fd: fd, start: end + header.count, path: target))
        }
    }

    /// Writes the Part 10 file to `target` in RLE Lossless: one fragment per frame, in frame order
    /// (each one the RLE header and segments, of even length), after a Basic Offset Table.
    public func save(to target: String, rleFragments fragments: [[UInt8]]) throws {
        try appendPixelData(to: target, rle: true) { fd, _ in
            // Offsets of each fragment's item from the first one's; an empty table when they outgrow 32 bits.
            var offsets: [UInt32] = []
            var at = 0
            for f in fragments where at <= Int(UInt32.max) { offsets.append(UInt32(truncatingIfNeeded: at)); at += 8 + f.count }
            if at > Int(UInt32.max) { offsets = [] }
            var head = Self.elementHeader(vr: "OB", length: UInt32.max) + Self.item(length: 4 * offsets.count)
            for o in offsets { head += Self.le32(o) }
            try Self.write(fd, head, target)
            for f in fragments {
                precondition(f.count % 2 == 0, "RLE fragments have even length")
                try Self.write(fd, Self.item(length: f.count), target)
                try Self.write(fd, f, target)
            }
            try Self.write(fd, Tag.sequenceDelimitationItem.littleEndianBytes + [0, 0, 0, 0], target)
        }
    }

    /// DCMTK saves the data set without PixelData; `body` gets the file (open for writing) and its length.
    private func appendPixelData(to target: String, rle: Bool, _ body: (Int32, Int) throws -> Void) throws {
        try Condition.check(path: target) { i2dcm_seg_save(file.handle, target, rle ? 1 : 0, $0, $1) }
        let fd = open(target, O_WRONLY)
        guard fd >= 0 else { throw I2Error(.storage, path: target, "cannot open: \(String(cString: strerror(errno)))") }
        do { try body(fd, Int(lseek(fd, 0, SEEK_END))) } catch { close(fd); throw error }
        if close(fd) != 0 { throw I2Error(.storage, path: target, "write failed: \(String(cString: strerror(errno)))") }
    }

    static func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
    /// PixelData in explicit VR little endian: tag, VR, two reserved bytes, 32-bit length.
    static func elementHeader(vr: String, length: UInt32) -> [UInt8] {
        Tag.pixelData.littleEndianBytes + Array(vr.utf8) + [0, 0] + le32(length)
    }
    /// An Item tag with its length.
    static func item(length: Int) -> [UInt8] { Tag.item.littleEndianBytes + le32(UInt32(length)) }

    /// Appends `bytes` at the file's current position.
    static func write(_ fd: Int32, _ bytes: [UInt8], _ path: String) throws {
        try bytes.withUnsafeBytes { b in
            var done = 0
            while done < b.count {
                let n = Foundation.write(fd, b.baseAddress! + done, b.count - done)
                if n <= 0 { throw I2Error(.storage, path: path, "write failed: \(String(cString: strerror(errno)))") }
                done += n
            }
        }
    }

    /// The SOP Instance, Series Instance and Dimension Organization UIDs of `seg`, when they are known only
    /// after the data set is built (nifti2seg derives them from a hash of its inputs). Before saving.
    public func setUIDs(_ seg: Segmentation) throws {
        try file.set(.sopInstanceUID, seg.sopInstanceUID)
        try file.set(.seriesInstanceUID, seg.seriesInstanceUID)
        // DimensionOrganizationSequence and DimensionIndexSequence items: DimensionOrganizationUID.
        try file.set(Tag.dimensionOrganizationSequence[0] / .dimensionOrganizationUID, seg.dimensionOrganizationUID)
        for i in 0..<(file.items(.dimensionIndexSequence) ?? 0) {
            try file.set(Tag.dimensionIndexSequence[i] / .dimensionOrganizationUID, seg.dimensionOrganizationUID)
        }
    }

    /// SegmentsOverlap, when it is known only from the voxels (several masks). Before saving.
    public func setOverlap(_ value: SegmentsOverlapValues) throws { try file.set(.segmentsOverlap, value.rawValue) }

    private func header(_ seg: Segmentation, _ ref: DicomFile) throws {
        let f = file
        // Patient, study, General Series + Segmentation Series.
        let (date, time) = try DerivedHeader.start(f, from: ref, sopClass: seg.sopClassUID, sopInstance: seg.sopInstanceUID, modality: "SEG",
                                                   series: seg.seriesInstanceUID, number: seg.seriesNumber, description: seg.seriesDescription)
        if let v = seg.bodyPartExamined, !v.isEmpty { try f.set(.bodyPartExamined, v) }
        // Clinical Trial Series (C.7.3.2): ClinicalTrialCoordinatingCenterName is its Type 2 attribute, so
        // a ClinicalTrialSeriesID alone (as dcmqi's templates give it) brings it, empty. Clinical Trial Study
        // (C.7.2.3): ClinicalTrialTimePointID is its only Type 2 attribute.
        if seg.clinicalTrialCoordinatingCenterName != nil || seg.clinicalTrialSeriesID != nil {
            try f.set(.clinicalTrialCoordinatingCenterName, seg.clinicalTrialCoordinatingCenterName ?? "")
        }
        if let v = seg.clinicalTrialSeriesID { try f.set(.clinicalTrialSeriesID, v) }
        if let v = seg.clinicalTrialTimePointID { try f.set(.clinicalTrialTimePointID, v) }
        // Frame of Reference, equipment (Enhanced General Equipment is Type 1 for SEG).
        try DerivedHeader.frameAndEquipment(f, frameOfReference: seg.frameOfReferenceUID, serial: true)
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
        let shared = Tag.sharedFunctionalGroupsSequence[0]
        try f.set(shared / Tag.planeOrientationSequence[0] / .imageOrientationPatient, try DS.join(seg.imageOrientationPatient))
        let measures = shared / Tag.pixelMeasuresSequence[0]
        try f.set(measures / .pixelSpacing, try DS.join(seg.pixelSpacing))
        try f.set(measures / .sliceThickness, try DS.format(seg.sliceThickness))
        try f.set(measures / .spacingBetweenSlices, try DS.format(seg.spacingBetweenSlices))
        // Common Instance Reference: the referenced series and every instance a frame derives from.
        let series = Tag.referencedSeriesSequence[0]
        try f.set(series / .seriesInstanceUID, seg.referencedSeriesInstanceUID)
        var seen = Set<String>(), n = 0
        for s in seg.sourceSlices where seen.insert(s.sopInstanceUID).inserted {
            try f.set(series / Tag.referencedInstanceSequence[n] / .referencedSOPClassUID, s.sopClassUID)
            try f.set(series / Tag.referencedInstanceSequence[n] / .referencedSOPInstanceUID, s.sopInstanceUID)
            n += 1
        }
    }

    private func segments(_ seg: Segmentation) throws {
        for (i, s) in seg.segments.enumerated() {
            let at = Tag.segmentSequence[i]
            let d = s.description
            try file.set(at / .segmentNumber, String(s.number))
            try file.set(at / .segmentLabel, d.segmentLabel ?? d.segmentedPropertyType.codeMeaning)
            if let v = d.segmentDescription { try file.set(at / .segmentDescription, v) }
            try file.set(at / .segmentAlgorithmType, d.segmentAlgorithmType.rawValue)
            if let v = d.segmentAlgorithmName, !v.isEmpty {
                try file.set(at / .segmentAlgorithmName, v)
            }
            try file.setCode(at / Tag.segmentedPropertyCategoryCodeSequence[0], d.segmentedPropertyCategory)
            let type = at / Tag.segmentedPropertyTypeCodeSequence[0]
            try file.setCode(type, d.segmentedPropertyType)
            for (j, m) in d.segmentedPropertyTypeModifiers.enumerated() {
                try file.setCode(type / Tag.segmentedPropertyTypeModifierCodeSequence[j], m)
            }
            if let r = d.anatomicRegion {
                let region = at / Tag.anatomicRegionSequence[0]
                try file.setCode(region, r)
                for (j, m) in d.anatomicRegionModifiers.enumerated() {
                    try file.setCode(region / Tag.anatomicRegionModifierSequence[j], m)
                }
            }
            if let lab = d.recommendedDisplayCIELabValue ?? d.recommendedDisplayRGBValue?.cieLab {
                try file.set(at / .recommendedDisplayCIELabValue, lab.components.map(String.init).joined(separator: "\\"))
            }
            if let v = d.trackingIdentifier { try file.set(at / .trackingID, v) }
            if let v = d.trackingUniqueIdentifier { try file.set(at / .trackingUID, v) }
        }
        let labels = seg.segments.map { Int64($0.originalLabel) }
        try Condition.check(path: file.path) { i2dcm_seg_put_original_labels(file.handle, Int32(labels.count), labels, $0, $1) }
    }

    private func frames(_ seg: Segmentation) throws {
        let table = DerivedHeader.sliceTable(seg.sourceSlices)
        let slice = seg.frames.map { Int32($0.slice) }
        let segment = seg.frames.map { Int32($0.segmentNumber) }
        _ = try segment.withUnsafeBufferPointer { sp in
            try Condition.check(path: file.path) {
                i2dcm_seg_put_frames(file.handle, Int32(seg.frames.count), seg.segmentationType == .labelmap ? nil : sp.baseAddress,
                                     slice, Int32(seg.sourceSlices.count), table, seg.dimensionOrganizationUID, $0, $1)
            }
        }
    }

}
