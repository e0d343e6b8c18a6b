// stderr is for people: warnings and errors prefixed with the program name, color only on a TTY.
import Foundation
import I2Core

public enum Diagnostics {
    static let useColor: Bool = isatty(2) != 0 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
        && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    nonisolated(unsafe) public static var quiet = false

    /// The least level shown (--quiet: errors only; --verbose: debug too).
    nonisolated(unsafe) public static var threshold = LogLevel.info

    /// The one place a level becomes a stderr line.
    public static func log(_ level: LogLevel, _ message: String) {
        guard level >= (quiet ? .error : threshold) else { return }
        switch level {
        case .debug: write("i2: debug: " + message + "\n")
        case .info: write("i2: " + message + "\n")
        case .warning: emit("warning", "33", message)
        case .error: emit("error", "31", message)
        }
    }

    public static func error(_ message: String) { emit("error", "31", message) }
    public static func warning(_ message: String) { if !quiet { emit("warning", "33", message) } }
    public static func info(_ message: String) { if !quiet { write("i2: " + message + "\n") } }

    private static func emit(_ label: String, _ color: String, _ message: String) {
        let tag = useColor ? "\u{1b}[\(color)m\(label)\u{1b}[0m" : label
        write("i2: \(tag): \(message)\n")
    }
    static func write(_ s: String) {
        var s = s
        s.withUTF8 { buf in _ = Foundation.write(2, buf.baseAddress, buf.count) }
    }
}
