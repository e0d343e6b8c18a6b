// The fast header index (CDCMTK FastHeader.cpp) against DCMTK's own reading: every element of every
// fixture the index takes must read the same both ways (and a SEG's per-frame and segment arrays,
// CDCMTK/FastSeg.cpp), most fixtures must be taken (else the fast path silently fell back), and
// damaged variants must either be left to DCMTK or read the same.
// HEADER_INDEX_CORPORA (colon-separated directories) widens the comparison, e.g. to dcm2niix's corpora.
import Foundation
import XCTest
@testable import I2DICOM
import I2TestSupport

final class HeaderIndexTests: XCTestCase {
    private func files(under roots: [String]) -> [String] {
        var out: [String] = []
        for root in roots {
            guard let e = FileManager.default.enumerator(atPath: root) else { continue }
            while let rel = e.nextObject() as? String {
                let p = root + "/" + rel
                var dir: ObjCBool = false
                if FileManager.default.fileExists(atPath: p, isDirectory: &dir), !dir.boolValue { out.append(p) }
            }
        }
        return out.sorted()
    }

    private func isPart10(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        let head = h.readData(ofLength: 132)
        return head.count == 132 && head.suffix(4) == Data("DICM".utf8)
    }

    /// The index reads files with its own copies of DCMTK's tables (so that i2 need not load DCMTK):
    /// the dictionary's VR for every entry's bounds and neighbours and 400,000 other tags, VR names,
    /// transfer syntaxes and number text, each as DCMTK gives it.
    func testTablesAreDCMTKs() {
        let (n, report) = tablesCheck()
        XCTAssertEqual(n, 0, report)
        XCTAssertTrue(report.contains("probes"), report)
    }

    func testEveryFixtureReadsAsDCMTKReadsIt() {
        var roots = [TestSupport.fixture("")]
        if let extra = ProcessInfo.processInfo.environment["HEADER_INDEX_CORPORA"] { roots += extra.split(separator: ":").map(String.init) }
        let all = files(under: roots).filter(isPart10)
        XCTAssertGreaterThan(all.count, 50)
        var taken = 0, left: [String] = []
        for path in all {
            guard let (n, report) = fastHeaderCheck(path) else { left.append(path); continue }
            taken += 1
            XCTAssertEqual(n, 0, "\(path):\n\(report)")
        }
        // Big endian, deflate and damaged fixtures go to DCMTK; the plain ones must not.
        XCTAssertGreaterThan(Double(taken), 0.9 * Double(all.count), "left to DCMTK: \(left.prefix(20))")
    }

    /// Each kind of damage: the index either leaves the file to DCMTK or reads exactly what DCMTK reads.
    func testDamagedFilesAreLeftToDCMTKOrReadTheSame() throws {
        let scratch = Scratch()
        let sources = [Fixture.ctSlice, Fixture.smallSeries[0], TestSupport.fixture("dcm_qa_enh/Philips/IM_0027_fMAP.dcm")]
            .filter { FileManager.default.fileExists(atPath: $0) }
        var rng = SystemRandomNumberGenerator()
        var checked = 0
        for source in sources {
            let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source)))
            let headerEnd = min(original.count, 4096)
            for trial in 0..<150 {
                var bytes = original
                switch trial % 5 {
                case 0: bytes = Array(bytes.prefix(Int.random(in: 132..<bytes.count, using: &rng)))   // truncated
                case 1: bytes[Int.random(in: 132..<headerEnd, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                case 2:   // a length field claims far more
                    let at = Int.random(in: 136..<(headerEnd - 4), using: &rng)
                    bytes.replaceSubrange(at..<(at + 4), with: [0xFF, 0xFF, 0xFF, 0x7F])
                case 3:   // undefined length where none is allowed
                    let at = Int.random(in: 136..<(headerEnd - 4), using: &rng)
                    bytes.replaceSubrange(at..<(at + 4), with: [0xFF, 0xFF, 0xFF, 0xFF])
                default:  // a run of bytes dropped from the header
                    let at = Int.random(in: 132..<(headerEnd - 16), using: &rng)
                    bytes.removeSubrange(at..<(at + Int.random(in: 1...16, using: &rng)))
                }
                let path = try scratch.write("m\(checked).dcm", bytes)
                if let (n, report) = fastHeaderCheck(path) { XCTAssertEqual(n, 0, "mutation \(trial) of \(source):\n\(report)") }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 300)
    }
}
