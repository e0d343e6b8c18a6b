// The exclusive claim on a unit: flock(LOCK_EX|LOCK_NB) on UNIT/.i2-watch-<key>.lock.
// Why flock rather than an O_EXCL lock file: the kernel drops the lock when its holder dies, so a
// stale lock (watcher killed, machine rebooted) never needs guessing from pids or ages, and on NFS
// (Linux maps flock to NFS byte-range locks) it holds across machines. The holder's pid, host and
// command pid are still written into the file so people (and the messages) can see who holds it.
// The command's process inherits the lock descriptor, so if the watcher is killed with SIGKILL the
// orphaned command keeps the unit claimed until it ends: a restarted watcher never runs it twice at once.
import Foundation

public final class SeriesLock {
    public let path: String
    public private(set) var fd: Int32

    private init(path: String, fd: Int32) { self.path = path; self.fd = fd }

    public enum Outcome {
        case acquired(SeriesLock)
        case busy(holder: String)      // who holds it, as recorded in the file ("" if unknown)
        case failed(String)            // the lock could not be tried (permissions, flock unsupported)
    }

    /// Tries to claim without waiting. The file is never unlinked: removing a flock file while another
    /// process has it open would let a third process lock a new file of the same name.
    public static func tryAcquire(_ path: String) -> Outcome {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { return .failed("cannot open the lock file: \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            let holder = Self.holder(fd)
            close(fd)
            if e == EWOULDBLOCK || e == EAGAIN { return .busy(holder: holder) }
            return .failed("cannot lock: \(String(cString: strerror(e)))")
        }
        let lock = SeriesLock(path: path, fd: fd)
        lock.note(child: nil)
        return .acquired(lock)
    }

    /// Records holder details: "pid=… host=… child=… since=…" (for people; not used to decide staleness).
    public func note(child: Int32?) {
        guard fd >= 0 else { return }
        var text = "pid=\(getpid()) host=\(Self.hostname())"
        if let c = child { text += " child=\(c)" }
        text += " since=\(WatchClock.timestamp())\n"
        _ = ftruncate(fd, 0)
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    public func release() {
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)       // an empty file: nobody holds it
        close(fd)                  // closing drops the flock (the command's copy is gone by now)
        fd = -1
    }

    deinit { release() }

    static func holder(_ fd: Int32) -> String {
        var buf = [UInt8](repeating: 0, count: 256)
        let n = pread(fd, &buf, buf.count, 0)
        guard n > 0 else { return "" }
        return String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public static func hostname() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, buf.count)
        return String(cString: buf)
    }
}
