// The number of processors i2's worker pools size themselves by, read once per process.
import Foundation

enum Processors {
    /// What ProcessInfo.activeProcessorCount answers on Linux (swift-foundation's rule: a cgroup-v1 CFS
    /// quota rounded up, else the first range of the cgroup-v1 cpuset, else the online processors),
    /// read with plain open/read: Foundation's reads each file through URL and Data and throws for a
    /// missing one, ~0.3 ms of every conversion on a machine without those files (issue 10).
    static let active: Int = quotaCount() ?? cpusetCount() ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))

    private static func quotaCount() -> Int? {
        guard let quota = firstLine("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").flatMap({ Int($0) }), quota > 0,
              let period = firstLine("/sys/fs/cgroup/cpu/cpu.cfs_period_us").flatMap({ Int($0) }), period > 0
        else { return nil }
        return (quota - 1 + period) / period
    }

    private static func cpusetCount() -> Int? {
        guard let first = firstLine("/sys/fs/cgroup/cpuset/cpuset.cpus")?.split(separator: ",").first else { return nil }
        let ids = first.split(separator: "-", maxSplits: 1)
        guard let low = ids.first.flatMap({ Int($0, radix: 10) }), let high = ids.last.flatMap({ Int($0, radix: 10) }),
              high >= low
        else { return nil }
        return 1 + high - low
    }

    /// The file's first line ("" for an empty file), nil when it cannot be read.
    private static func firstLine(_ path: String) -> Substring? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { return nil }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").first ?? ""
    }
}
