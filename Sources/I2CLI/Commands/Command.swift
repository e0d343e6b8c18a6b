// The one shape every subcommand has: its name, what it does, its flags and positionals, and a run
// function that builds the command's options from ParsedArguments and calls one I2Core engine with
// the invocation's context; the report it returns becomes the exit status in I2CLI.run.
import Foundation
import I2Core

/// What a command's run gets besides its arguments: the engine context wired to the terminal, and the
/// stdout settings (-0, --json) it may change.
public struct Invocation: Sendable {
    public let context: EngineContext
    public let terminal: TerminalOutput
}

/// How a command meets SIGINT/SIGTERM. Services and network commands poll the stop token and end the
/// item in hand; one-shot converters are stopped at once, their temporaries removed (128+signal).
public enum StopBehaviour: Sendable { case graceful, immediate }

public struct Command: Sendable {
    public var name: String
    public var summary: String              // one line
    public var description: String          // paragraphs for --help and the man page
    public var flags: [Flag]
    public var positionals: [Positional]
    public var examples: [(command: String, meaning: String)]
    public var extraManSections: [(title: String, body: String)]
    public var exitStatuses: [ExitStatus]
    public var stop: StopBehaviour
    public var run: @Sendable (ParsedArguments, Invocation) throws -> Report

    public init(name: String, summary: String, description: String, flags: [Flag], positionals: [Positional],
                examples: [(command: String, meaning: String)] = [], extraManSections: [(title: String, body: String)] = [],
                exitStatuses: [ExitStatus] = ExitStatus.general, stop: StopBehaviour = .immediate,
                run: @escaping @Sendable (ParsedArguments, Invocation) throws -> Report) {
        self.name = name
        self.summary = summary
        self.description = description
        self.flags = flags + [CommonFlags.help]
        self.positionals = positionals
        self.examples = examples
        self.extraManSections = extraManSections
        self.exitStatuses = exitStatuses
        self.stop = stop
        self.run = run
    }

    public var synopsis: String {
        (["i2", name, "[OPTIONS]"] + positionals.map(\.usage)).joined(separator: " ")
    }
}

/// Flags shared by several commands, declared once.
public enum CommonFlags {
    public static let help = Flag("help", short: "h", summary: "Print help and exit")
    public static let null = Flag("null", short: "0", summary: "Separate output paths with NUL instead of newline",
                                  details: "For `xargs -0` and file names with newlines.")
    public static let json = Flag("json", summary: "Print one JSON object per line (with a \"path\" key) instead of each path")
    public static let metricsFile = Flag("metrics-file", value: "PATH", summary: "Write Prometheus metrics to PATH every --metrics-interval seconds (for node_exporter)",
                                         details: "Text exposition format 0.0.4, rewritten atomically (a hidden temporary file in the same directory, then rename), so node_exporter's textfile collector (Debian prometheus-node-exporter: --collector.textfile.directory, which reads *.prom files) never reads half a file. Counters grow for as long as the process runs and start at 0 again after a restart. The names and their meaning are listed in i2-status(1), METRICS. The directory must exist.",
                                         completion: .file(extensions: ["prom"]))
    public static let metricsInterval = Flag("metrics-interval", value: "SECONDS", summary: "Rewrite the metrics file (and receive's heartbeat) this often", defaultValue: "5")
    public static let allowOutsideData = Flag("allow-outside-data", summary: "Read a detached NRRD/MetaImage data file outside the header's folder",
                                              details: "Without it, a .nhdr `data file:` or .mhd `ElementDataFile` that is an absolute path or leaves the header's folder (`../`) is refused: a header must not turn an arbitrary readable file into voxels.")
}

extension ParsedArguments {
    /// --metrics-file (its directory checked now: a typo fails at start, not silently every 5 s) and --metrics-interval.
    func metrics() throws -> (file: String?, interval: Double) {
        let interval = try seconds(CommonFlags.metricsInterval, max: 3600)
        if interval < 0.05 { throw I2Error(.usage, "--metrics-interval: at least 0.05 s") }
        guard let file = given(CommonFlags.metricsFile) else { return (nil, interval) }
        let dir = (file as NSString).deletingLastPathComponent
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.isEmpty ? "." : dir, isDirectory: &isDir), isDir.boolValue else {
            throw I2Error(.usage, "--metrics-file: \(dir.isEmpty ? "." : dir) is not a directory")
        }
        return (file, interval)
    }
}
