// Finding DICOM slices: walk inputs (directories recursively, or files), read each header once,
// and describe every image frame as a SliceHeader. Non-DICOM files are reported as warnings.
import Foundation
import I2DICOM
import I2Model

struct DicomScan {
    var slices: [SliceHeader] = []
    var errors: [I2Error] = []
    var warnings: [String] = []
    /// Per-series attributes for sidecars and naming, from the first file seen of each series.
    var seriesInfo: [String: SeriesInfo] = [:]
    /// Series with a file that could not be read: converting the rest would silently lose a slice.
    var damagedSeries = Set<String>()
    /// The parsed multi-frame file of the most frames (lowest index among equals), kept for the sidecar:
    /// parsing an enhanced file of thousands of frames again cost as much as the scan (Conversion.run).
    var keptFile: DicomFile?

    /// Lists regular files under each input (recursively for directories; hidden names skipped, hidden
    /// folders not entered, symbolic links inside folders not followed), sorted for determinism.
    /// readdir's entry types, not FileManager's attributes: one lstat per file cost a large folder's
    /// listing more than dcm2niix takes for its whole conversion.
    static func files(in inputs: [String]) -> (files: [String], errors: [I2Error]) {
        var files: [String] = []
        var errors: [I2Error] = []
        for input in inputs {
            var st = stat()
            guard stat(input, &st) == 0 else {
                errors.append(I2Error(.storage, path: input, "no such file or directory"))
                continue
            }
            if (st.st_mode & S_IFMT) != S_IFDIR { files.append(input); continue }
            var found: [String] = []
            guard walk(input + "/", into: &found) else {
                errors.append(I2Error(.storage, path: input, "cannot read directory"))
                continue
            }
            files += found.sorted()
        }
        return (files, errors)
    }

    /// Appends the regular files under `dir` (ending in "/"); false when `dir` cannot be read.
    private static func walk(_ dir: String, into found: inout [String]) -> Bool {
        guard let d = opendir(dir) else { return false }
        defer { closedir(d) }
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name.hasPrefix(".") { continue }   // ".", "..", hidden files and folders
            let path = dir + name
            var type = Int32(e.pointee.d_type)
            if type == Int32(DT_UNKNOWN) {
                var st = stat()
                guard lstat(path, &st) == 0 else { continue }
                type = (st.st_mode & S_IFMT) == S_IFDIR ? Int32(DT_DIR) : (st.st_mode & S_IFMT) == S_IFREG ? Int32(DT_REG) : Int32(DT_LNK)
            }
            if type == Int32(DT_DIR) { _ = walk(path + "/", into: &found) }
            else if type == Int32(DT_REG) { found.append(path) }
        }
        return true
    }

    /// Reads the headers of `files` (in parallel: DCMTK parsing dominates for big series), on `threads`
    /// threads (default: one per core).
    init(files: [String], threads: Int = Processors.active) {
        var results = [Result<[SliceHeader], I2Error>?](repeating: nil, count: files.count)
        var damaged = [String?](repeating: nil, count: files.count)
        let firstFiles = FirstFiles()
        results.withUnsafeMutableBufferPointer { res in
            damaged.withUnsafeMutableBufferPointer { dam in
                let resBase = res.baseAddress!, damBase = dam.baseAddress!
                let one = { (i: Int) in
                    var file: DicomFile?
                    do {
                        file = try DicomFile(path: files[i])
                        let slices = try DicomScan.slices(of: file!)
                        (resBase + i).pointee = .success(slices)
                        if let uid = slices.first?.seriesInstanceUID { firstFiles.offer(uid, i, file!) }
                        if let frames = slices.first?.frameCount, frames > 1 { firstFiles.keep(i, frames, file!) }
                    } catch let e as I2Error {
                        (resBase + i).pointee = .failure(e.at(files[i]))
                        if e.kind != .notDICOM, let readable = file ?? DicomFile(damagedAt: files[i]) {
                            (damBase + i).pointee = readable.string(.seriesInstanceUID)
                        }
                    } catch {
                        (resBase + i).pointee = .failure(I2Error(.badInput, path: files[i], "\(error)"))
                    }
                }
                let workers = max(1, min(threads, files.count))
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    for i in stride(from: w, to: files.count, by: workers) { one(i) }
                }
            }
        }
        var unattributed: [(file: String, error: Int)] = []
        for (i, r) in results.enumerated() {
            switch r! {
            case .success(let s):
                slices += s
                // From the first file of each series only (~40 lookups per file cost as much as the rest of
                // the scan), read by the workers while it was open rather than opening it again.
                if let uid = s.first?.seriesInstanceUID, seriesInfo[uid] == nil { seriesInfo[uid] = firstFiles.info(uid) }
            case .failure(let e) where e.kind == .notDICOM:
                warnings.append("\(files[i]): skipped, not a DICOM file")
            case .failure(var e):
                if let uid = damaged[i] {
                    damagedSeries.insert(uid)
                    e.detail += "; series \(uid) is not converted"
                } else {
                    unattributed.append((file: files[i], error: errors.count))
                }
                errors.append(e)
            }
        }
        keptFile = firstFiles.kept
        voidSeriesBeside(unattributed)
        var echoes: [String: Set<Int>] = [:]
        for s in slices { if let e = s.echo { echoes[s.seriesInstanceUID, default: []].insert(e) } }
        for (uid, set) in echoes { seriesInfo[uid]?.echoes = set.sorted() }
    }

    /// Issue 11 item 3: a damaged file whose series cannot be read (cut off before SeriesInstanceUID)
    /// may belong to any series with a slice in its folder: those are not converted either, rather than
    /// one of them silently a slice short. Its error names them.
    private mutating func voidSeriesBeside(_ unattributed: [(file: String, error: Int)]) {
        guard !unattributed.isEmpty else { return }
        var byFolder: [String: Set<String>] = [:]
        for s in slices { byFolder[(s.path as NSString).deletingLastPathComponent, default: []].insert(s.seriesInstanceUID) }
        for u in unattributed {
            let uids = byFolder[(u.file as NSString).deletingLastPathComponent] ?? []
            guard !uids.isEmpty else { continue }
            damagedSeries.formUnion(uids)
            errors[u.error].detail += "; its series is unknown, so series \(uids.sorted().joined(separator: ", ")) in its folder \(uids.count == 1 ? "is" : "are") not converted"
        }
    }

    /// Frames of one file as slices. Files without pixel data (SR, presentation states) yield none.
    static func slices(of f: DicomFile) throws -> [SliceHeader] {
        if let segmentation = SegmentationInput.refusal(f) { throw segmentation }
        guard f.hasPixelData else {
            if f.string(.sopClassUID) != nil && f.string(.rows) == nil { return [] }  // not an image: nothing to convert
            throw I2Error(.badInput, path: f.path, "missing pixel data")
        }
        try f.checkImageClaims()   // issue 11: no trap on nan/inf integers, no allocation by sizes the file cannot hold
        guard let rows = f.int(.rows), let cols = f.int(.columns), rows > 0, cols > 0 else {
            throw I2Error(.badInput, path: f.path, "missing Rows/Columns")
        }
        let samples = f.int(.samplesPerPixel) ?? 1
        let bits = f.int(.bitsAllocated) ?? 16
        let photometric = f.string(.photometricInterpretation) ?? ""
        if samples == 3 {
            // Colour as dcm2niix converts it: 8-bit RGB (RGB24). YBR in compressed files is decoded to RGB
            // by DCMTK (checked after decoding); uncompressed YBR or other models are refused, not guessed.
            guard bits == 8 else {
                throw I2Error(.badInput, path: f.path, "colour images need BitsAllocated 8, not \(bits)")
            }
            guard photometric == "RGB" || (photometric.hasPrefix("YBR") && !NativePixels.applies(to: f.transferSyntax)) else {
                throw I2Error(.badInput, path: f.path, "colour model '\(photometric)' is not supported (RGB, or YBR in a compressed transfer syntax)")
            }
        } else if samples != 1 {
            throw I2Error(.badInput, path: f.path, "SamplesPerPixel \(samples) is not supported (1, or 3 for RGB)")
        }
        guard [8, 16, 32].contains(bits) else {
            throw I2Error(.badInput, path: f.path, "BitsAllocated \(bits) is not supported (8, 16 or 32)")
        }
        let planar = f.int(.planarConfiguration) ?? 0
        let manufacturer = (f.string(.manufacturer) ?? "").lowercased()
        let philips = manufacturer.includes("philips"), siemens = manufacturer.includes("siemens")
        let frames = max(f.int(.numberOfFrames) ?? 1, 1)
        let sop = f.string(.sopInstanceUID) ?? f.path
        let series = f.string(.seriesInstanceUID) ?? "unknown-series"
        let enhanced = f.hasPerFrameGroups

        /// `tag` of frame `frame`: in its per-frame `macro`, else the shared `macro`, else top level (a
        /// classic file: top level). From the file's frame table (FrameTable.swift), so a scan of thousands
        /// of frames stays linear: one path lookup per frame walked the item list from its head.
        func attribute(_ frame: Int, _ macro: Tag, _ tag: Tag) -> [Double]? { f.frameDoubles(frame, macro, tag) }

        let syntax = f.transferSyntax
        let pixelOffset = f.pixelOffset
        let sopClass = f.string(.sopClassUID) ?? ""
        // File-level values, read once and not per frame (thousands of frames in an enhanced file).
        let bitsStored = f.int(.bitsStored) ?? bits, signed = f.int(.pixelRepresentation) == 1
        let instanceNumber = f.int(.instanceNumber) ?? 0
        let modality = f.string(.modality) ?? "", seriesNumber = f.string(.seriesNumber) ?? ""
        let seriesDescription = f.string(.seriesDescription) ?? ""
        let classicEcho = enhanced ? nil : f.int(.echoNumbers), classicTemporal = enhanced ? nil : f.int(.temporalPositionIdentifier)
        // Series-level values naming and splitting need (dcm2niix reads them per file too).
        let imageType = (f.string(.imageType) ?? "").uppercased().swapping(0x5C, for: 0x5F)   // "\\" -> "_"
        // dcm2niix's %p, with its fallbacks (Naming.protocolName).
        let protocolName = Naming.protocolName(f.string(.protocolName) ?? "", seriesDescription: seriesDescription, imageType: imageType,
                                               sequenceName: { f.string(.sequenceName) ?? "" }, manufacturer: { f.string(.manufacturer) ?? "" })
        let tr = f.doubles(.repetitionTime)?.first
        let temporalID = classicTemporal
        // GE epi_pepolar (dcm2niix nii_dicom.cpp, issue 532): user data 12 says which volumes were acquired
        // with reversed phase encoding; those get dcm2niix's extra row flip, and in the alternating schemes
        // their own file numbered series + 1000. The volume number is TemporalPositionIdentifier.
        var pepolarReversed = false, seriesOffset = 0
        if (f.string(.manufacturer) ?? "").uppercased().hasPrefix("GE"),
           (f.string(.gePulseSequenceName) ?? "").lowercased().includes("epi_pepolar") {
            let scheme = Int((f.doubles(.geUserData12)?.first ?? 0).rounded())
            let volume = temporalID ?? 0
            switch scheme {
            case 1: pepolarReversed = true
            case 2: if volume > 0 && volume % 2 == 1 { pepolarReversed = true; seriesOffset = 1000 }
            case 3: if volume > 0 && volume % 2 == 0 { pepolarReversed = true; seriesOffset = 1000 }
            default: break
            }
        }
        // dcm2niix nii_dicom.cpp: is3DAcq when MRAcquisitionType starts with '3'.
        let acquisition3D = (f.string(.mrAcquisitionType) ?? "").hasPrefix("3")
        // Siemens XA classic export (SoftwareVersions "syngo MR XA30"...): one SeriesInstanceUID per volume,
        // which dcm2niix (v1.0.20220720, tried on such series) joins into one 4-D series. Joined here only
        // within one study, SeriesNumber and ProtocolName (dcm2niix joins more widely: see the report).
        let volumeSeriesKey: String? = !enhanced && frames == 1 && (f.string(.softwareVersions) ?? "").includes("MR XA")
            ? ["XA", f.string(.studyInstanceUID) ?? "", seriesNumber, protocolName, modality].joined(separator: "|") : nil
        let positionText = frames == 1 && !enhanced ? f.string(.imagePositionPatient) ?? "" : ""
        // Siemens MOSAIC / UIH grid: one file, one volume; split into tiles after the loop (Mosaic.swift).
        let mosaic = frames == 1 && !enhanced ? try Mosaic.layout(of: f, rows: rows, columns: cols) : nil
        let diffusion = Diffusion.Reader(f, enhanced: enhanced)
        // Derived images matter only among diffusion images (dropped volumes): not looked up otherwise.
        let derivedFile = diffusion.applies && !enhanced && Diffusion.derived(f, frame: 0, enhanced: false)
        var out: [SliceHeader] = []
        // No orientation and no position at all (secondary captures, photos, some X-ray): dcm2niix writes
        // such images without a spatial transform (qform/sform code 0); i2 does the same, stacking the
        // frames, or the files by InstanceNumber, 1 mm apart. One without the other stays an error.
        let noGeometry = mosaic == nil && attribute(0, .planeOrientationSequence, .imageOrientationPatient) == nil
            && attribute(0, .planePositionSequence, .imagePositionPatient) == nil && f.string(.imagePositionPatient) == nil
        for frame in 0..<frames {
            guard let iop = noGeometry ? [1, 0, 0, 0, 1, 0] : attribute(frame, .planeOrientationSequence, .imageOrientationPatient), iop.count == 6 else {
                throw I2Error(.badInput, path: f.path, "missing or malformed ImageOrientationPatient")
            }
            var ipp = noGeometry ? [0, 0, Double(frames > 1 ? frame : instanceNumber)] : attribute(frame, .planePositionSequence, .imagePositionPatient)
            if ipp == nil && frames > 1 && !enhanced, let ipp0 = f.doubles(.imagePositionPatient), ipp0.count == 3 {
                // Legacy multi-frame: frames stacked along the normal from the first position.
                let spacing = f.doubles(.spacingBetweenSlices)?.first ?? f.doubles(.sliceThickness)?.first ?? 1
                let n = Vector3(iop[1] * iop[5] - iop[2] * iop[4], iop[2] * iop[3] - iop[0] * iop[5], iop[0] * iop[4] - iop[1] * iop[3])
                ipp = (Vector3(ipp0) + n * (spacing * Double(frame))).array
            }
            guard let pos = ipp ?? mosaic?.firstPosition, pos.count == 3 else {
                throw I2Error(.badInput, path: f.path, "missing or malformed ImagePositionPatient")
            }
            let spacing = attribute(frame, .pixelMeasuresSequence, .pixelSpacing) ?? [1, 1]
            var s = SliceHeader(path: f.path, frame: frame, frameCount: frames, sopInstanceUID: sop,
                                seriesInstanceUID: series, rows: rows, columns: cols,
                                pixelSpacing: spacing.count == 2 ? spacing : [1, 1], orientation: iop, position: Vector3(pos),
                                bitsAllocated: bits, bitsStored: bitsStored, signed: signed)
            s.slope = attribute(frame, .pixelValueTransformationSequence, .rescaleSlope)?.first ?? 1
            if s.slope == 0 { s.slope = 1 }
            s.intercept = attribute(frame, .pixelValueTransformationSequence, .rescaleIntercept)?.first ?? 0
            s.samplesPerPixel = samples
            s.planarConfiguration = planar
            if philips {
                // Per frame in Philips' private functional group of enhanced files, at top level in classic ones.
                s.philipsScaleSlope = attribute(frame, .philipsPerFrameSequence, .philipsScaleSlope)?.first
                s.realWorldSlope = attribute(frame, .realWorldValueMappingSequence, .realWorldValueSlope)?.first
                    ?? f.doubles(Tag.realWorldValueMappingSequence[0] / .realWorldValueSlope)?.first
                s.realWorldIntercept = attribute(frame, .realWorldValueMappingSequence, .realWorldValueIntercept)?.first
                    ?? f.doubles(Tag.realWorldValueMappingSequence[0] / .realWorldValueIntercept)?.first
            }
            s.instanceNumber = instanceNumber
            s.transferSyntax = syntax
            s.pixelOffset = pixelOffset
            s.sopClassUID = sopClass
            s.positionText = positionText
            s.thickness = attribute(frame, .pixelMeasuresSequence, .sliceThickness)?.first
            if !enhanced { s.acquisitionTime = f.string(.acquisitionTime) ?? "" }
            s.modality = modality
            s.seriesNumber = seriesNumber
            s.seriesDescription = seriesDescription
            s.protocolName = protocolName
            s.imageType = imageType
            s.repetitionTime = tr
            s.pepolarReversed = pepolarReversed
            s.seriesNumberOffset = seriesOffset
            s.acquisition3D = acquisition3D
            s.volumeSeriesKey = volumeSeriesKey
            if enhanced {
                s.temporal = f.perFrameDoubles(frame, [.frameContentSequence, .temporalPositionIndex])?.first.map { Int($0) }
                s.echo = nil
                // Distinct effective echo times are numbered 1, 2, ... by assembly (dcm2niix's _e1, _e2).
                s.echoTime = attribute(frame, .mrEchoSequence, .effectiveEchoTime)?.first
                s.repetitionTime = attribute(frame, .mrTimingAndRelatedParametersSequence, .repetitionTime)?.first ?? tr
                let component = f.perFrameString(frame, [.mrImageFrameTypeSequence, .complexImageComponent])
                    ?? f.string(Tag.sharedFunctionalGroupsSequence[0] / Tag.mrImageFrameTypeSequence[0] / .complexImageComponent)
                    ?? f.string(.complexImageComponent)
                s.complexComponent = (component ?? "").trimmingCharacters(in: .whitespaces).uppercased()
                if let legacy = f.perFrameString(frame, [.philipsPerFrameSequence, .imageType])
                    ?? f.perFrameString(frame, [.mrImageFrameTypeSequence, .frameType]) {
                    s.imageType = legacy.uppercased().swapping(0x5C, for: 0x5F)
                }
                if siemens {
                    // Read here, where the file is open: the sidecar would otherwise parse it again.
                    s.timeAfterStart = f.perFrameString(frame, [.siemensXAPerFrameGroup, .siemensXATimeAfterStart])
                        .flatMap { Float($0.trimmingCharacters(in: .whitespaces)) }
                }
            } else {
                s.echo = classicEcho
                s.temporal = temporalID
                s.complexComponent = (f.string(.complexImageComponent) ?? "").trimmingCharacters(in: .whitespaces).uppercased()
            }
            s.diffusion = diffusion.encoding(frame: frame)
            s.derived = enhanced ? s.diffusion != nil && Diffusion.derived(f, frame: frame, enhanced: true) : derivedFile
            s.geometryUnknown = noGeometry
            out.append(s)
        }
        if let mosaic { return try Mosaic.tiles(out[0], layout: mosaic, file: f) }
        return out
    }
}

/// The SeriesInfo of the file of the lowest index of each series, offered by the scan's worker threads
/// while the file is open (not the file itself: an enhanced file's data set can be 100+ MB).
private final class FirstFiles: @unchecked Sendable {
    private let lock = NSLock()
    private var infos: [String: (index: Int, info: SeriesInfo)] = [:]

    /// Records `file`'s SeriesInfo when `index` is the lowest seen for `uid` (workers go up in index,
    /// so this reads each series about once per worker).
    func offer(_ uid: String, _ index: Int, _ file: DicomFile) {
        func lowest() -> Bool { infos[uid].map { index < $0.index } ?? true }
        guard lock.withLock(lowest) else { return }
        let info = SeriesInfo(file: file, uid: uid)
        lock.withLock { if lowest() { infos[uid] = (index, info) } }
    }

    func info(_ uid: String) -> SeriesInfo? { lock.withLock { infos[uid]?.info } }

    private var keptRank: (frames: Int, index: Int)?
    private var keptFile: DicomFile?
    /// Keeps `file` when it has more frames than the one kept (the lower index among equals).
    func keep(_ index: Int, _ frames: Int, _ file: DicomFile) {
        lock.withLock {
            if let r = keptRank, r.frames > frames || (r.frames == frames && r.index < index) { return }
            keptRank = (frames, index)
            keptFile = file
        }
    }
    var kept: DicomFile? { lock.withLock { keptFile } }
}

/// Series-level attributes used for output names and the JSON sidecar.
struct SeriesInfo: Sendable {
    var uid: String
    var values: [String: String] = [:]      // naming values: key → raw DICOM string
    /// The series' distinct echoes (SliceHeader.echo), ascending: several → dcm2niix writes EchoNumber for each.
    var echoes: [Int] = []

    /// Values output names use ({patient}, {study}); the sidecar reads its own (BIDSSeries).
    static let sidecarTags: [(String, Tag)] = [("PatientID", .patientID), ("StudyInstanceUID", .studyInstanceUID)]

    init(uid: String, values: [String: String] = [:]) { self.uid = uid; self.values = values }

    init(file: DicomFile, uid: String) {
        self.uid = uid
        for (key, tag) in SeriesInfo.sidecarTags {
            if let v = file.string(tag), !v.isEmpty { values[key] = v }
        }
    }
}
