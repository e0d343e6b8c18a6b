// The watch building blocks on their own: state file round trip, command keys, placeholder quoting,
// the flock claim (exclusive even within one process, released on close) and the tree scan.
import Foundation
import XCTest
@testable import I2Core
import I2TestSupport

final class WatchStateTests: XCTestCase {
    func testKeyIsStableAndDependsOnTheCommand() {
        XCTAssertEqual(WatchKey.of(""), "cbf29ce484222325")          // FNV-1a 64 offset basis
        XCTAssertEqual(WatchKey.of("a"), "af63dc4c8601ec8c")
        XCTAssertNotEqual(WatchKey.of("run {series}"), WatchKey.of("run  {series}"))
    }

    func testPlaceholdersAreShellQuoted() {
        let u = UnitSnapshot(directory: "/r/P it's/ST/SE", patientDirectory: "/r/P it's", studyDirectory: "/r/P it's/ST", files: 1, newest: 0)
        let cmd = WatchCommand.expand("ls {series} {study} {patient} {root} {log}", unit: u, root: "/r", log: "/r/l")
        XCTAssertEqual(cmd, #"ls '/r/P it'\''s/ST/SE' '/r/P it'\''s/ST' '/r/P it'\''s' '/r' '/r/l'"#)
        let r = try? TestSupport.run("/bin/sh", ["-c", "printf '%s\\n' " + WatchCommand.shellQuote("a'b $x \"c\"")])
        XCTAssertEqual(r?.stdout, "a'b $x \"c\"\n")
    }

    func testStateRoundTripIsAtomicAndHidden() throws {
        let dir = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var s = SeriesState(directory: dir, command: "echo {series}")
        s.status = .done
        s.run = 2
        s.attempts = 1
        s.lastExitStatus = 0
        s.handedFiles = 3
        s.handedNewest = 1_700_000_000_123_456_789
        for i in 0..<25 {
            s.record(.init(run: 1, attempt: i, followUp: false, status: "failed", exitStatus: 1, files: 3, started: "t", finished: nil))
        }
        XCTAssertEqual(s.history.count, SeriesState.historyLimit)
        let path = WatchKey.statePath(dir, s.key)
        try s.save(path)
        let back = try XCTUnwrap(try SeriesState.load(path))
        XCTAssertEqual(back.status, .done)
        XCTAssertEqual(back.handedNewest, s.handedNewest)
        XCTAssertEqual(back.history, s.history)
        XCTAssertEqual(back.log, WatchKey.logPath(dir, WatchKey.of("echo {series}")))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [".i2-watch-\(s.key).json"])
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SeriesState.load(path))
        XCTAssertNil(try SeriesState.load(dir + "/missing.json"))
    }

    func testLockIsExclusiveAndReleased() throws {
        let dir = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/.i2-watch-k.lock"
        guard case .acquired(let first) = SeriesLock.tryAcquire(path) else { return XCTFail("first claim failed") }
        guard case .busy(let holder) = SeriesLock.tryAcquire(path) else { return XCTFail("second claim should be busy") }
        XCTAssertTrue(holder.contains("pid=\(getpid())"), holder)
        XCTAssertTrue(holder.contains("host=\(SeriesLock.hostname())"), holder)
        first.release()
        guard case .acquired(let again) = SeriesLock.tryAcquire(path) else { return XCTFail("claim after release failed") }
        again.release()
        // A lock file left by a dead holder (content but no flock) is simply free.
        try "pid=999999 host=\(SeriesLock.hostname())\n".write(toFile: path, atomically: false, encoding: .utf8)
        guard case .acquired(let taken) = SeriesLock.tryAcquire(path) else { return XCTFail("stale lock not taken over") }
        taken.release()
    }

    func testScannerCountsVisibleFilesPerSeriesAndStudy() throws {
        let root = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        for (rel, n) in [("P/ST1/SE1", 2), ("P/ST1/SE2", 1), ("Q/ST2/SE3", 0)] {
            try fm.createDirectory(atPath: "\(root)/\(rel)", withIntermediateDirectories: true)
            for i in 0..<n { XCTAssertTrue(fm.createFile(atPath: "\(root)/\(rel)/\(i).dcm", contents: Data([1]))) }
        }
        XCTAssertTrue(fm.createFile(atPath: "\(root)/P/ST1/SE1/.i2-watch-x.json", contents: Data([1])))
        try fm.createDirectory(atPath: "\(root)/.i2-incoming/x/y", withIntermediateDirectories: true)
        XCTAssertTrue(fm.createFile(atPath: "\(root)/.i2-incoming/x/y/z.dcm", contents: Data([1])))
        let series = SeriesScanner(root: root, group: .series).scan()
        XCTAssertEqual(series.map(\.directory), ["\(root)/P/ST1/SE1", "\(root)/P/ST1/SE2"])
        XCTAssertEqual(series.map(\.files), [2, 1])
        XCTAssertEqual(series[0].studyDirectory, "\(root)/P/ST1")
        let studies = SeriesScanner(root: root, group: .study).scan()
        XCTAssertEqual(studies.map(\.directory), ["\(root)/P/ST1"])
        XCTAssertEqual(studies.first?.files, 3)
    }
}
