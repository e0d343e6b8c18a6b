// The frame table (FrameTable.swift, CDCMTKLoader/FrameTable.cpp) gives every frame the same values as the
// DCMTK path lookups it replaced ("PerFrameFunctionalGroupsSequence[i].Macro[0].Tag"), fallbacks included.
import XCTest
@testable import I2DICOM
import I2TestSupport

final class FrameTableTests: XCTestCase {
    // Attributes of the fixtures' per-frame items not in the tag table (kept local: only this test reads them).
    static let realWorldValueMappingSequence = Tag(0x0040, 0x9096, "RealWorldValueMappingSequence")
    static let measurementUnitsCodeSequence = Tag(0x0040, 0x08EA, "MeasurementUnitsCodeSequence")
    static let codeValue = Tag(0x0008, 0x0100, "CodeValue")
    static let frameAcquisitionDateTime = Tag(0x0018, 0x9074, "FrameAcquisitionDateTime")

    static let pairs: [(Tag, Tag)] = [
        (.planePositionSequence, .imagePositionPatient), (.planeOrientationSequence, .imageOrientationPatient),
        (.pixelMeasuresSequence, .pixelSpacing), (.pixelMeasuresSequence, .sliceThickness),
        (.pixelValueTransformationSequence, .rescaleSlope), (.pixelValueTransformationSequence, .rescaleIntercept),
        (.mrEchoSequence, .effectiveEchoTime), (.frameContentSequence, .temporalPositionIndex),
        (.frameContentSequence, frameAcquisitionDateTime),
        (.pixelMeasuresSequence, .imagePositionPatient),   // absent everywhere: nil both ways
    ]

    /// Philips enhanced MR (dcm_qa_enh), and dcmqi's Legacy Converted Enhanced CT (shared pixel measures).
    static let files = [TestSupport.fixture("dcm_qa_enh/Philips/IM_0027_fMAP.dcm"), TestSupport.fixture("dcmqi/23x38x3/multiframe/mf.dcm")]

    func testEveryFrameHasTheValuesOfThePathLookups() throws {
        for path in Self.files {
            let f = try DicomFile(path: path)
            let frames = try XCTUnwrap(f.int(.numberOfFrames))
            XCTAssertTrue(f.hasPerFrameGroups)
            var compared = 0
            for frame in 0..<frames {
                for (macro, tag) in Self.pairs {
                    let item = Tag.perFrameFunctionalGroupsSequence[frame] / macro[0]
                    XCTAssertEqual(f.perFrameString(frame, [macro, tag]), f.string(item / tag), "\(path) frame \(frame) \(tag)")
                    XCTAssertEqual(f.perFrameDoubles(frame, [macro, tag]), f.doubles(item / tag), "\(path) frame \(frame) \(tag)")
                    // With the fallbacks DicomScan's attribute(frame, macro, tag) has always had.
                    let old = f.doubles(item / tag) ?? f.doubles(Tag.sharedFunctionalGroupsSequence[0] / macro[0] / tag) ?? f.doubles(tag)
                    XCTAssertEqual(f.frameDoubles(frame, macro, tag), old, "\(path) frame \(frame) \(tag)")
                    if old != nil { compared += 1 }
                }
                // Nested sequences, each entered at its first item.
                let nested = [Self.realWorldValueMappingSequence, Self.measurementUnitsCodeSequence, Self.codeValue]
                XCTAssertEqual(f.perFrameString(frame, nested),
                               f.string(Tag.perFrameFunctionalGroupsSequence[frame] / nested[0][0] / nested[1][0] / nested[2]))
            }
            XCTAssertGreaterThan(compared, frames * 4, "\(path): the fixture exercises the values")
        }
    }

    func testThePhilipsFixtureVariesPerFrameAndFallsBackToTheSharedGroup() throws {
        let f = try DicomFile(path: Self.files[0])
        // Magnitude frames at TE 1.52 ms, field-map frames at 0: per-frame values, not the first frame's.
        XCTAssertEqual(Set((0..<64).compactMap { f.perFrameDoubles($0, [.mrEchoSequence, .effectiveEchoTime])?.first }), [1.52, 0])
        XCTAssertEqual(f.perFrameString(0, [Self.realWorldValueMappingSequence, Self.measurementUnitsCodeSequence, Self.codeValue]) != nil, true)
        // Out of range frames and a classic file.
        XCTAssertNil(f.perFrameString(64, [.mrEchoSequence, .effectiveEchoTime]))
        let ct = try DicomFile(path: Fixture.ctSlice)
        XCTAssertFalse(ct.hasPerFrameGroups)
        XCTAssertEqual(ct.frameDoubles(0, .planePositionSequence, .imagePositionPatient), ct.doubles(.imagePositionPatient))
        XCTAssertNil(ct.perFrameString(0, [.planePositionSequence, .imagePositionPatient]))
    }
}
