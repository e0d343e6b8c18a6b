// The fast header index (CDCMTK FastHeader.cpp) changes nothing i2 convert writes: every fixture folder
// converts to the same bytes (images, sidecars, .bval/.bvec), the same stdout and the same stderr with
// it and with DCMTK reading every file (I2_DCMTK_ONLY=1). A file that silently lost an attribute in
// the fast path would show here as a changed sidecar, name or volume.
import Foundation
import XCTest
import I2TestSupport

final class ConvertFastHeaderTests: E2ECase {
    private func convert(_ input: String, into out: String, dcmtkOnly: Bool) throws -> TestSupport.Result {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var env = ProcessInfo.processInfo.environment
        env["I2_DCMTK_ONLY"] = dcmtkOnly ? "1" : nil
        return try TestSupport.run(TestSupport.i2Path, ["convert", input, out + "/"], environment: env)
    }

    private func contents(_ dir: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            out[name] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
        }
        return out
    }

    func testEveryFixtureFolderConvertsToTheSameBytesWithAndWithoutTheFastIndex() throws {
        let root = TestSupport.fixture("")
        var folders: [String] = []
        // Each top-level fixture folder, and each folder in it (one corpus together, and each series
        // on its own: names and splits differ between the two).
        func subfolders(_ dir: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted().compactMap { name in
                var isDir: ObjCBool = false
                return FileManager.default.fileExists(atPath: dir + "/" + name, isDirectory: &isDir) && isDir.boolValue ? dir + "/" + name : nil
            }
        }
        for top in subfolders(root) { folders += [top] + subfolders(top) }
        XCTAssertGreaterThan(folders.count, 4)
        var images = 0
        for (k, folder) in folders.enumerated() {
            let fast = path("fast\(k)"), slow = path("dcmtk\(k)")
            let a = try convert(folder, into: fast, dcmtkOnly: false)
            let b = try convert(folder, into: slow, dcmtkOnly: true)
            XCTAssertEqual(a.status, b.status, folder)
            XCTAssertEqual(a.stdout.replacingOccurrences(of: fast, with: "OUT"), b.stdout.replacingOccurrences(of: slow, with: "OUT"), folder)
            XCTAssertEqual(a.stderr.replacingOccurrences(of: fast, with: "OUT"), b.stderr.replacingOccurrences(of: slow, with: "OUT"), folder)
            let fa = try contents(fast), fb = try contents(slow)
            XCTAssertEqual(Set(fa.keys), Set(fb.keys), folder)
            for (name, data) in fa where fb[name] != data { XCTFail("\(folder): \(name) differs with the fast header index") }
            images += fa.keys.filter { $0.hasSuffix(".nii.gz") }.count
        }
        XCTAssertGreaterThan(images, 40, "the fixtures gave too few images for the comparison to mean much")
    }

    /// The fast path is really taken for plain files (I2_FAST_DEBUG names every file that is not, and
    /// every file whose queries needed DCMTK), and really left for a damaged one.
    func testPlainFilesTakeTheFastPathAndDamagedOnesDoNot() throws {
        var env = ProcessInfo.processInfo.environment
        env["I2_FAST_DEBUG"] = "1"
        let plain = try TestSupport.run(TestSupport.i2Path, ["convert", "--list", TestSupport.fixture("dcmqi/ct-3slice")], environment: env)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertFalse(plain.stderr.contains("fast header"), plain.stderr)
        let source = try Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture("dcmqi/ct-3slice/01.dcm")))
        let cut = path("cut.dcm")
        try source.prefix(source.count - 1000).write(to: URL(fileURLWithPath: cut))
        let damaged = try TestSupport.run(TestSupport.i2Path, ["convert", "--list", cut], environment: env)
        XCTAssertTrue(damaged.stderr.contains("fast header: \(cut): not indexed: pixel data longer than the file"), damaged.stderr)
        XCTAssertTrue(damaged.stderr.contains("fast header: \(cut): DCMTK reads it"), damaged.stderr)
    }
}

/// i2 loads its DCMTK library (libi2dcmtk.so) only when a file needs DCMTK: a copy of the executable
/// without the library converts plain files, and stops with a message naming the library at the first
/// file that needs it (never a guessed answer); I2_DCMTK_LIBRARY points it at the library.
final class DCMTKLibraryLoadingTests: E2ECase {
    func testPlainFilesNeedNoDCMTKAndOthersSayWhatIsMissing() throws {
        let alone = path("bin")
        try FileManager.default.createDirectory(atPath: alone, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestSupport.i2Path, toPath: alone + "/i2")
        let library = URL(fileURLWithPath: TestSupport.i2Path).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("libi2dcmtk.so").path
        XCTAssertTrue(FileManager.default.fileExists(atPath: library), library)
        var env = ProcessInfo.processInfo.environment
        env["I2_DCMTK_LIBRARY"] = nil

        // Little-endian CT slices and a README beside them: the fast index reads the slices, their values
        // are read in place, and the README is told apart as not DICOM without DCMTK.
        let series = path("series")
        try FileManager.default.copyItem(atPath: TestSupport.fixture("dcmqi/ct-3slice"), toPath: series)
        try "Three CT slices.\n".write(toFile: series + "/README.txt", atomically: true, encoding: .utf8)
        let plain = try TestSupport.run(alone + "/i2", ["convert", series, path("plain.nii")], environment: env)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertTrue(plain.stderr.contains("README.txt: skipped, not a DICOM file"), plain.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("plain.nii")))

        // JPEG 2000 must be decoded through DCMTK: a clear stop, exit 1, nothing written.
        let j2k = TestSupport.fixture("dcm_qa/j2k/u8.dcm")
        let missing = try TestSupport.run(alone + "/i2", ["convert", j2k, path("j2k.nii")], environment: env)
        XCTAssertEqual(missing.status, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("cannot load its DICOM library") && missing.stderr.contains("libi2dcmtk.so"), missing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("j2k.nii")))

        env["I2_DCMTK_LIBRARY"] = library
        let found = try TestSupport.run(alone + "/i2", ["convert", j2k, path("j2k.nii")], environment: env)
        XCTAssertEqual(found.status, 0, found.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("j2k.nii")))
    }
}
