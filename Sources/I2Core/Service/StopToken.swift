// The one stop mechanism: a token that a signal (through Signals) or a caller sets once. Engines poll
// `isStopped` between items; DCMTK's loops poll the same flag through `flag`; actions registered with
// `onStop` run on the signal thread (never in a signal handler) — e.g. stopping a tool's process group.
import Foundation

public final class StopToken: @unchecked Sendable {
    /// Read by C code (receive's accept loop, send's DIMSE waits) while the token lives.
    public let flag: UnsafeMutablePointer<Int32>
    private let lock = NSLock()
    private var actions: [() -> Void] = []
    public private(set) var signal: Int32 = 0

    public init() {
        flag = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        flag.initialize(to: 0)
    }

    deinit { flag.deallocate() }

    public var isStopped: Bool { flag.pointee != 0 }

    /// Stops (once): sets the flag, then runs the registered actions. `signal` is recorded for the exit status.
    public func stop(signal: Int32 = 0) {
        lock.lock()
        guard flag.pointee == 0 else { lock.unlock(); return }
        self.signal = signal
        flag.pointee = 1
        let run = actions
        lock.unlock()
        run.forEach { $0() }
    }

    /// Runs `action` when the token stops (at once if it already has), in the order registered.
    public func onStop(_ action: @escaping () -> Void) {
        lock.lock()
        if flag.pointee != 0 { lock.unlock(); action(); return }
        actions.append(action)
        lock.unlock()
    }
}

/// NSLock with a closure helper (one spelling for short critical sections).
final class NSLockShim: @unchecked Sendable {
    private let l = NSLock()
    func with<T>(_ body: () throws -> T) rethrows -> T { l.lock(); defer { l.unlock() }; return try body() }
}
