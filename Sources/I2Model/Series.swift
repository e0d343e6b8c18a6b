// Series assembly (pure): which DICOM slices form one volume, in which order, on which grid.
// Group by series, split what cannot form one volume (orientation, echo, temporal position), sort by
// the projection of ImagePositionPatient on the slice normal, take the spacing from the positions,
// and detect gantry tilt (positions not along the normal) and irregular spacing.

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
    public var echo: Int?
    public var temporal: Int?
    public var instanceNumber: Int = 0
    public var transferSyntax = ""
    public var sopClassUID = ""
    public var positionText = ""            // ImagePositionPatient as written (single-frame files), for exact copies
    public var thickness: Double?             // SliceThickness, the spacing of a single-slice volume
    public var slope: Double = 1
    public var intercept: Double = 0
    public var bitsAllocated: Int
    public var bitsStored: Int
    public var signed: Bool
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
    public var label: String { frameCount > 1 ? "\(path) (frame \(frame + 1))" : path }
}

/// Slices that form one volume, sorted along the normal, with the grid derived from them.
public struct SliceStack: Sendable {
    public var name: String                   // series UID plus a split suffix: unique within a run
    public var suffix: String                 // "", "_e2", "_t3", "_o2"
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
    /// Groups slices into stacks. Duplicates (same SOP Instance UID and frame) are dropped; everything
    /// else that cannot be one volume is split into its own stack.
    public static func stacks(_ all: [SliceHeader]) -> [SliceStack] {
        var seen = Set<String>()
        var unique: [SliceHeader] = []
        for s in all where seen.insert(s.sopInstanceUID + "#\(s.frame)").inserted { unique.append(s) }

        var bySeries: [String: [SliceHeader]] = [:]
        var seriesOrder: [String] = []
        for s in unique {
            if bySeries[s.seriesInstanceUID] == nil { seriesOrder.append(s.seriesInstanceUID) }
            bySeries[s.seriesInstanceUID, default: []].append(s)
        }
        var out: [SliceStack] = []
        for uid in seriesOrder {
            let slices = bySeries[uid]!
            // Orientation groups, largest first so the main volume keeps the plain name.
            var orientations: [[SliceHeader]] = []
            for s in slices {
                if let i = orientations.firstIndex(where: { sameOrientation($0[0], s) }) { orientations[i].append(s) }
                else { orientations.append([s]) }
            }
            orientations.sort { $0.count > $1.count }
            let echoes = Set(slices.compactMap(\.echo)).sorted()
            let temporals = Set(slices.compactMap(\.temporal)).sorted()
            for (oi, group) in orientations.enumerated() {
                var parts: [(String, [SliceHeader])] = [("", group)]
                if echoes.count > 1 {
                    parts = parts.flatMap { suffix, g in
                        echoes.map { e in (suffix + (e == echoes[0] ? "" : "_e\(e)"), g.filter { ($0.echo ?? echoes[0]) == e }) }
                    }
                }
                if temporals.count > 1 {
                    parts = parts.flatMap { suffix, g in
                        temporals.map { t in (suffix + (t == temporals[0] ? "" : "_t\(t)"), g.filter { ($0.temporal ?? temporals[0]) == t }) }
                    }
                }
                for (suffix, g) in parts where !g.isEmpty {
                    let full = (oi == 0 ? "" : "_o\(oi + 1)") + suffix
                    out.append(sorted(SliceStack(name: uid + full, suffix: full, slices: g)))
                }
            }
        }
        return out
    }

    static func sameOrientation(_ a: SliceHeader, _ b: SliceHeader) -> Bool {
        zip(a.orientation, b.orientation).allSatisfy { abs($0 - $1) < 1e-4 }
    }

    /// Sorts along the normal. Several slices at one position with equal counts per position become
    /// a 4-D stack (ordered by instance number within each position).
    static func sorted(_ stack: SliceStack) -> SliceStack {
        var s = stack
        let n = s.first.normal
        let keyed = s.slices.map { (d: $0.position.dot(n), slice: $0) }
            .sorted { abs($0.d - $1.d) > 1e-4 ? $0.d < $1.d : $0.slice.instanceNumber < $1.slice.instanceNumber }
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
        let n = f.normal
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
