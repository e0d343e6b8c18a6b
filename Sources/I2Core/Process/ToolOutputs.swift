// What a tool wrote → DICOM objects in the study of its source series, one kind per output type:
// segmentation → DICOM-SEG (nifti2seg), pdf → Encapsulated PDF, image → derived series (as
// `i2 convert --ref`), dicom → the tool's own files, checked and copied. Every declared output must
// exist; anything wrong is an error naming the output.
import Foundation
import I2DICOM
import I2Model

enum ToolOutputs {
    /// Converts every declared output of `tool` found under `from` into `staging`; returns the files written.
    static func convert(_ tool: ToolSpec, from: String, series: SeriesInput, into staging: String, work: String,
                        warn: (String) -> Void) throws -> [String] {
        var files: [String] = []
        let counts = Dictionary(grouping: tool.outputs, by: \.kind).mapValues(\.count)
        var seen: [ToolSpec.Output.Kind: Int] = [:]
        for out in tool.outputs {
            let n = seen[out.kind, default: 0] + 1
            seen[out.kind] = n
            // One output of a kind: seg.dcm; several: seg-1.dcm, seg-2.dcm.
            let base = [ToolSpec.Output.Kind.segmentation: "seg", .pdf: "report", .image: "image", .dicom: "dicom"][out.kind]!
                + (counts[out.kind]! > 1 ? "-\(n)" : "")
            let source = from + "/" + out.path
            guard FileManager.default.fileExists(atPath: source) else {
                throw I2Error(.badInput, "the tool wrote no \(out.path) (declared output of type \(out.kind.rawValue))")
            }
            do {
                switch out.kind {
                case .segmentation:
                    files += try segmentation(out, source: source, series: series, target: staging + "/" + base + ".dcm", work: work, warn: warn)
                case .pdf:
                    let target = staging + "/" + base + ".dcm"
                    try EncapsulatedPDF.write(pdf: source, series: series, title: out.title ?? tool.name + " report",
                                              seriesDescription: out.seriesDescription, to: target)
                    files.append(target)
                case .image:
                    let volume = try VolumeIO.read(path: source)
                    let dir = staging + "/" + base
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                    let seed = "image:" + Hash.hex(volume.data) + "/ref:" + series.uid + "/tool:" + tool.name
                    files += try VolumeToDicom.write(volume, reference: series.directory, into: dir, uidSeed: seed,
                                                     seriesDescription: out.seriesDescription ?? tool.name)
                case .dicom:
                    files += try dicom(source, series: series, into: staging + "/" + base)
                }
            } catch let e as I2Error {
                throw I2Error(e.kind, "output \(out.path): \(e.path.map { $0 == source ? "" : $0 + ": " } ?? "")\(e.detail)")
            }
        }
        return files
    }

    static func segmentation(_ out: ToolSpec.Output, source: String, series: SeriesInput, target: String, work: String,
                             warn: (String) -> Void) throws -> [String] {
        // Several objects: into a directory of the output's name (seg.dcm, rtstruct.dcm, overlay/, sr.dcm in it).
        let output = out.objects.count > 1 ? String(target.dropLast(4)) : target
        var o = Nifti2SegOptions(inputs: [source], reference: series.directory, output: output)
        o.objects = out.objects
        o.measures = out.measures
        switch out.meta {
        case .file(let p)?: o.meta = p
        case .inline(let data)?:
            let p = work + "/" + URL(fileURLWithPath: target).deletingPathExtension().lastPathComponent + "-meta.json"
            try AtomicFile.write(Array(data), to: p)
            o.meta = p
        case .preset(let p)?: o.preset = p
        case nil: throw I2Error(.usage, "a segmentation output needs meta or preset")
        }
        o.type = out.segType
        o.genericUnknownLabels = out.unknownLabels == "generic"
        o.writeEmptyResult = out.emptyResult == "seg"
        switch try NiftiToSeg.write(o, warn: warn) {
        case .written(let paths): return paths
        case .empty:
            warn("\(series.directory): \(out.path): every label is empty: no SEG (the tool description says emptyResult skip)")
            return []
        }
    }

    /// A tool's own DICOM files (a file, or a directory searched recursively): each must be DICOM with
    /// SOP class and instance UIDs and belong to the source series' patient and study.
    static func dicom(_ source: String, series: SeriesInput, into dir: String) throws -> [String] {
        let (files, errors) = DicomScan.files(in: [source])
        if let e = errors.first { throw e }
        guard !files.isEmpty else { throw I2Error(.badInput, path: source, "no files in it") }
        let ref = try DicomFile(path: series.stack.first.path)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var written: [String] = []
        for file in files.sorted() {
            let f: DicomFile
            do { f = try DicomFile(path: file) } catch let e as I2Error { throw e.kind == .notDICOM ? I2Error(.badInput, path: file, "not a DICOM file") : e }
            guard let sop = f.string(.sopInstanceUID), UID.isValid(sop), let cls = f.string(.sopClassUID), UID.isValid(cls) else {
                throw I2Error(.badInput, path: file, "no valid SOP Class and SOP Instance UIDs")
            }
            for tag: Tag in [.studyInstanceUID, .patientID] where (f.string(tag) ?? "") != (ref.string(tag) ?? "") {
                throw I2Error(.badInput, path: file, "\(tag == .patientID ? "PatientID" : "StudyInstanceUID") \"\(f.string(tag) ?? "")\" differs from the source series' \"\(ref.string(tag) ?? "")\": it would land in another study")
            }
            let target = dir + "/" + sop + ".dcm"
            guard !FileManager.default.fileExists(atPath: target) else {
                throw I2Error(.badInput, path: file, "SOP Instance UID \(sop) appears twice in the tool's output")
            }
            try AtomicFile.write(to: target) { tmp in try FileBytes.write(try FileBytes.read(file), to: tmp) }
            written.append(target)
        }
        return written
    }
}
