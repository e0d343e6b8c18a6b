// Header scans stay linear in the number of frames: an enhanced file of thousands of frames is listed
// in bounded time (each per-frame attribute used to cost a DCMTK path walk from the first item:
// 28 s for 5,720 frames). The bound is generous: a debug build on a loaded machine.
import Foundation
import XCTest
import I2TestSupport

final class ConvertSpeedTests: E2ECase {
    func testListingAFourThousandFrameEnhancedFileIsFast() throws {
        let source = TestSupport.fixture("dcm_qa_enh/Philips/IM_0027_fMAP.dcm")
        let big = path("big.dcm")
        let made = try E2E.py(["make_enhanced.py", source, big, "--frames", "4096"])
        XCTAssertEqual(made.status, 0, made.stderr)
        let start = Date()
        let r = try E2E.i2(["convert", "--list", big])
        let seconds = Date().timeIntervalSince(start)
        XCTAssertLessThan(seconds, 20, "i2 convert --list took \(seconds) s for 4,096 frames")
        // Every frame is accounted for: 64 time points of 32 slices of magnitude and field map.
        let lines = E2E.lines(r.stdout)
        XCTAssertFalse(lines.isEmpty, r.stderr)
        let slices = lines.compactMap { line -> Int? in
            let size = line.split(separator: "\t", omittingEmptySubsequences: false)[3].split(separator: "x").compactMap { Int($0) }
            return size.count >= 3 ? size[2...].reduce(1, *) : nil
        }
        XCTAssertEqual(slices.reduce(0, +), 4096, r.stdout)
    }
}
