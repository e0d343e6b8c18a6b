// Reads the next file (header and pixel data) on another thread while the current one is on the wire,
// so the peer's time to store and answer hides our disk and parsing time. One file ahead, and only
// files up to 64 MiB: a larger one is read while it is sent, never held in memory twice.
import Foundation
import I2DICOM

final class ReadAhead {
    static let maxBytes: UInt64 = 64 << 20
    private let queue = DispatchQueue(label: "i2.send.read-ahead")
    private let group = DispatchGroup()
    private var pendingPath: String?
    private var pendingResult: Result<FileToSend, Error>?

    /// Starts reading `path` in the background (dropping a read-ahead nobody took).
    func start(_ path: String) {
        if pendingPath == path { return }
        if pendingPath != nil { settle() }
        guard let size = InputFiles.size(path), size <= ReadAhead.maxBytes else { return }
        pendingPath = path
        group.enter()
        queue.async { [self] in
            pendingResult = Result { try FileToSend(path: path, inMemory: true) }
            group.leave()
        }
    }

    /// The file: the read-ahead copy when there is one for `path`, else read now (bulk data lazily).
    func take(_ path: String) throws -> FileToSend {
        guard pendingPath == path else { return try FileToSend(path: path, inMemory: false) }
        group.wait()    // also makes the background thread's write of pendingResult visible here
        let result = pendingResult!
        pendingPath = nil
        pendingResult = nil
        return try result.get()
    }

    /// Waits for and drops a read-ahead in flight.
    func settle() {
        guard pendingPath != nil else { return }
        group.wait()
        pendingPath = nil
        pendingResult = nil
    }
}
