// The one stop mechanism: a token that a signal (through Signals) or a caller sets once. Engines poll
// `isStopped` between items; DCMTK's loops poll the same flag through `flag`; actions registered with
// `onStop` run on the signal thread (never in a signal handler) — e.g. stopping a tool's process group.
import Foundation

public final class StopToken: @unchecked Sendable {
    /// Read by C code (receive's accept loop, send's DIMSE waits). Allocated once, never freed: a token
    /// may outlive any one engine run.
    public let flag: UnsafeMutablePointer<Int32>
    private let lock = NSLock()
    private var actions: [Int: () -> Void] = [:]
    private var nextID = 0
    public private(set) var signal: Int32 = 0

    public init() {
        flag = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        flag.initialize(to: 0)
    }

    public var isStopped: Bool { flag.pointee != 0 }

    /// Stops (once): sets the flag, then runs the registered actions. `signal` is recorded for the exit status.
    public func stop(signal: Int32 = 0) {
        lock.lock()
        guard flag.pointee == 0 else { lock.unlock(); return }
        self.signal = signal
        flag.pointee = 1
        let run = actions.sorted { $0.key < $1.key }.map(\.value)
        lock.unlock()
        run.forEach { $0() }
    }

    /// Runs `action` when the token stops (at once if it already has). Returns a handle for `cancel`.
    @discardableResult
    public func onStop(_ action: @escaping () -> Void) -> Int {
        lock.lock()
        if flag.pointee != 0 { lock.unlock(); action(); return -1 }
        nextID += 1
        actions[nextID] = action
        lock.unlock()
        return nextID
    }

    public func cancel(_ id: Int) { lock.lock(); actions[id] = nil; lock.unlock() }

    /// Sleeps up to `seconds`, waking early when stopped. Returns false when stopped.
    public func sleep(_ seconds: Double) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while !isStopped {
            let left = end.timeIntervalSinceNow
            if left <= 0 { return true }
            usleep(UInt32(min(left, 0.05) * 1_000_000))
        }
        return false
    }
}

/// NSLock with a closure helper (one spelling for short critical sections).
final class NSLockShim: @unchecked Sendable {
    private let l = NSLock()
    func with<T>(_ body: () throws -> T) rethrows -> T { l.lock(); defer { l.unlock() }; return try body() }
}
