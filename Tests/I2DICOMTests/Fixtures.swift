// Fixture paths and scratch files for the wrapper tests, all through TestSupport.fixture.
import Foundation
import I2TestSupport

enum Fixture {
    /// A real CT slice: 512x512, 16-bit signed, implicit VR little endian (dcmqi ct-3slice).
    static let ctSlice = TestSupport.fixture("dcmqi/ct-3slice/01.dcm")
    static let ctSeries = TestSupport.fixture("dcmqi/ct-3slice")
    /// A 4-slice 16x16 CT series in explicit VR little endian, files without extension (pydicom CT2).
    static let smallSeries = ["17106", "17136", "17166", "17196"].map { TestSupport.fixture("pydicom-ct2/" + $0) }
    /// A BINARY SEG written by dcmqi.
    static let dcmqiSeg = TestSupport.fixture("dcmqi/liver.dcm")
}

/// A temporary directory removed when the test case ends.
final class Scratch {
    let dir = TestSupport.tempDirectory()
    deinit { try? FileManager.default.removeItem(atPath: dir) }
    func path(_ name: String) -> String { dir + "/" + name }

    /// Writes `bytes` to `name` and returns its path.
    func write(_ name: String, _ bytes: some Sequence<UInt8>) throws -> String {
        let p = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    /// The first `count` bytes of `source`, as `name`.
    func truncated(_ source: String, to count: Int, as name: String) throws -> String {
        try write(name, try Data(contentsOf: URL(fileURLWithPath: source)).prefix(count))
    }
}
