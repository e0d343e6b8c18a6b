// Real DICOM peers for end-to-end tests, on 127.0.0.1 and free high ports: DCMTK's storescp and
// Orthanc (generated config, no systemd), each ready-checked by polling (never a fixed sleep) and
// stopped by PID. Also a silent TCP listener (accepts, never answers) for timeout tests.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import I2TestSupport

enum Peers {
    /// A free TCP port on 127.0.0.1 (the kernel picks it; released before the peer binds it).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = loopback(0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw PeerError("cannot find a free port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func loopback(_ port: Int) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = UInt16(port).bigEndian
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        return a
    }

    /// Whether something accepts TCP connections on 127.0.0.1:port.
    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = loopback(port)
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// Polls `ready` every 50 ms; throws with `what` (and the peer's log) when `timeout` passes first.
    static func wait(_ what: String, timeout: Double = 20, log: String? = nil, _ ready: () throws -> Bool) throws {
        let until = Date().addingTimeInterval(timeout)
        while Date() < until {
            if (try? ready()) == true { return }
            usleep(50_000)
        }
        let tail = log.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }.map { "\n" + $0.suffix(2000) } ?? ""
        throw PeerError("\(what) not ready within \(Int(timeout)) s\(tail)")
    }

    /// `name` on PATH or in /usr/sbin (Orthanc lives there), or a Missing error naming the package.
    static func tool(_ name: String, package: String) throws -> String {
        if let p = try? TestSupport.tool(name, package: package) { return p }
        for dir in ["/usr/sbin", "/usr/local/sbin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        throw TestSupport.Missing("'\(name)' is not installed: apt-get install -y \(package)")
    }
}

struct PeerError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A child process writing to a log file, stopped by its PID (SIGTERM, then SIGKILL after 5 s).
final class PeerProcess {
    let process = Foundation.Process()
    let log: String

    init(_ executable: String, _ args: [String], log: String, environment: [String: String] = [:]) throws {
        self.log = log
        guard FileManager.default.createFile(atPath: log, contents: nil), let out = FileHandle(forWritingAtPath: log) else {
            throw RX.Failure("cannot create the log file \(log)")
        }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = args
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var isRunning: Bool { process.isRunning }

    func stop() {
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGTERM)
        let until = Date().addingTimeInterval(5)
        while process.isRunning && Date() < until { usleep(20_000) }
        if process.isRunning { kill(pid, SIGKILL); process.waitUntilExit() }
    }

    deinit { stop() }
}

/// DCMTK's storescp: `storescp --output-directory DIR -aet AET [options] PORT`. TCP_NODELAY=1 unless
/// `nodelay` is false (then it behaves like a default install: Nagle on, as DCMTK leaves it).
final class StoreSCPPeer {
    let directory: String
    let aeTitle: String
    let port: Int
    let process: PeerProcess
    private let logDirectory = TestSupport.tempDirectory()

    /// `port`: a given one (e.g. to restart a peer where a client expects it), else a free one.
    init(directory: String, aeTitle: String = "STORESCP", options: [String] = [], nodelay: Bool = true, port: Int? = nil) throws {
        let exe = try Peers.tool("storescp", package: "dcmtk")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
        self.aeTitle = aeTitle
        self.port = try port ?? Peers.freePort()
        process = try PeerProcess(exe, ["-v", "--output-directory", directory, "-aet", aeTitle] + options + [String(self.port)],
                                  log: logDirectory + "/storescp.log", environment: nodelay ? ["TCP_NODELAY": "1"] : [:])
        let p = self.port, proc = process
        try Peers.wait("storescp on port \(p)", log: process.log) { proc.isRunning && Peers.accepts(p) }
    }

    var address: String { "\(aeTitle)@127.0.0.1:\(port)" }
    /// What storescp printed (with -v: "Association Acknowledged" per association; the readiness probe
    /// shows as an "Association Received" of its own).
    var log: String { (try? String(contentsOfFile: process.log, encoding: .utf8)) ?? "" }
    var files: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted().map { directory + "/" + $0 } }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(atPath: logDirectory)
    }
    deinit { stop() }
}

/// Orthanc's DICOM TLS (1.9+): its certificate and key, the CAs it trusts, whether callers must
/// present a certificate. With it, Orthanc's DICOM port speaks TLS only, and so do its modalities.
struct OrthancTLS {
    var certificate: String, key: String, trusted: String
    var requireClientCertificate = true
}

/// Orthanc with a generated configuration in a temporary directory: REST on 127.0.0.1 without
/// authentication, DICOM AE title `aeTitle` checked case-sensitively, and the given modalities.
final class OrthancPeer {
    let aeTitle: String
    let dicomPort: Int
    let httpPort: Int
    let directory = TestSupport.tempDirectory()
    let process: PeerProcess
    /// The user REST calls authenticate as, when Orthanc requires it.
    private(set) var credentials: (key: String, value: String)?
    var dicomWebURL: String { "http://127.0.0.1:\(httpPort)/dicom-web" }

    /// `modalities`: name → (AE title, host, port) that Orthanc may send to (POST /modalities/NAME/store).
    /// `dicomWeb`: with the DICOMweb plugin (Debian orthanc-dicomweb) at /dicom-web; `users`: HTTP basic
    /// authentication required, for these users and passwords (REST calls of the tests use the first).
    init(aeTitle: String = "ORTHANC", modalities: [String: (aet: String, host: String, port: Int)] = [:], dicomWeb: Bool = false,
         users: [String: String] = [:], tls: OrthancTLS? = nil) throws {
        let exe = try Peers.tool("Orthanc", package: "orthanc")
        self.aeTitle = aeTitle
        dicomPort = try Peers.freePort()
        httpPort = try Peers.freePort()
        var config: [String: Any] = [
            "Name": "i2-test", "StorageDirectory": directory + "/db", "IndexDirectory": directory + "/db",
            "HttpPort": httpPort, "DicomPort": dicomPort, "DicomAet": aeTitle,
            "RemoteAccessAllowed": false, "AuthenticationEnabled": !users.isEmpty, "RegisteredUsers": users,
            "DicomCheckCalledAet": true, "StrictAetComparison": true, "Plugins": [String](),
            "DicomModalities": modalities.mapValues { m -> Any in
                tls == nil ? [m.aet, m.host, m.port] as [Any] : ["AET": m.aet, "Host": m.host, "Port": m.port, "UseDicomTls": true] as [String: Any]
            },
        ]
        if let tls {
            config["DicomTlsEnabled"] = true
            config["DicomTlsCertificate"] = tls.certificate
            config["DicomTlsPrivateKey"] = tls.key
            config["DicomTlsTrustedCertificates"] = tls.trusted
            config["DicomTlsRemoteCertificateRequired"] = tls.requireClientCertificate
        }
        if dicomWeb {
            let plugin = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
            guard FileManager.default.fileExists(atPath: plugin) else {
                throw TestSupport.Missing("the Orthanc DICOMweb plugin is not installed: apt-get install -y orthanc-dicomweb")
            }
            config["Plugins"] = [plugin]
            config["DicomWeb"] = ["Enable": true, "Root": "/dicom-web/"]
        }
        credentials = users.sorted { $0.key < $1.key }.first
        let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted])
        try data.write(to: URL(fileURLWithPath: directory + "/orthanc.json"))
        process = try PeerProcess(exe, [directory + "/orthanc.json"], log: directory + "/orthanc.log")
        let proc = process, dicom = dicomPort
        try Peers.wait("Orthanc (HTTP \(httpPort), DICOM \(dicomPort))", timeout: 30, log: process.log) {
            proc.isRunning && Peers.accepts(dicom) && (try? self.get("/system")) != nil
        }
    }

    var address: String { "\(aeTitle)@127.0.0.1:\(dicomPort)" }

    /// POST /instances: uploads a DICOM file; returns Orthanc's instance ID.
    @discardableResult
    func upload(_ file: String) throws -> String {
        let reply = try request("POST", "/instances", body: try Data(contentsOf: URL(fileURLWithPath: file)))
        guard let id = (try JSONSerialization.jsonObject(with: reply) as? [String: Any])?["ID"] as? String else {
            throw PeerError("Orthanc did not accept \(file): \(String(decoding: reply, as: UTF8.self))")
        }
        return id
    }

    /// The SOP Instance UIDs Orthanc holds (GET /instances?expand).
    func instances() throws -> [String] {
        let list = try JSONSerialization.jsonObject(with: try get("/instances?expand")) as? [[String: Any]] ?? []
        return list.compactMap { ($0["MainDicomTags"] as? [String: Any])?["SOPInstanceUID"] as? String }.sorted()
    }

    /// POST /modalities/NAME/store: Orthanc C-STOREs these resources (all instances when empty).
    func store(toModality name: String, resources: [String]? = nil) throws {
        let ids = try resources ?? (JSONSerialization.jsonObject(with: try get("/instances")) as? [String] ?? [])
        _ = try request("POST", "/modalities/\(name)/store", body: try JSONSerialization.data(withJSONObject: ids))
    }

    func get(_ path: String) throws -> Data { try request("GET", path, body: nil) }

    func request(_ method: String, _ path: String, body: Data?) throws -> Data {
        var req = URLRequest(url: URL(string: "http://127.0.0.1:\(httpPort)\(path)")!)
        req.httpMethod = method
        req.httpBody = body
        req.timeoutInterval = 30
        if let c = credentials {
            req.setValue("Basic " + Data("\(c.key):\(c.value)".utf8).base64EncodedString(), forHTTPHeaderField: "Authorization")
        }
        nonisolated(unsafe) var result: Result<Data, Error> = .failure(PeerError("no answer"))
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: req) { data, response, error in
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            if let error { result = .failure(error) }
            else if !(200..<300).contains(status) { result = .failure(PeerError("\(method) \(path): HTTP \(status) \(String(decoding: data ?? Data(), as: UTF8.self))")) }
            else { result = .success(data ?? Data()) }
            done.signal()
        }.resume()
        done.wait()
        return try result.get()
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
    deinit { stop() }
}

/// Accepts TCP connections on a free port and never says a word (a host that is up but not DICOM).
final class SilentPeer {
    let port: Int
    private let fd: Int32
    private var accepted: [Int32] = []
    private var stopped = false
    private let lock = NSLock()

    init() throws {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var on: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var addr = Peers.loopback(0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) == 0 && getsockname(s, $0, &len) == 0 }
        }
        guard ok, listen(s, 16) == 0 else { close(s); throw PeerError("silent peer: \(String(cString: strerror(errno)))") }
        fd = s
        port = Int(UInt16(bigEndian: addr.sin_port))
        let listener = fd
        Thread.detachNewThread { [weak self] in
            while true {
                let c = accept(listener, nil, nil)
                guard c >= 0, let self else { return }
                self.lock.lock(); self.accepted.append(c); self.lock.unlock()
            }
        }
    }

    func stop() {
        lock.lock(); defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        accepted.forEach { close($0) }
        accepted = []
    }
    deinit { stop() }
}

/// DCMTK's dcmqrscp, a second query/retrieve SCP beside Orthanc: one AE (QRSCP, read-write: it stores
/// what it is sent, so tests load it with i2 send), the move destinations it knows, generated config.
final class DcmqrscpPeer {
    let directory = TestSupport.tempDirectory()
    let aeTitle = "QRSCP"
    let port: Int
    let process: PeerProcess

    /// `destinations`: AE title → port on 127.0.0.1 that C-MOVE may send to.
    init(destinations: [String: Int] = [:]) throws {
        let exe = try Peers.tool("dcmqrscp", package: "dcmtk")
        port = try Peers.freePort()
        try FileManager.default.createDirectory(atPath: directory + "/db", withIntermediateDirectories: true)
        let hosts = destinations.sorted { $0.key < $1.key }.enumerated()
            .map { "host\($0.offset) = (\($0.element.key), 127.0.0.1, \($0.element.value))" }.joined(separator: "\n")
        let config = """
            NetworkTCPPort  = \(port)
            MaxPDUSize      = 131072
            MaxAssociations = 16
            HostTable BEGIN
            \(hosts)
            HostTable END
            VendorTable BEGIN
            VendorTable END
            AETable BEGIN
            \(aeTitle) \(directory)/db RW (200, 1024mb) ANY
            AETable END
            """
        try config.write(toFile: directory + "/dcmqrscp.cfg", atomically: true, encoding: .utf8)
        // Its default fork per association: Debian's 3.6.7 crashes after the first release with --single-process.
        process = try PeerProcess(exe, ["-c", directory + "/dcmqrscp.cfg"], log: directory + "/dcmqrscp.log", environment: ["TCP_NODELAY": "1"])
        let p = port, proc = process
        try Peers.wait("dcmqrscp on port \(p)", log: process.log) { proc.isRunning && Peers.accepts(p) }
    }

    var address: String { "\(aeTitle)@127.0.0.1:\(port)" }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
    deinit { stop() }
}
