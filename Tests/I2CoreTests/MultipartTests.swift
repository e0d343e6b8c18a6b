// The DICOMweb bodies: MultipartReader (WADO-RS answers) read in chunks of every size gives back the
// parts MultipartUpload (STOW-RS requests) wrote, whatever bytes the parts hold; a truncated body is
// incomplete, never a crash; StowAnswer reads Referenced and Failed SOP sequences.
import Foundation
import XCTest
@testable import I2Core
import I2TestSupport

final class MultipartTests: XCTestCase {
    func parse(_ body: [UInt8], boundary: String, chunk: Int) throws -> (parts: [[UInt8]], headers: [[String]], complete: Bool) {
        var parts: [[UInt8]] = [], headers: [[String]] = []
        let reader = MultipartReader(boundary: boundary, sink: .init(begin: { headers.append($0); parts.append([]) },
                                                                     data: { parts[parts.count - 1] += $0 }, end: {}))
        var i = 0
        while i < body.count {
            let n = min(chunk, body.count - i)
            try body[i..<(i + n)].withUnsafeBytes { try reader.feed($0) }
            i += n
        }
        return (parts, headers, reader.isComplete)
    }

    func testUploadBodyReadsBackInChunksOfEverySize() throws {
        var random = SeededRandom(seed: 5)
        let dir = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Contents that look like delimiters: CRLF, "--", the start of a boundary, and random bytes.
        var contents: [[UInt8]] = [Array("\r\n--i2-\r\n--".utf8), [], Array("--".utf8)]
        contents.append((0..<5000).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        var files: [(path: String, size: Int)] = []
        for (k, c) in contents.enumerated() {
            let p = "\(dir)/\(k)"
            XCTAssertTrue(FileManager.default.createFile(atPath: p, contents: Data(c)))
            files.append((p, c.count))
        }
        let upload = MultipartUpload(files)
        var body: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 7)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try upload.upload.read($0) }
            if n == 0 { break }
            body += buffer[..<n]
        }
        XCTAssertEqual(body.count, upload.length)
        XCTAssertEqual(MultipartReader.boundary("multipart/related; type=\"application/dicom\"; boundary=\"\(upload.boundary)\""), upload.boundary)
        for chunk in [1, 2, 3, 7, 64, 4096, body.count] {
            let r = try parse(body, boundary: upload.boundary, chunk: chunk)
            XCTAssertTrue(r.complete, "chunk \(chunk)")
            XCTAssertEqual(r.parts, contents, "chunk \(chunk)")
            XCTAssertEqual(r.headers.first, ["Content-Type: application/dicom"])
        }
        // Every truncation: no crash, and incomplete until the closing delimiter is in.
        for cut in stride(from: 0, to: body.count - 1, by: 97) {
            XCTAssertFalse(try parse(Array(body[..<cut]), boundary: upload.boundary, chunk: 13).complete, "cut at \(cut)")
        }
    }

    func testPreambleNoHeadersAndTransportPadding() throws {
        let body = Array("preamble\r\n--b  \r\n\r\nONE\r\n--b\r\nX-A: 1\r\n\r\nTWO\r\n--b--\r\nepilogue".utf8)
        let r = try parse(body, boundary: "b", chunk: 1)
        XCTAssertTrue(r.complete)
        XCTAssertEqual(r.parts.map { String(decoding: $0, as: UTF8.self) }, ["ONE", "TWO"])
        XCTAssertEqual(r.headers, [[], ["X-A: 1"]])
        XCTAssertNil(MultipartReader.boundary("application/dicom"))
        XCTAssertNil(MultipartReader.boundary("multipart/related; type=application/dicom"))
    }

    func testStowAnswer() throws {
        let json = #"{"00081199": {"vr": "SQ", "Value": [{"00081155": {"vr": "UI", "Value": ["1.2.3"]}}, {"00081155": {"vr": "UI", "Value": ["1.2.4"]}, "00081196": {"vr": "US", "Value": [45056]}}]}, "00081198": {"vr": "SQ", "Value": [{"00081155": {"vr": "UI", "Value": ["1.2.5"]}, "00081197": {"vr": "US", "Value": [272]}}]}}"#
        let a = try XCTUnwrap(StowAnswer(Array(json.utf8)))
        XCTAssertEqual(a.stored, ["1.2.3": 0, "1.2.4": 0xB000])
        XCTAssertEqual(a.failed, ["1.2.5": 0x0110])
        XCTAssertNil(StowAnswer(Array("<NativeDicomModel/>".utf8)))
    }
}
