// [UInt8].zeroed / zeroFill: the memory must read as zero whatever malloc hands back (fresh pages, or
// pages a freed buffer dirtied), at every size and alignment, and take writes afterwards.
import Foundation
import XCTest
@testable import I2Model

final class ZeroedTests: XCTestCase {
    /// Whether every byte of `bytes` is `value` (memcmp against a reference block: the test runs unoptimised).
    func all(_ bytes: ArraySlice<UInt8>, are value: UInt8) -> Bool {
        let block = [UInt8](repeating: value, count: 1 << 20)
        return bytes.withUnsafeBytes { raw in
            var i = 0
            while i < raw.count {
                let n = min(block.count, raw.count - i)
                if memcmp(raw.baseAddress! + i, block, n) != 0 { return false }
                i += n
            }
            return true
        }
    }

    func testZeroedIsZeroAfterDirtyMemoryWasFreed() {
        for size in [0, 1, 7, 4095, 4096, 4097, (1 << 20) + 13, (10 << 20) + 7, 40 << 20] {
            for _ in 0..<3 {
                do { let dirty = [UInt8](repeating: 0xA5, count: size); XCTAssertEqual(dirty.count, size) }
                var z = [UInt8].zeroed(size)
                XCTAssertEqual(z.count, size)
                XCTAssertTrue(all(z[...], are: 0), "size \(size)")
                guard size >= 3 else { continue }
                // Writable afterwards, at both ends and in the middle.
                z[0] = 1; z[size / 2] = 2; z[size - 1] = 3
                XCTAssertEqual([z[0], z[size / 2], z[size - 1]], [1, 2, 3])
                XCTAssertTrue(all(z[1..<(size / 2)], are: 0) && all(z[(size / 2 + 1)..<(size - 1)], are: 0), "size \(size)")
            }
        }
    }

    func testZeroFillClearsAWindowInsideLargerMemory() {
        var buffer = [UInt8](repeating: 0xFF, count: 3 << 20)
        let window = 1001..<((2 << 20) + 5)
        buffer.withUnsafeMutableBytes { raw in [UInt8].zeroFill(UnsafeMutableRawBufferPointer(rebasing: raw[window])) }
        XCTAssertTrue(all(buffer[..<window.lowerBound], are: 0xFF), "before the window: untouched")
        XCTAssertTrue(all(buffer[window], are: 0))
        XCTAssertTrue(all(buffer[window.upperBound...], are: 0xFF), "after the window: untouched")
    }
}
