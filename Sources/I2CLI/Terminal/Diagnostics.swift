// stderr is for people: one line per log event, prefixed with the program name, the level in color only
// on a terminal. The one place a LogLevel becomes text.
import Foundation
import I2Core

public enum Diagnostics {
    static let useColor: Bool = isatty(2) != 0 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
        && ProcessInfo.processInfo.environment["NO_COLOR"] == nil

    /// The least level shown.
    nonisolated(unsafe) public static var threshold = LogLevel.info

    public static func log(_ level: LogLevel, _ message: String) {
        guard level >= threshold else { return }
        switch level {
        case .debug: write("i2: debug: " + message + "\n")
        case .info: write("i2: " + message + "\n")
        case .warning: write("i2: \(tag("warning", "33")): \(message)\n")
        case .error: write("i2: \(tag("error", "31")): \(message)\n")
        }
    }

    public static func error(_ message: String) { log(.error, message) }

    private static func tag(_ label: String, _ color: String) -> String {
        useColor ? "\u{1b}[\(color)m\(label)\u{1b}[0m" : label
    }

    static func write(_ s: String) {
        var s = s
        s.withUTF8 { buf in _ = Foundation.write(2, buf.baseAddress, buf.count) }
    }
}
