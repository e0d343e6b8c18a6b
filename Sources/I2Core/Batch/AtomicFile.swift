// Atomic writes: data goes to a hidden temporary file in the target directory, then is renamed into
// place, so a reader (or `i2 watch`) never sees half a file and a failure leaves nothing behind.
import Foundation
import I2Model

public enum AtomicFile {
    /// Writes `body`'s output to `path` atomically. `body` receives the temporary path to write to.
    /// On any error the temporary file is removed and the error is rethrown.
    public static func write(to path: String, durable: Bool = false, _ body: (String) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let tmp = dir + "/." + url.lastPathComponent + ".i2tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        TempFiles.add(tmp)
        defer { TempFiles.remove(tmp) }
        do {
            try body(tmp)
            if durable, let fd = Optional(open(tmp, O_RDONLY)), fd >= 0 { fsync(fd); close(fd) }
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
    }

    /// Writes bytes atomically.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try write(to: path) { tmp in try FileBytes.write(bytes, to: tmp) }
    }
}

/// Plain whole-file byte I/O with errors naming the path.
public enum FileBytes {
    public static func read(_ path: String) throws -> [UInt8] {
        guard let fh = fopen(path, "rb") else {
            throw I2Error(.storage, path: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { fclose(fh) }
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

    /// Unlinks every temporary in flight.
    public static func removeAll() {
        lock.lock()
        for p in paths { unlink(p) }
        paths.removeAll()
        lock.unlock()
    }
}
