// Test-only helpers: the built i2 binary, fixtures, temporary directories, external peers.
import Foundation

public enum TestSupport {
    /// The package root (two levels above this file's directory).
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Fixtures copied into the repo (Tests/Fixtures/...).
    public static func fixture(_ relative: String) -> String {
        packageRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relative).path
    }

    /// The i2 executable built next to the test bundle.
    public static var i2Path: String {
        if let p = ProcessInfo.processInfo.environment["I2_BINARY"] { return p }
        let candidates = [".build/debug/i2", ".build/release/i2"].map { packageRoot.appendingPathComponent($0).path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// A fresh temporary directory, removed by the caller's `defer`.
    public static func tempDirectory() -> String {
        let path = NSTemporaryDirectory() + "i2-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    public struct Result {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs a program with arguments, optional stdin, and returns status and outputs.
    @discardableResult
    public static func run(_ executable: String, _ args: [String], stdin: String? = nil,
                           environment: [String: String]? = nil, cwd: String? = nil) throws -> Result {
        let p = Foundation.Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        if let e = environment { p.environment = ProcessInfo.processInfo.environment.merging(e) { $1 } }
        if let c = cwd { p.currentDirectoryURL = URL(fileURLWithPath: c) }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        if let s = stdin { inp.fileHandleForWriting.write(s.data(using: .utf8)!) }
        try? inp.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty child cannot deadlock on a full pipe.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs the built i2.
    @discardableResult
    public static func i2(_ args: [String], stdin: String? = nil, cwd: String? = nil) throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: i2Path) else {
            throw Missing("the i2 binary at \(i2Path): run 'swift build' before 'swift test'")
        }
        return try run(i2Path, args, stdin: stdin, cwd: cwd)
    }

    /// Full path of an external tool on PATH, or an error telling how to install it.
    public static func tool(_ name: String, package: String) throws -> String {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        throw Missing("'\(name)' is not installed: apt-get install -y \(package)")
    }

    public struct Missing: Error, CustomStringConvertible {
        public var description: String
        public init(_ d: String) { description = "missing test peer: " + d }
    }
}
