// Every file one conversion output writes, so --force is checked for all of them (image, detached
// data file, NumPy geometry JSON, DICOM metadata sidecar) before any is written; and what an OUTPUT
// argument names: a file of a known format, or a directory.
import Foundation
import I2Model

public enum OutputTargets {
    /// The paths writing `target` creates: the image itself, the `.raw` beside `.mhd`/`.nhdr`, the
    /// `.json` beside `.npy`, and the metadata sidecar (NAME.json) when `sidecar` is on.
    public static func paths(for target: String, sidecar: Bool) -> [String] {
        var out = [target]
        guard let format = FileFormat(path: target) else { return out }
        let base = String(target.dropLast(format.rawValue.count + 1))
        switch format {
        case .mhd, .nhdr: out.append(base + ".raw")
        case .npy: out.append(base + ".json")
        default: break
        }
        if sidecar, !out.contains(base + ".json") { out.append(base + ".json") }
        return out
    }

    /// Throws a storage error naming the first of `paths` that exists, unless `overwrite`.
    static func check(_ paths: [String], overwrite: Bool) throws {
        guard !overwrite else { return }
        for p in paths where FileManager.default.fileExists(atPath: p) {
            throw I2Error(.storage, path: p, "output exists (use --force to overwrite)")
        }
    }

    public enum Kind: Equatable, Sendable { case file(FileFormat), directory }

    /// What an OUTPUT argument names. A directory only when it ends with "/" or already is one; a file
    /// otherwise, whose extension must be a known format (a usage error listing them if not).
    static func kind(of output: String) throws -> Kind {
        var isDir: ObjCBool = false
        if output.hasSuffix("/") || (FileManager.default.fileExists(atPath: output, isDirectory: &isDir) && isDir.boolValue) {
            return .directory
        }
        if let f = FileFormat(path: output) { return .file(f) }
        throw I2Error(.usage, "unknown output extension in '\(output)': expected one of \(FileFormat.extensions.joined(separator: ", ")), or a directory (end it with '/')")
    }
}
