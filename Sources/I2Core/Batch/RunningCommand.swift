// A command started for someone else's work (watch's --exec, process's tools): stdout and stderr
// appended to a log, stdin from /dev/null, in its own process group (so the whole pipeline it starts
// can be stopped at once, and a Ctrl-C at the terminal reaches only i2, which decides).
// posix_spawn and waitpid(WNOHANG) let one thread poll many commands.
import Foundation
import I2DICOM

/// One running command.
public final class RunningCommand {
    public let pid: pid_t
    public private(set) var exitStatus: Int32?   // 0…255, or 128+signal when killed by a signal

    /// fd number the unit's lock descriptor gets in the command (high, so scripts' own fds 3…9 are free).
    static let lockFD: Int32 = 200

    public convenience init(shellCommand: String, environment: [String: String], logPath: String, lockFD: Int32?) throws {
        try self.init(argv: Self.shell + [shellCommand], environment: environment, logPath: logPath, lockFD: lockFD)
    }

    /// bash with pipefail where there is one (Debian: always), so `i2 process … | i2 send … -` fails
    /// when process fails, not only when send does; else POSIX sh, whose pipeline status is the last command's.
    public static let shell: [String] = access("/bin/bash", X_OK) == 0 ? ["/bin/bash", "-o", "pipefail", "-c"] : ["/bin/sh", "-c"]

    /// Starts `argv` (argv[0] searched in PATH when it has no '/'), optionally in `directory`; its stdout
    /// goes to `output` when given (a client whose answer is read back), else to the log with stderr.
    public init(argv: [String], environment: [String: String], logPath: String, lockFD: Int32? = nil,
                directory: String? = nil, output: String? = nil) throws {
        guard let program = argv.first, !program.isEmpty else { throw I2Error(.usage, "empty command") }
        let logFD = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if logFD < 0 { throw I2Error(.storage, path: logPath, "cannot open the log: \(String(cString: strerror(errno)))") }
        defer { close(logFD) }
        let outFD = output.map { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) } ?? logFD
        if outFD < 0 { throw I2Error(.storage, path: output, "cannot open: \(String(cString: strerror(errno)))") }
        defer { if outFD != logFD { close(outFD) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outFD, 1)
        posix_spawn_file_actions_adddup2(&actions, logFD, 2)
        if let d = directory {
            guard let addchdir = Self.addchdir else { throw I2Error(.internal, "cannot start \(program) in \(d): no posix_spawn_file_actions_addchdir_np") }
            _ = addchdir(&actions, d)
        }
        // dup2 clears close-on-exec on the copy: only this unit's lock is inherited (see SeriesLock).
        if let l = lockFD { posix_spawn_file_actions_adddup2(&actions, l, Self.lockFD) }
        Self.closeOnExecAll()
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setpgroup(&attr, 0)
        // The watcher ignores or catches signals; the command starts with the defaults.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGPIPE, SIGHUP] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let envp = DicomEnvironment.forChild(environment).map { "\($0.key)=\($0.value)" }.sorted()
        var cargv = argv.map { strdup($0) } + [nil]
        var cenv = envp.map { strdup($0) } + [nil]
        defer { (cargv + cenv).forEach { free($0) } }
        var child: pid_t = 0
        let rc = program.contains("/") ? posix_spawn(&child, program, &actions, &attr, &cargv, &cenv)
                                       : Self.spawnFromPath(&child, program, &actions, &attr, &cargv, &cenv, environment["PATH"])
        if rc != 0 { throw I2Error(.toolFailed, "cannot start \(program): \(String(cString: strerror(rc)))") }
        pid = child
    }

    /// glibc ≥ 2.29 has it, but Swift's Glibc module does not export it.
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    static let addchdir: AddChdir? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np")
        .map { unsafeBitCast($0, to: AddChdir.self) }

    /// posix_spawnp searches the parent's PATH; the command's own PATH is the one that should count.
    static func spawnFromPath(_ child: inout pid_t, _ program: String, _ actions: inout posix_spawn_file_actions_t,
                              _ attr: inout posix_spawnattr_t, _ argv: inout [UnsafeMutablePointer<CChar>?],
                              _ envp: inout [UnsafeMutablePointer<CChar>?], _ path: String?) -> Int32 {
        var last = ENOENT
        for dir in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = String(dir) + "/" + program
            guard access(candidate, X_OK) == 0 else { continue }
            last = posix_spawn(&child, candidate, &actions, &attr, &argv, &envp)
            if last == 0 { return 0 }
        }
        return last
    }

    /// Marks every descriptor above 2 close-on-exec. Nothing else may be inherited: a stray descriptor
    /// (the watcher's own stdout pipe, or one its parent leaked) held by a command that outlives a
    /// killed watcher would keep that pipe's reader waiting. (posix_spawn's closefrom is not importable.)
    static func closeOnExecAll() {
        var fds: [Int32] = []
        if let d = opendir("/proc/self/fd") {
            while let e = readdir(d) {
                let name = withUnsafePointer(to: e.pointee.d_name) {
                    $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                }
                if let fd = Int32(name), fd > 2 { fds.append(fd) }
            }
            closedir(d)
        } else {
            fds = Array(3..<1024)
        }
        for fd in fds {
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 && flags & FD_CLOEXEC == 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    /// Appends `text` to a command's log (O_APPEND: lines of i2 and of the command interleave whole).
    public static func appendLog(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = text.withCString { Foundation.write(fd, $0, strlen($0)) }
        close(fd)
    }

    /// Reaps the command if it ended; true once it has.
    @discardableResult
    public func poll() -> Bool {
        if exitStatus != nil { return true }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        guard r == pid else { return false }
        let sig = status & 0x7f
        exitStatus = sig == 0 ? (status >> 8) & 0xff : 128 + sig
        return true
    }

    /// Signals the command's whole process group.
    public func signal(_ sig: Int32) { if exitStatus == nil { kill(-pid, sig) } }

    /// Stops the command's whole process group: SIGTERM, then SIGKILL if it has not ended after `grace` seconds.
    public func terminate(grace: Double) {
        signal(SIGTERM)
        if !wait(seconds: grace) { signal(SIGKILL); _ = wait(seconds: 5) }
    }

    /// Waits (polling) until it ended or `seconds` passed.
    public func wait(seconds: Double) -> Bool {
        let end = WatchClock.now() + seconds
        while !poll() {
            if WatchClock.now() >= end { return false }
            usleep(20_000)
        }
        return true
    }
}

