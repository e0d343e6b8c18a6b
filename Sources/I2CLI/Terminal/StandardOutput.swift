// stdout is data: one produced path per line. A closed pipe (EPIPE; Signals ignores SIGPIPE) ends
// the run quietly.
import Foundation

public enum StandardOutput {
    nonisolated(unsafe) static var nulSeparated = false

    /// Prints one record (a path), newline- or NUL-terminated, unbuffered so pipelines see it at once.
    public static func record(_ line: String) {
        write(line + (nulSeparated ? "\0" : "\n"))
    }

    public static func write(_ s: String) {
        var s = s
        s.withUTF8 { buf in
            var off = 0
            while off < buf.count {
                let n = Foundation.write(1, buf.baseAddress! + off, buf.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno == EPIPE { exit(0) }   // reader went away: nothing left to tell anyone
                    exit(ExitStatus.partialFailure.rawValue)
                }
                off += n
            }
        }
    }
}
