// A batch manifest (one input series directory per line) and the shard of it one task runs.
// Shards go by a hash of each line's absolute path, not by its line number: a series' shard then
// depends on nothing but its own path, so the same directory listed twice (or as `a/` and `./a`)
// lands in one shard and is converted once, never by two tasks at the same time; and editing the
// manifest (appending series, dropping done ones) moves no other series to another shard. The hash is
// i2's own (Hash.swift, fixed constants), not Swift's per-process seeded Hasher, so every task of an
// array, and every re-submission, computes the same assignment. The cost: shards are balanced only
// statistically (2,000 lines over 16 shards: 125 each, give or take about 11).
import Foundation

public struct ManifestLine: Sendable, Equatable {
    /// 1-based line number in the manifest, for messages.
    public var number: Int
    /// The path as written (surrounding whitespace removed).
    public var path: String
    public init(number: Int, path: String) { self.number = number; self.path = path }
}

public enum Manifest {
    /// The series lines of a manifest: blank lines and lines starting with '#' (after leading
    /// whitespace) are skipped; surrounding whitespace and a trailing CR are removed.
    public static func parse(_ text: String) -> [ManifestLine] {
        var out: [ManifestLine] = []
        // By isNewline, not "\n": "\r\n" is one Character in Swift, which a split on "\n" never meets.
        for (i, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            out.append(ManifestLine(number: i + 1, path: line))
        }
        return out
    }

    /// Reads a manifest file ("-": stdin).
    public static func read(_ path: String) throws -> [ManifestLine] {
        if path == "-" {
            return parse(String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self))
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
            throw I2Error(.usage, path: path, "--manifest: no such file")
        }
        return parse(String(decoding: try FileBytes.read(path), as: UTF8.self))
    }

    /// The absolute, standardized form of a manifest path (relative paths are relative to the current
    /// directory, as with xargs); shards and output names are derived from it.
    public static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return URL(fileURLWithPath: full).standardizedFileURL.path
    }

    /// The per-series output directory's name: the directory's own name (sanitized) and 16 hex digits
    /// of its absolute path's hash, so `a/CT` and `b/CT` never meet, and a name says where it came from.
    public static func outputName(_ absolutePath: String) -> String {
        let base = (absolutePath as NSString).lastPathComponent
        return Naming.sanitize(base.isEmpty ? "root" : base) + "-" + Hash.hex(absolutePath).prefix(16)
    }
}

/// Shard K of N (K from 1).
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var count: Int
    public init(_ index: Int, of count: Int) { self.index = index; self.count = count }

    public static let all = Shard(1, of: 1)
    public var description: String { "\(index)/\(count)" }

    /// The shard (1...count) of an absolute path.
    public static func of(_ absolutePath: String, count: Int) -> Int {
        let d = Hash.digest(Array(absolutePath.utf8))
        let word = d.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        return Int(word % UInt64(count)) + 1
    }

    public func contains(_ absolutePath: String) -> Bool { Shard.of(absolutePath, count: count) == index }

    /// "K/N" with 1 <= K <= N.
    public static func parse(_ text: String) throws -> Shard {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, (1...n).contains(k) else {
            throw I2Error(.usage, "--shard: '\(text)' should be K/N with 1 <= K <= N (e.g. 3/16)")
        }
        return Shard(k, of: n)
    }

    /// The shard a Slurm array task runs: nil outside an array. The task ids may start anywhere
    /// (`--array=0-15` or `1-16`) and step (`0-30:2`), so K comes from the id's place among them:
    /// (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP + 1, of
    /// SLURM_ARRAY_TASK_COUNT. An id list that is not such a range (`--array=1,4,9`) cannot be mapped:
    /// a usage error asks for --shard.
    public static func fromSlurm(_ env: [String: String]) throws -> Shard? {
        guard let idText = env["SLURM_ARRAY_TASK_ID"] else { return nil }
        func int(_ key: String) -> Int? { env[key].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
        let why = "cannot derive the shard from SLURM_ARRAY_TASK_ID=\(idText), SLURM_ARRAY_TASK_MIN=\(env["SLURM_ARRAY_TASK_MIN"] ?? "unset"), SLURM_ARRAY_TASK_MAX=\(env["SLURM_ARRAY_TASK_MAX"] ?? "unset"), SLURM_ARRAY_TASK_STEP=\(env["SLURM_ARRAY_TASK_STEP"] ?? "unset"), SLURM_ARRAY_TASK_COUNT=\(env["SLURM_ARRAY_TASK_COUNT"] ?? "unset")"
        guard let id = int("SLURM_ARRAY_TASK_ID"), let min = int("SLURM_ARRAY_TASK_MIN"), let count = int("SLURM_ARRAY_TASK_COUNT"), count >= 1 else {
            throw I2Error(.usage, why + ": give --shard K/N")
        }
        let step = int("SLURM_ARRAY_TASK_STEP") ?? 1
        let max = int("SLURM_ARRAY_TASK_MAX") ?? (min + (count - 1) * step)
        // Only an evenly spaced range maps one to one onto 1...count.
        guard step >= 1, id >= min, (id - min) % step == 0, (max - min) % step == 0, (max - min) / step + 1 == count,
              (id - min) / step < count else {
            throw I2Error(.usage, why + ": the array's ids are not an evenly spaced range (--array=A-B[:S]); give --shard K/N")
        }
        return Shard((id - min) / step + 1, of: count)
    }
}
