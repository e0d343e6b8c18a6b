// i2 convert's engine: resolve inputs to volumes (DICOM stacks or image files), write each to its
// output, and collect per-input errors so one bad series never stops the others.
import Foundation
import I2DICOM
import I2Model

public enum TiltPolicy: String, Sendable, CaseIterable { case shear, resample }

public struct ConvertOptions: Sendable {
    public var inputs: [String]
    public var output: String
    public var formatInDirectory: FileFormat = .niftiGz
    public var seriesFilter: [String] = []
    public var namePattern = "{number}_{description}"
    public var sidecar = true
    /// Identifying values (PatientName, PatientID, …) in the sidecar: dcm2niix's `-ba n`.
    public var sidecarIdentifiers = false
    public var tilt: TiltPolicy = .shear
    public var equalize = false
    public var reference: String?
    public var overwrite = false
    public var write = WriteOptions()
    public var read = ReadOptions()
    public init(inputs: [String], output: String) { self.inputs = inputs; self.output = output }
}

public enum Conversion: Engine {
    /// Converts everything `options` names; each path is reported as soon as it is in place.
    public static func run(_ options: ConvertOptions, _ context: EngineContext) -> Report {
        let result = Reporter(context)
        let warn = context.events.warning
        let images = options.inputs.filter { FileFormat(path: $0) != nil }
        let dicomInputs = options.inputs.filter { FileFormat(path: $0) == nil }
        // What OUTPUT names (a file of a known format, or a directory) is decided once, here.
        let outputFormat: FileFormat?
        do {
            if options.reference == nil, case .file(let f) = try OutputTargets.kind(of: options.output) { outputFormat = f } else { outputFormat = nil }
        } catch let e as I2Error {
            return result.fatal(e)
        } catch {
            return result.fatal(I2Error(.internal, "\(error)"))
        }
        var usedNames = Set<String>()
        if outputFormat != nil && options.reference == nil && images.count + (dicomInputs.isEmpty ? 0 : 1) > 1 {
            return result.fatal(I2Error(.usage, "several inputs need an output directory, not the file \(options.output)"))
        }

        func emit(_ paths: [String]) { for p in paths { result.output(p) } }
        /// One stack's outcome, reported: its paths and notes, or its error (its name given back).
        func report(_ outcome: StackOutcome, name: String?, usedNames: inout Set<String>) {
            for step in outcome.steps {
                switch step {
                case .paths(let p): emit(p)
                case .note(let n): warn(n)
                }
            }
            if let e = outcome.error {
                if let n = name { usedNames.remove(n) }   // a failed series does not push the next one to "_2"
                result.failed(e)
            }
        }

        // Image files: one output each (or a derived DICOM series with --ref).
        for input in images {
            do {
                let volume = try VolumeIO.read(path: input, options: options.read)
                if let ref = options.reference {
                    let dir = try outputDirectory(options.output)
                    try OutputTargets.check(VolumeToDicom.instancePaths(volume, in: dir), overwrite: options.overwrite)
                    emit(try VolumeToDicom.write(volume, reference: ref, into: dir))
                    continue
                }
                let target: String
                if outputFormat != nil {
                    target = options.output   // a single input: several were refused above
                } else {
                    let base = stripExtension((input as NSString).lastPathComponent)
                    target = try outputDirectory(options.output) + "/" + unique(base, &usedNames) + "." + options.formatInDirectory.rawValue
                }
                try OutputTargets.check(OutputTargets.paths(for: target, sidecar: false), overwrite: options.overwrite)
                emit(try VolumeIO.write(volume, to: target, options: options.write))
            } catch let e as I2Error {
                if e.kind == .usage { return result.fatal(e) }
                result.failed(e.at(input))
            } catch {
                result.failed(I2Error(.storage, path: input, "\(error)"))
            }
        }
        guard !dicomInputs.isEmpty else { return result.finish() }
        if options.reference != nil {
            return result.fatal(I2Error(.usage, "--ref applies to image inputs; \(dicomInputs[0]) is not an image file"))
        }

        // DICOM: scan, group into stacks, convert each.
        let (files, listErrors) = DicomScan.files(in: dicomInputs)
        listErrors.forEach(result.failed)
        var scan = DicomScan(files: files)
        scan.warnings.forEach(warn)
        scan.errors.forEach(result.failed)
        var stacks = SeriesAssembly.stacks(scan.slices, sameContent: sameFile).filter { !scan.damagedSeries.contains($0.first.seriesInstanceUID) }
        stacks = stacks.flatMap { s -> [SliceStack] in
            let (parts, note) = Diffusion.splitDerived(s)
            if let note { warn(note) }
            return parts
        }
        if !options.seriesFilter.isEmpty {
            stacks = stacks.filter { s in options.seriesFilter.contains { $0 == s.name || $0 == s.first.seriesInstanceUID } }
            for uid in options.seriesFilter where !stacks.contains(where: { $0.name == uid || $0.first.seriesInstanceUID == uid }) {
                result.failed(I2Error(.notFound, "no series \(uid) in the inputs (see --list)"))
            }
        }
        let directory: String?
        do { directory = outputFormat == nil ? try outputDirectory(options.output) : nil } catch let e as I2Error {
            return result.fatal(e)
        } catch {
            return result.fatal(I2Error(.storage, path: options.output, "\(error)"))
        }
        if stacks.isEmpty {
            if result.failureCount == 0 { result.failed(I2Error(.badInput, path: dicomInputs.joined(separator: " "), "no DICOM images found")) }
            return result.finish()
        }
        if outputFormat != nil && stacks.count > 1 {
            let names = stacks.map(\.name).joined(separator: ", ")
            return result.fatal(I2Error(.usage, "\(stacks.count) volumes found (\(names)): give an output directory, or pick one with --series (see --list)"))
        }
        // Names in stack order first: they depend on each other (a clash takes the next suffix), the
        // conversions do not. When every name is distinct the stacks convert side by side (StackRunner:
        // two at a time for volumes under its memory bound, alone above it), and their results are
        // reported in stack order; otherwise one after the other, where a failed stack gives its name
        // back to the next one with that name, and where stacks share a multi-frame file (see below).
        // Diffusion (.bval/.bvec beside a NIfTI image, derived volumes out of the 4-D image) is planned
        // once, here: the name is that of the stack it keeps.
        let plans = stacks.map { Diffusion.plan($0) }
        let kept = zip(stacks, plans).map { stack, plan in plan.map { Diffusion.keep($0, of: stack) } ?? stack }
        let names: [String?] = kept.map { stack in
            let info = scan.seriesInfo[stack.first.seriesInstanceUID] ?? SeriesInfo(uid: stack.first.seriesInstanceUID)
            return directory == nil ? nil : Naming.name(options.namePattern, stack: stack, info: info)
        }
        let distinct = Set(names.compactMap { $0 }).count == names.compactMap({ $0 }).count && names.allSatisfy { $0.map { !usedNames.contains($0) } ?? true }
        // Stacks of one multi-frame file (echoes, magnitude/phase) go one by one, in a group of their own:
        // they share its parsed header (the sidecar's LastFile), which side by side each would parse
        // again. The groups convert side by side, results reported in stack order.
        var groups: [[Int]] = [], groupOf: [String: Int] = [:]
        for i in stacks.indices {
            if let g = groupOf[stacks[i].first.path] { groups[g].append(i) } else { groupOf[stacks[i].first.path] = groups.count; groups.append([i]) }
        }
        if distinct && groups.count > 1 {
            let kept0 = scan.keptFile
            scan.keptFile = nil   // a parsed file is not shared between threads: the kept one goes to its file's group only
            let work = groups.map { $0.map { StackRunner.work(kept[$0]) }.reduce(0, +) }
            let longestFirst = groups.indices.sorted { work[$0] > work[$1] }
            let outcomes = StackRunner.run(groups.count, cost: { g in groups[g].map { StackRunner.bytes(kept[$0]) }.max() ?? 0 },
                                           order: longestFirst, stop: context.stop) { g -> [StackOutcome?] in
                let own = kept0.flatMap { $0.path == stacks[groups[g][0]].first.path ? $0 : nil }
                let last = options.sidecar && groups[g].count > 1 ? Sidecar.LastFile(own) : nil
                return groups[g].map { i in
                    context.stop.isStopped ? nil
                        : convertStack(kept[i], diffusion: plans[i], name: names[i], directory: directory, scan: scan, options: options, last: last)
                }
            }
            var byStack = [StackOutcome?](repeating: nil, count: stacks.count)
            for (g, group) in groups.enumerated() { for (j, i) in group.enumerated() { byStack[i] = outcomes[g]?[j] } }
            for outcome in byStack {
                guard let outcome else { continue }   // stopped before it started
                report(outcome, name: nil, usedNames: &usedNames)
            }
            return result.finish()
        }
        // The sidecar's first file, kept for the next stack: the stacks of one enhanced file (echoes,
        // magnitude/phase) share it, and parsing its per-frame sequence again for each costs as much as
        // the scan. One at a time, so no more than one parsed file is held.
        let sidecarFile = Sidecar.LastFile(options.sidecar ? scan.keptFile : nil)
        scan.keptFile = nil   // the sidecar's to keep or replace: one parsed file at a time
        for i in stacks.indices {
            if context.stop.isStopped { break }
            let name = names[i].map { unique($0, &usedNames) }
            report(convertStack(kept[i], diffusion: plans[i], name: name, directory: directory, scan: scan, options: options, last: sidecarFile),
                   name: name, usedNames: &usedNames)
        }
        return result.finish()
    }

    /// What converting one stack wrote and said, in order, for the caller to report (from any thread).
    struct StackOutcome {
        enum Step { case paths([String]), note(String) }
        var steps: [Step] = []
        var error: I2Error?
    }

    /// One stack (what its diffusion plan keeps) to its output (image, .bval/.bvec, sidecar) under `name`
    /// in `directory` (or to the output file); touches nothing shared, so stacks can convert side by side.
    static func convertStack(_ stack: SliceStack, diffusion: Diffusion.Plan?, name: String?, directory: String?, scan: DicomScan,
                             options: ConvertOptions, last: Sidecar.LastFile?) -> StackOutcome {
        var out = StackOutcome()
        do {
            let info = scan.seriesInfo[stack.first.seriesInstanceUID] ?? SeriesInfo(uid: stack.first.seriesInstanceUID)
            let target = directory.map { $0 + "/" + name! + "." + options.formatInDirectory.rawValue } ?? options.output
            let writesDiffusion = diffusion != nil && [.nifti, .niftiGz].contains(FileFormat(path: target))
            let companions = writesDiffusion ? Diffusion.paths(diffusion!, beside: target) : []
            try OutputTargets.check(OutputTargets.paths(for: target, sidecar: options.sidecar) + companions, overwrite: options.overwrite)
            var (volume, notes) = try assemble(stack, options: options)
            notes = (diffusion?.notes ?? []) + notes
            let paths = try VolumeIO.write(volume, to: target, options: options.write)
            out.steps.append(.paths(paths))
            if writesDiffusion {
                let (written, more) = try Diffusion.write(diffusion!, beside: target, direction: volume.direction)
                notes += more
                out.steps.append(.paths(written))
            }
            out.steps += notes.map { .note($0) }
            if options.sidecar {
                let sidecar = try Sidecar.write(for: paths[0], info: info, stack: stack, volume: volume, notes: notes, written: paths,
                                                 identifying: options.sidecarIdentifiers, last: last)
                if !paths.contains(sidecar) { out.steps.append(.paths([sidecar])) }
            }
        } catch let e as I2Error {
            out.error = e.path == nil ? e.at(stack.first.path) : e
        } catch {
            out.error = I2Error(.storage, path: stack.first.path, "\(error)")
        }
        return out
    }

    /// One stack to one volume, with tilt and irregular spacing handled as the options say.
    static func assemble(_ stack: SliceStack, options: ConvertOptions) throws -> (Volume, [String]) {
        // A slide's frames are tiles of one plane (TotalPixelMatrix), not slices: stacking them gives a
        // volume that looks right and is not. Refused, naming the file.
        if stack.first.sopClassUID == SegmentationReader.wholeSlideMicroscopy {
            throw I2Error(.badInput, path: stack.first.path, "a VL Whole Slide Microscopy image (SOP class \(SegmentationReader.wholeSlideMicroscopy)): its frames are tiles of one slide, not slices; i2 convert does not assemble slides")
        }
        let g = SeriesAssembly.geometry(stack)
        var notes: [String] = []
        if let irr = g.irregular, irr.gap < 1e-3 {
            throw I2Error(.badInput, path: irr.before.label, "two slices at the same position: this one and \(irr.after.label) (not a repeat of every position, so neither one volume nor a 4-D series)")
        }
        if let irr = g.irregular, !options.equalize {
            throw I2Error(.badInput, path: irr.before.label,
                          String(format: "slice spacing breaks between this file and %@: %.4g mm instead of %.4g mm (missing slice or irregular spacing); use --equalize to resample", irr.after.label, irr.gap, irr.typical))
        }
        var volume = try DicomToVolume.read(stack, geometry: g)
        if stack.sliceCount == 1, let t = stack.first.thickness, t > 0 { volume.spacing[2] = t }
        if volume.components != 1 && (g.irregular != nil || (options.tilt == .resample && g.tilt != .none)) {
            throw I2Error(.badInput, path: stack.first.label, "RGB series cannot be resampled (gantry tilt or irregular spacing)")
        }
        if case .sheared(let degrees) = g.tilt {
            if options.tilt == .resample {
                volume = Resample.untilt(volume)
                notes.append(String(format: "%@: gantry tilt of %.2f° resampled to an orthogonal grid", stack.name, degrees))
            } else {
                notes.append(String(format: "%@: gantry tilt of %.2f°: the affine is sheared (NIfTI sform; use --tilt resample for an orthogonal grid)", stack.name, degrees))
            }
        }
        if let irregular = g.irregular {
            try Resample.checkEqualize(offsets: g.offsets, path: irregular.before.label)
            volume = Resample.equalize(volume, offsets: g.offsets)
            notes.append("\(stack.name): irregular slice spacing resampled to \(volume.spacing[2]) mm")
        }
        // dcm2niix's voxel order (nii_dicom_batch.cpp: nii_flipY, on by default; nii_setOrtho for 3-D
        // acquisitions), so the array is dcm2niix's. Slices are already lowest-first along the normal,
        // which is where dcm2niix's verify_slice_dir/nii_flipZ put them.
        Ortho.dcm2niixOrder(&volume, first: stack.first)
        // pixdim[4]: the TR in seconds, as dcm2niix writes it (3-D too).
        volume.timeStep = (stack.first.repetitionTime ?? 0) / 1000
        if let e = VolumeTiming.estimate(stack) {
            // dcm2niix (issue 560): the volumes' AcquisitionTime says otherwise; it takes their spacing.
            volume.timeStep = e.seconds
            notes.append(String(format: "%@: time between volumes %gs from AcquisitionTime, not RepetitionTime %gs (as dcm2niix, its issue 560)", stack.name, e.seconds, e.reported))
        }
        if stack.first.geometryUnknown {
            volume.geometryKnown = false
            notes.append("\(stack.name): no ImageOrientationPatient or ImagePositionPatient: written without a spatial transform (NIfTI qform/sform code 0), as dcm2niix does")
        }
        // Named here, by the series' files (convert and process): the writers would only know the output.
        if let why = VolumeIO.nonFiniteGeometry(volume) {
            let last = stack.slices[stack.sliceCount - 1]
            throw I2Error(.badInput, path: stack.first.label, why + (stack.sliceCount > 1 ? " (from the positions of this file to \(last.label))" : ""))
        }
        return (volume, notes)
    }

    /// --list: one output line per volume (tab-separated columns).
    public static func list(inputs: [String], _ context: EngineContext) -> Report {
        let result = Reporter(context)
        let (files, errors) = DicomScan.files(in: inputs)
        errors.forEach(result.failed)
        let scan = DicomScan(files: files)
        scan.warnings.forEach(context.events.warning)
        scan.errors.forEach(result.failed)
        for stack in SeriesAssembly.stacks(scan.slices, sameContent: sameFile).flatMap({ Diffusion.splitDerived($0).stacks }) {
            let f = stack.first
            let size = "\(f.columns)x\(f.rows)x\(stack.sliceCount)" + (stack.volumes > 1 ? "x\(stack.volumes)" : "")
            let fields = [stack.name, f.modality.isEmpty ? "-" : f.modality, Orientation.label(f),
                          size, stack.slices.count == 1 ? "1 slice" : "\(stack.slices.count) slices", f.seriesNumber.isEmpty ? "-" : f.seriesNumber, f.seriesDescription]
            result.output(listLine(fields))
        }
        return result.finish()
    }

    /// Two files with one SOP Instance UID are one instance only if they hold the same bytes (a copy);
    /// otherwise both are kept, and converted or refused by name (issue 10: never silently one of them).
    static func sameFile(_ a: SliceHeader, _ b: SliceHeader) -> Bool {
        FileManager.default.contentsEqual(atPath: a.path, andPath: b.path)
    }

    static func outputDirectory(_ path: String) throws -> String {
        guard !path.isEmpty else { throw I2Error(.usage, "no output given") }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw I2Error(.storage, path: path, "cannot create output directory")
        }
        return path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    /// A name not used yet in this run: dcm2niix's clash rule (nii_createFilename) appends a, b, ... z;
    /// after those i2 goes on with _27, _28, ...
    static func unique(_ name: String, _ used: inout Set<String>) -> String {
        var candidate = name, n = 0
        while used.contains(candidate) {
            candidate = n < 26 ? name + String(UnicodeScalar(UInt8(ascii: "a") + UInt8(n))) : "\(name)_\(n + 1)"
            n += 1
        }
        used.insert(candidate)
        return candidate
    }

    static func stripExtension(_ name: String) -> String {
        guard let f = FileFormat(path: name) else { return name }
        return String(name.dropLast(f.rawValue.count + 1))
    }
}
