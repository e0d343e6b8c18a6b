// The watch building blocks on their own: state file round trip, command keys, placeholder quoting,
// the flock claim (exclusive even within one process, released on close) and the tree scan.
import Foundation
import XCTest
@testable import I2Core
import I2Model
import I2TestSupport

final class WatchStateTests: XCTestCase {
    func testKeyIsStableAndDependsOnTheCommand() {
        XCTAssertEqual(WatchKey.of("a"), WatchKey.of("a"))
        XCTAssertTrue(WatchKey.of("").count == 16 && WatchKey.of("").allSatisfy(\.isHexDigit))
        XCTAssertNotEqual(WatchKey.of(""), WatchKey.of("a"))
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

    /// A state file as the watcher writes it today (field names are the on-disk format: a restarted or
    /// upgraded watcher must read what an earlier one wrote).
    static let stateFileText = """
        {
          "attempts" : 2, "command" : "run {series}", "created" : "2026-01-02T03:04:05.678Z",
          "directory" : "/data/in/P/ST/SE", "handed_files" : 12, "handed_newest_ns" : 1700000000123456789,
          "history" : [ { "attempt" : 1, "exit_status" : 3, "files" : 12, "finished" : "2026-01-02T03:05:00.000Z",
                          "follow_up" : false, "run" : 1, "started" : "2026-01-02T03:04:30.000Z", "status" : "failed" } ],
          "key" : "0123456789abcdef", "last_exit_status" : 3, "log" : "/data/in/P/ST/SE/.i2-watch-0123456789abcdef.log",
          "next_attempt_at" : 1767323130.5, "run" : 1, "status" : "complete", "updated" : "2026-01-02T03:05:00.000Z",
          "version" : 1
        }
        """

    func testStateFileFormatIsReadFieldByField() throws {
        let dir = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/.i2-watch-0123456789abcdef.json"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(Self.stateFileText.utf8)))
        let s = try XCTUnwrap(try SeriesState.load(path))
        XCTAssertEqual(s.status, .complete)
        XCTAssertEqual(s.command, "run {series}")
        XCTAssertEqual(s.attempts, 2)
        XCTAssertEqual(s.run, 1)
        XCTAssertEqual(s.lastExitStatus, 3)
        XCTAssertEqual(s.handedFiles, 12)
        XCTAssertEqual(s.handedNewest, 1_700_000_000_123_456_789)
        XCTAssertEqual(s.nextAttemptAt, 1_767_323_130.5)
        XCTAssertEqual(s.history, [.init(run: 1, attempt: 1, followUp: false, status: "failed", exitStatus: 3, files: 12,
                                         started: "2026-01-02T03:04:30.000Z", finished: "2026-01-02T03:05:00.000Z")])
        // Written back, the same field names come out (and `updated` moves on).
        try s.save(path)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        XCTAssertEqual(Set(json.keys), ["attempts", "command", "created", "directory", "handed_files", "handed_newest_ns", "history",
                                        "key", "last_exit_status", "log", "next_attempt_at", "run", "status", "updated", "version"])
        XCTAssertEqual(json["created"] as? String, "2026-01-02T03:04:05.678Z")
        XCTAssertNotEqual(json["updated"] as? String, "2026-01-02T03:05:00.000Z")
        XCTAssertEqual((json["history"] as? [[String: Any]])?.first?["follow_up"] as? Bool, false)
    }

    /// --dispatch slurm's fields: the job id and the intent's job name, at the top and per attempt.
    func testSlurmJobFieldsRoundTrip() throws {
        let dir = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var s = SeriesState(directory: dir, command: "run {series}")
        s.job = "42"
        s.jobName = "i2-0123abcd-00000000beef"
        s.record(.init(run: 1, attempt: 1, followUp: false, status: "failed", exitStatus: 3, files: 1, started: "t", job: "41"))
        let path = dir + "/.i2-watch-x.json"
        try s.save(path)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        XCTAssertEqual(json["job"] as? String, "42")
        XCTAssertEqual(json["job_name"] as? String, "i2-0123abcd-00000000beef")
        XCTAssertEqual((json["history"] as? [[String: Any]])?.first?["job"] as? String, "41")
        let back = try XCTUnwrap(try SeriesState.load(path))
        XCTAssertEqual(back.job, "42")
        XCTAssertEqual(back.jobName, s.jobName)
        XCTAssertEqual(back.history, s.history)
    }

    /// How Slurm's end states map onto exit statuses: only COMPLETED is success.
    func testSlurmStatesMapOntoExitStatuses() {
        XCTAssertEqual(SlurmDispatcher.exitStatus(state: "COMPLETED", exitCode: "0:0"), 0)
        XCTAssertEqual(SlurmDispatcher.exitStatus(state: "FAILED", exitCode: "3:0"), 3)
        XCTAssertEqual(SlurmDispatcher.exitStatus(state: "CANCELLED", exitCode: "0:15"), 143)
        XCTAssertEqual(SlurmDispatcher.exitStatus(state: "CANCELLED", exitCode: "0:0"), 1)   // cancelled while pending
        XCTAssertEqual(SlurmDispatcher.exitStatus(state: "TIMEOUT", exitCode: "0:0"), 1)
        XCTAssertEqual(SlurmDispatcher.exitStatus(state: "OUT_OF_MEMORY", exitCode: "0:125"), 253)
        for s in ["PENDING", "RUNNING", "COMPLETING", "REQUEUED", "SUSPENDED", "RUNNING|i2-x"] { XCTAssertFalse(SlurmDispatcher.isTerminal(s), s) }
        for s in ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "PREEMPTED"] {
            XCTAssertTrue(SlurmDispatcher.isTerminal(s), s)
        }
    }

    func testUnknownStatusIsAnError() throws {
        let dir = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/s.json"
        let text = Self.stateFileText.replacingOccurrences(of: "\"complete\"", with: "\"exploded\"")
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
        XCTAssertThrowsError(try SeriesState.load(path)) { error in
            XCTAssertEqual((error as? I2Error)?.kind, .badInput)
            XCTAssertEqual((error as? I2Error)?.path, path)
        }
    }

    func testNewStateAndFileNames() {
        let s = SeriesState(directory: "/r/P/ST/SE", command: "")
        XCTAssertEqual(s.status, .received)
        XCTAssertEqual(s.key, WatchKey.of(""))
        XCTAssertEqual(s.log, "/r/P/ST/SE/.i2-watch-\(WatchKey.of("")).log")
        XCTAssertEqual(s.created, s.updated)
        XCTAssertEqual(WatchKey.statePath("/d", "k"), "/d/.i2-watch-k.json")
        XCTAssertEqual(WatchKey.lockPath("/d", "k"), "/d/.i2-watch-k.lock")
        XCTAssertEqual(WatchClock.timestamp(0), "1970-01-01T00:00:00.000Z")
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
