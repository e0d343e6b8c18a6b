// '-' as an input: paths from stdin, one per line (NUL-separated input is accepted too).
import Foundation

enum StandardInput {
    static func paths() -> [String] {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        // Split as bytes: in a Swift String "\r\n" is one Character, so splitting on "\n" kept CRLF lines together.
        let sep: UInt8 = data.contains(0) ? 0 : 0x0A
        return data.split(separator: sep).map { String(decoding: $0, as: UTF8.self).trimmingSuffixCR }.filter { !$0.isEmpty }
    }
}

extension String {
    var trimmingSuffixCR: String { hasSuffix("\r") ? String(dropLast()) : self }
}
