// What makes a manifest line's output "complete and valid", so a re-run skips it: its directory holds
// `.i2-done.json`, written last (into the staging directory, which is then renamed into place in
// one step), recording
// - the input's absolute path, and a fingerprint of its content: every file i2 reads in it (its path
//   relative to the input, size and content hash), so a changed, added or removed input file redoes it;
// - the recipe: what the run was asked to do (command and options), so other options redo it;
// - every output file (path relative to the directory, size and content hash), so a truncated,
//   changed or deleted output redoes it.
// No time, pid or host goes in: the record, like the outputs, is the same whichever task wrote it.
import Foundation

struct DoneRecord: Equatable {
    static let fileName = ".i2-done.json"
    static let version = 1

    struct File: Equatable {
        var path: String
        var size: Int
        var hash: String
    }

    var input: String
    var fingerprint: String
    var recipe: String
    var outputs: [File]

    /// The fingerprint of a series directory: the files DicomScan would read, in its order.
    static func fingerprint(of directory: String) throws -> String {
        let (files, errors) = DicomScan.files(in: [directory])
        if let e = errors.first { throw e }
        var text = ""
        for f in files {
            text += relative(f, to: directory) + "\t" + describe(try FileBytes.read(f)) + "\n"
        }
        return Hash.hex(text)
    }

    /// "SIZE HASH" of some bytes.
    private static func describe(_ bytes: [UInt8]) -> String { "\(bytes.count) " + Hash.hex(bytes) }

    static func relative(_ path: String, to directory: String) -> String {
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }

    /// Every regular file under `directory` (hidden ones and the record itself excluded), sorted.
    static func outputs(in directory: String) throws -> [File] {
        let (files, errors) = DicomScan.files(in: [directory])
        if let e = errors.first { throw e }
        return try files.map { f in
            let bytes = try FileBytes.read(f)
            return File(path: relative(f, to: directory), size: bytes.count, hash: Hash.hex(bytes))
        }.sorted { $0.path < $1.path }
    }

    var json: [UInt8] {
        let object: [String: Any] = [
            "version": DoneRecord.version, "i2": "done-record", "input": input, "fingerprint": fingerprint, "recipe": recipe,
            "outputs": outputs.map { ["path": $0.path, "size": $0.size, "hash": $0.hash] as [String: Any] },
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted])) ?? Data()
        return [UInt8](data) + [10]
    }

    /// The record in `directory`, or why there is none usable.
    static func read(in directory: String) -> Result<DoneRecord, Invalid> {
        let path = directory + "/" + fileName
        guard FileManager.default.fileExists(atPath: path) else { return .failure(.missing) }
        guard let bytes = try? FileBytes.read(path),
              let o = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              o["version"] as? Int == version,
              let input = o["input"] as? String, let fingerprint = o["fingerprint"] as? String, let recipe = o["recipe"] as? String,
              let list = o["outputs"] as? [[String: Any]] else {
            return .failure(.unreadable)
        }
        var outputs: [File] = []
        for e in list {
            guard let p = e["path"] as? String, let s = e["size"] as? Int, let h = e["hash"] as? String else { return .failure(.unreadable) }
            outputs.append(File(path: p, size: s, hash: h))
        }
        return .success(DoneRecord(input: input, fingerprint: fingerprint, recipe: recipe, outputs: outputs))
    }

    enum Invalid: Error, Equatable, CustomStringConvertible {
        case missing, unreadable, otherInput(String), recipeChanged, inputChanged, outputChanged(String)
        var description: String {
            switch self {
            case .missing: return "no done-record"
            case .unreadable: return "its done-record is unreadable"
            case .otherInput(let p): return "its output directory holds the result of another input (\(p))"
            case .recipeChanged: return "made with other options"
            case .inputChanged: return "the input changed since it was made"
            case .outputChanged(let p): return "output \(p) is missing, truncated or changed"
            }
        }
    }

    /// Nil when the result in `directory` is complete and valid for this input and recipe; else why not.
    func check(input: String, fingerprint: () throws -> String, recipe: String, directory: String) -> Invalid? {
        if self.input != input { return .otherInput(self.input) }
        if self.recipe != recipe { return .recipeChanged }
        for f in outputs {
            let p = directory + "/" + f.path
            var st = stat()
            guard stat(p, &st) == 0, Int(st.st_size) == f.size, let bytes = try? FileBytes.read(p), Hash.hex(bytes) == f.hash else {
                return .outputChanged(f.path)
            }
        }
        guard let now = try? fingerprint(), now == self.fingerprint else { return .inputChanged }
        return nil
    }
}
