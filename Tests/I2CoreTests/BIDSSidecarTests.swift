// Pieces of the BIDS sidecar checked against dcm2niix's own output (dcm_qa_nih Ref/*.json, written by
// dcm2niix for the GE and Siemens series of that corpus) and its printing conventions.
import XCTest
@testable import I2Core
@testable import I2DICOM

final class BIDSSidecarTests: XCTestCase {
    /// GE DV26 epiRT, 15 slices, TR 5 s: dcm2niix's SliceTiming for interleaved and sequential orders
    /// (DCM2NIIX_regression_test_4 and _5), in acquisition order.
    func testGESliceTimesAsDcm2niix() {
        var ge = GESliceTiming(interleaved: true, multiband: 1, repetitionTime: 5000, groupDelay: 0, majorVersion: 26, is27r3: false)
        XCTAssertEqual(ge.times(slices: 15).map { g($0 / 1000) },
                       [0, 2.66667, 0.333333, 3, 0.666667, 3.33333, 1, 3.66667, 1.33333, 4, 1.66667, 4.33333, 2, 4.66667, 2.33333])
        ge.interleaved = false
        XCTAssertEqual(ge.times(slices: 15).map { g($0 / 1000) },
                       [0, 0.333333, 0.666667, 1, 1.33333, 1.66667, 2, 2.33333, 2.66667, 3, 3.33333, 3.66667, 4, 4.33333, 4.66667])
    }

    /// dcm2niix prints C floats with %g; AcquisitionTime as "%02d:%02d:%02.6f" (seconds not zero-padded).
    func testPrintingConventions() {
        XCTAssertEqual(g(0.000499996), 0.000499996)
        XCTAssertEqual(g(1.0 / (27.778 * 72)), 0.000499996)
        XCTAssertEqual(BIDSSeries.clock("122458.1025"), "12:24:58.102500")
        XCTAssertEqual(BIDSSeries.clock("152509.02"), "15:25:9.020000")
    }

    /// ASCCONV reading as dcm2niix's readKey/readKeyStr/readKeyFloat: first occurrence anywhere, doubled quotes.
    func testASCCONVReading() throws {
        let text = """
        ### ASCCONV BEGIN object=MrProtDataImpl ###
        asCoilSelectMeas[0].asList[0].sCoilElementID.tCoilID = \t""Head_32""
        sGRADSPEC.asGPAData[0].lOffsetX = -3717
        sPat.ucPATMode = 0x1
        sKSpace.dPhaseResolution = 1
        ### ASCCONV END ###
        sKSpace.lBaseResolution = 99
        """
        let a = try XCTUnwrap(SiemensASCCONV(text))
        XCTAssertEqual(a.string("sCoilElementID.tCoilID"), "Head_32")
        XCTAssertEqual(a.double("sGRADSPEC.asGPAData[0].lOffsetX"), -3717)
        XCTAssertEqual(a.int("sPat.ucPATMode"), 1)
        XCTAssertNil(a.int("sKSpace.lBaseResolution"), "text after ASCCONV END is not read")
    }
}
