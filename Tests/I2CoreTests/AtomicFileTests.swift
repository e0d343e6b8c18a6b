// AtomicFile.swift tests: a successful write leaves exactly the target, a failed one leaves nothing
// (no partial target, no hidden temporary), and errors name the path the caller asked for.
// Directories are listed with readdir so dot-files cannot hide.
import Foundation
import XCTest
@testable import I2Core
import I2Model
import I2TestSupport

final class AtomicFileTests: XCTestCase {
    var dir = ""

    override func setUp() { dir = TestSupport.tempDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    struct Boom: Error {}

    /// Every entry of `path` except "." and "..", hidden files included, sorted.
    func entries(_ path: String) -> [String] {
        guard let d = opendir(path) else { return ["<cannot open \(path)>"] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    func contents(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }

    func testSuccessLeavesExactlyTheTarget() throws {
        let target = dir + "/ct.nii.gz"
        try AtomicFile.write([1, 2, 3, 255], to: target)
        XCTAssertEqual(entries(dir), ["ct.nii.gz"])
        XCTAssertEqual(contents(target), [1, 2, 3, 255])
    }

    func testBodyWritesToAHiddenTemporaryInTheTargetDirectory() throws {
        let target = dir + "/out.nrrd"
        var seen = ""
        try AtomicFile.write(to: target) { tmp in
            seen = tmp
            XCTAssertEqual((tmp as NSString).deletingLastPathComponent, dir, "same directory, so rename is atomic")
            XCTAssertTrue((tmp as NSString).lastPathComponent.hasPrefix("."), "hidden from directory watchers")
            XCTAssertNotEqual(tmp, target)
            try FileBytes.write([[7], [8, 9]], to: tmp)
            XCTAssertFalse(FileManager.default.fileExists(atPath: target), "target appears only at the end")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: seen))
        XCTAssertEqual(entries(dir), ["out.nrrd"])
        XCTAssertEqual(contents(target), [7, 8, 9])
    }

    func testDurableWriteAndOverwriteReplaceTheTarget() throws {
        let target = dir + "/a.mha"
        try AtomicFile.write([1], to: target)
        try AtomicFile.write(to: target, durable: true) { tmp in try FileBytes.write([5, 6], to: tmp) }
        XCTAssertEqual(entries(dir), ["a.mha"])
        XCTAssertEqual(contents(target), [5, 6])
    }

    func testThrowingBodyLeavesNoFileAndNoTemporary() {
        let target = dir + "/ct.nii"
        XCTAssertThrowsError(try AtomicFile.write(to: target) { tmp in
            try FileBytes.write([UInt8](repeating: 42, count: 10_000), to: tmp)
            throw Boom()
        }) { error in
            XCTAssertTrue(error is Boom, "the body's error is rethrown unchanged: \(error)")
        }
        XCTAssertEqual(entries(dir), [])
    }

    func testThrowingBodyKeepsAnExistingTargetIntact() throws {
        let target = dir + "/ct.nii"
        try AtomicFile.write([9, 9, 9], to: target)
        XCTAssertThrowsError(try AtomicFile.write(to: target) { tmp in
            try FileBytes.write([0], to: tmp)
            throw Boom()
        })
        XCTAssertEqual(entries(dir), ["ct.nii"])
        XCTAssertEqual(contents(target), [9, 9, 9])
    }

    func testBodyThatWritesNothingThrowsNamingTheTarget() {
        let target = dir + "/empty.nrrd"
        XCTAssertThrowsError(try AtomicFile.write(to: target) { _ in }) { error in
            let e = error as? I2Error
            XCTAssertEqual(e?.kind, .storage)
            XCTAssertEqual(e?.path, target)
        }
        XCTAssertEqual(entries(dir), [])
    }

    func testMissingDirectoryThrowsAnI2ErrorNamingTheTarget() {
        let target = dir + "/no/such/dir/ct.nii.gz"
        XCTAssertThrowsError(try AtomicFile.write([1, 2, 3], to: target)) { error in
            guard let e = error as? I2Error else { return XCTFail("not an I2Error: \(error)") }
            XCTAssertEqual(e.kind, .storage)
            XCTAssertTrue(e.description.contains(dir + "/no/such/dir/"), e.description)
            // The user asked for `target`; the hidden temporary's name is an implementation detail.
            XCTAssertEqual(e.path, target, e.description)
            XCTAssertFalse(e.description.contains(".i2tmp"), e.description)
        }
        XCTAssertEqual(entries(dir), [])
    }

    func testFileBytesRoundTripAndReadErrorNamesThePath() throws {
        let p = dir + "/bytes.bin"
        try FileBytes.write([[], [1, 2], [], [3]], to: p)
        XCTAssertEqual(try FileBytes.read(p), [1, 2, 3])
        XCTAssertThrowsError(try FileBytes.read(dir + "/missing.bin")) { error in
            XCTAssertEqual((error as? I2Error)?.path, dir + "/missing.bin")
        }
    }
    // MARK: moving finished files and directories into place

    func testMovePutsAFinishedFileInPlaceAndReplacesAnOldOne() throws {
        let part = dir + "/.incoming.part", target = dir + "/1.2.3.dcm"
        try FileBytes.write([1, 2], to: part)
        try AtomicFile.move(part, to: target, sync: [.file, .directory])
        XCTAssertEqual(entries(dir), ["1.2.3.dcm"])
        try FileBytes.write([3], to: part)
        try AtomicFile.move(part, to: target)
        XCTAssertEqual(entries(dir), ["1.2.3.dcm"])
        XCTAssertEqual(contents(target), [3])
    }

    func testFailedMoveThrowsAStorageErrorAndLeavesTheSourceAlone() throws {
        let part = dir + "/.x.part"
        try FileBytes.write([1], to: part)
        XCTAssertThrowsError(try AtomicFile.move(part, to: dir + "/no/such/dir/x.dcm", sync: .file)) { error in
            let e = error as? I2Error
            XCTAssertEqual(e?.kind, .storage)
            XCTAssertEqual(e?.path, dir + "/no/such/dir/x.dcm")
            XCTAssertTrue(e?.detail.contains("No such file or directory") ?? false, "\(error)")
        }
        XCTAssertEqual(entries(dir), [".x.part"])
        XCTAssertThrowsError(try AtomicFile.move(dir + "/missing", to: dir + "/y"))
    }

    func testReplaceSwapsDirectoriesWithNothingLeftAside() throws {
        let final = dir + "/result", staging = dir + "/.result.part-1"
        // First time: nothing to replace.
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false)
        try FileBytes.write([1], to: staging + "/old.dcm")
        try AtomicFile.replace(final, with: staging)
        XCTAssertEqual(entries(dir), ["result"])
        // Second time: the old directory goes as a whole (no file of it survives in the new one).
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false)
        try FileBytes.write([2], to: staging + "/new.dcm")
        try AtomicFile.replace(final, with: staging, sync: [.file, .directory])
        XCTAssertEqual(entries(dir), ["result"])
        XCTAssertEqual(entries(final), ["new.dcm"])
        XCTAssertEqual(contents(final + "/new.dcm"), [2])
    }

    func testFailedReplaceKeepsTheOldResultAndRemovesTheStaging() throws {
        let final = dir + "/result"
        try FileManager.default.createDirectory(atPath: final, withIntermediateDirectories: false)
        try FileBytes.write([1], to: final + "/old.dcm")
        // A staging directory that does not exist: the rename fails after the old one went aside.
        XCTAssertThrowsError(try AtomicFile.replace(final, with: dir + "/.missing.part")) { error in
            XCTAssertEqual((error as? I2Error)?.kind, .storage)
        }
        XCTAssertEqual(entries(dir), ["result"])
        XCTAssertEqual(entries(final), ["old.dcm"])
    }

    func testSyncOfFileAndDirectoryAndOfAMissingPath() throws {
        try FileBytes.write([1], to: dir + "/f")
        XCTAssertNoThrow(try AtomicFile.sync(dir + "/f"))
        XCTAssertNoThrow(try AtomicFile.sync(dir))
        XCTAssertThrowsError(try AtomicFile.sync(dir + "/missing")) { error in
            XCTAssertEqual((error as? I2Error)?.kind, .storage)
            XCTAssertEqual((error as? I2Error)?.path, dir + "/missing")
        }
    }

    func testDurableBytesWriteLeavesExactlyTheTarget() throws {
        try AtomicFile.write([4, 5], to: dir + "/state.json", durable: true)
        XCTAssertEqual(entries(dir), ["state.json"])
        XCTAssertEqual(contents(dir + "/state.json"), [4, 5])
        XCTAssertThrowsError(try AtomicFile.write([1], to: dir + "/no/state.json", durable: true))
        XCTAssertEqual(entries(dir), ["state.json"])
    }
}
