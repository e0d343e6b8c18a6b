// DicomFile: reading real CT slices (values, tags, pixel data), writing and reading back.
import Foundation
import XCTest
@testable import I2DICOM
import I2Model

final class DicomFileTests: XCTestCase {
    func testReadsTheTagsOfARealCTSlice() throws {
        let f = try DicomFile(path: Fixture.ctSlice)
        XCTAssertEqual(f.path, Fixture.ctSlice)
        XCTAssertEqual(f.string(.sopClassUID), "1.2.840.10008.5.1.4.1.1.2")
        XCTAssertEqual(f.string(.sopInstanceUID), "1.2.392.200103.20080913.113635.2.2009.6.22.21.43.10.23431.1")
        XCTAssertEqual(f.string(.seriesInstanceUID), "1.2.392.200103.20080913.113635.1.2009.6.22.21.43.10.23430.1")
        XCTAssertEqual(f.string(.modality), "CT")
        XCTAssertEqual(f.string(.patientID), "99000")
        XCTAssertEqual(f.int(.rows), 512)
        XCTAssertEqual(f.int(.columns), 512)
        XCTAssertEqual(f.int(.bitsAllocated), 16)
        XCTAssertEqual(f.int(.pixelRepresentation), 1)
        XCTAssertEqual(f.doubles(.pixelSpacing), [0.810547, 0.810547])
        XCTAssertEqual(f.doubles(.imagePositionPatient), [-235.199997, -226.800003, -126.690002])
        XCTAssertEqual(f.doubles(.rescaleIntercept), [-1024])
        XCTAssertEqual(f.transferSyntax, TransferSyntaxUID.implicitLittle)
        XCTAssertNil(f.string(.segmentationType), "absent attribute")
        XCTAssertNil(f.items(.referencedSeriesSequence), "absent sequence")
        XCTAssertTrue(f.hasPixelData)
    }

    func testDecodesThePixelDataOfARealCTSlice() throws {
        let f = try DicomFile(path: Fixture.ctSlice)
        var pixels = [Int16](repeating: 0, count: 512 * 512)
        try pixels.withUnsafeMutableBytes { try f.readPixels(into: $0) }
        XCTAssertEqual(pixels[0], -2000, "padding outside the scan circle")
        XCTAssertEqual(pixels[256 * 512 + 256], 879)
        XCTAssertEqual(pixels.min(), -2000)
        XCTAssertEqual(pixels.max(), 2405)
        // The fast path (one pread of the trailing PixelData) reads the same bytes.
        var fast = [Int16](repeating: 0, count: 512 * 512)
        XCTAssertTrue(fast.withUnsafeMutableBytes { NativePixels.read(path: Fixture.ctSlice, into: $0) })
        XCTAssertEqual(fast, pixels)
    }

    func testReadsAFileWithoutExtensionInExplicitVR() throws {
        let f = try DicomFile(path: Fixture.smallSeries[0])
        XCTAssertEqual(f.transferSyntax, TransferSyntaxUID.explicitLittle)
        XCTAssertEqual(f.int(.rows), 16)
        var pixels = [Int16](repeating: 0, count: 16 * 16)
        try pixels.withUnsafeMutableBytes { try f.readPixels(into: $0) }
        XCTAssertEqual(Array(pixels.prefix(3)), [0x044c, 0x044d, 0x0448])
    }

    func testAskingForMorePixelsThanStoredIsBadInputNamingTheFile() throws {
        let f = try DicomFile(path: Fixture.smallSeries[0])
        var pixels = [UInt8](repeating: 0, count: 16 * 16 * 2 + 2)
        XCTAssertThrowsError(try pixels.withUnsafeMutableBytes { try f.readPixels(into: $0) }) { e in
            let e = e as? I2Error
            XCTAssertEqual(e?.kind, .badInput)
            XCTAssertEqual(e?.path, Fixture.smallSeries[0])
            XCTAssertTrue(e?.detail.contains("512 bytes") ?? false, "\(String(describing: e))")
        }
    }

    func testWritesAndReadsBackTagsSequencesAndPixels() throws {
        let scratch = Scratch()
        let target = scratch.path("written.dcm")
        let ref = try DicomFile(path: Fixture.ctSlice)
        let f = DicomFile(newAt: target)
        try f.set(.sopClassUID, "1.2.840.10008.5.1.4.1.1.7")
        try f.set(.sopInstanceUID, "1.2.3.4")
        XCTAssertTrue(f.copy(.patientID, from: ref))
        XCTAssertFalse(f.copy(.segmentationType, from: ref), "absent in the source")
        try f.set(.rows, "2")
        try f.set(.columns, "3")
        try f.set(.bitsAllocated, "16")
        try f.set(Tag.referencedSeriesSequence[0] / .seriesInstanceUID, "1.2.3")
        try f.set(Tag.referencedSeriesSequence[0] / Tag.referencedInstanceSequence[1] / .referencedSOPInstanceUID, "1.2.3.5")
        let values: [UInt16] = [1, 2, 3, 400, 500, 65535]
        try values.withUnsafeBytes { try f.setPixels($0, bitsAllocated: 16) }
        try f.save(to: target)

        let back = try DicomFile(path: target)
        XCTAssertEqual(back.transferSyntax, TransferSyntaxUID.explicitLittle)
        XCTAssertEqual(back.string(.sopInstanceUID), "1.2.3.4")
        XCTAssertEqual(back.string(.patientID), "99000")
        XCTAssertEqual(back.int(.columns), 3)
        XCTAssertEqual(back.items(.referencedSeriesSequence), 1)
        XCTAssertEqual(back.items(Tag.referencedSeriesSequence[0] / .referencedInstanceSequence), 2)
        XCTAssertEqual(back.string(Tag.referencedSeriesSequence[0] / .seriesInstanceUID), "1.2.3")
        XCTAssertEqual(back.string(Tag.referencedSeriesSequence[0] / Tag.referencedInstanceSequence[1] / .referencedSOPInstanceUID), "1.2.3.5")
        var read = [UInt16](repeating: 0, count: 6)
        try read.withUnsafeMutableBytes { try back.readPixels(into: $0) }
        XCTAssertEqual(read, values)
    }

    func testDamagedFileStillNamesItsSeries() throws {
        let scratch = Scratch()
        let cut = try scratch.truncated(Fixture.ctSlice, to: 100_000, as: "cut.dcm")
        XCTAssertThrowsError(try DicomFile(path: cut))
        let damaged = try XCTUnwrap(DicomFile(damagedAt: cut))
        XCTAssertEqual(damaged.string(.seriesInstanceUID), "1.2.392.200103.20080913.113635.1.2009.6.22.21.43.10.23430.1")
        XCTAssertNil(DicomFile(damagedAt: scratch.path("absent.dcm")))
    }

    func testDecimalStringsFitSixteenCharacters() throws {
        XCTAssertEqual(try DS.format(1.5), "1.5")
        XCTAssertEqual(try DS.format(2), "2")
        XCTAssertLessThanOrEqual(try DS.format(-0.1234567890123456789).count, 16)
        XCTAssertThrowsError(try DS.format(.nan))
    }
}

/// Hostile values through the read API (issue 11): no trap, no type confusion.
final class DicomFileHostileTests: XCTestCase {
    func testIntegerOfNonFiniteOrHugeValuesIsNilOrANamedError() throws {
        for d in [Double.nan, .infinity, -.infinity, 1e300, 3e9] { XCTAssertNil(DicomFile.integer(d), "\(d)") }
        XCTAssertEqual(DicomFile.integer(12.0), 12)
        XCTAssertEqual(DicomFile.integer(-7.9), -7)
    }

    /// The dcmqi SEG with its per-frame PlanePositionSequence re-encoded as OW (explicit VR): a path
    /// through it must find nothing (DCMTK's path processor took the OW element for a sequence).
    func testPathThroughAnOWElementIsAbsent() throws {
        let scratch = Scratch()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixture.dcmqiSeg))
        let f = try DicomFile(path: Fixture.dcmqiSeg)
        let path = Tag.perFrameFunctionalGroupsSequence[0] / Tag.planePositionSequence[0] / Tag.imagePositionPatient
        XCTAssertNotNil(f.doubles(path), "the unedited SEG has positions")
        // (0020,9113) SQ → OW: same 4-byte length layout in explicit VR, so only the two VR bytes change.
        let tag: [UInt8] = [0x20, 0x00, 0x13, 0x91, 0x53, 0x51]   // (0020,9113) "SQ"
        var edited = [UInt8](bytes)
        var i = 0, n = 0
        while i + 6 <= edited.count {
            if Array(edited[i..<i + 6]) == tag { edited[i + 4] = 0x4F; edited[i + 5] = 0x57; n += 1 }   // "OW"
            i += 1
        }
        XCTAssertGreaterThan(n, 0)
        let out = scratch.path("ow.dcm")
        try Data(edited).write(to: URL(fileURLWithPath: out))
        guard let g = try? DicomFile(path: out) else { return }   // refusing the file is fine too
        XCTAssertNil(g.doubles(path))
        XCTAssertNil(g.items(Tag.perFrameFunctionalGroupsSequence[0] / Tag.planePositionSequence))
    }
}
