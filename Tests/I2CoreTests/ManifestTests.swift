// Manifest.swift and DoneRecord.swift: manifest lines, shard assignment (every path in exactly one
// shard, pinned values so the assignment cannot drift between runs or builds), the Slurm array
// defaults, output names, and what makes a done-record valid.
import Foundation
import XCTest
@testable import I2Core
import I2TestSupport

final class ManifestTests: XCTestCase {
    func testParseSkipsBlankAndCommentLinesAndKeepsLineNumbers() {
        let text = "# series\n/a/ct\n\n   \n  /b/ct  \r\n\t# indented comment\n/c/mr\r\n"
        XCTAssertEqual(Manifest.parse(text), [ManifestLine(number: 2, path: "/a/ct"), ManifestLine(number: 5, path: "/b/ct"),
                                              ManifestLine(number: 7, path: "/c/mr")])
        XCTAssertEqual(Manifest.parse(""), [])
    }

    func testEveryPathIsInExactlyOneShard() {
        let paths = (0..<2000).map { "/archive/g\($0 % 20)/s\($0 / 20)" }
        for n in [1, 2, 3, 7, 16] {
            var counts = [Int](repeating: 0, count: n)
            for p in paths {
                let holders = (1...n).filter { Shard($0, of: n).contains(p) }
                XCTAssertEqual(holders.count, 1, "\(p) in shards \(holders) of \(n)")
                counts[holders[0] - 1] += 1
            }
            // A hash spreads them: 2000/16 = 125 each, give or take a few times sqrt(125).
            XCTAssertLessThan(counts.max()! - counts.min()!, 2000 / n / 2 + 30, "shards of \(n): \(counts)")
        }
    }

    /// Pinned: the assignment is i2's own hash, the same in every process and build (Swift's Hasher
    /// is seeded per process, and would give every array task another split).
    func testShardAssignmentIsPinned() {
        XCTAssertEqual(Shard.of("/archive/g00/s0000", count: 16), 4)
        XCTAssertEqual(Shard.of("/archive/g01/s0000", count: 16), 16)
        XCTAssertEqual(Shard.of("/data/nlst/100002/ct", count: 1000), 341)
    }

    func testShardParse() throws {
        XCTAssertEqual(try Shard.parse("3/16"), Shard(3, of: 16))
        XCTAssertEqual(try Shard.parse("1/1"), Shard.all)
        for bad in ["0/4", "5/4", "4", "a/b", "1/0", "-1/4", "1/4/2", ""] {
            XCTAssertThrowsError(try Shard.parse(bad), bad) { XCTAssertEqual(($0 as? I2Error)?.kind, .usage) }
        }
    }

    func env(_ id: Int, min: Int, max: Int, count: Int, step: Int? = 1) -> [String: String] {
        var e = ["SLURM_ARRAY_TASK_ID": "\(id)", "SLURM_ARRAY_TASK_MIN": "\(min)", "SLURM_ARRAY_TASK_MAX": "\(max)",
                 "SLURM_ARRAY_TASK_COUNT": "\(count)", "SLURM_ARRAY_JOB_ID": "77"]
        if let s = step { e["SLURM_ARRAY_TASK_STEP"] = "\(s)" }
        return e
    }

    func testSlurmArrayDefaultsFromZeroOrOneAndWithAStep() throws {
        XCTAssertNil(try Shard.fromSlurm(["SLURM_JOB_ID": "5"]))   // a job, not an array task
        XCTAssertEqual(try Shard.fromSlurm(env(0, min: 0, max: 15, count: 16)), Shard(1, of: 16))    // --array=0-15
        XCTAssertEqual(try Shard.fromSlurm(env(15, min: 0, max: 15, count: 16)), Shard(16, of: 16))
        XCTAssertEqual(try Shard.fromSlurm(env(1, min: 1, max: 16, count: 16)), Shard(1, of: 16))    // --array=1-16
        XCTAssertEqual(try Shard.fromSlurm(env(16, min: 1, max: 16, count: 16)), Shard(16, of: 16))
        XCTAssertEqual(try Shard.fromSlurm(env(4, min: 0, max: 30, count: 16, step: 2)), Shard(3, of: 16))   // --array=0-30:2
        XCTAssertEqual(try Shard.fromSlurm(env(3, min: 1, max: 8, count: 8, step: nil)), Shard(3, of: 8))   // no STEP: 1
        XCTAssertEqual(try Shard.fromSlurm(env(0, min: 0, max: 0, count: 1)), Shard.all)
    }

    func testSlurmArrayThatIsNoRangeIsAUsageError() {
        for (e, what) in [(env(4, min: 1, max: 9, count: 3), "--array=1,4,9"),
                          (env(9, min: 1, max: 9, count: 3), "--array=1,4,9, last"),
                          (env(3, min: 0, max: 30, count: 16, step: 2), "odd id with step 2"),
                          (["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"], "no MIN"),
                          (["SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "4"], "not a number")] {
            XCTAssertThrowsError(try Shard.fromSlurm(e), what) { error in
                XCTAssertEqual((error as? I2Error)?.kind, .usage, what)
                XCTAssertTrue("\(error)".contains("--shard"), "\(what): \(error)")
            }
        }
    }

    func testOutputNamesKeepSameNamedDirectoriesApart() {
        let a = Manifest.outputName("/data/p1/CT"), b = Manifest.outputName("/data/p2/CT")
        XCTAssertNotEqual(a, b)
        XCTAssertTrue(a.hasPrefix("CT-") && b.hasPrefix("CT-"), a + " " + b)
        XCTAssertEqual(a.count, "CT-".count + 16)
        XCTAssertEqual(Manifest.outputName("/data/p1/my series:1"), "my_series_1-" + Hash.hex("/data/p1/my series:1").prefix(16))
        let cwd = FileManager.default.currentDirectoryPath
        XCTAssertEqual(Manifest.absolute("x/../y/"), URL(fileURLWithPath: cwd + "/y").standardizedFileURL.path)
        XCTAssertEqual(Manifest.absolute("/a/./b/"), "/a/b")
    }

    func testDoneRecordIsValidOnlyForItsInputRecipeAndIntactOutputs() throws {
        let dir = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = dir + "/in", out = dir + "/out"
        try FileManager.default.createDirectory(atPath: input + "/sub", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try FileBytes.write(Array("one".utf8), to: input + "/a.dcm")
        try FileBytes.write(Array("two".utf8), to: input + "/sub/b.dcm")
        try FileBytes.write(Array("image".utf8), to: out + "/1_ct.nii.gz")
        try FileBytes.write(Array("{}".utf8), to: out + "/1_ct.json")
        let record = DoneRecord(input: input, fingerprint: try DoneRecord.fingerprint(of: input), recipe: "r", outputs: try DoneRecord.outputs(in: out))
        XCTAssertEqual(record.outputs.map(\.path), ["1_ct.json", "1_ct.nii.gz"])
        try AtomicFile.write(record.json, to: out + "/" + DoneRecord.fileName)
        let read = try DoneRecord.read(in: out).get()
        XCTAssertEqual(read, record)
        XCTAssertEqual(try DoneRecord.outputs(in: out).map(\.path), ["1_ct.json", "1_ct.nii.gz"], "the record is not an output")
        let print = { try DoneRecord.fingerprint(of: input) }
        XCTAssertNil(read.check(input: input, fingerprint: print, recipe: "r", directory: out))
        XCTAssertEqual(read.check(input: input, fingerprint: print, recipe: "other", directory: out), .recipeChanged)
        XCTAssertEqual(read.check(input: "/elsewhere", fingerprint: print, recipe: "r", directory: out), .otherInput(input))

        try FileBytes.write(Array("imag".utf8), to: out + "/1_ct.nii.gz")   // truncated
        XCTAssertEqual(read.check(input: input, fingerprint: print, recipe: "r", directory: out), .outputChanged("1_ct.nii.gz"))
        try FileBytes.write(Array("imagE".utf8), to: out + "/1_ct.nii.gz")  // same size, other bytes
        XCTAssertEqual(read.check(input: input, fingerprint: print, recipe: "r", directory: out), .outputChanged("1_ct.nii.gz"))
        try FileBytes.write(Array("image".utf8), to: out + "/1_ct.nii.gz")
        XCTAssertNil(read.check(input: input, fingerprint: print, recipe: "r", directory: out))

        try FileBytes.write(Array("twO".utf8), to: input + "/sub/b.dcm")   // an input changed
        XCTAssertEqual(read.check(input: input, fingerprint: print, recipe: "r", directory: out), .inputChanged)
        try FileBytes.write(Array("two".utf8), to: input + "/sub/b.dcm")
        try FileBytes.write(Array("three".utf8), to: input + "/c.dcm")       // a file added
        XCTAssertEqual(read.check(input: input, fingerprint: print, recipe: "r", directory: out), .inputChanged)

        try FileBytes.write(Array("{\"version\": 1".utf8), to: out + "/" + DoneRecord.fileName)
        XCTAssertEqual(DoneRecord.read(in: out), .failure(.unreadable))
        XCTAssertEqual(DoneRecord.read(in: dir), .failure(.missing))
    }
}
