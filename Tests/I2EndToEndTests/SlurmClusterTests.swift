// The test Slurm cluster itself (Tests/Tools/slurm-cluster.sh through SlurmCluster): a job submitted
// with sbatch runs on the node, and its end reaches sacct with its name, comment and exit code, which
// is what i2 watch --dispatch slurm and the array tests rely on. Two clusters run side by side.
import Foundation
import XCTest
import I2TestSupport

final class SlurmClusterTests: XCTestCase {
    func testJobsRunAndReachAccountingOnTwoClustersAtOnce() throws {
        let a = try SlurmCluster(), b = try SlurmCluster()
        defer { a.stop(); b.stop() }
        XCTAssertNotEqual(a.environment["SLURM_CONF"], b.environment["SLURM_CONF"])
        var ids: [String] = []
        for (cluster, status) in [(a, 0), (b, 3)] {
            let r = try cluster.client("sbatch", ["--parsable", "--job-name=probe-\(status)", "--comment=c\(status)",
                                                  "-o", cluster.directory + "/job-%j.out", "--wrap", "echo ran; exit \(status)"])
            XCTAssertEqual(r.status, 0, r.stderr)
            ids.append(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        // Records reach sacct a moment after the job ends: poll (the 60 s limit only guards a hang).
        for (cluster, id, state, code) in [(a, ids[0], "COMPLETED", "0:0"), (b, ids[1], "FAILED", "3:0")] {
            try Peers.wait("job \(id) \(state) in sacct", timeout: 60) { try cluster.accounting()[id]?.state == state }
            let job = try XCTUnwrap(cluster.accounting()[id])
            XCTAssertEqual(job.exitCode, code)
            XCTAssertTrue(job.name.hasPrefix("probe-"), job.name)
            XCTAssertEqual(try String(contentsOfFile: cluster.directory + "/job-\(id).out", encoding: .utf8), "ran\n")
            let comment = try cluster.client("sacct", ["-X", "-n", "-P", "-j", id, "-o", "Comment"]).stdout
            XCTAssertTrue(comment.hasPrefix("c"), "the comment is kept in accounting (AccountingStoreFlags=job_comment): '\(comment)'")
            // Each cluster's accounting holds only its own job.
            XCTAssertEqual(try cluster.accounting().count, 1)
        }
        let dirs = [a.directory, b.directory]
        a.stop(); b.stop()
        for d in dirs { XCTAssertFalse(FileManager.default.fileExists(atPath: d), "stop removes \(d)") }
    }
}
