// SiemensCSA: the CSA header layouts, and hostile bytes (truncations, huge counts) giving nil, not a crash.
import XCTest
@testable import I2DICOM

final class SiemensCSATests: XCTestCase {
    /// An SV10 (CSA2) header with the given elements, laid out as Siemens writes it.
    static func csa2(_ elements: [(String, Int, [String])]) -> [UInt8] {
        var b: [UInt8] = Array("SV10".utf8) + [4, 3, 2, 1]
        func u32(_ v: Int) { b += withUnsafeBytes(of: Int32(truncatingIfNeeded: v).littleEndian, Array.init) }
        u32(elements.count); u32(77)
        for (name, vm, values) in elements {
            var n = Array(name.utf8); n += [UInt8](repeating: 0, count: 64 - n.count); b += n
            u32(vm); b += Array("DS".utf8) + [0, 0]; u32(0); u32(values.count); u32(77)
            for v in values {
                let bytes = Array(v.utf8) + [0]
                u32(bytes.count); u32(bytes.count); u32(77); u32(bytes.count)
                b += bytes + [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4)
            }
        }
        return b
    }

    func testReadsElementsAndValues() throws {
        let csa = try XCTUnwrap(SiemensCSA(Self.csa2([("NumberOfImagesInMosaic", 1, ["60"]), ("SliceNormalVector", 3, ["0", "0.5", "1", "", "", ""]),
                                                       ("MosaicRefAcqTimes", 0, ["10.5", "0", "20"]), ("B_value", 1, [])])))
        XCTAssertEqual(csa.int("NumberOfImagesInMosaic"), 60)
        XCTAssertEqual(csa.doubles("SliceNormalVector"), [0, 0.5, 1])
        XCTAssertEqual(csa.doubles("MosaicRefAcqTimes"), [10.5, 0, 20])
        XCTAssertEqual(csa["B_value"], [])
        XCTAssertNil(csa["Missing"])
    }

    /// `only` keeps just the named elements, with the values a full parse gives them.
    func testOnlyTheNamedElementsAreKept() throws {
        let bytes = Self.csa2([("NumberOfImagesInMosaic", 1, ["60"]), ("B_value", 1, ["1000"]), ("DiffusionGradientDirection", 3, ["0.5", "0", "-0.5"])])
        let full = try XCTUnwrap(SiemensCSA(bytes))
        let some = try XCTUnwrap(SiemensCSA(bytes, only: ["B_value", "DiffusionGradientDirection", "Absent"]))
        XCTAssertEqual(Set(some.elements.keys), ["B_value", "DiffusionGradientDirection"])
        XCTAssertEqual(some["B_value"], full["B_value"])
        XCTAssertEqual(some.doubles("DiffusionGradientDirection"), [0.5, 0, -0.5])
        XCTAssertNil(SiemensCSA(Array(bytes.prefix(100)), only: ["B_value"]), "a cut header is refused whatever is asked of it")
    }

    func testHostileBytesGiveNilNotACrash() {
        let good = Self.csa2([("NumberOfImagesInMosaic", 1, ["60"]), ("MosaicRefAcqTimes", 0, ["1", "2", "3"])])
        for cut in stride(from: 0, to: good.count, by: 3) { _ = SiemensCSA(Array(good.prefix(cut))) }
        var huge = good
        huge[8] = 0xFF; huge[9] = 0xFF; huge[10] = 0xFF; huge[11] = 0x7F
        XCTAssertNil(SiemensCSA(huge), "an absurd element count")
        var long = good
        let firstItem = 16 + 64 + 20   // header, name, vm/vr/syngodt/items/xx
        long[firstItem + 4] = 0xFF; long[firstItem + 5] = 0xFF; long[firstItem + 6] = 0xFF
        XCTAssertNil(SiemensCSA(long), "an item longer than the buffer")
        XCTAssertNil(SiemensCSA([]))
        var random = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var m = good
            for _ in 0..<4 { m[Int.random(in: 0..<m.count, using: &random)] = UInt8.random(in: 0...255, using: &random) }
            _ = SiemensCSA(m)
        }
    }
}
