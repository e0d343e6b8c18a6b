// WADO-RS for i2 retrieve (PS3.18 10.4): each request is a GET of the item's resource (a study, a series,
// or one instance) as multipart/related application/dicom in the transfer syntax the node holds it in
// (transfer-syntax=*: nothing transcoded, nothing lossy). The answer is read as it arrives: each part
// streams into a hidden file under the store's incoming directory and is handed to GroupCommit (made
// durable with the others of its group, then moved into place and printed), so memory stays flat and
// nothing half-written is ever visible.
import Foundation
import I2DICOM
import I2Model

final class WadoHere: Transport {
    let o: RetrieveOptions, node: WebEndpoint, commit: GroupCommit, incoming: String

    init(_ o: RetrieveOptions, node: WebEndpoint, commit: GroupCommit, incoming: String) {
        (self.o, self.node, self.commit, self.incoming) = (o, node, commit, incoming)
    }

    func fetch(_ keys: [(Tag, String)]) throws -> Fetched {
        try commit.measuring { try request(keys) }
    }

    private func request(_ keys: [(Tag, String)]) throws -> Fetched {
        var uid: [Tag: String] = [:]
        for (tag, value) in keys { uid[tag] = value }
        let level = uid[.queryRetrieveLevel] ?? "STUDY"
        var url = node.url + "/studies/" + (uid[.studyInstanceUID] ?? "")
        if level != "STUDY" { url += "/series/" + (uid[.seriesInstanceUID] ?? "") }
        if level == "IMAGE" { url += "/instances/" + (uid[.sopInstanceUID] ?? "") }

        var refused: [String] = []
        var reader: MultipartReader?
        var errorBody: [UInt8] = [], errorType = ""
        var fd: Int32 = -1, tmp = "", partType = ""
        defer { if fd >= 0 { Glibc.close(fd); unlink(tmp) } }
        let sink = MultipartReader.Sink(begin: { headers in
            partType = headers.first { $0.lowercased().hasPrefix("content-type:") }.map { String($0.dropFirst(13)).trimmingCharacters(in: .whitespaces) } ?? ""
            tmp = self.incoming + "/.i2-\(getpid())-wado-" + UUID().uuidString + ".part"
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw I2Error(.storage, path: tmp, "cannot create: \(String(cString: strerror(errno)))") }
        }, data: { bytes in
            var rest = bytes
            while !rest.isEmpty {
                let n = write(fd, rest.baseAddress, rest.count)
                guard n > 0 else { throw I2Error(.storage, path: tmp, "cannot write: \(String(cString: strerror(errno)))") }
                rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            }
        }, end: {
            Glibc.close(fd)
            fd = -1
            guard partType.isEmpty || partType.lowercased().hasPrefix("application/dicom") else {
                unlink(tmp)
                refused.append("a part of type \(partType), not application/dicom")
                return
            }
            self.commit.add(tmp, sop: "")
        })
        let download = HTTPDownload { chunk, status, type in
            guard (200..<300).contains(status) else {
                (errorBody, errorType) = (errorBody + chunk.prefix(max(0, 65536 - errorBody.count)), type)
                return
            }
            if reader == nil {
                guard let boundary = MultipartReader.boundary(type) else {
                    throw I2Error(.rejected, peer: self.node.label, "the WADO-RS answer for \(url) is \(type.isEmpty ? "untyped" : type), not multipart/related")
                }
                reader = MultipartReader(boundary: boundary, sink: sink)
            }
            try reader!.feed(chunk)
        }
        let r = try HTTP.request("GET", url, peer: node.label, headers: ["Accept: multipart/related; type=\"application/dicom\"; transfer-syntax=*"],
                                 auth: node.auth, download: download, connectTimeout: o.connectTimeout, timeout: o.dimseTimeout, caFile: node.caFile)
        if r.status == 404 {
            return Fetched(refused: ["the node has no such resource (HTTP 404 for \(url))"])
        }
        guard r.isSuccess else {
            throw WebStatus.error(HTTPResponse(status: r.status, body: errorBody, contentType: errorType), node: node, what: "the WADO-RS request \(url)")
        }
        if r.status != 204 && reader?.isComplete != true {
            refused.append("the answer ended before its closing boundary (\(reader?.parts ?? 0) parts read)")
        }
        return Fetched(refused: refused)
    }

    func close() {}
}
