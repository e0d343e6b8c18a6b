// The files behind `i2 send`'s inputs: files as given, directories walked recursively (sorted, hidden
// entries skipped) with readdir's file types, so a large study costs no per-file stat calls.
import Foundation
import I2Model

enum InputFiles {
    static func expand(_ inputs: [String]) -> (files: [String], errors: [I2Error]) {
        var files: [String] = []
        var errors: [I2Error] = []
        for input in inputs {
            var st = stat()
            guard stat(input, &st) == 0 else {
                errors.append(I2Error(.storage, path: input, String(cString: strerror(errno))))
                continue
            }
            if st.st_mode & S_IFMT == S_IFDIR { walk(input, into: &files, errors: &errors) } else { files.append(input) }
        }
        return (files, errors)
    }

    private static func walk(_ dir: String, into files: inout [String], errors: inout [I2Error]) {
        guard let d = opendir(dir) else {
            errors.append(I2Error(.storage, path: dir, "cannot read directory: \(String(cString: strerror(errno)))"))
            return
        }
        var entries: [(name: String, type: UInt8)] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix(".") { continue }
            entries.append((name, e.pointee.d_type))
        }
        closedir(d)
        let base = dir.hasSuffix("/") ? dir : dir + "/"
        for (name, type) in entries.sorted(by: { $0.name < $1.name }) {
            let path = base + name
            var kind = Int32(type)
            if kind == DT_UNKNOWN || kind == DT_LNK {    // some filesystems do not say; links are followed
                var st = stat()
                guard stat(path, &st) == 0 else { continue }
                kind = st.st_mode & S_IFMT == S_IFDIR ? Int32(DT_DIR) : st.st_mode & S_IFMT == S_IFREG ? Int32(DT_REG) : Int32(DT_UNKNOWN)
            }
            if kind == DT_DIR { walk(path, into: &files, errors: &errors) } else if kind == DT_REG { files.append(path) }
        }
    }

    /// Size in bytes, or nil when the file cannot be stat'ed.
    static func size(_ path: String) -> UInt64? {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_size) : nil
    }
}
