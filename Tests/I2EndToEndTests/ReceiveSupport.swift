// Helpers of the `i2 receive` end-to-end tests: background processes stopped by PID, a receiver on a
// free loopback port, storescu runs with their per-file answers, data-set comparison (dcmdump, bytes,
// transfer syntax) and tree listings. (Orthanc: OrthancPeer in PeerSupport; raw sockets: RawPeer.)
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest
import I2TestSupport

/// A background process; stdout and stderr are collected line by line. Stopped by its PID only.
final class RXProcess: @unchecked Sendable {
    private let process = Foundation.Process()
    private let cond = NSCondition()
    private var out: [String] = [], err: [String] = []
    private var openPipes = 2
    private var exitStatus: Int32?
    private var signaled = false

    init(_ executable: String, _ args: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = args
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let o = Pipe(), e = Pipe()
        process.standardOutput = o
        process.standardError = e
        process.standardInput = FileHandle.nullDevice
        process.terminationHandler = { [cond] p in
            cond.lock()
            self.exitStatus = p.terminationStatus
            self.signaled = p.terminationReason == .uncaughtSignal
            cond.broadcast()
            cond.unlock()
        }
        try process.run()
        pump(o.fileHandleForReading, isStderr: false)
        pump(e.fileHandleForReading, isStderr: true)
    }

    var pid: Int32 { process.processIdentifier }
    var stdout: [String] { cond.lock(); defer { cond.unlock() }; return out }
    var stderr: String { cond.lock(); defer { cond.unlock() }; return err.joined(separator: "\n") }
    /// Exit status (or the signal number when `killedBySignal`), nil while running.
    var status: Int32? { cond.lock(); defer { cond.unlock() }; return exitStatus }
    var killedBySignal: Bool { cond.lock(); defer { cond.unlock() }; return signaled }

    private func pump(_ handle: FileHandle, isStderr: Bool) {
        Thread { [self] in
            var buffer = Data()
            func flush(_ all: Bool) {
                var lines: [String] = []
                while let nl = buffer.firstIndex(of: 10) {
                    lines.append(String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self))
                    buffer.removeSubrange(buffer.startIndex...nl)
                }
                if all && !buffer.isEmpty { lines.append(String(decoding: buffer, as: UTF8.self)); buffer.removeAll() }
                cond.lock()
                if isStderr { err += lines } else { out += lines }
                if all { openPipes -= 1 }
                cond.broadcast()
                cond.unlock()
            }
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                flush(false)
            }
            flush(true)
        }.start()
    }

    /// Waits until `condition(stdout, stderr, exited)` holds or the deadline passes. (The lock is held:
    /// the condition must not call this object's accessors.)
    @discardableResult
    func wait(timeout: TimeInterval, until condition: ([String], [String], Bool) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        cond.lock()
        defer { cond.unlock() }
        while !condition(out, err, exitStatus != nil) {
            if !cond.wait(until: deadline) { return condition(out, err, exitStatus != nil) }
        }
        return true
    }

    /// Waits for the exit and for both pipes to drain; the status, or nil on timeout.
    @discardableResult
    func waitForExit(timeout: TimeInterval) -> Int32? {
        wait(timeout: timeout) { _, _, exited in exited && self.openPipes == 0 } ? exitStatus : nil
    }

    /// Sends `sig` to our PID (if still running) and waits; SIGKILL after `grace` seconds.
    @discardableResult
    func stop(_ sig: Int32 = SIGTERM, grace: TimeInterval = 10) -> Int32? {
        if status == nil { kill(pid, sig) }
        if let s = waitForExit(timeout: grace) { return s }
        kill(pid, SIGKILL)
        return waitForExit(timeout: 10)
    }
}

/// `i2 receive --bind 127.0.0.1 --port P OPTIONS ROOT`, started and ready (its "listening" line seen).
final class RXReceiver {
    let root: String, port: Int, options: [String]
    let process: RXProcess

    init(root: String, options: [String] = [], port fixed: Int? = nil) throws {
        self.root = root
        self.options = options
        var lastError = ""
        for _ in 0..<3 {
            let p = fixed ?? RX.freePort()
            guard FileManager.default.isExecutableFile(atPath: TestSupport.i2Path) else {
                throw TestSupport.Missing("the i2 binary at \(TestSupport.i2Path): build it first")
            }
            let proc = try RXProcess(TestSupport.i2Path, ["receive", "--bind", "127.0.0.1", "--port", String(p)] + options + [root])
            let ready = proc.wait(timeout: 20) { _, err, exited in
                exited || err.contains { $0.contains("i2: listening as") }
            }
            if ready && proc.status == nil { port = p; process = proc; return }
            proc.stop(SIGKILL)
            lastError = proc.stderr
            if fixed != nil || !lastError.contains("cannot listen") { break }
        }
        throw RX.Failure("i2 receive did not start: \(lastError)")
    }

    var paths: [String] { process.stdout }
    @discardableResult
    func waitForPaths(_ n: Int, timeout: TimeInterval = 60) -> Bool {
        process.wait(timeout: timeout) { out, _, _ in out.count >= n }
    }
}

extension XCTestCase {
    /// A receiver that is stopped by PID when the test ends, pass or fail.
    func startReceiver(_ root: String, _ options: [String] = [], port: Int? = nil) throws -> RXReceiver {
        let r = try RXReceiver(root: root, options: options, port: port)
        addTeardownBlock { r.process.stop() }
        return r
    }

    /// A background process that is stopped by PID when the test ends.
    func background(_ executable: String, _ args: [String], environment: [String: String] = [:]) throws -> RXProcess {
        let p = try RXProcess(executable, args, environment: environment)
        addTeardownBlock { p.stop() }
        return p
    }
}

enum RX {
    struct Failure: Error, CustomStringConvertible { var description: String; init(_ d: String) { description = d } }

    /// A TCP port the kernel just handed out on 127.0.0.1 (free at that moment).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: a.sin_port))
    }

    /// One storescu run: exit status, output, and each file's answer ("Success", "0xa700", ...).
    struct StoreRun {
        var status: Int32
        var output: String
        var answers: [(file: String, answer: String)]
        var succeeded: [String] { answers.filter { $0.answer == "Success" || $0.answer == "0x0000" }.map(\.file) }
        var failed: [(file: String, answer: String)] { answers.filter { $0.answer != "Success" && $0.answer != "0x0000" } }
    }

    /// `TCP_NODELAY=1 storescu [-d] -aec CALLED [-aet CALLING] ARGS 127.0.0.1 PORT FILES...`.
    /// With `debug` the answers are the DIMSE status codes, else storescu's text ("Success", ...).
    static func storescu(_ port: Int, _ files: [String], _ args: [String] = [], called: String = "I2",
                         calling: String? = nil, debug: Bool = false) throws -> StoreRun {
        let exe = try TestSupport.tool("storescu", package: "dcmtk")
        var a = [debug ? "-d" : "-v", "-aec", called] + args
        if let c = calling { a += ["-aet", c] }
        let r = try TestSupport.run(exe, a + ["127.0.0.1", String(port)] + files, environment: ["TCP_NODELAY": "1"])
        let output = r.stdout + r.stderr
        return StoreRun(status: r.status, output: output, answers: parseAnswers(output))
    }

    static func parseAnswers(_ output: String) -> [(file: String, answer: String)] {
        var answers: [(file: String, answer: String)] = []
        var current: String?
        for line in output.split(separator: "\n").map(String.init) {
            if let r = line.range(of: "Sending file: ") { current = String(line[r.upperBound...]) }
            else if let f = current, let r = line.range(of: "DIMSE Status") , line.contains("0x") {
                let code = line[r.upperBound...].split(separator: ":").dropFirst().first?.trimmingCharacters(in: .whitespaces) ?? "?"
                answers.append((f, code)); current = nil
            } else if let f = current, let r = line.range(of: "Received Store Response ("), !line.contains("D: ") {
                answers.append((f, String(line[r.upperBound...].dropLast()))); current = nil
            }
        }
        return answers
    }

    /// Regular files under `dir`, hidden ones included, as paths relative to `dir`, sorted.
    static func files(_ dir: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: dir) else { return [] }
        var found: [String] = []
        while let rel = e.nextObject() as? String {
            if (e.fileAttributes?[.type] as? FileAttributeType) == .typeRegular { found.append(rel) }
        }
        return found.sorted()
    }

    /// Anything under ROOT that should not outlive a transfer: .part files and dot-entries other than
    /// the (then empty) .i2-incoming directory and receive's heartbeats.
    static func leftovers(_ root: String) -> [String] {
        var bad = files(root).filter { !isHeartbeat($0) && ($0.hasSuffix(".part") || $0.split(separator: "/").contains { $0.hasPrefix(".") }) }
        if let names = try? FileManager.default.contentsOfDirectory(atPath: root) {
            bad += names.filter { $0.hasPrefix(".") && $0 != ".i2-incoming" && !isHeartbeat($0) }
        }
        return Array(Set(bad)).sorted()
    }

    /// ROOT/.i2-receive-PORT.json, which a receiver keeps up to date (and leaves behind, saying it stopped).
    static func isHeartbeat(_ relative: String) -> Bool { relative.hasPrefix(".i2-receive-") && relative.hasSuffix(".json") && !relative.contains("/") }

    /// The bytes after the file meta information (the data set as it was encoded).
    static func dataSetBytes(_ path: String) throws -> Data {
        let d = try Data(contentsOf: URL(fileURLWithPath: path))
        guard d.count > 144, d[128..<132] == Data("DICM".utf8) else { throw Failure("\(path): not a DICOM file") }
        let gl = d[140..<144].enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        return d.subdata(in: (144 + gl)..<d.count)
    }

    /// Transfer syntax UID in the file meta header.
    static func transferSyntax(_ path: String) throws -> String {
        let r = try TestSupport.run(try TestSupport.tool("dcmdump", package: "dcmtk"), ["-q", "-M", "-Un", "-s", "+P", "0002,0010", path])
        return r.stdout.components(separatedBy: "[").dropFirst().first?.components(separatedBy: "]").first ?? ""
    }

    /// DCMTK's name of the data set's transfer syntax ("Little Endian Implicit", ...), as storescu names it.
    static func dataSetXferName(_ path: String) throws -> String {
        let r = try TestSupport.run(try TestSupport.tool("dcmdump", package: "dcmtk"), ["-q", path])
        let used = r.stdout.components(separatedBy: "\n").filter { $0.hasPrefix("# Used TransferSyntax: ") }
        return used.last.map { String($0.dropFirst("# Used TransferSyntax: ".count)) } ?? ""
    }

    /// `dcmdump -q +L` of the data set only: no file meta, comments, group lengths, trailing padding or length columns.
    static func dump(_ path: String) throws -> [String] {
        let r = try TestSupport.run(try TestSupport.tool("dcmdump", package: "dcmtk"), ["-q", "+L", path])
        guard r.status == 0 else { throw Failure("dcmdump \(path) failed: \(r.stderr)") }
        return r.stdout.split(separator: "\n").map(String.init).compactMap { line -> String? in
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty || t.hasPrefix("#") || t.hasPrefix("(0002,") { return nil }
            // Data Set Trailing Padding has no meaning (PS3.10 7.2) and storescu drops it when sending.
            if t.hasPrefix("(fffc,fffc)") { return nil }
            if t.count > 11, t.dropFirst(6).hasPrefix("0000)") { return nil }   // (gggg,0000) group length
            var s = line
            if let hash = s.range(of: " #", options: .backwards) { s = String(s[..<hash.lowerBound]) }
            s = s.replacingOccurrences(of: "with explicit length ", with: "").replacingOccurrences(of: "with undefined length ", with: "")
            return s.trimmingCharacters(in: .whitespaces)
        }
    }

    /// Asserts `stored` holds the data set of `original`: equal dumps, or equal to the original
    /// transcoded by DCMTK to the stored transfer syntax (what the sender did on the wire).
    static func assertSameDataSet(_ stored: String, _ original: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try dump(original), b = try dump(stored)
        if a == b { return }
        let ts = try transferSyntax(stored)
        let options = ["1.2.840.10008.1.2": "+ti", "1.2.840.10008.1.2.1": "+te", "1.2.840.10008.1.2.2": "+tb", "1.2.840.10008.1.2.1.99": "+td"]
        if let o = options[ts] {
            let tmp = NSTemporaryDirectory() + "i2-rx-" + UUID().uuidString + ".dcm"
            defer { try? FileManager.default.removeItem(atPath: tmp) }
            let r = try TestSupport.run(try TestSupport.tool("dcmconv", package: "dcmtk"), [o, original, tmp])
            if r.status == 0, try dump(tmp) == b { return }
        }
        let diff = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }
        XCTFail("\(stored) differs from \(original) (\(a.count) vs \(b.count) elements; first difference at \(diff?.offset ?? min(a.count, b.count)): "
                + "\(diff?.element.0 ?? "-") | \(diff?.element.1 ?? "-"))", file: file, line: line)
    }

    /// SOPInstanceUID → path for every DICOM file in `dirs` (one pydicom run).
    static func sopIndex(_ dirs: [String]) throws -> [String: String] {
        let code = """
        import sys, os, pydicom
        for d in sys.argv[1:]:
            for n in sorted(os.listdir(d)):
                p = os.path.join(d, n)
                try: ds = pydicom.dcmread(p, stop_before_pixels=True, specific_tags=['SOPInstanceUID'])
                except Exception: continue
                if 'SOPInstanceUID' in ds: print(ds.SOPInstanceUID, p)
        """
        var index: [String: String] = [:]
        for line in try E2E.pyCode(code, dirs).split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { index[String(parts[0])] = String(parts[1]) }
        }
        return index
    }

    /// make_series.py from the real CT slice with explicit size, count and seed.
    static func makeSeries(_ out: String, slices: Int, size: Int, seed: Int) throws {
        let r = try E2E.py(["make_series.py", E2E.ctSlice, out, "--slices", String(slices), "--size", String(size), "--seed", String(seed)])
        guard r.status == 0 else { throw Failure("make_series.py failed: \(r.stderr)") }
    }
}
