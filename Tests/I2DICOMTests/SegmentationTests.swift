// SegmentationWriter → file → SegmentationReader: a BINARY SEG over the 4-slice pydicom CT series,
// written natively and with RLE fragments, read back attribute by attribute and bit by bit; and a SEG
// written by dcmqi read as a peer's.
import Foundation
import XCTest
@testable import I2DICOM
import I2Model

final class SegmentationTests: XCTestCase {
    static let liver = CodedConcept(codeValue: "10200004", codingSchemeDesignator: "SCT", codeMeaning: "Liver")
    static let tissue = CodedConcept(codeValue: "85756007", codingSchemeDesignator: "SCT", codeMeaning: "Tissue")
    static let kidney = CodedConcept(codeValue: "64033007", codingSchemeDesignator: "SCT", codeMeaning: "Kidney")
    static let left = CodedConcept(codeValue: "7771000", codingSchemeDesignator: "SCT", codeMeaning: "Left")

    /// Two segments on 16x16 slices: label 7 (liver) on slices 0 and 1, label 300 (left kidney) on slice 2.
    func segmentation() throws -> (Segmentation, DicomFile) {
        let files = try Fixture.smallSeries.map { try DicomFile(path: $0) }
        let slices = files.map {
            SourceSlice(sopClassUID: $0.string(.sopClassUID)!, sopInstanceUID: $0.string(.sopInstanceUID)!, frameNumber: nil,
                        imagePositionPatient: $0.string(.imagePositionPatient)!)
        }
        var liver = SegmentDescription(labelID: 7, segmentAlgorithmType: .automatic, segmentedPropertyCategory: Self.tissue,
                                       segmentedPropertyType: Self.liver)
        liver.segmentLabel = "liver"
        liver.segmentAlgorithmName = "test"
        liver.trackingIdentifier = "L1"
        var kidney = SegmentDescription(labelID: 300, segmentAlgorithmType: .manual, segmentedPropertyCategory: Self.tissue,
                                        segmentedPropertyType: Self.kidney)
        kidney.segmentedPropertyTypeModifiers = [Self.left]
        kidney.anatomicRegion = Self.kidney
        var seg = Segmentation(segmentationType: .binary,
                               segments: [SegmentEntry(number: 1, description: liver, originalLabel: 7),
                                          SegmentEntry(number: 2, description: kidney, originalLabel: 300)],
                               frames: [SegmentationFrame(segmentNumber: 1, slice: 0), SegmentationFrame(segmentNumber: 1, slice: 1),
                                        SegmentationFrame(segmentNumber: 2, slice: 2)],
                               sourceSlices: slices, rows: 16, columns: 16)
        seg.seriesInstanceUID = "1.2.826.0.1.3680043.8.498.1"
        seg.sopInstanceUID = "1.2.826.0.1.3680043.8.498.2"
        seg.dimensionOrganizationUID = "1.2.826.0.1.3680043.8.498.3"
        seg.referencedSeriesInstanceUID = files[0].string(.seriesInstanceUID)!
        seg.frameOfReferenceUID = files[0].string(.frameOfReferenceUID) ?? "1.2.826.0.1.3680043.8.498.4"
        seg.pixelSpacing = [0.5, 0.5]
        return (seg, files[0])
    }

    /// Frame f's 256 bits: a diagonal band that differs per frame.
    static func bits(frame f: Int) -> [Bool] { (0..<256).map { ($0 / 16 + $0 % 16 + f) % 5 == 0 } }

    static func packed(frames: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: (frames * 256 + 7) / 8)
        for f in 0..<frames { for (i, on) in bits(frame: f).enumerated() where on { out[(f * 256 + i) / 8] |= 1 << ((f * 256 + i) % 8) } }
        return out
    }

    func testBinarySegWrittenNativelyReadsBack() throws {
        let scratch = Scratch()
        let (seg, ref) = try segmentation()
        let target = scratch.path("seg.dcm")
        let writer = try SegmentationWriter(seg, reference: ref, path: target)
        let packed = Self.packed(frames: 3)
        try writer.save(to: target) { out in try packed.withUnsafeBytes { try out.put($0, at: 0) } }

        let file = try DicomFile(path: target)
        let back = try SegmentationReader.read(file)
        XCTAssertEqual(back.sopClassUID, SegmentationSOPClass.segmentation)
        XCTAssertEqual(back.type, .binary)
        XCTAssertEqual([back.rows, back.columns, back.frameCount, back.bitsAllocated], [16, 16, 3, 1])
        XCTAssertEqual(back.pixelSpacing, [0.5, 0.5])
        XCTAssertEqual(back.orientation, [1, 0, 0, 0, 1, 0])
        XCTAssertEqual(back.referencedSeriesUIDs, [seg.referencedSeriesInstanceUID])
        XCTAssertEqual(back.frames.segment, [1, 1, 2])
        XCTAssertEqual(back.frames.sourceUID, [0, 1, 2].map { seg.sourceSlices[$0].sopInstanceUID })
        XCTAssertEqual(back.frames.dimensionIndex, [[1, 1], [1, 2], [2, 3]])
        XCTAssertEqual(back.frames.position[2]?.array, try DicomFile(path: Fixture.smallSeries[2]).doubles(.imagePositionPatient))
        XCTAssertEqual(back.segments.map(\.number), [1, 2])
        XCTAssertEqual(back.segments.map(\.originalLabel), [7, 300], "private original labels")
        let liver = back.segments[0].description, kidney = back.segments[1].description
        XCTAssertEqual(liver.segmentLabel, "liver")
        XCTAssertEqual(liver.segmentAlgorithmName, "test")
        XCTAssertEqual(liver.trackingIdentifier, "L1")
        XCTAssertEqual(liver.segmentedPropertyType, Self.liver)
        XCTAssertEqual(kidney.segmentLabel, "Kidney", "defaults to the type's meaning")
        XCTAssertEqual(kidney.segmentAlgorithmType, .manual)
        XCTAssertEqual(kidney.segmentedPropertyTypeModifiers, [Self.left])
        XCTAssertEqual(kidney.anatomicRegion, Self.kidney)
        XCTAssertEqual(file.string(.patientID), ref.string(.patientID))
        try SegmentationReader.withPixels(file, back) { XCTAssertEqual(Array($0), packed) }
        let stream = try XCTUnwrap(try SegmentationReader.pixelStream(file, back))
        XCTAssertTrue(stream.isDetached, "native trailing pixel data is read with pread")
        var part = [UInt8](repeating: 0, count: 32)
        try part.withUnsafeMutableBytes { try stream.read(offset: 32, into: $0) }
        XCTAssertEqual(part, Array(packed[32..<64]))
        XCTAssertNil(try SegmentationReader.withFragments(file) { $0.count }, "native: no fragments")
    }

    func testSegWithRLEFragmentsLendsThemBack() throws {
        let scratch = Scratch()
        let (seg, ref) = try segmentation()
        let target = scratch.path("rle.dcm")
        let fragments: [[UInt8]] = [[1, 2, 3, 4], [5, 6], [7, 8, 9, 10, 11, 12]]
        try SegmentationWriter(seg, reference: ref, path: target).save(to: target, rleFragments: fragments)
        let file = try DicomFile(path: target)
        XCTAssertEqual(file.transferSyntax, "1.2.840.10008.1.2.5")
        let lent = try SegmentationReader.withFragments(file) { $0.map { Array($0) } }
        XCTAssertEqual(lent, fragments)
    }

    func testDcmqiSegReads() throws {
        let file = try DicomFile(path: Fixture.dcmqiSeg)
        let seg = try SegmentationReader.read(file)
        XCTAssertEqual(seg.type, .binary)
        XCTAssertEqual(seg.segments.count, 1)
        XCTAssertEqual(seg.frames.segment.count, seg.frameCount)
        XCTAssertFalse(seg.referencedSeriesUIDs.isEmpty)
    }

    func testACTSliceIsNotASegmentation() throws {
        XCTAssertThrowsError(try SegmentationReader.read(try DicomFile(path: Fixture.ctSlice))) { e in
            XCTAssertEqual((e as? I2Error)?.kind, .badInput)
            XCTAssertEqual((e as? I2Error)?.path, Fixture.ctSlice)
        }
    }
}
