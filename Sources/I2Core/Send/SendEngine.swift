// i2 send as an engine: C-ECHO, or C-STORE of files and of paths arriving on a stream, then the run's
// end as the report (unreachable and rejected are fatal when nothing was stored), the files that
// shared an association failure listed once, and the JSON report written atomically.
import Foundation

public enum SendEngine: Engine {
    public static func run(_ options: SendOptions, _ context: EngineContext) -> Report {
        let result = Reporter(context)
        let dimse = Sender(options: options, context: context)
        let stow = options.web.map { StowSender(options: options, node: $0, context: context) }
        let (label, address) = (options.peerLabel, options.peerAddress)
        if options.echoOnly {
            let start = Date()
            do { try stow?.echo() ?? dimse.echo() } catch let e as I2Error { return result.fatal(e) } catch {
                return result.fatal(I2Error(.internal, peer: address, "\(error)"))
            }
            context.events.info("\(label) answered \(stow == nil ? "C-ECHO" : "a QIDO-RS search") in \(Int(Date().timeIntervalSince(start) * 1000)) ms")
            return result.finish()
        }
        let stream = options.stream.map { PathStream(fd: $0) }
        let summary = stow?.run(paths: options.paths, stream: stream) ?? dimse.run(paths: options.paths, stream: stream)
        var report = result.finish()
        report.produced = summary.outcomes.filter(\.wasStored).count
        report.failures = summary.failed.map(\.error)

        let failed = summary.failed
        if let why = summary.associationError {
            let paths = failed.filter { $0.comment == why }.map(\.path)
            if !paths.isEmpty {
                context.events.error("\(paths.count) file\(paths.count == 1 ? "" : "s") not sent: \(why)\n" + paths.map { "    " + $0 }.joined(separator: "\n"))
            }
        }
        switch summary.end {
        case .unreachable: report.fatal = I2Error(.unreachable, peer: address, "nothing stored: " + (summary.associationError ?? "unreachable"))
        case .rejected: report.fatal = I2Error(.rejected, peer: address, "nothing stored: " + (summary.associationError ?? "rejected"))
        case .interrupted, .completed: break
        }
        let stored = summary.count(.stored) + summary.count(.warning)
        if !failed.isEmpty {
            context.events.error("\(failed.count) of \(summary.outcomes.filter { $0.status != .skipped }.count) files not stored on \(label)")
        } else if stored > 0 {
            context.events.info("\(stored) file\(stored == 1 ? "" : "s") stored on \(label)")
        } else if summary.end == .completed {
            context.events.warning("nothing to send: no DICOM files among the inputs")
        }
        if let path = options.reportPath {
            do { try SendReport.write(summary, to: path) } catch {
                let e = (error as? I2Error) ?? I2Error(.storage, path: path, "\(error)")
                context.events.failed(I2Error(.storage, path: path, "cannot write the report: \(e.detail)"))
                report.failures.append(e)
            }
        }
        return report
    }
}
