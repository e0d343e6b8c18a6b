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

    /// Lists regular files under each input (recursively for directories), sorted for determinism.
    static func files(in inputs: [String]) -> (files: [String], errors: [I2Error]) {
        var files: [String] = []
        var errors: [I2Error] = []
        let fm = FileManager.default
        for input in inputs {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: input, isDirectory: &isDir) else {
                errors.append(I2Error(.storage, path: input, "no such file or directory"))
                continue
            }
            if !isDir.boolValue { files.append(input); continue }
            guard let e = fm.enumerator(atPath: input) else {
                errors.append(I2Error(.storage, path: input, "cannot read directory"))
                continue
            }
            var found: [String] = []
            while let rel = e.nextObject() as? String {
                let name = (rel as NSString).lastPathComponent
                if name.hasPrefix(".") { if e.fileAttributes?[.type] as? FileAttributeType == .typeDirectory { e.skipDescendants() }; continue }
                if e.fileAttributes?[.type] as? FileAttributeType == .typeRegular { found.append(input + "/" + rel) }
            }
            files += found.sorted()
        }
        return (files, errors)
    }

    /// Reads the headers of `files` (in parallel: DCMTK parsing dominates for big series), on `threads`
    /// threads (default: one per core).
    init(files: [String], threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        var results = [Result<[SliceHeader], I2Error>?](repeating: nil, count: files.count)
        var damaged = [String?](repeating: nil, count: files.count)
        results.withUnsafeMutableBufferPointer { res in
            damaged.withUnsafeMutableBufferPointer { dam in
                let resBase = res.baseAddress!, damBase = dam.baseAddress!
                let one = { (i: Int) in
                    var file: DicomFile?
                    do {
                        file = try DicomFile(path: files[i])
                        let slices = try DicomScan.slices(of: file!)
                        (resBase + i).pointee = .success(slices)
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
        for (i, r) in results.enumerated() {
            switch r! {
            case .success(let s):
                slices += s
                // From the first file of each series, opened again: ~40 lookups per file cost as much as the
                // rest of the scan, and only one file per series needs them.
                if let uid = s.first?.seriesInstanceUID, seriesInfo[uid] == nil, let f = try? DicomFile(path: files[i]) {
                    seriesInfo[uid] = SeriesInfo(file: f, uid: uid)
                }
            case .failure(let e) where e.kind == .notDICOM:
                warnings.append("\(files[i]): skipped, not a DICOM file")
            case .failure(var e):
                if let uid = damaged[i] {
                    damagedSeries.insert(uid)
                    e.detail += "; series \(uid) is not converted"
                }
                errors.append(e)
            }
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
        if samples != 1 {
            throw I2Error(.badInput, path: f.path, "colour images (SamplesPerPixel \(samples)) are not supported")
        }
        let bits = f.int(.bitsAllocated) ?? 16
        guard [8, 16, 32].contains(bits) else {
            throw I2Error(.badInput, path: f.path, "BitsAllocated \(bits) is not supported (8, 16 or 32)")
        }
        let frames = max(f.int(.numberOfFrames) ?? 1, 1)
        let sop = f.string(.sopInstanceUID) ?? f.path
        let series = f.string(.seriesInstanceUID) ?? "unknown-series"
        // By tag number (Tag paths): a keyword costs DCMTK a scan of its whole dictionary, which was half of this function.
        let enhanced = f.items(.perFrameFunctionalGroupsSequence) != nil

        func attribute(_ frame: Int, _ macro: Tag, _ tag: Tag) -> [Double]? {
            guard enhanced else { return f.doubles(tag) }
            return f.doubles(Tag.perFrameFunctionalGroupsSequence[frame] / macro[0] / tag)
                ?? f.doubles(Tag.sharedFunctionalGroupsSequence[0] / macro[0] / tag)
                ?? f.doubles(tag)
        }

        let syntax = f.transferSyntax
        let sopClass = f.string(.sopClassUID) ?? ""
        let positionText = frames == 1 && !enhanced ? f.string(.imagePositionPatient) ?? "" : ""
        var out: [SliceHeader] = []
        for frame in 0..<frames {
            guard let iop = attribute(frame, .planeOrientationSequence, .imageOrientationPatient), iop.count == 6 else {
                throw I2Error(.badInput, path: f.path, "missing or malformed ImageOrientationPatient")
            }
            var ipp = attribute(frame, .planePositionSequence, .imagePositionPatient)
            if ipp == nil && frames > 1 && !enhanced, let ipp0 = f.doubles(.imagePositionPatient), ipp0.count == 3 {
                // Legacy multi-frame: frames stacked along the normal from the first position.
                let spacing = f.doubles(.spacingBetweenSlices)?.first ?? f.doubles(.sliceThickness)?.first ?? 1
                let n = Vector3(iop[1] * iop[5] - iop[2] * iop[4], iop[2] * iop[3] - iop[0] * iop[5], iop[0] * iop[4] - iop[1] * iop[3])
                ipp = (Vector3(ipp0) + n * (spacing * Double(frame))).array
            }
            guard let pos = ipp, pos.count == 3 else {
                throw I2Error(.badInput, path: f.path, "missing or malformed ImagePositionPatient")
            }
            let spacing = attribute(frame, .pixelMeasuresSequence, .pixelSpacing) ?? [1, 1]
            var s = SliceHeader(path: f.path, frame: frame, frameCount: frames, sopInstanceUID: sop,
                                seriesInstanceUID: series, rows: rows, columns: cols,
                                pixelSpacing: spacing.count == 2 ? spacing : [1, 1], orientation: iop, position: Vector3(pos),
                                bitsAllocated: bits, bitsStored: f.int(.bitsStored) ?? bits,
                                signed: f.int(.pixelRepresentation) == 1)
            s.slope = attribute(frame, .pixelValueTransformationSequence, .rescaleSlope)?.first ?? 1
            if s.slope == 0 { s.slope = 1 }
            s.intercept = attribute(frame, .pixelValueTransformationSequence, .rescaleIntercept)?.first ?? 0
            s.instanceNumber = f.int(.instanceNumber) ?? 0
            s.transferSyntax = syntax
            s.sopClassUID = sopClass
            s.positionText = positionText
            s.thickness = attribute(frame, .pixelMeasuresSequence, .sliceThickness)?.first
            s.modality = f.string(.modality) ?? ""
            s.seriesNumber = f.string(.seriesNumber) ?? ""
            s.seriesDescription = f.string(.seriesDescription) ?? ""
            if enhanced {
                s.temporal = f.doubles(Tag.perFrameFunctionalGroupsSequence[frame] / Tag.frameContentSequence[0] / .temporalPositionIndex)?.first.map { Int($0) }
                s.echo = nil
                if let te = f.doubles(Tag.perFrameFunctionalGroupsSequence[frame] / Tag.mrEchoSequence[0] / .effectiveEchoTime)?.first {
                    s.echo = Int((te * 1000).rounded())   // distinct echo times split; the suffix names the time in µs
                }
            } else {
                s.echo = f.int(.echoNumbers)
                s.temporal = f.int(.temporalPositionIdentifier)
            }
            out.append(s)
        }
        return out
    }
}

/// Series-level attributes used for output names and the JSON sidecar.
struct SeriesInfo: Sendable {
    var uid: String
    var values: [String: String] = [:]      // sidecar key → raw DICOM string

    static let sidecarTags: [(String, Tag)] = [
        ("Modality", .modality), ("Manufacturer", .manufacturer), ("ManufacturersModelName", .manufacturerModelName),
        ("SoftwareVersions", .softwareVersions), ("InstitutionName", .institutionName), ("StationName", .stationName),
        ("BodyPartExamined", .bodyPartExamined), ("PatientPosition", .patientPosition),
        ("StudyDescription", .studyDescription), ("SeriesDescription", .seriesDescription), ("ProtocolName", .protocolName),
        ("ImageType", .imageType), ("SeriesNumber", .seriesNumber), ("AcquisitionNumber", .acquisitionNumber),
        ("StudyDate", .studyDate), ("SeriesDate", .seriesDate), ("AcquisitionDate", .acquisitionDate),
        ("AcquisitionTime", .acquisitionTime), ("SeriesTime", .seriesTime),
        ("SliceThickness", .sliceThickness), ("SpacingBetweenSlices", .spacingBetweenSlices),
        ("KVP", .kvp), ("XRayTubeCurrent", .xRayTubeCurrent), ("ExposureTime", .exposureTime),
        ("ConvolutionKernel", .convolutionKernel), ("GantryDetectorTilt", .gantryDetectorTilt),
        ("MagneticFieldStrength", .magneticFieldStrength), ("ScanningSequence", .scanningSequence),
        ("SequenceVariant", .sequenceVariant), ("ScanOptions", .scanOptions), ("MRAcquisitionType", .mrAcquisitionType),
        ("SequenceName", .sequenceName), ("EchoTime", .echoTime), ("RepetitionTime", .repetitionTime),
        ("InversionTime", .inversionTime), ("FlipAngle", .flipAngle),
        ("PatientID", .patientID), ("StudyInstanceUID", .studyInstanceUID), ("SeriesInstanceUID", .seriesInstanceUID),
        ("FrameOfReferenceUID", .frameOfReferenceUID), ("ImageOrientationPatientDICOM", .imageOrientationPatient),
    ]

    init(uid: String, values: [String: String] = [:]) { self.uid = uid; self.values = values }

    init(file: DicomFile, uid: String) {
        self.uid = uid
        for (key, tag) in SeriesInfo.sidecarTags {
            if let v = file.string(tag), !v.isEmpty { values[key] = v }
        }
    }
}
