// i2 convert --manifest as a real Slurm array (Tests/Tools/slurm-cluster.sh through SlurmCluster):
// 16 tasks (ids 0-15, so the shard comes from SLURM_ARRAY_TASK_ID - MIN) over 2,000 generated series
// convert each series exactly once into the same tree a single process writes; re-submitting the
// array converts nothing; deleting 10 outputs and re-submitting converts exactly those 10.
import Foundation
import XCTest
import I2TestSupport

final class ManifestSlurmTests: E2ECase {
    let tasks = 16

    func testSixteenTaskArrayConvertsEachSeriesOnceAndResubmissionsRedoOnlyWhatIsMissing() throws {
        let cluster = try SlurmCluster()
        defer { cluster.stop() }
        let made = try E2E.py(["make_many_series.py", E2E.ctSlice, path("in"), "2000", "--size", "32", "--slices", "2"])
        XCTAssertEqual(made.status, 0, made.stderr)
        try made.stdout.write(toFile: path("m.txt"), atomically: true, encoding: .utf8)
        let inputs = E2E.lines(made.stdout)
        XCTAssertEqual(inputs.count, 2000)
        try E2E.i2(["convert", "--manifest", path("m.txt"), path("one") + "/"])
        let reference = try E2E.tree(path("one"))
        XCTAssertEqual(reference.count, 2000 * 3)

        // 1: every series converted by exactly one task, the tree identical to the single run's.
        let first = try submit(cluster, round: 1)
        XCTAssertEqual(first.summaries.map(\.series).reduce(0, +), 2000, "each line in exactly one shard")
        XCTAssertEqual(first.summaries.map(\.converted).reduce(0, +), 2000)
        var taskOf: [String: Set<Int>] = [:]
        var recordsOf: [String: Int] = [:]
        for (task, input) in first.outputs {
            taskOf[input, default: []].insert(task)
            recordsOf[input, default: 0] += 1
        }
        XCTAssertEqual(Set(taskOf.keys), Set(inputs))
        XCTAssertEqual(taskOf.values.filter { $0.count != 1 }.count, 0, "series converted by several tasks")
        XCTAssertEqual(Set(recordsOf.values), [2], "an image and a sidecar per series, printed once")
        XCTAssertEqual(try E2E.tree(path("arr")), reference, "the array's output differs from the single run's")

        // 2: re-submitted, nothing to do.
        let second = try submit(cluster, round: 2)
        XCTAssertEqual(second.outputs.count, 0)
        XCTAssertEqual(second.summaries.map(\.skipped).reduce(0, +), 2000)
        XCTAssertEqual(second.summaries.map(\.converted).reduce(0, +), 0)

        // 3: ten results deleted, re-submitted: exactly those ten are converted again.
        let dirs = try E2E.list(path("arr")).filter { !$0.hasPrefix(".") }
        XCTAssertEqual(dirs.count, 2000)
        var deleted: Set<String> = []
        for d in stride(from: 7, to: 2000, by: 200).map({ dirs[$0] }) {
            let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("arr/\(d)/.i2-done.json")))) as? [String: Any]
            deleted.insert(try XCTUnwrap(record?["input"] as? String))
            try FileManager.default.removeItem(atPath: path("arr/" + d))
        }
        XCTAssertEqual(deleted.count, 10)
        let third = try submit(cluster, round: 3)
        XCTAssertEqual(Set(third.outputs.map(\.input)), deleted)
        XCTAssertEqual(third.outputs.count, 20)
        XCTAssertEqual(third.summaries.map(\.converted).reduce(0, +), 10)
        XCTAssertEqual(third.summaries.map(\.skipped).reduce(0, +), 1990)
        XCTAssertEqual(try E2E.tree(path("arr")), reference)
    }

    struct Summary { var series = 0, converted = 0, skipped = 0 }

    /// Submits the array (`i2 convert --manifest m.txt --json arr/` per task), waits until every task
    /// ended COMPLETED in sacct, and returns the path records (task, input) and each task's summary.
    func submit(_ cluster: SlurmCluster, round: Int, file: StaticString = #filePath, line: UInt = #line) throws
        -> (outputs: [(task: Int, input: String)], summaries: [Summary]) {
        let r = try cluster.client("sbatch", ["--parsable", "--array=0-\(tasks - 1)", "--job-name=i2-manifest-\(round)", "--chdir=\(dir)",
                                              "-o", path("r\(round)-%a.out"), "-e", path("r\(round)-%a.err"),
                                              "--wrap", "exec '\(TestSupport.i2Path)' convert --manifest m.txt --json arr/"])
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        let job = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // sbatch --wait polls slowly: squeue until none of the array is left, then its records in sacct.
        try Peers.wait("array \(job) to finish", timeout: 600) {
            try cluster.client("squeue", ["-h", "-j", job, "-o", "%i"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        }
        let ended = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"]
        var states: [String: (name: String, state: String, exitCode: String)] = [:]
        try Peers.wait("the \(tasks) tasks of \(job) in sacct", timeout: 60) {
            states = try cluster.accounting().filter { $0.key.hasPrefix(job + "_") }
            return states.count == tasks && states.values.allSatisfy { s in ended.contains { s.state.hasPrefix($0) } }
        }
        var outputs: [(task: Int, input: String)] = []
        var summaries: [Summary] = []
        for t in 0..<tasks {
            let err = (try? String(contentsOfFile: path("r\(round)-\(t).err"), encoding: .utf8)) ?? ""
            XCTAssertEqual(states["\(job)_\(t)"]?.state, "COMPLETED", "task \(t): \(err)", file: file, line: line)
            XCTAssertTrue(err.contains("shard \(t + 1)/\(tasks):"), "task \(t) ran another shard: \(err)", file: file, line: line)
            let lines = E2E.lines(try String(contentsOfFile: path("r\(round)-\(t).out"), encoding: .utf8))
            let objects = try lines.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], $0) }
            guard let last = objects.last, last["path"] == nil else { XCTFail("task \(t): no summary: \(lines)", file: file, line: line); continue }
            XCTAssertEqual(last["shard"] as? String, "\(t + 1)/\(tasks)", file: file, line: line)
            XCTAssertEqual(last["failed"] as? Int, 0, file: file, line: line)
            summaries.append(Summary(series: last["series"] as? Int ?? -1, converted: last["converted"] as? Int ?? -1, skipped: last["skipped"] as? Int ?? -1))
            for o in objects.dropLast() { outputs.append((t, try XCTUnwrap(o["input"] as? String))) }
        }
        return (outputs, summaries)
    }
}
