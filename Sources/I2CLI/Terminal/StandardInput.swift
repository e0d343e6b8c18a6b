// '-' as an input: paths from stdin, one per line (NUL-separated input is accepted too).
import Foundation

enum StandardInput {
    static func paths() -> [String] {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        let text = String(decoding: data, as: UTF8.self)
        let sep: Character = text.contains("\0") ? "\0" : "\n"
        return text.split(separator: sep).map { String($0).trimmingSuffixCR }.filter { !$0.isEmpty }
    }
}

extension String {
    var trimmingSuffixCR: String { hasSuffix("\r") ? String(dropLast()) : self }
}
