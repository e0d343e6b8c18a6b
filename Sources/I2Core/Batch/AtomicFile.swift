// The one home of atomic, durable file placement. Every writer of i2 goes through here:
// - `write`: data goes to a hidden temporary file in the target directory, then is renamed into place,
//   so a reader (or `i2 watch`) never sees half a file and a failure leaves nothing behind. `durable`
//   also fsyncs the file before the rename and the directory after it (watch state).
// - `move`: a finished file or directory (written elsewhere on the same filesystem) put into place with
//   one rename, optionally fsync'ed (`i2 receive`'s instances: see the top of InstanceStore.swift).
// - `replace`: a staged directory put in the place of an older one (`i2 process` results).
// - `sync`: fsync of one file or directory.
import Foundation
import I2Model

public enum AtomicFile {
    /// Writes `body`'s output to `path` atomically. `body` receives the temporary path to write to.
    /// On any error the temporary file is removed and the error is rethrown. `durable`: the data and the
    /// rename are on disk when this returns (fsync of the file, rename, fsync of the directory).
    public static func write(to path: String, durable: Bool = false, _ body: (String) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let tmp = dir + "/." + url.lastPathComponent + ".i2tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        TempFiles.add(tmp)
        defer { TempFiles.remove(tmp) }
        do {
            try body(tmp)
            if durable { try sync(tmp) }
            if rename(tmp, path) != 0 {
                throw I2Error(.storage, path: path, "cannot rename into place: \(String(cString: strerror(errno)))")
            }
        } catch var e as I2Error {
            unlink(tmp)
            if e.path == tmp { e.path = path }   // name the file the user asked for, not our temporary
            throw e
        } catch {
            unlink(tmp)
            throw error
        }
        if durable { try sync(dir) }
    }

    /// Writes bytes atomically.
    public static func write(_ bytes: [UInt8], to path: String, durable: Bool = false) throws {
        try write(to: path, durable: durable) { tmp in try FileBytes.write(bytes, to: tmp) }
    }

    /// What `move` makes durable after the rename.
    public struct Sync: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// fsync the moved file (or directory) under its new name: its data, and on journaling
        /// filesystems the rename with it.
        public static let file = Sync(rawValue: 1)
        /// fsync the target's directory: the new name itself.
        public static let directory = Sync(rawValue: 2)
    }

    /// Puts the finished file or directory `source` at `target` with one rename (same filesystem; an
    /// existing target file is replaced), then fsyncs what `sync` names. Nothing is fsync'ed by default.
    public static func move(_ source: String, to target: String, sync what: Sync = []) throws {
        if rename(source, target) != 0 {
            throw I2Error(.storage, path: target, "cannot move \(source) into place: \(String(cString: strerror(errno)))")
        }
        if what.contains(.file) { try sync(target) }
        if what.contains(.directory) { try sync(URL(fileURLWithPath: target).deletingLastPathComponent().path) }
    }

    /// Replaces directory `final` by `staging`: the old one (if any) is renamed aside first and removed
    /// after, so a reader sees either the old directory or the new one, never a mixture. On failure the
    /// old one is back in place and `staging` is removed.
    public static func replace(_ final: String, with staging: String, sync what: Sync = []) throws {
        var aside: String?
        if FileManager.default.fileExists(atPath: final) {
            aside = staging + ".old"
            if rename(final, aside!) != 0 {
                throw I2Error(.storage, path: final, "cannot replace the existing result: \(String(cString: strerror(errno)))")
            }
        }
        do {
            try move(staging, to: final)
        } catch {
            if let a = aside { _ = rename(a, final) }
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
        if let a = aside { try? FileManager.default.removeItem(atPath: a) }
        if what.contains(.file) { try sync(final) }
        if what.contains(.directory) { try sync(URL(fileURLWithPath: final).deletingLastPathComponent().path) }
    }

    /// Everything written to the filesystem holding `path` made durable at once (syncfs(2)): one journal
    /// commit for a group of files where an fsync each costs one commit each. Falls back to fsync of
    /// each of `files` where syncfs cannot be had.
    public static func syncGroup(_ files: [String], on path: String) throws {
        typealias SyncFS = @convention(c) (Int32) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syncfs") {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw I2Error(.storage, path: path, "cannot open for syncfs: \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            if unsafeBitCast(symbol, to: SyncFS.self)(fd) == 0 { return }
            throw I2Error(.storage, path: path, "syncfs failed: \(String(cString: strerror(errno)))")
        }
        for f in files { try sync(f) }
    }

    /// fsync of a file or directory.
    public static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw I2Error(.storage, path: path, "cannot open for fsync: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        if fsync(fd) != 0 { throw I2Error(.storage, path: path, "fsync failed: \(String(cString: strerror(errno)))") }
    }
}

/// Plain whole-file byte I/O with errors naming the path.
public enum FileBytes {
    public static func read(_ path: String) throws -> [UInt8] {
        guard let fh = fopen(path, "rb") else {
            throw I2Error(.storage, path: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { fclose(fh) }
        // Only regular files: fopen opens a directory too, and ftello then says 2^63-1 bytes (a NRRD
        // 'data file: .' aborted allocating that); a device (/dev/zero) has no end to read to.
        var st = stat()
        guard fstat(fileno(fh), &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw I2Error(.badInput, path: path, "not a regular file")
        }
        fseeko(fh, 0, SEEK_END)
        let n = Int(ftello(fh))
        fseeko(fh, 0, SEEK_SET)
        var out = [UInt8](repeating: 0, count: max(n, 0))
        let got = out.withUnsafeMutableBytes { fread($0.baseAddress, 1, n, fh) }
        if got != n { throw I2Error(.storage, path: path, "read failed after \(got) of \(n) bytes") }
        return out
    }

    /// Writes several buffers in order to a new file (no atomicity: callers use AtomicFile).
    public static func write(_ parts: [[UInt8]], to path: String) throws {
        guard let fh = fopen(path, "wb") else {
            throw I2Error(.storage, path: path, "cannot create: \(String(cString: strerror(errno)))")
        }
        for p in parts where !p.isEmpty {
            let n = p.withUnsafeBytes { fwrite($0.baseAddress, 1, p.count, fh) }
            if n != p.count {
                let reason = String(cString: strerror(errno))
                fclose(fh)
                throw I2Error(.storage, path: path, "write failed: \(reason)")
            }
        }
        if fclose(fh) != 0 { throw I2Error(.storage, path: path, "write failed: \(String(cString: strerror(errno)))") }
    }
    public static func write(_ bytes: [UInt8], to path: String) throws { try write([bytes], to: path) }
}

/// Temporary files being written right now, so SIGINT/SIGTERM can remove them before the process
/// dies: an interrupted run leaves neither a partial output nor a hidden temporary behind.
/// The temporaries being written right now, so a stop can remove them (I2CLI, on a signal, for
/// commands that stop at once). Removal runs on the signal thread, never in a signal handler.
public enum TempFiles {
    nonisolated(unsafe) private static var paths = Set<String>()
    private static let lock = NSLock()

    static func add(_ p: String) { lock.lock(); paths.insert(p); lock.unlock() }
    static func remove(_ p: String) { lock.lock(); paths.remove(p); lock.unlock() }

    /// Runs `body` on `path` when it is a regular file; a pipe or device (`<(curl …)`, /dev/stdin) is
    /// first copied to a temporary, because DICOM is read with seeks. The read blocks like any read
    /// of a pipe, so a signal still stops the run there.
    public static func spooled<T>(_ path: String, _ body: (String) throws -> T) throws -> T {
        var st = stat()
        if stat(path, &st) != 0 || (st.st_mode & S_IFMT) == S_IFREG || (st.st_mode & S_IFMT) == S_IFDIR {
            return try body(path)
        }
        let dir = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(dir)/i2-spool-XXXXXX".utf8CString)
        let out = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard out >= 0 else { throw I2Error(.storage, path: dir, "cannot create a temporary: \(String(cString: strerror(errno)))") }
        let tmp = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
        add(tmp)
        defer { unlink(tmp); remove(tmp) }
        do {
            defer { close(out) }
            let input = open(path, O_RDONLY)
            guard input >= 0 else { throw I2Error(.storage, path: path, "cannot open: \(String(cString: strerror(errno)))") }
            defer { close(input) }
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                if n == 0 { break }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw I2Error(.storage, path: path, "read failed: \(String(cString: strerror(errno)))")
                }
                var done = 0
                while done < n {
                    let w = buffer.withUnsafeBytes { write(out, $0.baseAddress! + done, n - done) }
                    if w < 0 {
                        if errno == EINTR { continue }
                        throw I2Error(.storage, path: tmp, "cannot spool \(path): \(String(cString: strerror(errno)))")
                    }
                    done += w
                }
            }
        }
        do {
            return try body(tmp)
        } catch var e as I2Error {
            if e.path == tmp { e.path = path }   // name the user's file, not our temporary
            throw e
        }
    }

    /// Unlinks every temporary in flight.
    public static func removeAll() {
        lock.lock()
        for p in paths { unlink(p) }
        paths.removeAll()
        lock.unlock()
    }
}
