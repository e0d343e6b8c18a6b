// A real one-node Slurm cluster for end-to-end tests: Tests/Tools/slurm-cluster.sh starts munged,
// MariaDB, slurmdbd, slurmctld and slurmd on 127.0.0.1 and free high ports with all their state in a
// temporary directory, and stops them by PID. Tests get the clients' environment (SLURM_CONF) from here.
import Foundation
import I2TestSupport

final class SlurmCluster {
    let directory = TestSupport.tempDirectory()
    /// What Slurm's clients need (SLURM_CONF, MUNGE_SOCKET, …), from DIR/env.
    private(set) var environment: [String: String] = [:]
    private var running = false
    static let script = TestSupport.packageRoot.appendingPathComponent("Tests/Tools/slurm-cluster.sh").path

    /// Starts the cluster and waits until its node is idle. A missing package is a Missing error with
    /// the install hint (the test fails, it never skips); a daemon that fails shows its log tail.
    init() throws {
        let r = try TestSupport.run("/bin/bash", [Self.script, "start", directory])
        switch r.status {
        case 0: break
        case 3: throw TestSupport.Missing("Slurm: " + r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
        default: throw PeerError("Slurm cluster did not start (exit \(r.status)):\n\(r.stderr)")
        }
        running = true
        let text = try String(contentsOfFile: directory + "/env", encoding: .utf8)
        for line in text.split(separator: "\n") where line.hasPrefix("export ") {
            let kv = line.dropFirst("export ".count)
            guard let eq = kv.firstIndex(of: "=") else { continue }
            environment[String(kv[..<eq])] = String(kv[kv.index(after: eq)...])
        }
        guard environment["SLURM_CONF"] != nil else { throw PeerError("\(directory)/env names no SLURM_CONF:\n\(text)") }
    }

    /// Runs a Slurm client (sbatch, squeue, sacct, scancel, …) against this cluster.
    @discardableResult
    func client(_ name: String, _ args: [String]) throws -> TestSupport.Result {
        try TestSupport.run(try Peers.tool(name, package: "slurm-client"), args, environment: environment)
    }

    /// sacct's record of each job of this cluster: job id → (name, state, exit code), allocations only;
    /// the state is its first word ("CANCELLED by 0" is CANCELLED).
    func accounting() throws -> [String: (name: String, state: String, exitCode: String)] {
        let r = try client("sacct", ["-X", "-n", "-P", "--starttime=2000-01-01", "-o", "JobID,JobName,State,ExitCode"])
        guard r.status == 0 else { throw PeerError("sacct failed: \(r.stderr)") }
        var jobs: [String: (name: String, state: String, exitCode: String)] = [:]
        for line in r.stdout.split(separator: "\n") {
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            if f.count == 4 { jobs[f[0]] = (f[1], String(f[2].split(separator: " ").first ?? ""), f[3]) }
        }
        return jobs
    }

    func stop() {
        guard running else { return }
        running = false
        _ = try? TestSupport.run("/bin/bash", [Self.script, "stop", directory])
        try? FileManager.default.removeItem(atPath: directory)
    }
    deinit { stop() }
}
