// A DICOMweb node: its base URL (the one QIDO-RS, WADO-RS and STOW-RS paths hang from) and how to
// authenticate, from the command line (an http(s):// URL) or the node file
// ({"archive": {"url": "https://…/dicom-web", "username": "…", "password": "…"}} or "token"): never
// a password on the command line, where `ps` shows it.
import Foundation
import I2Model

public struct WebEndpoint: Sendable, Equatable {
    public enum Auth: Sendable, Equatable {
        case basic(user: String, password: String)
        case bearer(String)
    }
    /// Without a trailing slash.
    public var url: String
    public var auth: Auth?
    /// A CA bundle to trust for this node instead of the system's.
    public var caFile: String?
    public var name: String?

    public init(url: String, auth: Auth? = nil, caFile: String? = nil, name: String? = nil) throws {
        guard url.hasPrefix("http://") || url.hasPrefix("https://"), URL(string: url)?.host != nil else {
            throw I2Error(.usage, "'\(url)' is not an http:// or https:// URL")
        }
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        (self.auth, self.caFile, self.name) = (auth, caFile, name)
    }

    public var label: String { name.map { "\($0) (\(url))" } ?? url }
}

/// A node as the commands that speak both take it: DIMSE or DICOMweb.
public enum Node: Sendable, Equatable {
    case dimse(Destination)
    case web(WebEndpoint)

    /// An http(s):// URL, AET@HOST:PORT, or a name from the node file.
    public static func resolve(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Node {
        if text.hasPrefix("http://") || text.hasPrefix("https://") { return .web(try WebEndpoint(url: text)) }
        if let d = try Destination.parse(text) { return .dimse(d) }
        return try NodeFile.named(text, environment: environment)
    }
}
