// i2 query as an engine: one C-FIND against a DICOM node (Study Root, or Patient Root for the patient
// level), the matches as records on stdout: tab-separated columns, the level's own key first (so
// `cut -f1` gives UIDs to retrieve), or one JSON object per line. No match is not an error; a node that
// cannot be reached or refuses us (the association or the query) is, as for i2 send.
import Foundation
import I2DICOM
import I2Model

public enum QueryLevel: String, CaseIterable, Sendable {
    case patient, study, series, instance

    /// QueryRetrieveLevel's value (PS3.4 C.6.1.1.2).
    var dicom: String { self == .instance ? "IMAGE" : rawValue.uppercased() }

    /// Patient Root for the patient level (Study Root has none), Study Root for the others.
    var model: String { self == .patient ? "1.2.840.10008.5.1.4.1.2.1.1" : "1.2.840.10008.5.1.4.1.2.2.1" }

    /// What each match reports, in column order: the level's unique key first.
    var columns: [Tag] {
        switch self {
        case .patient: return [.patientID, .patientName, .patientBirthDate, .patientSex, .numberOfPatientRelatedStudies]
        case .study: return [.studyInstanceUID, .patientID, .patientName, .studyDate, .accessionNumber, .modalitiesInStudy,
                             .studyDescription, .numberOfStudyRelatedSeries, .numberOfStudyRelatedInstances]
        case .series: return [.seriesInstanceUID, .studyInstanceUID, .patientID, .modality, .seriesNumber, .seriesDescription,
                              .numberOfSeriesRelatedInstances]
        case .instance: return [.sopInstanceUID, .seriesInstanceUID, .studyInstanceUID, .sopClassUID, .instanceNumber]
        }
    }
}

public struct QueryOptions: Sendable {
    public var node: Node
    public var callingAE = "I2"
    public var level = QueryLevel.study
    public var patientID: String?
    public var accession: String?
    public var study: String?
    public var modality: String?
    /// YYYYMMDD, or a range YYYYMMDD-YYYYMMDD (either end may be left open).
    public var studyDate: String?
    /// StudyDescription (study level) or SeriesDescription (series level); wildcards * and ? as DICOM has them.
    public var description: String?
    public var connectTimeout = 10
    public var acseTimeout = 30
    public var dimseTimeout = 60
    public init(node: Node) { self.node = node }

    /// The C-FIND identifier: the level, every column as a return key, the filters as matching keys.
    func keys() throws -> [(Tag, String)] {
        var filters: [Tag: String] = [:]
        filters[.patientID] = patientID
        filters[.accessionNumber] = accession
        filters[.studyInstanceUID] = study
        if let m = modality {
            guard level != .patient else { throw I2Error(.usage, "--modality: the patient level has no modality (query --level study)") }
            filters[level == .study ? .modalitiesInStudy : .modality] = m
        }
        if let d = studyDate {
            guard d.range(of: #"^(\d{8}|\d{8}-|-\d{8}|\d{8}-\d{8})$"#, options: .regularExpression) != nil else {
                throw I2Error(.usage, "--study-date: '\(d)' is not YYYYMMDD or a range YYYYMMDD-YYYYMMDD (either end may be left out)")
            }
            filters[.studyDate] = d
        }
        if let t = description {
            guard level == .study || level == .series else { throw I2Error(.usage, "--description matches study or series descriptions: use --level study or series") }
            filters[level == .study ? .studyDescription : .seriesDescription] = t
        }
        for (tag, value) in filters where value.contains("\\") || value.contains(where: { $0.isNewline }) {
            throw I2Error(.usage, "\(tag.keyword): '\(value)' holds a backslash or a line break: one value only")
        }
        var keys: [(Tag, String)] = [(.queryRetrieveLevel, level.dicom)]
        for tag in level.columns { keys.append((tag, filters.removeValue(forKey: tag) ?? "")) }
        for (tag, value) in filters.sorted(by: { $0.key.keyword < $1.key.keyword }) { keys.append((tag, value)) }
        return keys
    }
}

public enum QueryEngine: Engine {
    public static func run(_ o: QueryOptions, _ context: EngineContext) -> Report {
        let result = Reporter(context)
        let label: String
        switch o.node { case .dimse(let d): label = d.label; case .web(let w): label = w.label }
        do {
            let keys = try o.keys()
            let matches: [[Tag: String]]
            switch o.node {
            case .dimse(let node): matches = try find(keys, node: node, o, context)
            case .web(let node): matches = try qido(keys, node: node, o)
            }
            let columns = o.level.columns
            let rows = matches.map { m in (m, columns.map { m[$0] ?? "" }.joined(separator: "\t")) }
                .sorted { $0.1 < $1.1 }
            for (m, row) in rows {
                var fields: [String: JSONValue] = ["QueryRetrieveLevel": .string(o.level.dicom)]
                for tag in columns { fields[tag.keyword] = m[tag].map { .string($0) } ?? .null }
                result.record(row, fields)
            }
            context.events.info("\(rows.count) \(o.level.rawValue) match\(rows.count == 1 ? "" : "es") on \(label)")
        } catch let e as I2Error {
            return result.fatal(e)
        } catch {
            return result.fatal(I2Error(.internal, peer: label, "\(error)"))
        }
        return result.finish()
    }

    /// C-FIND.
    static func find(_ keys: [(Tag, String)], node: Destination, _ o: QueryOptions, _ context: EngineContext) throws -> [[Tag: String]] {
        let association = try NodeRequest.open(node, callingAE: o.callingAE, connect: o.connectTimeout, acse: o.acseTimeout,
                                               dimse: o.dimseTimeout, model: o.level.model)
        defer { association.release() }
        let answer = try NodeRequest.refusing(node, callingAE: o.callingAE, "C-FIND") {
            try association.find(model: o.level.model, keys: keys)
        }
        // Success, or Cancel after matches (a peer that limits its answers says so with a warning).
        guard answer.status == 0x0000 || answer.status == 0xFE00 else {
            let why = answer.comment.isEmpty ? "" : ": \(answer.comment)"
            throw I2Error(.rejected, peer: node.address, "the C-FIND failed with status 0x\(String(answer.status, radix: 16, uppercase: true))\(why)")
        }
        if answer.status == 0xFE00 { context.events.warning("\(node.label) cancelled the query: the matches may be incomplete") }
        return answer.matches
    }

    /// QIDO-RS (PS3.18 10.6): the filters as query parameters by keyword, every column as an includefield,
    /// the DICOM JSON answer's values read by tag (PN as its alphabetic group).
    static func qido(_ keys: [(Tag, String)], node: WebEndpoint, _ o: QueryOptions) throws -> [[Tag: String]] {
        let resource: String
        switch o.level {
        case .patient: throw I2Error(.usage, "QIDO-RS has no patient level: query --level study on a DICOMweb node")
        case .study: resource = "studies"
        case .series: resource = "series"
        case .instance: resource = "instances"
        }
        return try search(node, resource: resource, keys: keys.filter { $0.0 != .queryRetrieveLevel },
                          connectTimeout: o.connectTimeout, timeout: o.dimseTimeout)
    }

    /// One QIDO-RS search of `resource` (studies, series, instances): keys with a value match, the others
    /// are returned (includefield); each match's values of those tags.
    static func search(_ node: WebEndpoint, resource: String, keys: [(Tag, String)], offset: Int = 0,
                       connectTimeout: Int, timeout: Int) throws -> [[Tag: String]] {
        var parameters: [String] = []
        for (tag, value) in keys {
            parameters.append(value.isEmpty ? "includefield=\(tag.keyword)" : "\(tag.keyword)=\(HTTP.encode(value))")
        }
        if offset > 0 { parameters.append("offset=\(offset)") }
        let url = node.url + "/" + resource + "?" + parameters.joined(separator: "&")
        let r = try HTTP.request("GET", url, peer: node.label, headers: ["Accept: application/dicom+json"], auth: node.auth,
                                 connectTimeout: connectTimeout, timeout: timeout, maxBody: 256 << 20, caFile: node.caFile)
        if r.status == 204 { return [] }
        guard r.isSuccess else { throw WebStatus.error(r, node: node, what: "the QIDO-RS query") }
        guard let array = try? JSONSerialization.jsonObject(with: Data(r.body)) as? [[String: Any]] else {
            throw I2Error(.rejected, peer: node.label, "the QIDO-RS answer is not a JSON array of DICOM JSON objects")
        }
        let tags = keys.map(\.0)
        return array.map { object in
            var m: [Tag: String] = [:]
            for tag in tags {
                guard let element = object[String(format: "%04X%04X", tag.group, tag.element)] as? [String: Any],
                      let values = element["Value"] as? [Any] else { continue }
                m[tag] = values.map { v -> String in
                    if let p = v as? [String: Any] { return p["Alphabetic"] as? String ?? "" }
                    if let n = v as? NSNumber { return n.stringValue }
                    return v as? String ?? ""
                }.joined(separator: "\\")
            }
            return m
        }
    }
}

/// An HTTP status that is not success, as the error the contract has for it: refused (401, 403 and
/// other 4xx: the node will not do it) or unreachable (5xx, 429: the node cannot now).
enum WebStatus {
    static func error(_ r: HTTPResponse, node: WebEndpoint, what: String) -> I2Error {
        let text = String(decoding: r.body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let detail = "\(what) was answered with HTTP \(r.status)" + (text.isEmpty ? "" : ": \(text)")
        switch r.status {
        case 401: return I2Error(.rejected, peer: node.label, "\(what) was refused (HTTP 401 Unauthorized): the node does not accept our credentials; check the username/password or token of this node in the node file")
        case 403: return I2Error(.rejected, peer: node.label, "\(what) was refused (HTTP 403 Forbidden): the node file's credentials for this node do not allow it")
        case 429, 500...599: return I2Error(network: .unreachable, peer: node.label, detail)
        default: return I2Error(.rejected, peer: node.label, detail)
        }
    }
}
