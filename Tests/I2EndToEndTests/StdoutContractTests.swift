// The pipeline contract of i2(1), per subcommand: stdout is exactly the paths produced, one per line,
// built from the arguments as given (relative stays relative), each an existing file or directory;
// --json gives one object per line with a "path"; statuses and reasons never reach stdout.
import Foundation
import XCTest
import I2TestSupport

final class StdoutContractTests: E2ECase {
    static let ct = TestSupport.fixture("dcmqi/ct-3slice")

    /// Every stdout line is a relative path that exists from `cwd`; returns the lines.
    @discardableResult
    func assertRelativePaths(_ r: TestSupport.Result, cwd: String, count: Int? = nil,
                             file: StaticString = #filePath, line: UInt = #line) -> [String] {
        let lines = E2E.lines(r.stdout)
        XCTAssertFalse(lines.isEmpty, "nothing on stdout; stderr: \(r.stderr)", file: file, line: line)
        if let n = count { XCTAssertEqual(lines.count, n, r.stdout, file: file, line: line) }
        for l in lines {
            XCTAssertFalse(l.hasPrefix("/"), "'\(l)' was made absolute", file: file, line: line)
            XCTAssertFalse(l.contains("\t"), "'\(l)' carries more than a path", file: file, line: line)
            XCTAssertTrue(FileManager.default.fileExists(atPath: cwd + "/" + l), "'\(l)' does not exist", file: file, line: line)
        }
        return lines
    }

    func testConvert() throws {
        let r = try E2E.i2(["convert", Self.ct, "ct.nii.gz"], cwd: dir)
        XCTAssertEqual(assertRelativePaths(r, cwd: dir), ["ct.nii.gz", "ct.json"])
    }

    func testProcessPrintsPathsUnderTheOutputAsGiven() throws {
        let r = try E2E.i2(["process", "--tool", "threshold", Self.ct, "-o", "results"], cwd: dir)
        let lines = assertRelativePaths(r, cwd: dir, count: 1)
        XCTAssertTrue(lines[0].hasPrefix("results/") && lines[0].hasSuffix("/seg.dcm"), lines[0])
    }

    func testSegRoundTrip() throws {
        let seg = try E2E.i2(["nifti2seg", "--ref", Self.ct, "--meta", TestSupport.fixture("dcmqi/json/seg-example.json"),
                              TestSupport.fixture("dcmqi/liver_seg.nrrd"), "-o", "seg.dcm"], cwd: dir)
        XCTAssertEqual(assertRelativePaths(seg, cwd: dir), ["seg.dcm"])
        let back = try E2E.i2(["seg2nifti", "seg.dcm", "-o", "labels.nii.gz"], cwd: dir)
        XCTAssertEqual(assertRelativePaths(back, cwd: dir), ["labels.nii.gz", "labels.json"])
    }

    func testWatchPrintsSeriesUnderRootAsGiven() throws {
        try FileManager.default.createDirectory(atPath: path("in/P/ST"), withIntermediateDirectories: true)
        try E2E.copy(Self.ct, path("in/P/ST/SE"))
        let r = try E2E.i2(["watch", "--once", "--quiet", "0", "in"], cwd: dir)
        XCTAssertEqual(assertRelativePaths(r, cwd: dir), ["in/P/ST/SE"])
    }

    func testReceiveAndSend() throws {
        let root = try mkdir("rx")
        let rx = try startReceiver(root, ["--json"])
        // send: the stored files' paths as given, nothing about status on stdout.
        try E2E.copy(Self.ct, path("ct"))
        let sent = try E2E.i2(["send", "--to", "I2@127.0.0.1:\(rx.port)", "ct"], cwd: dir)
        XCTAssertEqual(Set(assertRelativePaths(sent, cwd: dir, count: 3)), ["ct/01.dcm", "ct/02.dcm", "ct/03.dcm"])
        XCTAssertTrue(sent.stderr.contains("3 files stored"), sent.stderr)
        // send --json: one object per stored file, with its path.
        let json = try E2E.i2(["send", "--json", "--to", "I2@127.0.0.1:\(rx.port)", "ct/01.dcm"], cwd: dir)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["path"] as? String, "ct/01.dcm")
        XCTAssertEqual(object?["status"] as? String, "stored")
        // echo: nothing on stdout, the answer on stderr.
        let echo = try E2E.i2(["send", "--echo", "--to", "I2@127.0.0.1:\(rx.port)"], cwd: dir)
        XCTAssertEqual(echo.stdout, "")
        XCTAssertTrue(echo.stderr.contains("answered C-ECHO"), echo.stderr)
        // receive --json: one object per stored instance, under ROOT as given.
        XCTAssertTrue(rx.waitForPaths(3))
        for line in rx.paths {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let p = try XCTUnwrap(o?["path"] as? String, line)
            XCTAssertTrue(p.hasPrefix(root + "/") && FileManager.default.fileExists(atPath: p), "receive printed \(p)")
            XCTAssertEqual(o?["event"] as? String, "stored")
        }
    }

    func testFailuresNeverReachStdout() throws {
        let r = try E2E.i2(["send", "--retries", "0", "--to", "X@127.0.0.1:\(RX.freePort())", Self.ct], expect: 3)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("not sent") || r.stderr.contains("nothing stored"), r.stderr)
    }
}
