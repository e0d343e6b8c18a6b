// Mosaic.swift on hostile input: counts that cannot describe the image (zero, negative, fractional,
// not finite, more than its pixels), grids that do not divide it, no slice spacing — each an I2Error
// naming the file, never a crash. Grid shapes follow UIH's rule (columns ceil(sqrt(n)), rows
// ceil(n/columns)), Siemens' square grid is the same columns.
import Foundation
import XCTest
@testable import I2Core
import I2Model

final class MosaicTests: XCTestCase {
    func assertRefused(_ body: () throws -> Void, _ reason: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("m.dcm") && text.contains(reason), "\(text) lacks the file or '\(reason)'", file: file, line: line)
        }
    }

    func testHostileCountsAreRefused() {
        for value in [-1, 0.5, .nan, .infinity, 384.0 * 384 + 1, 1e18] {
            assertRefused({ _ = try Mosaic.gridSize(value, rows: 384, columns: 384, path: "m.dcm", what: "NumberOfImagesInMosaic") },
                          "cannot be a number of slices")
        }
        assertRefused({ _ = try Mosaic.gridSize(0, rows: 384, columns: 384, path: "m.dcm", what: "NumberOfImagesInMosaic") },
                      "without slices")
    }

    func testGridShapes() throws {
        let g20 = try Mosaic.gridSize(20, rows: 256, columns: 320, path: "m.dcm", what: "n")
        XCTAssertEqual([g20.count, g20.columns, g20.rows], [20, 5, 4])
        let g35 = try Mosaic.gridSize(35, rows: 384, columns: 384, path: "m.dcm", what: "n")
        XCTAssertEqual([g35.count, g35.columns, g35.rows], [35, 6, 6])
        let g1 = try Mosaic.gridSize(1, rows: 64, columns: 64, path: "m.dcm", what: "n")
        XCTAssertEqual([g1.count, g1.columns, g1.rows], [1, 1, 1])
    }

    func whole(rows: Int, columns: Int) -> SliceHeader {
        SliceHeader(path: "m.dcm", sopInstanceUID: "1", seriesInstanceUID: "2", rows: rows, columns: columns,
                    pixelSpacing: [3, 3], orientation: [1, 0, 0, 0, 1, 0], position: .zero)
    }

    func testTilesThatDoNotDivideTheImageOrLackSpacingAreRefused() throws {
        // 40 tiles: a 7x7 grid, which does not divide 384.
        let bad = Mosaic.Layout(vendor: .siemens, count: 40, gridColumns: 7, gridRows: 7, tileRows: 384 / 7, tileColumns: 384 / 7)
        assertRefused({ _ = try Mosaic.tiles(self.whole(rows: 384, columns: 384), layout: bad, spacing: 3, path: "m.dcm") }, "do not divide")
        // A grid larger than the image: tiles of 0 pixels.
        let empty = Mosaic.Layout(vendor: .uih, count: 100, gridColumns: 10, gridRows: 10, tileRows: 0, tileColumns: 0)
        assertRefused({ _ = try Mosaic.tiles(self.whole(rows: 4, columns: 4), layout: empty, spacing: 3, path: "m.dcm") }, "do not divide")
        let good = Mosaic.Layout(vendor: .siemens, count: 35, gridColumns: 6, gridRows: 6, tileRows: 64, tileColumns: 64)
        assertRefused({ _ = try Mosaic.tiles(self.whole(rows: 384, columns: 384), layout: good, spacing: nil, path: "m.dcm") }, "distance between its slices")
        // UIH without the per-slice positions: direction unknown.
        let uih = Mosaic.Layout(vendor: .uih, count: 20, gridColumns: 5, gridRows: 4, tileRows: 64, tileColumns: 64)
        assertRefused({ _ = try Mosaic.tiles(self.whole(rows: 256, columns: 320), layout: uih, spacing: 3, path: "m.dcm") }, "direction of its slices")
    }

    /// The tiles of a good layout: one per slice, tile-sized, numbered, evenly spaced along the normal.
    func testTilesOfASiemensMosaic() throws {
        let m = Mosaic.Layout(vendor: .siemens, count: 35, gridColumns: 6, gridRows: 6, tileRows: 64, tileColumns: 64)
        let t = try Mosaic.tiles(whole(rows: 384, columns: 384), layout: m, spacing: 3.6, path: "m.dcm")
        XCTAssertEqual(t.count, 35)
        XCTAssertEqual(t.map(\.mosaic?.index), Array(0..<35))
        XCTAssertTrue(t.allSatisfy { $0.rows == 64 && $0.columns == 64 })
        XCTAssertEqual((t[34].position - t[0].position).length, 3.6 * 34, accuracy: 1e-9)
        XCTAssertEqual(t[3].label, "m.dcm (tile 4 of 35)")
    }
}
