// Where `i2 send` sends: AET@HOST:PORT given on the command line, or a name looked up in the node
// file ($I2_NODES, else $XDG_CONFIG_HOME/i2/nodes.json, else /etc/i2/nodes.json).
import Foundation
import I2Model

public struct Destination: Sendable, Equatable {
    public var aeTitle: String
    public var host: String
    public var port: Int
    /// Our AE title towards this node, when the node file fixes one (PACS often know callers by AE title).
    public var callingAE: String?
    /// The node's name when it came from the node file.
    public var name: String?
    /// DICOM TLS: from --tls, or the node file's "tls" (then the node requires it). nil: plain TCP.
    public var tls: TLSOptions?

    public init(aeTitle: String, host: String, port: Int, callingAE: String? = nil, name: String? = nil) {
        self.aeTitle = aeTitle
        self.host = host
        self.port = port
        self.callingAE = callingAE
        self.name = name
    }

    /// "AET@host:port" (IPv6 hosts in brackets).
    public var address: String { "\(aeTitle)@\(host.contains(":") ? "[\(host)]" : host):\(port)" }
    /// The address, prefixed with the node name when there is one.
    public var label: String { name.map { "\($0) (\(address))" } ?? address }

    /// Parses AET@HOST:PORT; nil when `text` has no '@' (then it is a node name).
    public static func parse(_ text: String) throws -> Destination? {
        guard let at = text.lastIndex(of: "@") else { return nil }
        let aet = String(text[..<at]), rest = String(text[text.index(after: at)...])
        try validateAETitle(aet, what: "the called AE title in '\(text)'")
        var host = rest, portText = ""
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {     // [IPv6]:port
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            portText = String(rest[close...].dropFirst().drop { $0 == ":" })
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            portText = String(rest[rest.index(after: colon)...])
        }
        guard !host.isEmpty, let port = Int(portText), (1...65535).contains(port) else {
            throw I2Error(.usage, "'\(text)' is not AET@HOST:PORT (e.g. ORTHANC@pacs.example.org:4242)")
        }
        return Destination(aeTitle: aet, host: host, port: port)
    }

    /// A destination from the command line: an address, or a node name from the node file.
    public static func resolve(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Destination {
        if let d = try parse(text) { return d }
        switch try NodeFile.named(text, environment: environment) {
        case .dimse(let d): return d
        case .web(let w): throw I2Error(.usage, "node '\(text)' is a DICOMweb node (\(w.url)): this command speaks DIMSE only")
        }
    }

    /// 1 to 16 characters, no backslash or control characters (PS3.5 AE value representation).
    public static func validateAETitle(_ aet: String, what: String) throws {
        let trimmed = aet.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, aet.count <= 16, !aet.contains("\\"), !aet.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value > 0x7E }) else {
            throw I2Error(.usage, "\(what) must have 1 to 16 printable ASCII characters and no backslash: '\(aet)'")
        }
    }
}

/// The node file: a JSON object mapping names to nodes, each either DIMSE,
/// `{"aet": "ORTHANC", "host": "pacs.example.org", "port": 4242, "calling_aet": "I2"}` ("calling_aet" optional)
/// or the string "ORTHANC@pacs.example.org:4242" ("tls": true or {"ca", "cert", "key"}: the node requires DICOM TLS); or DICOMweb, `{"url": "https://…/dicom-web", "username": …,
/// "password": …}` or `"token"` (both optional; "ca": a CA bundle to trust), or the URL as a string.
public enum NodeFile {
    /// Where the node file is looked for, in order: $I2_NODES alone when set; otherwise the user's, then the system's.
    public static func candidates(environment: [String: String]) -> [String] {
        if let forced = environment["I2_NODES"], !forced.isEmpty { return [forced] }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let config = environment["XDG_CONFIG_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? home + "/.config"
        return [config + "/i2/nodes.json", "/etc/i2/nodes.json"]
    }

    /// The node named `text` in the node file.
    public static func named(_ text: String, environment: [String: String]) throws -> Node {
        let candidates = candidates(environment: environment)
        guard let file = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            if let forced = environment["I2_NODES"], !forced.isEmpty {
                throw I2Error(.usage, "I2_NODES names \(forced), which does not exist")
            }
            throw I2Error(.usage, "'\(text)' is not AET@HOST:PORT, and there is no node file to look it up in (looked for \(candidates.joined(separator: ", ")); see 'man i2-send')")
        }
        let nodes = try load(file)
        guard let node = nodes[text] else {
            let known = nodes.keys.sorted()
            throw I2Error(.usage, "no node named '\(text)' in \(file)" + (known.isEmpty ? "" : " (it has: \(known.joined(separator: ", ")))"))
        }
        switch node {
        case .dimse(var d): d.name = text; return .dimse(d)
        case .web(var w): w.name = text; return .web(w)
        }
    }

    /// A DIMSE node's "tls": absent or false (plain TCP), true (TLS, certificates from the command line),
    /// or {"ca", "cert", "key"} (each optional).
    static func tls(_ value: Any?, _ bad: (String) -> I2Error) throws -> TLSOptions? {
        switch value {
        case nil: return nil
        case let on as Bool: return on ? TLSOptions() : nil
        case let o as [String: Any]:
            let unknown = Set(o.keys).subtracting(["ca", "cert", "key"])
            guard unknown.isEmpty else { throw bad("\"tls\" takes \"ca\", \"cert\" and \"key\", not \(unknown.sorted().joined(separator: ", "))") }
            for k in ["ca", "cert", "key"] where o[k] != nil && !(o[k] is String) { throw bad("\"tls\": \"\(k)\" must be a path") }
            return TLSOptions(certificate: o["cert"] as? String, privateKey: o["key"] as? String, trusted: o["ca"] as? String)
        default: throw bad("\"tls\" must be true, false or an object {\"ca\", \"cert\", \"key\"}")
        }
    }

    public static func load(_ path: String) throws -> [String: Node] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw I2Error(.usage, path: path, "cannot read the node file")
        }
        guard let top = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw I2Error(.usage, path: path, "the node file must be a JSON object mapping node names to nodes")
        }
        var nodes: [String: Node] = [:]
        for (name, value) in top {
            func bad(_ why: String) -> I2Error { I2Error(.usage, path: path, "node '\(name)': \(why)") }
            if let text = value as? String {
                if text.hasPrefix("http://") || text.hasPrefix("https://") {
                    do { nodes[name] = .web(try WebEndpoint(url: text)) } catch let e as I2Error { throw bad(e.detail) }
                    continue
                }
                let parsed: Destination?
                do { parsed = try Destination.parse(text) } catch let e as I2Error { throw bad(e.detail) }
                guard let d = parsed else { throw bad("'\(text)' is not AET@HOST:PORT or an http(s):// URL") }
                nodes[name] = .dimse(d)
                continue
            }
            guard let o = value as? [String: Any] else { throw bad("expected an object, \"AET@HOST:PORT\" or a URL") }
            if let url = o["url"] as? String {
                // DICOMweb: basic authentication or a bearer token, never both.
                let user = o["username"] as? String, password = o["password"] as? String, token = o["token"] as? String
                guard token == nil || (user == nil && password == nil) else { throw bad("\"token\" and \"username\"/\"password\" exclude each other") }
                guard (user == nil) == (password == nil) else { throw bad("\"username\" and \"password\" go together") }
                let auth: WebEndpoint.Auth? = token.map { .bearer($0) } ?? user.map { .basic(user: $0, password: password ?? "") }
                do { nodes[name] = .web(try WebEndpoint(url: url, auth: auth, caFile: o["ca"] as? String)) } catch let e as I2Error { throw bad(e.detail) }
                continue
            }
            guard let aet = o["aet"] as? String else { throw bad("\"aet\" (the node's AE title) or \"url\" (a DICOMweb base URL) is missing") }
            guard let host = o["host"] as? String, !host.isEmpty else { throw bad("\"host\" is missing") }
            guard let port = (o["port"] as? Int) ?? (o["port"] as? String).flatMap(Int.init), (1...65535).contains(port) else {
                throw bad("\"port\" must be a number from 1 to 65535")
            }
            let calling = o["calling_aet"] as? String
            do {
                try Destination.validateAETitle(aet, what: "\"aet\"")
                if let c = calling { try Destination.validateAETitle(c, what: "\"calling_aet\"") }
            } catch let e as I2Error { throw bad(e.detail) }
            var node = Destination(aeTitle: aet, host: host, port: port, callingAE: calling)
            node.tls = try tls(o["tls"], bad)
            nodes[name] = .dimse(node)
        }
        return nodes
    }
}
