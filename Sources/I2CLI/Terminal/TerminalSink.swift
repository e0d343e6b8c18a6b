// The engines' events as a person and a pipeline see them: outputs on stdout (a path per line, NUL
// with -0, one JSON object per line with --json), logs and failures on stderr, progress on one
// rewritten stderr line only when stderr is a terminal.
import Foundation
import I2Core

public final class TerminalOutput: @unchecked Sendable {
    public var json = false
    public var nulSeparated = false
    private var progressShown = false
    private let progressEnabled = isatty(2) != 0

    public init() {}

    public lazy var sink: EventSink = EventSink { [unowned self] event in self.handle(event) }

    func handle(_ event: Event) {
        switch event {
        case .log(let level, let message):
            clearProgress()
            Diagnostics.log(level, message)
        case .failed(let e):
            clearProgress()
            Diagnostics.log(.error, e.description)
        case .output(let o):
            StandardOutput.nulSeparated = nulSeparated
            StandardOutput.record(json ? o.jsonLine : o.path)
        case .progress(let done, let total, let unit):
            guard progressEnabled else { return }
            Diagnostics.write("\r\u{1b}[Ki2: \(done)" + (total > 0 ? " of \(total)" : "") + " \(unit)")
            progressShown = true
        }
    }

    /// Removes the progress line before other stderr output (and at the end of a run).
    public func clearProgress() {
        guard progressShown else { return }
        Diagnostics.write("\r\u{1b}[K")
        progressShown = false
    }
}
