// i2 process's engine: for each series directory, check the tool accepts it, convert it to the input
// the tool wants, run the tool (log, timeout), turn what it wrote into DICOM in a hidden staging
// directory, and only then move that into place as OUT/<SeriesInstanceUID>-<tool>. A failure names the
// series, the reason and the log, and leaves no result; the other series go on.
import Foundation
import I2Model

public struct ProcessOptions: Sendable {
    public var tool: ToolSpec
    public var series: [String]
    public var output: String
    /// Parent of the per-series work directories; default OUT/.i2-work.
    public var work: String?
    public var timeout: Double?
    public var parameters: [String: String] = [:]
    public var keepWork = false
    public var overwrite = false
    public init(tool: ToolSpec, series: [String], output: String) {
        self.tool = tool
        self.series = series
        self.output = output
    }
}

public enum ProcessRun: Engine {
    /// Processes every series; each result file is reported once its directory is in place, under the
    /// output directory as given (a relative -o gives relative paths).
    public static func run(_ o: ProcessOptions, _ context: EngineContext) -> Report {
        let result = Reporter(context)
        var parameters = o.tool.parameters
        for (k, v) in o.parameters {
            guard parameters[k] != nil else {
                let known = parameters.keys.sorted().joined(separator: ", ")
                return result.fatal(I2Error(.usage, "--param \(k): \(o.tool.name) has no such parameter (\(known.isEmpty ? "it has none" : "it has: " + known))"))
            }
            parameters[k] = v
        }
        do {
            try FileManager.default.createDirectory(atPath: o.output, withIntermediateDirectories: true)
        } catch {
            return result.fatal(I2Error(.storage, path: o.output, "cannot create the output directory: \(error.localizedDescription)"))
        }
        let shownOutput = o.output.hasSuffix("/") && o.output.count > 1 ? String(o.output.dropLast()) : o.output
        for dir in o.series {
            if context.stop.isStopped { break }
            do {
                switch try one(absolute(dir), o, parameters: parameters, context) {
                case .produced(let paths):
                    let out = absolute(o.output)
                    for p in paths { result.output(p.hasPrefix(out + "/") ? shownOutput + p.dropFirst(out.count) : p) }
                case .skipped(let why):
                    context.events.warning("\(dir): skipped: \(why)")
                }
            } catch let e as I2Error where e.kind == .interrupted {
                context.events.error("\(dir): \(e.detail); nothing was produced for it")
                break
            } catch let e as I2Error {
                result.failed(e.path == nil ? e.at(dir) : e)
            } catch {
                result.failed(I2Error(.storage, path: dir, "\(error)"))
            }
        }
        return result.finish()
    }

    enum Outcome { case produced([String]), skipped(String) }

    static func one(_ seriesDir: String, _ o: ProcessOptions, parameters: [String: String], _ context: EngineContext) throws -> Outcome {
        let warn = context.events.warning
        let tool = o.tool
        let series = try SeriesInput.load(seriesDir)
        if let why = tool.refusal(modality: series.stack.first.modality, sopClass: series.stack.first.sopClassUID,
                                  slices: series.stack.sliceCount) {
            return .skipped(why)
        }
        let out = absolute(o.output)
        let name = series.uid + "-" + tool.name
        let final = out + "/" + name
        if !o.overwrite, FileManager.default.fileExists(atPath: final) {
            throw I2Error(.storage, path: final, "a result of \(tool.name) for this series exists (use --force to replace it)")
        }
        // Per directory, not only per series UID: the same series received twice (say under another
        // PatientID) must not share, or clear, the other's work directory and log.
        let work = absolute(o.work ?? out + "/.i2-work") + "/" + name + "-" + Hash.hex(seriesDir).prefix(8)
        try? FileManager.default.removeItem(atPath: work)   // what a failed earlier run left
        let toolOutput = work + "/output"
        try FileManager.default.createDirectory(atPath: toolOutput, withIntermediateDirectories: true)
        let log = work + "/tool.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)

        // Each step's time goes to the log, so i2's share and the tool's can be told apart.
        var lap = Date()
        func timed(_ step: String) {
            RunningCommand.appendLog(log, String(format: "=== i2 process: %@ in %.3f s\n", step, Date().timeIntervalSince(lap)))
            lap = Date()
        }

        // Run the tool.
        do {
            switch tool.command {
            case .builtin(let b):
                let (volume, notes) = try series.volume()
                notes.forEach(warn)
                timed("series read")
                try BuiltinTools.run(b, volume: volume, parameters: parameters, output: toolOutput)
            case .argv, .shell:
                let input = try series.writeInput(tool.input, into: work)
                timed("input written")
                let places = ToolRunner.Places(input: input, output: toolOutput, series: seriesDir, work: work)
                try ToolRunner.run(tool, places: places, parameters: parameters, log: log,
                                   timeout: o.timeout ?? tool.timeout, stop: context.stop)
            }
        } catch let e as I2Error {
            throw I2Error(e.kind, path: seriesDir, "\(tool.name): \(e.detail) (log: \(log))")
        }
        timed("tool \(tool.name) ran")

        // Its outputs → DICOM, staged next to the final place, then moved there in one rename.
        let staging = out + "/." + name + ".part-\(getpid())"
        try? FileManager.default.removeItem(atPath: staging)
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        var files: [String]
        do {
            files = try ToolOutputs.convert(tool, from: toolOutput, series: series, into: staging, work: work, warn: warn)
        } catch let e as I2Error {
            try? FileManager.default.removeItem(atPath: staging)
            throw I2Error(e.kind, path: seriesDir, "\(tool.name): \(e.description) (log: \(log))")
        }
        timed("DICOM written")
        if files.isEmpty {
            try? FileManager.default.removeItem(atPath: staging)
            return .skipped("\(tool.name) found nothing to report (every output was empty)")
        }
        try AtomicFile.replace(final, with: staging)
        if !o.keepWork { try? FileManager.default.removeItem(atPath: work) }
        if let left = try? FileManager.default.contentsOfDirectory(atPath: out + "/.i2-work"), left.isEmpty, o.work == nil {
            try? FileManager.default.removeItem(atPath: out + "/.i2-work")
        }
        files = files.map { final + $0.dropFirst(staging.count) }
        return .produced(files)
    }

    static func absolute(_ p: String) -> String {
        let full = p.hasPrefix("/") ? p : FileManager.default.currentDirectoryPath + "/" + p
        return URL(fileURLWithPath: full).standardizedFileURL.path
    }
}

/// One series directory as a tool input: its single image stack, and the volume on demand.
struct SeriesInput {
    var directory: String
    var stack: SliceStack
    var uid: String { stack.first.seriesInstanceUID }

    static func load(_ dir: String) throws -> SeriesInput {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw I2Error(.storage, path: dir, "not a series directory")
        }
        let (files, listErrors) = DicomScan.files(in: [dir])
        if let e = listErrors.first { throw e }
        let scan = DicomScan(files: files)
        let stacks = SeriesAssembly.stacks(scan.slices).filter { !scan.damagedSeries.contains($0.first.seriesInstanceUID) }
        guard let first = stacks.first else {
            throw scan.errors.first ?? I2Error(.badInput, path: dir, "no DICOM images found")
        }
        let uids = Set(stacks.map(\.first.seriesInstanceUID))
        if uids.count > 1 {
            throw I2Error(.badInput, path: dir, "holds \(uids.count) series (\(uids.sorted().joined(separator: ", "))): give one series directory each")
        }
        if stacks.count > 1 {
            throw I2Error(.badInput, path: dir, "the series splits into \(stacks.count) volumes (\(stacks.map(\.name).joined(separator: ", "))): a tool takes one")
        }
        return SeriesInput(directory: dir, stack: first)
    }

    func volume() throws -> (Volume, [String]) {
        try Conversion.assemble(stack, options: ConvertOptions(inputs: [], output: ""))
    }

    /// Writes the input the tool asked for into `work` and returns its path ({input}); the series
    /// directory itself for `dicom`.
    func writeInput(_ format: ToolSpec.InputFormat, into work: String) throws -> String {
        guard let f = format.fileFormat else { return directory }
        let (v, _) = try volume()
        let path = work + "/input." + f.rawValue
        _ = try VolumeIO.write(v, to: path)
        return path
    }
}

extension ProcessOptions {
    /// What a batch run (ManifestRun) records as the recipe: the tool's description, the parameters
    /// and the timeout; not the series, output or work places, which differ per series.
    public var recipe: String {
        let params = parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        return "process \(tool.name) description:\(Hash.hex([UInt8](tool.json))) parameters:\(params) timeout:\(timeout.map { "\($0)" } ?? "none")"
    }
}
