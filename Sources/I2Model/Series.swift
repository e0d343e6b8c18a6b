// Series assembly (pure): which DICOM slices form one volume, in which order, on which grid.
// Group by series, split what dcm2niix writes as separate files (orientation, size, echo, complex
// component), stack repeated positions as 4-D, sort by the projection of ImagePositionPatient on the
// slice normal, take the spacing from the positions, and detect gantry tilt (positions not along the
// normal) and irregular spacing. The grid here is in DICOM order (rows top to bottom); the volume
// i2 convert writes reverses the rows as dcm2niix does (Volume.dcm2niixOrder).

/// What assembly needs to know about one 2-D image (a single-frame file, or one frame of a multi-frame file).
public struct SliceHeader: Sendable {
    public var path: String
    public var frame: Int                     // 0-based frame in `path`
    public var frameCount: Int                // frames in `path`
    public var sopInstanceUID: String
    public var seriesInstanceUID: String
    public var seriesNumber: String = ""
    public var seriesDescription: String = ""
    public var modality: String = ""
    public var rows: Int
    public var columns: Int
    public var pixelSpacing: [Double]         // [between rows, between columns] (PS3.3 C.7.6.2.1.1? order)
    public var orientation: [Double]          // ImageOrientationPatient: row direction, column direction
    public var position: Vector3              // ImagePositionPatient
    public var echo: Int?                     // EchoNumbers (classic); nil for enhanced, which has echoTime
    public var echoTime: Double?              // ms; enhanced files number their echoes by distinct times
    public var temporal: Int?                 // TemporalPositionIdentifier / TemporalPositionIndex: orders 4-D volumes
    public var protocolName: String = ""      // ProtocolName (dcm2niix's %p, with its fallbacks applied by the scan)
    public var imageType: String = ""         // ImageType values joined by "_", upper case ("ORIGINAL_PRIMARY_P_ND")
    public var complexComponent: String = ""  // ComplexImageComponent (enhanced, per frame): MAGNITUDE, PHASE, REAL, IMAGINARY
    public var repetitionTime: Double?        // ms; becomes NIfTI pixdim[4] in seconds
    /// GE epi_pepolar volumes acquired with reversed phase encoding: dcm2niix flips them in-plane once more
    /// (its extra Y flip) and, in alternating runs, numbers them as series + 1000.
    public var pepolarReversed = false
    /// MRAcquisitionType 3D (dcm2niix's is3DAcq): a single-volume output is reoriented (nii_setOrtho).
    public var acquisition3D = false
    /// The image has neither ImageOrientationPatient nor ImagePositionPatient: its place is unknown.
    public var geometryUnknown = false
    /// Siemens XA classic exports write one SeriesInstanceUID per volume of a 4-D series; dcm2niix joins
    /// them. Set (study, series number, protocol) for such files: images with equal keys form one series.
    public var volumeSeriesKey: String?
    public var seriesNumberOffset = 0         // added to SeriesNumber in names (GE epi_pepolar: 1000)
    public var instanceNumber: Int = 0
    public var transferSyntax = ""
    public var pixelOffset: Int?              // file offset of the native pixel value, when known from the scan
    public var sopClassUID = ""
    public var positionText = ""            // ImagePositionPatient as written (single-frame files), for exact copies
    public var thickness: Double?             // SliceThickness, the spacing of a single-slice volume
    public var acquisitionTime = ""           // AcquisitionTime as written (TM), for the sidecar's SliceTiming
    /// Siemens XA enhanced frames: TimeAfterStart (0021,1104) in seconds, for the sidecar's SliceTiming.
    public var timeAfterStart: Float?
    public var slope: Double = 1
    public var intercept: Double = 0
    public var bitsAllocated: Int
    public var bitsStored: Int
    public var signed: Bool
    /// Set when this slice is one tile of a mosaic image (Siemens MOSAIC, UIH grid).
    public var mosaic: MosaicTile?
    public var samplesPerPixel: Int = 1           // 3: RGB (8-bit)
    public var planarConfiguration: Int = 0       // RGB as stored: 0 interleaved per pixel, 1 one plane per colour
    /// Philips' private MR scale slope (2005,100E), on Philips images only: with RescaleSlope/Intercept
    /// it gives Philips' floating-point values, which dcm2niix writes (its PhilipsPrecise).
    public var philipsScaleSlope: Double?
    /// RealWorldValueSlope/Intercept (0040,9225/9224), reported in the sidecar as dcm2niix does.
    public var realWorldSlope: Double?
    public var realWorldIntercept: Double?
    /// Diffusion encoding (b-value, gradient) when the image carries one; see Diffusion in I2Core.
    public var diffusion: DiffusionEncoding?
    /// ImageType (FrameType for enhanced frames) says DERIVED: ADC, trace, FA maps among diffusion images.
    public var derived = false

    public init(path: String, frame: Int = 0, frameCount: Int = 1, sopInstanceUID: String, seriesInstanceUID: String,
                rows: Int, columns: Int, pixelSpacing: [Double], orientation: [Double], position: Vector3,
                bitsAllocated: Int = 16, bitsStored: Int = 16, signed: Bool = true) {
        self.path = path; self.frame = frame; self.frameCount = frameCount
        self.sopInstanceUID = sopInstanceUID; self.seriesInstanceUID = seriesInstanceUID
        self.rows = rows; self.columns = columns; self.pixelSpacing = pixelSpacing
        self.orientation = orientation; self.position = position
        self.bitsAllocated = bitsAllocated; self.bitsStored = bitsStored; self.signed = signed
    }

    public var rowDirection: Vector3 { Vector3(orientation[0], orientation[1], orientation[2]) }
    public var columnDirection: Vector3 { Vector3(orientation[3], orientation[4], orientation[5]) }
    public var normal: Vector3 { rowDirection.cross(columnDirection).normalized }
    /// "file" or "file (frame 3)" for messages.
    public var label: String {
        if let m = mosaic { return "\(path) (tile \(m.index + 1) of \(m.count))" }
        return frameCount > 1 ? "\(path) (frame \(frame + 1))" : path
    }
}

/// Slices that form one volume, sorted along the normal, with the grid derived from them.
public struct SliceStack: Sendable {
    public var name: String                   // series UID plus a split suffix: unique within a run
    public var suffix: String                 // dcm2niix's name suffixes: "", "_e2", "_ph", "_e2_ph", "_real", "_imaginary"
    public var slices: [SliceHeader]          // sorted; for 4-D, volume-major (all slices of t=0 first)
    public var volumes: Int = 1
    public var first: SliceHeader { slices[0] }
    public var sliceCount: Int { slices.count / volumes }

    /// In-plane axes: axis 0 along the row direction (spacing between columns), axis 1 down the columns.
    public var inPlaneSpacing: [Double] { [first.pixelSpacing.count > 1 ? first.pixelSpacing[1] : 1, first.pixelSpacing.first ?? 1] }
}

public enum Tilt: Sendable, Equatable {
    case none
    case sheared(degrees: Double)
}

/// The grid a stack occupies, or why it cannot form one.
public struct StackGeometry: Sendable {
    public var origin: Vector3
    public var direction: Matrix3
    public var spacing: [Double]
    public var tilt: Tilt
    /// Positions along the normal, one per slice (for equalizing).
    public var offsets: [Double]
    /// Set when spacing is irregular beyond 1%: the two slices where it breaks, and the spacings.
    public var irregular: (before: SliceHeader, after: SliceHeader, gap: Double, typical: Double)?
}

public enum SeriesAssembly {
    /// Groups slices into stacks the way dcm2niix splits a series into output files (nii_dicom_batch.cpp,
    /// nii_createFilename): one stack per orientation and image size, per echo (suffix `_e<n>` when the
    /// series has several echoes or this one is not echo 1), per complex component (`_imaginary`, `_real`,
    /// `_ph`; magnitude has none) and per GE epi_pepolar half. Repeated positions (fMRI, DWI, ASL,
    /// TemporalPositionIdentifier / enhanced TemporalPositionIndex) stay in one stack: 4-D.
    ///
    /// The same SOP Instance UID and frame twice is dropped only when it is the same image (same header
    /// values, and `sameContent` says the files hold the same bytes, e.g. a file copied twice); images that
    /// share a UID but differ are kept apart, so they are converted or refused, never silently lost.
    public static func stacks(_ all: [SliceHeader], sameContent: ((SliceHeader, SliceHeader) -> Bool)? = nil) -> [SliceStack] {
        var kept: [String: [Int]] = [:]
        var unique: [SliceHeader] = []
        for s in all {
            let key = s.sopInstanceUID + "#\(s.frame)" + (s.mosaic.map { "@\($0.index)" } ?? "")
            if let earlier = kept[key], earlier.contains(where: { sameImage(unique[$0], s, sameContent) }) { continue }
            kept[key, default: []].append(unique.count)
            unique.append(s)
        }

        // dcm2niix keeps images of different SeriesNumber apart even under one SeriesInstanceUID (isSameSet;
        // e.g. one image re-encoded in several transfer syntaxes as series 1, 2, ...): the number is part
        // of the key, and of the stack name when one UID holds several.
        var bySeries: [String: [SliceHeader]] = [:]
        var seriesOrder: [String] = []
        var numbers: [String: Set<String>] = [:]
        // Siemens XA classic volumes (one SeriesInstanceUID each) go under the first UID of their key.
        var joined: [String: String] = [:]
        func uid(_ s: SliceHeader) -> String {
            guard let k = s.volumeSeriesKey else { return s.seriesInstanceUID }
            if let u = joined[k] { return u }
            joined[k] = s.seriesInstanceUID
            return s.seriesInstanceUID
        }
        for s in unique { numbers[uid(s), default: []].insert(s.seriesNumber) }
        for s in unique {
            let key = numbers[uid(s)]!.count > 1 ? uid(s) + "_s" + s.seriesNumber : uid(s)
            if bySeries[key] == nil { seriesOrder.append(key) }
            bySeries[key, default: []].append(s)
        }
        var out: [SliceStack] = []
        for uid in seriesOrder {
            let slices = bySeries[uid]!
            // Echo numbers: EchoNumbers, or for enhanced files the effective echo times numbered in the
            // order the frames bring them (dcm2niix: Philips magnitude at 1.52 ms is _e1, its 0 ms field map _e2).
            var times: [Double] = []
            for s in slices where s.echo == nil { if let t = s.echoTime, !times.contains(t) { times.append(t) } }
            func echo(_ s: SliceHeader) -> Int? {
                if let e = s.echo { return e }
                guard times.count > 1, let t = s.echoTime, let i = times.firstIndex(of: t) else { return nil }
                return i + 1
            }
            let echoes = Set(slices.compactMap(echo))
            // Orientation and size groups, largest first so the main volume keeps the plain name (dcm2niix
            // names the others alike; the run's name clash rule tells them apart).
            var groups: [[SliceHeader]] = []
            for s in slices {
                if let i = groups.firstIndex(where: { sameOrientation($0[0], s) && $0[0].rows == s.rows && $0[0].columns == s.columns }) { groups[i].append(s) }
                else { groups.append([s]) }
            }
            groups.sort { $0.count > $1.count }
            // An image of another size lying among the slices of a larger group of the same orientation is
            // a damaged series, not a second volume: merged back, so conversion refuses it naming the file
            // ("mixed image sizes") instead of writing a volume with a hole.
            var merged: [[SliceHeader]] = []
            for g in groups {
                let n = g[0].normal
                if let i = merged.firstIndex(where: { big in
                    guard sameOrientation(big[0], g[0]), big.count > 1 else { return false }
                    let d = big.map { $0.position.dot(n) }
                    let (lo, hi) = (d.min()!, d.max()!)
                    return g.contains { let x = $0.position.dot(n); return x > lo + 1e-4 && x < hi - 1e-4 }
                }) { merged[i] += g } else { merged.append(g) }
            }
            groups = merged
            for (gi, group) in groups.enumerated() {
                // (internal name part, file suffix, slices), split in dcm2niix's suffix order.
                var parts: [(key: String, suffix: String, slices: [SliceHeader])] = [("", "", group)]
                func split(_ by: (SliceHeader) -> (key: String, suffix: String)) {
                    parts = parts.flatMap { part -> [(key: String, suffix: String, slices: [SliceHeader])] in
                        var order: [String] = []
                        var sub: [String: (suffix: String, slices: [SliceHeader])] = [:]
                        for s in part.slices {
                            let k = by(s)
                            if sub[k.key] == nil { order.append(k.key); sub[k.key] = (k.suffix, []) }
                            sub[k.key]!.slices.append(s)
                        }
                        return order.sorted().map { (part.key + $0, part.suffix + sub[$0]!.suffix, sub[$0]!.slices) }
                    }
                }
                split { s in
                    guard let e = echo(s) else { return ("", "") }
                    return ("_e\(e)", echoes.count > 1 || e > 1 ? "_e\(e)" : "")
                }
                split { s in let c = complexSuffix(s); return (c, c) }
                split { s in s.seriesNumberOffset == 0 ? ("", "") : ("_s+\(s.seriesNumberOffset)", "") }
                for part in parts {
                    let key = (gi == 0 ? "" : "_o\(gi + 1)") + part.key
                    out.append(sorted(SliceStack(name: uid + key, suffix: part.suffix, slices: part.slices)))
                }
            }
        }
        return out
    }

    /// dcm2niix's name suffix for the complex component (nii_dicom.cpp reads ImageType and
    /// ComplexImageComponent; nii_createFilename adds _imaginary, _real, _ph in that order of precedence).
    public static func complexSuffix(_ s: SliceHeader) -> String {
        let c = s.complexComponent.uppercased()
        if !c.isEmpty {
            if c.hasPrefix("IM") { return "_imaginary" }
            if c.hasPrefix("RE") { return s.imageType.includes("B0") && s.imageType.includes("MAP") ? "_fieldmaphz" : "_real" }
            if c.hasPrefix("PH") { return "_ph" }
            return ""
        }
        let t = s.imageType.uppercased()
        if t.includes("_I_") || t.includes("_IMAGINARY_") { return "_imaginary" }
        if t.includes("B0") && t.includes("MAP") { return "_fieldmaphz" }   // Philips B0 map: "real", in Hz
        if t.includes("_R_") || t.includes("_REAL_") { return "_real" }
        if t.includes("_P_") || t.includes("PHASE") { return "_ph" }
        return ""
    }

    /// Two headers of one SOP Instance UID and frame that describe the same image.
    static func sameImage(_ a: SliceHeader, _ b: SliceHeader, _ sameContent: ((SliceHeader, SliceHeader) -> Bool)?) -> Bool {
        guard (a.position - b.position).length < 1e-6, a.orientation == b.orientation, a.rows == b.rows, a.columns == b.columns,
              a.instanceNumber == b.instanceNumber, a.echo == b.echo, a.echoTime == b.echoTime, a.temporal == b.temporal,
              a.imageType == b.imageType, a.complexComponent == b.complexComponent else { return false }
        return a.path == b.path || (sameContent?(a, b) ?? true)
    }

    static func sameOrientation(_ a: SliceHeader, _ b: SliceHeader) -> Bool {
        zip(a.orientation, b.orientation).allSatisfy { abs($0 - $1) < 1e-4 }
    }

    /// Sorts along the normal. Several slices at one position with equal counts per position become
    /// a 4-D stack, its volumes in acquisition order: TemporalPositionIdentifier (or enhanced
    /// TemporalPositionIndex), then InstanceNumber, then frame (dcm2niix: ensureSequentialSlicePositions).
    static func sorted(_ stack: SliceStack) -> SliceStack {
        var s = stack
        let n = s.first.mosaic?.sliceDirection ?? s.first.normal   // mosaics: stored tile order (Mosaic.swift)
        func before(_ a: SliceHeader, _ b: SliceHeader) -> Bool {
            if (a.temporal ?? 0) != (b.temporal ?? 0) { return (a.temporal ?? 0) < (b.temporal ?? 0) }
            if a.instanceNumber != b.instanceNumber { return a.instanceNumber < b.instanceNumber }
            if a.path != b.path { return a.path < b.path }
            return a.frame < b.frame
        }
        let keyed = s.slices.map { (d: $0.position.dot(n), slice: $0) }
            .sorted { abs($0.d - $1.d) > 1e-4 ? $0.d < $1.d : before($0.slice, $1.slice) }
        // Count slices per distinct position.
        var positions: [[SliceHeader]] = []
        var lastD = -Double.infinity
        for k in keyed {
            if positions.isEmpty || abs(k.d - lastD) > 1e-4 { positions.append([k.slice]); lastD = k.d }
            else { positions[positions.count - 1].append(k.slice) }
        }
        let counts = Set(positions.map(\.count))
        if counts.count == 1, let c = counts.first, c > 1 {
            s.volumes = c
            s.slices = (0..<c).flatMap { t in positions.map { $0[t] } }
        } else {
            s.slices = keyed.map(\.slice)
        }
        return s
    }

    /// The grid of a sorted stack: origin, direction (with the slice axis along the actual step between
    /// positions, so a gantry tilt gives a sheared direction), spacing, and any irregularity.
    public static func geometry(_ stack: SliceStack) -> StackGeometry {
        let f = stack.first
        let n = f.mosaic?.sliceDirection ?? f.normal   // as in sorted(): offsets ascend in stack order
        let slices = Array(stack.slices.prefix(stack.sliceCount))
        let offsets = slices.map { $0.position.dot(n) }
        let inPlane = stack.inPlaneSpacing
        var step = n * 1.0
        var spacing = inPlane + [1]
        var tilt = Tilt.none
        var irregular: StackGeometry.Irregular? = nil
        if slices.count > 1 {
            let total = slices.last!.position - f.position
            step = total * (1 / Double(slices.count - 1))
            let along = step.dot(n)
            let inPlaneShift = (step - n * along).length
            // Tilt: the positions drift in-plane by more than 1/100 of a voxel per slice.
            if inPlaneShift > 0.01 * min(inPlane[0], inPlane[1]), along != 0 {
                let degrees = atan2(inPlaneShift, abs(along)) * 180 / .pi
                tilt = .sheared(degrees: degrees)
            }
            spacing[2] = step.length
            let gaps = zip(offsets.dropFirst(), offsets).map { $0 - $1 }
            let typical = gaps.sorted()[gaps.count / 2]
            // "More than 1% off" is measured against the mean gap (first to last over the count), so
            // positions rounded in the headers (gaps alternating 0.62/0.63 mm) pass, while one gap 2%
            // longer, a missing slice or coincident slices do not. The 1.01 absorbs float noise at 1%.
            let mean = (offsets.last! - offsets[0]) / Double(gaps.count)
            let worst = gaps.indices.max { abs(gaps[$0] - mean) < abs(gaps[$1] - mean) }!
            if let i = gaps.firstIndex(where: { abs($0) < 1e-3 }) ?? (abs(gaps[worst] - mean) > 0.0101 * abs(mean) ? worst : nil) {
                irregular = (slices[i], slices[i + 1], gaps[i], typical)
            }
        }
        let direction = Matrix3(columns: [f.rowDirection.normalized, f.columnDirection.normalized, step.normalized])
        return StackGeometry(origin: f.position, direction: direction, spacing: spacing, tilt: tilt,
                             offsets: offsets, irregular: irregular)
    }
}

extension StackGeometry {
    public typealias Irregular = (before: SliceHeader, after: SliceHeader, gap: Double, typical: Double)
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
