// Polls ROOT/<patient>/<study>/<series>/ cheaply: a series directory is re-read only when its mtime
// changed (a file renamed into it changes it) or changed recently (mtimes are coarse: a file arriving
// in the same clock tick as the last read would otherwise go unseen). Dot entries are never units or
// instances: .i2-incoming holds transfers in flight, .i2-watch-* are the watcher's own files.
import Foundation

/// What the watcher hands over: a series directory, or a study directory with --group study.
public enum WatchGroup: String, Sendable, CaseIterable { case series, study }

/// One unit as seen by a scan.
public struct UnitSnapshot: Equatable, Sendable {
    public var directory: String
    public var patientDirectory: String
    public var studyDirectory: String
    public var files: Int
    /// Newest ctime of a visible file, ns since 1970. ctime, not mtime: a file moved or copied in with
    /// an old mtime (cp -p, mv) still gets a fresh ctime, so it still counts as new.
    public var newest: Int64
}

public final class SeriesScanner {
    public let root: String
    public let group: WatchGroup
    private struct Cached { var mtime: Int64; var files: Int; var newest: Int64 }
    private var cache: [String: Cached] = [:]
    /// Directories whose mtime is this recent (ns) are re-read even if unchanged.
    static let recentNs: Int64 = 2_000_000_000

    public init(root: String, group: WatchGroup) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        self.group = group
    }

    /// All units with at least one visible file.
    /// The units the last scan found without files (empty series or study directories), sorted.
    public private(set) var emptyUnits: [String] = []

    public func scan() -> [UnitSnapshot] {
        var units: [UnitSnapshot] = []
        var empty: [String] = []
        var seen = Set<String>()
        let nowNs = Int64(WatchClock.now() * 1e9)
        for patient in Self.subdirectories(root) {
            for study in Self.subdirectories(patient) {
                var total = 0, newest: Int64 = 0
                for series in Self.subdirectories(study) {
                    seen.insert(series)
                    guard let c = entry(series, nowNs: nowNs), c.files > 0 else {
                        if group == .series { empty.append(series) }
                        continue
                    }
                    if group == .series {
                        units.append(UnitSnapshot(directory: series, patientDirectory: patient, studyDirectory: study,
                                                  files: c.files, newest: c.newest))
                    }
                    total += c.files
                    newest = max(newest, c.newest)
                }
                if group == .study, total == 0 { empty.append(study) }
                if group == .study, total > 0 {
                    units.append(UnitSnapshot(directory: study, patientDirectory: patient, studyDirectory: study,
                                              files: total, newest: newest))
                }
            }
        }
        cache = cache.filter { seen.contains($0.key) }      // forget deleted series
        emptyUnits = empty.sorted()
        return units
    }

    private func entry(_ dir: String, nowNs: Int64) -> Cached? {
        var st = stat()
        guard stat(dir, &st) == 0 else { return nil }
        let mtime = Self.ns(st.st_mtim)
        if let c = cache[dir], c.mtime == mtime, nowNs - mtime > Self.recentNs { return c }
        var files = 0, newest: Int64 = 0
        for name in Self.names(dir) where !name.hasPrefix(".") {
            var fs = stat()
            guard stat(dir + "/" + name, &fs) == 0, (fs.st_mode & S_IFMT) == S_IFREG else { continue }
            files += 1
            newest = max(newest, Self.ns(fs.st_ctim))
        }
        let c = Cached(mtime: mtime, files: files, newest: newest)
        cache[dir] = c
        return c
    }

    static func ns(_ t: timespec) -> Int64 { Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec) }

    static func names(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out.sorted()
    }

    /// Visible subdirectories, sorted (so units are handled in a stable order).
    static func subdirectories(_ dir: String) -> [String] {
        names(dir).filter { !$0.hasPrefix(".") }.map { dir + "/" + $0 }.filter {
            var st = stat()
            return stat($0, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
        }
    }
}
