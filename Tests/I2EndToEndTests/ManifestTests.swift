// i2 convert --manifest / i2 process --manifest end to end, without Slurm: shards together give
// exactly the single run's output tree (each series once, byte for byte, same-named directories kept
// apart), a re-run skips what is complete and valid and redoes exactly what is not (truncated or
// deleted output, missing record, changed input, other options), '-' reads the manifest from stdin,
// missing directories fail by line while the others convert, the Slurm array variables pick the shard,
// and SIGTERM ends the run after the series in hand with a re-run finishing the rest.
import Foundation
import XCTest
import I2TestSupport

final class ManifestTests: E2ECase {
    /// `count` small series from make_many_series.py under dir/in (gNN/sMMMM: `groups` directories
    /// share each name), returned as the manifest lists them: relative to `dir`.
    func makeSeries(_ count: Int, groups: Int = 2, slices: Int = 3) throws -> [String] {
        let r = try E2E.py(["make_many_series.py", E2E.ctSlice, path("in"), "\(count)", "--groups", "\(groups)",
                            "--size", "32", "--slices", "\(slices)"])
        XCTAssertEqual(r.status, 0, "make_many_series.py: \(r.stderr)")
        return E2E.lines(r.stdout).map { String($0.dropFirst(dir.count + 1)) }
    }

    func writeManifest(_ text: String, _ name: String = "m.txt") throws {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    }

    /// i2 in `dir` (the manifests' relative paths), with extra environment.
    @discardableResult
    func i2(_ args: [String], expect: Int32 = 0, env: [String: String] = [:], stdin: String? = nil,
            file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.Result {
        let r = try TestSupport.run(TestSupport.i2Path, args, stdin: stdin, environment: env, cwd: dir)
        XCTAssertEqual(r.status, expect, "i2 \(args.joined(separator: " ")) → \(r.stderr)", file: file, line: line)
        return r
    }

    /// The output directories (first path component) that stdout's paths fall in.
    func directories(_ stdout: String, under out: String) -> Set<String> {
        Set(E2E.lines(stdout).map { String($0.dropFirst(out.count + 1).split(separator: "/")[0]) })
    }

    func testShardsTogetherGiveTheSingleRunsTreeEachSeriesOnce() throws {
        let series = try makeSeries(8)   // s0000..s0003, each name in g00 and g01
        XCTAssertEqual(Set(series.map { ($0 as NSString).lastPathComponent }).count, 4)
        try writeManifest("# eight series\n\n" + series[0] + "\r\n" + series[1...].joined(separator: "\n") + "\n  " + series[0] + "/  \n")
        let single = try i2(["convert", "--manifest", "m.txt", "one/"])
        XCTAssertTrue(single.stderr.contains("m.txt:11: \(series[0])/ repeats line 3"), single.stderr)
        let one = try E2E.tree(path("one"))
        XCTAssertEqual(Set(one.keys.map { $0.split(separator: "/")[0] }).count, 8, one.keys.sorted().description)
        XCTAssertEqual(one.count, 8 * 3, "image, sidecar and done-record per series: \(one.keys.sorted())")
        XCTAssertEqual(E2E.lines(single.stdout).count, 16)

        var printed: [String] = []
        for k in 1...3 {
            let r = try i2(["convert", "--manifest", "m.txt", "--shard", "\(k)/3", "three/"])
            printed += E2E.lines(r.stdout).map { "one/" + $0.dropFirst("three/".count) }
        }
        XCTAssertEqual(printed.count, Set(printed).count, "a path printed by two shards")
        XCTAssertEqual(Set(printed), Set(E2E.lines(single.stdout)))
        XCTAssertEqual(try E2E.tree(path("three")), one, "the shards' tree differs from the single run's")
    }

    func testReRunSkipsWhatIsValidAndRedoesExactlyWhatIsNot() throws {
        let series = try makeSeries(6)
        try writeManifest(series.joined(separator: "\n") + "\n")
        let first = try i2(["convert", "--manifest", "m.txt", "out/"])
        let before = try E2E.tree(path("out"))
        let dirs = try E2E.list(path("out"))
        XCTAssertEqual(dirs.count, 6)

        let again = try i2(["convert", "--manifest", "m.txt", "out/"])
        XCTAssertEqual(again.stdout, "", "a re-run wrote something")
        XCTAssertTrue(again.stderr.contains("6 series: 0 converted, 6 already done, 0 failed"), again.stderr)

        // Damage four results in four ways; leave two alone.
        let (truncated, deleted, unrecorded, changed) = (dirs[0], dirs[1], dirs[2], dirs[3])
        let image = try XCTUnwrap(try E2E.list(path("out/" + truncated)).first { $0.hasSuffix(".nii.gz") })
        XCTAssertEqual(truncate(path("out/\(truncated)/\(image)"), 50), 0)
        try FileManager.default.removeItem(atPath: path("out/" + deleted))
        try FileManager.default.removeItem(atPath: path("out/\(unrecorded)/.i2-done.json"))
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("out/\(changed)/.i2-done.json")))) as? [String: Any]
        let changedInput = try XCTUnwrap(record?["input"] as? String)
        try E2E.edit(try E2E.list(changedInput).map { changedInput + "/" + $0 }, "ds.SeriesDescription = 'changed'")
        let untouched = [dirs[4], dirs[5]]
        let stamps = try untouched.map { try FileManager.default.attributesOfItem(atPath: path("out/\($0)/.i2-done.json"))[.modificationDate] as? Date }

        let redo = try i2(["convert", "--manifest", "m.txt", "out/"])
        XCTAssertEqual(directories(redo.stdout, under: "out"), [truncated, deleted, unrecorded, changed], redo.stdout)
        XCTAssertTrue(redo.stderr.contains("6 series: 4 converted, 2 already done, 0 failed"), redo.stderr)
        XCTAssertTrue(redo.stderr.contains("output \(image) is missing, truncated or changed"), redo.stderr)
        XCTAssertTrue(redo.stderr.contains("the input changed"), redo.stderr)
        let after = try E2E.tree(path("out"))
        for d in [truncated, deleted, unrecorded] + untouched {
            XCTAssertEqual(after.filter { $0.key.hasPrefix(d + "/") }, before.filter { $0.key.hasPrefix(d + "/") }, "\(d) differs from the first run")
        }
        XCTAssertEqual(after.keys.filter { $0.hasPrefix(changed + "/") }.sorted(), [".i2-done.json", "2_changed.json", "2_changed.nii.gz"].map { changed + "/" + $0 },
                       "the changed series' old outputs must be gone")
        XCTAssertEqual(try untouched.map { try FileManager.default.attributesOfItem(atPath: path("out/\($0)/.i2-done.json"))[.modificationDate] as? Date }, stamps)
        XCTAssertEqual(try E2E.leftovers(path("out")), [], "staging left behind")

        // Other options: everything redone, nothing of the old format left.
        let nrrd = try i2(["convert", "--manifest", "m.txt", "--format", "nrrd", "out/"])
        XCTAssertTrue(nrrd.stderr.contains("6 series: 6 converted"), nrrd.stderr)
        XCTAssertTrue(nrrd.stderr.contains("made with other options"), nrrd.stderr)
        XCTAssertEqual(try E2E.tree(path("out")).keys.filter { $0.hasSuffix(".nii.gz") }, [])
        XCTAssertEqual(first.status, 0)
    }

    func testMissingDirectoriesFailByLineAndTheOthersConvert() throws {
        let series = try makeSeries(2)
        try "not a series".write(toFile: path("plain.txt"), atomically: true, encoding: .utf8)
        try writeManifest("\(series[0])\n# gone:\nin/no-such\n\(series[1])\n/also/missing\nplain.txt\n")
        let r = try i2(["convert", "--manifest", "m.txt", "out/"], expect: 1)
        let errors = E2E.errorLines(r.stderr)
        XCTAssertEqual(errors.count, 3, r.stderr)
        XCTAssertTrue(errors.contains { $0.contains("in/no-such") && $0.contains("m.txt:3: no such series directory") }, r.stderr)
        XCTAssertTrue(errors.contains { $0.contains("/also/missing") && $0.contains("m.txt:5: no such series directory") }, r.stderr)
        XCTAssertTrue(errors.contains { $0.contains("plain.txt") && $0.contains("m.txt:6: not a directory") }, r.stderr)
        XCTAssertEqual(try E2E.list(path("out")).count, 2)
        XCTAssertTrue(r.stderr.contains("5 series: 2 converted, 0 already done, 3 failed"), r.stderr)
        let again = try i2(["convert", "--manifest", "m.txt", "out/"], expect: 1)
        XCTAssertTrue(again.stderr.contains("5 series: 0 converted, 2 already done, 3 failed"), again.stderr)
    }

    func testManifestFromStdinWithJSONRecordsAndSummary() throws {
        let series = try makeSeries(3)
        let r = try i2(["convert", "--manifest", "-", "out/", "--json"], stdin: series.joined(separator: "\n"))
        let objects = try E2E.lines(r.stdout).map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(objects.count, 3 * 2 + 1, r.stdout)
        for o in objects.dropLast() {
            let p = try XCTUnwrap(o["path"] as? String), input = try XCTUnwrap(o["input"] as? String)
            XCTAssertTrue(FileManager.default.fileExists(atPath: path(p)), p)
            XCTAssertTrue(series.contains { input.hasSuffix("/" + $0) }, input)
        }
        let summary = try XCTUnwrap(objects.last)
        XCTAssertNil(summary["path"])
        XCTAssertEqual(summary["shard"] as? String, "1/1")
        XCTAssertEqual(summary["manifest"] as? String, "stdin")
        XCTAssertEqual([summary["series"], summary["converted"], summary["skipped"], summary["failed"], summary["stopped"]].map { $0 as? Int }, [3, 3, 0, 0, 0])
    }

    func testSlurmArrayVariablesPickTheShardFromZeroOrOne() throws {
        let series = try makeSeries(8)
        try writeManifest(series.joined(separator: "\n"))
        let single = try i2(["convert", "--manifest", "m.txt", "one/"])
        for (first, out) in [(0, "zero"), (1, "onebased")] {
            var printed: [String] = []
            for k in 1...4 {
                let env = ["SLURM_ARRAY_TASK_ID": "\(first + k - 1)", "SLURM_ARRAY_TASK_MIN": "\(first)", "SLURM_ARRAY_TASK_MAX": "\(first + 3)",
                           "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_STEP": "1"]
                let r = try i2(["convert", "--manifest", "m.txt", out + "/"], env: env)
                XCTAssertTrue(r.stderr.contains("shard \(k)/4:"), r.stderr)
                let byFlag = try i2(["convert", "--manifest", "m.txt", "--shard", "\(k)/4", out + "-flag/"])
                XCTAssertEqual(r.stdout.replacingOccurrences(of: out + "/", with: out + "-flag/"), byFlag.stdout)
                printed += E2E.lines(r.stdout).map { "one/" + $0.dropFirst(out.count + 1) }
            }
            XCTAssertEqual(printed.sorted(), E2E.lines(single.stdout).sorted())
            XCTAssertEqual(try E2E.tree(path(out)), try E2E.tree(path("one")))
        }
        // --shard wins over the environment; a list of ids that is no range needs --shard.
        let list = ["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "9", "SLURM_ARRAY_TASK_COUNT": "3"]
        let refused = try i2(["convert", "--manifest", "m.txt", "x/"], expect: 2, env: list)
        XCTAssertTrue(refused.stderr.contains("give --shard K/N"), refused.stderr)
        let given = try i2(["convert", "--manifest", "m.txt", "--shard", "1/1", "x/"], env: list)
        XCTAssertTrue(given.stderr.contains("shard 1/1: 8 series: 8 converted"), given.stderr)
    }

    func testProcessManifestRecordsEachSeriesAndRedoesOnOtherParameters() throws {
        let series = try makeSeries(3)
        try writeManifest(series.joined(separator: "\n"))
        let r = try i2(["process", "--tool", "threshold", "--param", "lower=-3000", "--manifest", "m.txt", "-o", "res"])
        let segs = E2E.lines(r.stdout)
        XCTAssertEqual(segs.count, 3, r.stderr)
        for s in segs { XCTAssertTrue(s.hasSuffix("-threshold/seg.dcm") && FileManager.default.fileExists(atPath: path(s)), s) }
        XCTAssertEqual(directories(r.stdout, under: "res").count, 3)
        let again = try i2(["process", "--tool", "threshold", "--param", "lower=-3000", "--manifest", "m.txt", "-o", "res"])
        XCTAssertEqual(again.stdout, "")
        XCTAssertTrue(again.stderr.contains("3 series: 0 converted, 3 already done"), again.stderr)
        let other = try i2(["process", "--tool", "threshold", "--param", "lower=-2500", "--manifest", "m.txt", "-o", "res"])
        XCTAssertEqual(E2E.lines(other.stdout).count, 3)
        XCTAssertTrue(other.stderr.contains("made with other options"), other.stderr)
        XCTAssertEqual(try E2E.leftovers(path("res")), [])
    }

    func testUsageErrors() throws {
        try writeManifest("in/x\n")
        for args in [["convert", "--shard", "1/2", "a", "b.nii"], ["convert", "--manifest", "m.txt", "--shard", "3/2", "out/"],
                     ["convert", "--manifest", "m.txt", "--shard", "0/2", "out/"], ["convert", "--manifest", "m.txt", "a/", "b/"],
                     ["convert", "--manifest", "m.txt"], ["convert", "--manifest", "nope.txt", "out/"],
                     ["convert", "--manifest", "m.txt", "--list", "out/"],
                     ["process", "--tool", "threshold", "--shard", "1/2", "in/x", "-o", "out"],
                     ["process", "--tool", "threshold", "--manifest", "m.txt", "in/x", "-o", "out"]] {
            let r = try i2(args, expect: 2)
            XCTAssertFalse(r.stderr.isEmpty, args.description)
        }
    }

    func testSIGTERMEndsAfterTheSeriesInHandAndARerunFinishes() throws {
        let series = try makeSeries(200, groups: 10, slices: 2)
        try writeManifest(series.map { path($0) }.joined(separator: "\n"))
        let p = try background(TestSupport.i2Path, ["convert", "--manifest", path("m.txt"), path("out") + "/"])
        let deadline = Date().addingTimeInterval(60)
        while p.stdout.isEmpty && p.status == nil && Date() < deadline { usleep(2_000) }
        kill(p.pid, SIGTERM)
        XCTAssertEqual(p.waitForExit(timeout: 60), 128 + SIGTERM, "converted everything before the signal, or failed: \(p.stderr)")
        let done = try E2E.list(path("out")).filter { !$0.hasPrefix(".") }
        XCTAssertEqual(try E2E.leftovers(path("out")), [], "a staging directory was left")
        for d in done { XCTAssertTrue(FileManager.default.fileExists(atPath: path("out/\(d)/.i2-done.json")), d) }
        XCTAssertGreaterThan(done.count, 0)
        XCTAssertLessThan(done.count, 200)
        XCTAssertTrue(p.stderr.contains("not started (stopped)"), p.stderr)
        let rest = try i2(["convert", "--manifest", "m.txt", "out/"])
        XCTAssertEqual(directories(rest.stdout, under: "out").count, 200 - done.count)
        XCTAssertTrue(rest.stderr.contains("\(200 - done.count) converted, \(done.count) already done"), rest.stderr)
    }
}
