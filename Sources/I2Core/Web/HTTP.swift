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

/// A request body read as it is sent: `length` bytes in all, `read` fills the buffer it is given and
/// returns the count (0 at the end); a throw aborts the request and is rethrown.
public final class HTTPUpload {
    let length: Int
    let read: (UnsafeMutableRawBufferPointer) throws -> Int
    var failure: Error?
    public init(length: Int, read: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) { (self.length, self.read) = (length, read) }
}

/// An answer's body taken as it arrives: `chunk` gets each piece with the HTTP status and content type;
/// a throw aborts the request and is rethrown.
public final class HTTPDownload {
    let chunk: (UnsafeRawBufferPointer, Int, String) throws -> Void
    var failure: Error?
    public init(chunk: @escaping (UnsafeRawBufferPointer, Int, String) throws -> Void) { self.chunk = chunk }
}

public enum HTTP {
    /// One request to `url`. `peer` names the node in errors. The answer is bounded by `maxBody` bytes,
    /// unless `download` takes it as it arrives (then the response's body is empty).
    public static func request(_ method: String, _ url: String, peer: String, headers: [String] = [], auth: WebEndpoint.Auth? = nil,
                               body: [UInt8]? = nil, upload: HTTPUpload? = nil, download: HTTPDownload? = nil,
                               connectTimeout: Int = 10, timeout: Int = 600, maxBody: Int = 1 << 31,
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
        let reader: i2curl_reader = { buf, len, ctx in
            let u = Unmanaged<HTTPUpload>.fromOpaque(ctx!).takeUnretainedValue()
            do { return try u.read(UnsafeMutableRawBufferPointer(start: buf, count: len)) } catch { u.failure = error; return -1 }
        }
        let writer: i2curl_writer = { data, len, status, type, ctx in
            let d = Unmanaged<HTTPDownload>.fromOpaque(ctx!).takeUnretainedValue()
            do { try d.chunk(UnsafeRawBufferPointer(start: data, count: len), status, String(cString: type!)); return 0 } catch { d.failure = error; return 1 }
        }
        let outcome: Int32 = owned.map { UnsafePointer($0) }.withUnsafeBufferPointer { h in
            (body ?? []).withUnsafeBytes { b in
                withExtendedLifetime((upload, download)) {
                    i2curl_request(method, url, h.baseAddress, Int32(h.count), user, password,
                                   body == nil ? nil : (b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)), body == nil ? upload?.length ?? 0 : b.count,
                                   upload == nil ? nil : reader, upload.map { Unmanaged.passUnretained($0).toOpaque() },
                                   download == nil ? nil : writer, download.map { Unmanaged.passUnretained($0).toOpaque() },
                                   connectTimeout, timeout, maxBody, caFile, &response, &err, err.count)
                }
            }
        }
        defer { i2curl_free(&response) }
        if let e = upload?.failure ?? download?.failure { throw e }
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
