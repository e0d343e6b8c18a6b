// HTTP for the DICOMweb client, the one wrapper over libcurl (CCurl): a request in, status and body
// out, and every way a request can fail without an answer turned into an I2Error here (network causes
// as for DIMSE: unresolved, unreachable, timeout; TLS failures and a missing libcurl by name).
internal import CCurl
import Foundation
import I2Model

public struct HTTPResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    public var contentType: String
    public var isSuccess: Bool { (200..<300).contains(status) }
}

public enum HTTP {
    /// One request to `url`. `peer` names the node in errors. The answer is bounded by `maxBody` bytes.
    public static func request(_ method: String, _ url: String, peer: String, headers: [String] = [], auth: WebEndpoint.Auth? = nil,
                               body: [UInt8]? = nil, connectTimeout: Int = 10, timeout: Int = 600, maxBody: Int = 1 << 31,
                               caFile: String? = nil) throws -> HTTPResponse {
        var lines = headers
        var user: String?, password: String?
        switch auth {
        case .basic(let u, let p)?: (user, password) = (u, p)
        case .bearer(let token)?: lines.append("Authorization: Bearer " + token)
        case nil: break
        }
        var response = i2curl_response()
        var err = [CChar](repeating: 0, count: 512)
        let owned = lines.map { strdup($0) }
        defer { owned.forEach { free($0) } }
        let outcome: Int32 = owned.map { UnsafePointer($0) }.withUnsafeBufferPointer { h in
            (body ?? []).withUnsafeBytes { b in
                i2curl_request(method, url, h.baseAddress, Int32(h.count), user, password, body == nil ? nil : (b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)),
                               b.count, connectTimeout, timeout, maxBody, caFile, &response, &err, err.count)
            }
        }
        defer { i2curl_free(&response) }
        let why = String(cString: err)
        switch Int(outcome) {
        case I2CURL_OK: break
        case I2CURL_UNRESOLVED: throw I2Error(network: .unresolved, peer: peer, why)
        case I2CURL_UNREACHABLE: throw I2Error(network: .unreachable, peer: peer, why)
        case I2CURL_TIMEOUT: throw I2Error(network: .timeout, peer: peer, why)
        case I2CURL_TLS: throw I2Error(.rejected, peer: peer, why + " (is the server's certificate trusted? a CA bundle goes in the node file as \"ca\")")
        case I2CURL_NO_LIBRARY: throw I2Error(.internal, peer: peer, why)
        default: throw I2Error(network: .aborted, peer: peer, why)
        }
        let bytes = response.body.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: response.body_len)) } ?? []
        let type = withUnsafeBytes(of: &response.content_type) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return HTTPResponse(status: Int(response.status), body: bytes, contentType: type)
    }

    /// Percent-encoding of a query parameter's value.
    static func encode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~*?")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }
}
