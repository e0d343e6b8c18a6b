// The one signal installer. The handler only writes the signal number to a pipe (async-signal-safe);
// a thread reads the pipe and stops the token, where the token's actions may take locks, allocate and
// log. A second signal while stopping ends the process at once (128+signal, temporaries removed), as
// shells expect.
import Foundation

public enum Signals {
    nonisolated(unsafe) private static var writeEnd: Int32 = -1
    private static let lock = NSLock()
    nonisolated(unsafe) private static var installed = false

    /// SIGINT, SIGTERM and SIGHUP stop `token`. SIGPIPE is ignored (a closed stdout becomes EPIPE).
    public static func install(stopping token: StopToken) {
        lock.lock(); defer { lock.unlock() }
        signal(SIGPIPE, SIG_IGN)
        guard !installed else { return }
        installed = true
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        writeEnd = fds[1]
        let readEnd = fds[0]
        let thread = Thread {
            var count = 0
            while true {
                var byte: UInt8 = 0
                let n = read(readEnd, &byte, 1)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                count += 1
                if count > 1 { TempFiles.removeAll(); _exit(128 + Int32(byte)) }
                token.stop(signal: Int32(byte))
            }
        }
        thread.name = "i2-signals"
        thread.start()
        for s in [SIGINT, SIGTERM, SIGHUP] {
            signal(s) { s in
                var b = UInt8(truncatingIfNeeded: s)
                _ = write(Signals.writeEnd, &b, 1)
            }
        }
    }
}
