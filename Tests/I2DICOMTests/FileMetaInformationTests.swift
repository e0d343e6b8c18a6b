// FileMetaInformation: the meta header reader InstanceStore uses to compare stored copies.
import Foundation
import XCTest
@testable import I2DICOM
import I2Model

final class FileMetaInformationTests: XCTestCase {
    func testReadsTheMetaHeaderOfARealSlice() throws {
        let m = try FileMetaInformation(path: Fixture.ctSlice)
        XCTAssertTrue(m.isPart10)
        XCTAssertEqual(m.mediaStorageSOPClassUID, "1.2.840.10008.5.1.4.1.1.2")
        XCTAssertEqual(m.mediaStorageSOPInstanceUID, try DicomFile(path: Fixture.ctSlice).string(.sopInstanceUID))
        XCTAssertEqual(m.transferSyntaxUID, TransferSyntaxUID.implicitLittle)
        XCTAssertGreaterThan(m.dataSetOffset, 132)
    }

    /// The bytes from dataSetOffset on are the data set: saved alone (no preamble, no meta), they still
    /// read as the same instance.
    func testTheDataSetStartsAtTheOffset() throws {
        let scratch = Scratch()
        for source in [Fixture.ctSlice, Fixture.smallSeries[1]] {
            let m = try FileMetaInformation(path: source)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
            XCTAssertNotEqual(Array(bytes[m.dataSetOffset..<(m.dataSetOffset + 2)]), [0x02, 0x00], "past group 0002")
            let bare = try scratch.write("bare-\(m.dataSetOffset)", bytes[m.dataSetOffset...])
            let f = try DicomFile(path: bare)
            XCTAssertEqual(f.string(.sopInstanceUID), m.mediaStorageSOPInstanceUID)
            let again = try FileMetaInformation(path: bare)
            XCTAssertFalse(again.isPart10)
            XCTAssertEqual(again.dataSetOffset, 0)
            XCTAssertEqual(again.mediaStorageSOPInstanceUID, "")
        }
    }

    func testAFileWrittenHereHasItsDataSetRightAfterTheMetaGroup() throws {
        let scratch = Scratch()
        let target = scratch.path("w.dcm")
        let f = DicomFile(newAt: target)
        try f.set(.sopClassUID, "1.2.840.10008.5.1.4.1.1.7")
        try f.set(.sopInstanceUID, "1.2.3.4.5")
        try f.save(to: target)
        let m = try FileMetaInformation(path: target)
        XCTAssertEqual(m.mediaStorageSOPInstanceUID, "1.2.3.4.5")
        XCTAssertEqual(m.transferSyntaxUID, TransferSyntaxUID.explicitLittle)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: target))
        XCTAssertEqual(Array(bytes[m.dataSetOffset..<(m.dataSetOffset + 4)]), [0x08, 0x00, 0x16, 0x00], "SOPClassUID comes first")
    }
}
