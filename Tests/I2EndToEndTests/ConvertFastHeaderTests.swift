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
        XCTAssertTrue(damaged.stderr.contains("fast header: \(cut): pixel data longer than the file (DCMTK reads it)"), damaged.stderr)
    }
}
