// A tool description: what `i2 process` needs to know to run an image-processing program on a series
// and turn what it writes into DICOM. Read from JSON (schema in i2-process(1)); built-in tools are
// described by the same structure. Parsed with JSONSerialization so errors name the field.
import Foundation
import I2Model

public struct ToolSpec: Sendable {
    public enum InputFormat: String, Sendable, CaseIterable {
        case nifti, nii, nrrd, mha, npy, dicom
        /// The file extension of the converted input; nil for `dicom` (the series' own files).
        var fileFormat: FileFormat? {
            switch self {
            case .nifti: return .niftiGz
            case .nii: return .nifti
            case .nrrd: return .nrrd
            case .mha: return .mha
            case .npy: return .npy
            case .dicom: return nil
            }
        }
    }

    public enum Command: Sendable {
        case argv([String])     // exec'd directly, each argument expanded
        case shell(String)      // run by the shell (RunningCommand.shell), placeholders shell-quoted
        case builtin(String)    // "builtin:NAME": a tool compiled into i2
    }

    /// Which series the tool can handle; a series failing any condition is skipped with the reason.
    public struct Accepts: Sendable {
        public var modalities: [String] = []
        public var sopClasses: [String] = []
        public var minSlices: Int?
        public var maxSlices: Int?
    }

    public struct Output: Sendable {
        public enum Kind: String, Sendable, CaseIterable { case segmentation, pdf, image, dicom }
        public var kind: Kind
        public var path: String                 // relative to the tool's output directory
        // segmentation
        public var meta: MetaSource?
        public var segType: SegmentationTypeValues = .binary
        public var unknownLabels = "error"       // or "generic"
        public var emptyResult = "seg"          // or "skip"
        /// The objects the label map becomes ("as": seg, rtstruct, overlay, sr), so a site picks what its PACS shows.
        public var objects: [DerivedObject] = [.seg]
        /// What the measurement report gives ("measure"); nil: nifti2seg's default.
        public var measures: [Measure]?
        // pdf
        public var title: String?
        // pdf and image
        public var seriesDescription: String?
    }

    public enum MetaSource: Sendable {
        case file(String)           // absolute path of a dcmqi metainfo JSON
        case inline(Data)           // the template itself, written into the work directory at run time
        case preset(String)
    }

    public var name: String
    public var version: String = ""
    public var description: String = ""
    public var accepts = Accepts()
    public var input: InputFormat = .nifti
    public var command: Command
    public var timeout: Double?
    public var parameters: [String: String] = [:]
    public var outputs: [Output]
    /// The JSON text this tool was read from (for --describe), or the built-in description.
    public var json: Data = Data()

    /// Why `series` is not for this tool, or nil when it is.
    func refusal(modality: String, sopClass: String, slices: Int) -> String? {
        if !accepts.modalities.isEmpty, !accepts.modalities.contains(where: { $0.caseInsensitiveCompare(modality) == .orderedSame }) {
            return "modality \(modality.isEmpty ? "(none)" : modality) is not one the tool accepts (\(accepts.modalities.joined(separator: ", ")))"
        }
        if !accepts.sopClasses.isEmpty, !accepts.sopClasses.contains(sopClass) {
            return "SOP class \(sopClass) is not one the tool accepts"
        }
        if let m = accepts.minSlices, slices < m { return "\(slices) slices, the tool needs at least \(m)" }
        if let m = accepts.maxSlices, slices > m { return "\(slices) slices, the tool takes at most \(m)" }
        return nil
    }
}

extension ToolSpec {
    static let nameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")

    /// Reads a tool description file. Relative `meta` paths are resolved against the file's directory.
    public static func load(path: String) throws -> ToolSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw I2Error(.storage, path: path, "cannot read the tool description")
        }
        let dir = (URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path)
        return try decode(data, path: path, directory: dir)
    }

    static func decode(_ data: Data, path: String, directory: String) throws -> ToolSpec {
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            throw I2Error(.badInput, path: path, MetadataJSON.syntaxMessage(error as NSError, in: data))
        }
        let r = Reader(path: path)
        guard let o = root as? [String: Any] else { throw r.fail("", "the tool description must be a JSON object") }
        let known: Set = ["name", "version", "description", "accepts", "input", "command", "timeout", "parameters", "outputs"]
        if let k = o.keys.sorted().first(where: { !known.contains($0) && !$0.hasPrefix("_") }) {
            throw r.fail(k, "unknown field (known: \(known.sorted().joined(separator: ", ")); prefix a comment field with '_')")
        }
        let name = try r.string(o, "name", required: true)!
        guard !name.isEmpty, name.allSatisfy(nameCharacters.contains) else {
            throw r.fail("name", "\"\(name)\": use letters, digits, '.', '_' and '-' only (it names output directories)")
        }
        let command: Command
        switch o["command"] {
        case let s as String where s.hasPrefix("builtin:"):
            let b = String(s.dropFirst("builtin:".count))
            guard BuiltinTools.names.contains(b) else {
                throw r.fail("command", "\"\(s)\": no such built-in tool (built in: \(BuiltinTools.names.joined(separator: ", ")))")
            }
            command = .builtin(b)
        case let s as String where !s.trimmingCharacters(in: .whitespaces).isEmpty: command = .shell(s)
        case let a as [Any] where !a.isEmpty && a.allSatisfy({ $0 is String }): command = .argv(a as! [String])
        case nil: throw r.fail("command", "missing: an array of arguments, or a shell command line as a string")
        default: throw r.fail("command", "must be a non-empty array of strings, or a non-empty string")
        }
        var spec = ToolSpec(name: name, command: command, outputs: [])
        spec.version = try r.string(o, "version") ?? ""
        spec.description = try r.string(o, "description") ?? ""
        if let i = try r.string(o, "input") {
            guard let f = InputFormat(rawValue: i) else {
                throw r.fail("input", "\"\(i)\" is not one of \(InputFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            spec.input = f
        }
        if let t = o["timeout"] {
            guard let n = t as? NSNumber, n.doubleValue > 0 else { throw r.fail("timeout", "must be a positive number of seconds") }
            spec.timeout = n.doubleValue
        }
        if let p = o["parameters"] {
            guard let d = p as? [String: Any] else { throw r.fail("parameters", "must be an object of name: default value") }
            for (k, v) in d {
                switch v {
                case let s as String: spec.parameters[k] = s
                case let n as NSNumber: spec.parameters[k] = n.stringValue
                default: throw r.fail("parameters.\(k)", "must be a string or a number")
                }
            }
        }
        if let a = o["accepts"] {
            guard let d = a as? [String: Any] else { throw r.fail("accepts", "must be an object") }
            let knownAccepts: Set = ["modalities", "sopClasses", "minSlices", "maxSlices"]
            if let k = d.keys.sorted().first(where: { !knownAccepts.contains($0) }) {
                throw r.fail("accepts.\(k)", "unknown condition (known: \(knownAccepts.sorted().joined(separator: ", ")))")
            }
            spec.accepts.modalities = try r.strings(d, "accepts.modalities", key: "modalities")
            spec.accepts.sopClasses = try r.strings(d, "accepts.sopClasses", key: "sopClasses")
            spec.accepts.minSlices = try r.count(d, "accepts.minSlices", key: "minSlices")
            spec.accepts.maxSlices = try r.count(d, "accepts.maxSlices", key: "maxSlices")
        }
        guard let outs = o["outputs"] as? [Any], !outs.isEmpty else {
            throw r.fail("outputs", "missing or empty: list what the tool writes, e.g. [{\"type\": \"segmentation\", \"path\": \"seg.nii.gz\", \"meta\": \"meta.json\"}]")
        }
        for (i, item) in outs.enumerated() {
            spec.outputs.append(try output(item, at: "outputs[\(i)]", r: r, directory: directory))
        }
        spec.json = data
        return spec
    }

    static func output(_ item: Any, at: String, r: Reader, directory: String) throws -> Output {
        guard let d = item as? [String: Any] else { throw r.fail(at, "must be an object") }
        let known: Set = ["type", "path", "meta", "preset", "segmentationType", "unknownLabels", "emptyResult", "as", "measure", "title", "seriesDescription"]
        if let k = d.keys.sorted().first(where: { !known.contains($0) && !$0.hasPrefix("_") }) {
            throw r.fail("\(at).\(k)", "unknown field (known: \(known.sorted().joined(separator: ", ")))")
        }
        let t = try r.string(d, "type", at: at, required: true)!
        guard let kind = Output.Kind(rawValue: t) else {
            throw r.fail("\(at).type", "\"\(t)\" is not one of \(Output.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let path = try r.string(d, "path", at: at, required: true)!
        guard !path.isEmpty, !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
            throw r.fail("\(at).path", "\"\(path)\": must be a relative path inside the tool's output directory")
        }
        var out = Output(kind: kind, path: path)
        out.title = try r.string(d, "title", at: at)
        out.seriesDescription = try r.string(d, "seriesDescription", at: at)
        guard kind == .segmentation else {
            if let k = ["meta", "preset", "segmentationType", "unknownLabels", "emptyResult", "as", "measure"].first(where: { d[$0] != nil }) {
                throw r.fail("\(at).\(k)", "applies to outputs of type segmentation only")
            }
            return out
        }
        switch (d["meta"], try r.string(d, "preset", at: at)) {
        case (let m as String, nil):
            out.meta = .file(m.hasPrefix("/") ? m : directory + "/" + m)
        case (let m as [String: Any], nil):
            out.meta = .inline(try JSONSerialization.data(withJSONObject: m, options: [.sortedKeys]))
        case (nil, let p?):
            guard NiftiToSeg.presets.contains(p) else {
                throw r.fail("\(at).preset", "\"\(p)\" is not one of \(NiftiToSeg.presets.joined(separator: ", "))")
            }
            out.meta = .preset(p)
        case (nil, nil):
            throw r.fail(at, "a segmentation needs \"meta\" (a dcmqi metainfo file or object) or \"preset\"")
        case (_?, _?):
            throw r.fail(at, "\"meta\" and \"preset\" exclude each other")
        default:
            throw r.fail("\(at).meta", "must be a file path or a dcmqi metainfo object")
        }
        if let s = try r.string(d, "segmentationType", at: at) {
            guard let v = SegmentationTypeValues(rawValue: s.uppercased()), v != .fractional else {
                throw r.fail("\(at).segmentationType", "\"\(s)\" is not binary or labelmap")
            }
            out.segType = v
        }
        if let u = try r.string(d, "unknownLabels", at: at) {
            guard ["error", "generic"].contains(u) else { throw r.fail("\(at).unknownLabels", "\"\(u)\" is not error or generic") }
            out.unknownLabels = u
        }
        if let e = try r.string(d, "emptyResult", at: at) {
            guard ["seg", "skip"].contains(e) else { throw r.fail("\(at).emptyResult", "\"\(e)\" is not seg or skip") }
            out.emptyResult = e
        }
        if d["as"] != nil { out.objects = try CaseNames.parse(r.strings(d, "\(at).as", key: "as"), as: DerivedObject.self) { r.fail("\(at).as", $0) } }
        if out.objects.contains(.sr), !out.objects.contains(.seg) {
            throw r.fail("\(at).as", "\"sr\" needs \"seg\" too: the report's measurement groups reference the SEG's segments")
        }
        if d["measure"] != nil {
            guard out.objects.contains(.sr) else { throw r.fail("\(at).measure", "applies to the measurement report: add \"sr\" to \"as\"") }
            out.measures = try CaseNames.parse(r.strings(d, "\(at).measure", key: "measure"), as: Measure.self) { r.fail("\(at).measure", $0) }
        }
        return out
    }

    /// Field access with errors that name the file and the field.
    struct Reader {
        var path: String
        func fail(_ field: String, _ why: String) -> I2Error {
            I2Error(.badInput, path: path, field.isEmpty ? why : "\(field): \(why)")
        }
        func string(_ d: [String: Any], _ key: String, at: String = "", required: Bool = false) throws -> String? {
            let field = at.isEmpty ? key : "\(at).\(key)"
            switch d[key] {
            case nil: if required { throw fail(field, "missing") } else { return nil }
            case let s as String: return s
            default: throw fail(field, "must be a string")
            }
        }
        func strings(_ d: [String: Any], _ field: String, key: String) throws -> [String] {
            switch d[key] {
            case nil: return []
            case let s as String: return [s]
            case let a as [Any] where a.allSatisfy({ $0 is String }): return a as! [String]
            default: throw fail(field, "must be a string or an array of strings")
            }
        }
        func count(_ d: [String: Any], _ field: String, key: String) throws -> Int? {
            guard let v = d[key] else { return nil }
            guard let n = v as? NSNumber, n.doubleValue >= 0, n.doubleValue == n.doubleValue.rounded() else {
                throw fail(field, "must be a whole number ≥ 0")
            }
            return n.intValue
        }
    }
}
