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
        // A plain detached pthread (unnamed: Glibc's module lacks pthread_setname_np): Foundation's Thread
        // cost every run its object and start-up work.
        let reader = Unmanaged.passRetained(Reader(fd: fds[0], token: token)).toOpaque()
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let started = pthread_create(&thread, &attr, { arg in
            Unmanaged<Reader>.fromOpaque(arg!).takeRetainedValue().run()
            return nil
        }, reader)
        pthread_attr_destroy(&attr)
        if started != 0 { Unmanaged<Reader>.fromOpaque(reader).release() }
        for s in [SIGINT, SIGTERM, SIGHUP] {
            signal(s) { s in
                var b = UInt8(truncatingIfNeeded: s)
                _ = write(Signals.writeEnd, &b, 1)
            }
        }
    }

    /// The signal thread's loop: each byte read is a signal; the first stops the token, a second exits.
    private final class Reader {
        let fd: Int32
        let token: StopToken
        init(fd: Int32, token: StopToken) { self.fd = fd; self.token = token }

        func run() {
            var count = 0
            while true {
                var byte: UInt8 = 0
                let n = read(fd, &byte, 1)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                count += 1
                if count > 1 { TempFiles.removeAll(); _exit(128 + Int32(byte)) }
                token.stop(signal: Int32(byte))
            }
        }
    }
}
