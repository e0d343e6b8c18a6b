// The batch engine behind `i2 convert --manifest` and `i2 process --manifest`: for each manifest line
// of this task's shard it drives the command's own engine (the `job`) on that one series, into a
// hidden staging directory, writes the done-record there last, and renames it into place as
// OUT/<name>-<hash>/ (Manifest.outputName). A line whose result is complete and valid (DoneRecord) is
// skipped, so a Slurm array can be re-submitted after failures and redoes exactly what is missing.
// The stop token is honoured between series: SIGTERM ends the run after the series in hand.
import Foundation

public struct ManifestOptions: Sendable {
    public typealias Job = @Sendable (_ input: String, _ outputDirectory: String, _ context: EngineContext) -> Report
    public var lines: [ManifestLine]
    /// The manifest's name in messages ("-" for stdin).
    public var source: String
    public var shard = Shard.all
    public var output: String
    /// What the job does (command and options, without inputs and outputs): recorded, and a result
    /// made with another recipe is redone.
    public var recipe: String
    /// Redo every line of the shard, whatever its done-record says.
    public var force = false
    /// Also send the shard's summary as a record (`--json`).
    public var summaryRecord = false
    public var job: Job
    public init(lines: [ManifestLine], source: String, output: String, recipe: String, job: @escaping Job) {
        self.lines = lines
        self.source = source
        self.output = output
        self.recipe = recipe
        self.job = job
    }
}

public enum ManifestRun: Engine {
    public static func run(_ o: ManifestOptions, _ context: EngineContext) -> Report {
        let result = Reporter(context)
        let started = Date()
        let out = o.output.count > 1 && o.output.hasSuffix("/") ? String(o.output.dropLast()) : o.output
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        } catch {
            return result.fatal(I2Error(.storage, path: out, "cannot create the output directory: \(error.localizedDescription)"))
        }
        let source = o.source == "-" ? "stdin" : o.source
        // Every task resolves the whole manifest, so duplicates and name clashes are seen the same way
        // by all of them, whichever shard holds the lines.
        var seen: [String: Int] = [:]
        var names: [String: String] = [:]
        var mine: [(line: ManifestLine, input: String, name: String)] = []
        for line in o.lines {
            let input = Manifest.absolute(line.path)
            if let first = seen[input] {
                if o.shard.contains(input) { context.events.warning("\(source):\(line.number): \(line.path) repeats line \(first): converted once") }
                continue
            }
            seen[input] = line.number
            let name = Manifest.outputName(input)
            if let other = names[name] {
                return result.fatal(I2Error(.internal, path: input, "\(source):\(line.number): output name \(name) also belongs to \(other)"))
            }
            names[name] = input
            if o.shard.contains(input) { mine.append((line, input, name)) }
        }
        context.events.info("shard \(o.shard): \(mine.count) of \(seen.count) series in \(source)")

        var converted = 0, skipped = 0, failed = 0
        for (line, input, name) in mine {
            if context.stop.isStopped { break }
            let at = "\(source):\(line.number)"
            switch one(input: input, name: name, at: at, o, out: out, result) {
            case .done: converted += 1
            case .skipped: skipped += 1
            case .failed: failed += 1
            case .fatal(let e): return result.fatal(e)
            }
        }
        let seconds = Date().timeIntervalSince(started)
        let left = mine.count - converted - skipped - failed
        var summary = "shard \(o.shard): \(mine.count) series: \(converted) converted, \(skipped) already done, \(failed) failed"
        if left > 0 { summary += ", \(left) not started (stopped)" }
        context.events.info(summary + String(format: " (%.1f s)", seconds))
        if o.summaryRecord {
            result.record(summary, ["shard": .string(o.shard.description), "series": .int(mine.count), "converted": .int(converted),
                                    "skipped": .int(skipped), "failed": .int(failed), "stopped": .int(left),
                                    "manifest": .string(source), "seconds": .double((seconds * 1000).rounded() / 1000)])
        }
        return result.finish()
    }

    enum LineOutcome { case done, skipped, failed, fatal(I2Error) }

    /// One manifest line: skip it when done, else run the job into staging, record, rename into place.
    static func one(input: String, name: String, at: String, _ o: ManifestOptions, out: String, _ result: Reporter) -> LineOutcome {
        let events = result.events
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input, isDirectory: &isDir), isDir.boolValue else {
            let exists = FileManager.default.fileExists(atPath: input)
            result.failed(I2Error(exists ? .badInput : .notFound, path: input, "\(at): " + (exists ? "not a directory (a manifest lists series directories)" : "no such series directory")))
            return .failed
        }
        let final = out + "/" + name
        let fingerprint = { try DoneRecord.fingerprint(of: input) }
        if !o.force {
            switch DoneRecord.read(in: final) {
            case .success(let record):
                guard let why = record.check(input: input, fingerprint: fingerprint, recipe: o.recipe, directory: final) else { return .skipped }
                if case .otherInput = why {
                    result.failed(I2Error(.storage, path: final, "\(at): \(input): \(why); not touched"))
                    return .failed
                }
                events.info("\(at): \(input): redone: \(why)")
            case .failure(let why):
                if why != .missing || FileManager.default.fileExists(atPath: final) { events.info("\(at): \(input): redone: \(why)") }
            }
        }
        let print: String
        do { print = try fingerprint() } catch let e as I2Error {
            result.failed(e.path == nil ? e.at(input) : e)
            return .failed
        } catch {
            result.failed(I2Error(.storage, path: input, "\(at): \(error)"))
            return .failed
        }
        let staging = out + "/." + name + ".part-\(getpid())"
        try? FileManager.default.removeItem(atPath: staging)
        defer { try? FileManager.default.removeItem(atPath: staging) }
        do {
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false)
        } catch {
            result.failed(I2Error(.storage, path: staging, "\(at): cannot create: \(error.localizedDescription)"))
            return .failed
        }

        // The job's outputs are held back until its directory is in place (under their final paths);
        // its failures count as this run's.
        var produced: [Output] = []
        var jobFailed = false
        let sink = EventSink { event in
            switch event {
            case .output(let output): produced.append(output)
            case .failed(let e): jobFailed = true; result.failed(e)
            default: events.send(event)
            }
        }
        // The job gets a token of its own, never stopped: a stop ends the run after the series in hand
        // (its outputs complete, so recorded as done); a second signal ends the process at once
        // (Signals), leaving only the hidden staging directory.
        let report = o.job(input, staging, EngineContext(events: sink, stop: StopToken()))
        if let e = report.fatal {
            if e.kind == .usage { return .fatal(e) }   // the options are wrong for every line alike
            result.failed(e.path == nil ? e.at(input) : e)
            return .failed
        }
        if jobFailed { return .failed }
        do {
            let record = DoneRecord(input: input, fingerprint: print, recipe: o.recipe, outputs: try DoneRecord.outputs(in: staging))
            try AtomicFile.write(record.json, to: staging + "/" + DoneRecord.fileName)
            try AtomicFile.replace(final, with: staging)
        } catch let e as I2Error {
            result.failed(e)
            return .failed
        } catch {
            result.failed(I2Error(.storage, path: final, "\(error)"))
            return .failed
        }
        for var output in produced {
            if output.isPath && output.path.hasPrefix(staging) { output.path = final + output.path.dropFirst(staging.count) }
            output.fields["input"] = .string(input)
            if output.isPath { result.output(output.path, output.fields) } else { result.record(output.path, output.fields) }
        }
        return .done
    }
}
