// Diffusion-weighted series: each volume's b-value and gradient direction, read from the standard MR
// Diffusion macro or the vendors' private attributes, and written as NAME.bval / NAME.bvec beside a NIfTI
// image exactly as dcm2niix writes them (FSL's convention: directions in the image's voxel axes). Derived
// volumes (Philips isotropic/trace images stored among the directions) are dropped from the 4-D image, as
// dcm2niix drops them, with a note; DERIVED volumes (trace, ADC) among original ones are written apart, as
// dcm2niix converts them apart.
//
// What follows dcm2niix (console/nii_dicom_batch.cpp, nii_saveDTI, geCorrectBvecs,
// siemensPhilipsCorrectBvecs; console/nii_dicom.cpp for the attributes read):
// - when .bval/.bvec are written at all (fewer than 3 volumes and 3 images: never; all b-values equal and
//   all directions equal: never; equal b-values with varying directions: zero-direction volumes are b=0);
// - Philips: a volume with b > 0 and no direction is an isotropic/trace image and is removed (kept when it
//   would leave fewer than two volumes); GE: the same when its UserData24 (number of directions) is 0,
//   otherwise such a volume is taken as b=0;
// - directions in patient coordinates are projected on the row, column and slice normal (float
//   arithmetic, normalised), GE's are reoriented per slice orientation and phase-encoding axis;
// - text: "%g" separated by single spaces (dcm2niix's BIDS mode), one line of b-values, three of
//   directions, "-0" written as 0.
// The vectors are expressed in the axes of the volume that is written (its direction), so they follow
// whatever voxel order the writer chose; a volume whose direction has a positive determinant gets the
// sign convention FSL uses for it (dcm2niix's choice for its own positive-determinant case).
import Foundation
import I2DICOM
import I2Model

enum Diffusion {
    // MARK: reading one image

    /// The vendor families whose diffusion attributes and conventions dcm2niix tells apart.
    static func vendorFamily(_ manufacturer: String) -> String {
        let m = manufacturer.uppercased()
        if m.includes("SIEMENS") { return "siemens" }
        if m.hasPrefix("GE") { return "ge" }
        if m.includes("PHILIPS") { return "philips" }
        if m.includes("CANON") { return "canon" }
        if m.includes("TOSHIBA") { return "toshiba" }
        if m.includes("UIH") || m.includes("UNITED IMAGING") { return "uih" }
        if m.includes("BRUKER") { return "bruker" }
        if m.includes("HITACHI") { return "hitachi" }
        return "other"
    }

    /// How a private value is encoded when its VR is known (explicit VR) or not (implicit VR without a
    /// private dictionary: DCMTK then holds raw bytes, UN).
    enum Encoding { case text, float32, float64 }

    /// Numbers of `tag` in a classic file, whether DCMTK knows its VR or holds raw bytes.
    static func numbers(_ f: DicomFile, _ tag: Tag, _ encoding: Encoding) -> [Double]? {
        if let raw = f.bytes(tag) {   // UN/OB: decode as the vendor writes it
            switch encoding {
            case .text:
                let s = String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                let v = s.split(separator: "\\").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
                return v.isEmpty ? nil : v
            case .float32, .float64:
                let size = encoding == .float32 ? 4 : 8
                guard raw.count >= size, raw.count % size == 0 else { return nil }
                return stride(from: 0, to: raw.count, by: size).map { i in
                    var bits: UInt64 = 0
                    for k in 0..<size { bits |= UInt64(raw[i + k]) << (8 * UInt64(k)) }
                    return size == 4 ? Double(Float(bitPattern: UInt32(bits))) : Double(bitPattern: bits)
                }
            }
        }
        return f.doubles(tag)
    }

    /// Reads the encodings of one file's frames; the file-level values are read once.
    struct Reader {
        let f: DicomFile
        let enhanced: Bool
        let vendor: String
        let patientPosition: String
        let phaseEncoding: String
        /// False when the file cannot carry an encoding (not MR; enhanced without an MR Diffusion macro).
        let applies: Bool

        init(_ f: DicomFile, enhanced: Bool) {
            self.f = f
            self.enhanced = enhanced
            // Only MR carries diffusion: other modalities pay one lookup (the header scan is a hot path).
            let mr = (f.string(.modality) ?? "MR").uppercased() == "MR"
            applies = mr && (!enhanced
                || f.items(Tag.perFrameFunctionalGroupsSequence[0] / TagPath(.mrDiffusionSequence)) != nil
                || f.items(Tag.sharedFunctionalGroupsSequence[0] / TagPath(.mrDiffusionSequence)) != nil)
            vendor = applies ? Diffusion.vendorFamily(f.string(.manufacturer) ?? "") : ""
            patientPosition = applies ? f.string(.patientPosition) ?? "" : ""
            phaseEncoding = applies ? f.string(.inPlanePhaseEncodingDirection) ?? "" : ""
        }

        /// The encoding of `frame` (nil when it has none). Enhanced files: the frame's MR Diffusion macro
        /// (or the shared one); classic files: the standard attributes, then the vendor's private ones.
        func encoding(frame: Int) -> DiffusionEncoding? {
            guard applies else { return nil }
            var b: Double?
            var g: [Double]?
            if enhanced {
                for group in [Tag.perFrameFunctionalGroupsSequence[frame], Tag.sharedFunctionalGroupsSequence[0]] {
                    guard f.items(group / TagPath(.mrDiffusionSequence)) != nil else { continue }
                    let macro = group / Tag.mrDiffusionSequence[0]
                    b = f.doubles(macro / .diffusionBValue)?.first
                    g = f.doubles(macro / Tag.diffusionGradientDirectionSequence[0] / .diffusionGradientOrientation)
                    break
                }
            } else {
                let macro = Tag.mrDiffusionSequence[0]
                b = f.doubles(.diffusionBValue)?.first ?? f.doubles(macro / .diffusionBValue)?.first
                if b != nil {
                    g = f.doubles(.diffusionGradientOrientation)
                        ?? f.doubles(macro / Tag.diffusionGradientDirectionSequence[0] / .diffusionGradientOrientation)
                }
            }
            var frameKind = DiffusionEncoding.Frame.patient
            var geDirections: Int?
            var canon = false
            if !enhanced {
                switch vendor {
                case "ge":
                    // GE's own fields take precedence: their directions are in GE's image frame.
                    if let v = Diffusion.numbers(f, .geSlopInteger6To9, .text)?.first {
                        b = v >= 1e9 ? v.truncatingRemainder(dividingBy: 1e9) : v   // some software adds 1e9
                        let parts = [Tag.geUserData20, .geUserData21, .geUserData22].compactMap { Diffusion.numbers(f, $0, .text)?.first }
                        g = parts.count == 3 ? parts : nil
                        frameKind = .geImage
                        geDirections = Diffusion.numbers(f, .geUserData24, .text)?.first.map { Int($0) }
                    }
                case "canon", "toshiba":
                    // dcm2niix (issue 388): a classic Canon/Toshiba image with a b-value in (0018,9087) carries
                    // its direction as text in ImageComments, "b=1000(x,y,z)", in image space with x and y
                    // swapped; such an image is Canon's (GE's image-frame rule), whatever (0018,9089) says.
                    if let bValue = b, bValue > 0, let v = Diffusion.canonCommentDirection(f.string(.imageComments), b: bValue) {
                        g = v
                        frameKind = .geImage
                        canon = true
                    } else if vendor == "canon" {
                        frameKind = .geImage   // dcm2niix: classic Canon directions are in image space, enhanced in world
                    }
                case "uih":
                    if b == nil, let v = Diffusion.numbers(f, .uihDiffusionBValue, .float64)?.first {
                        b = v
                        g = Diffusion.numbers(f, .uihDiffusionGradientDirection, .float64)
                    }
                case "siemens":
                    if b == nil, let v = Diffusion.numbers(f, .siemensBValue, .text)?.first {
                        b = v
                        g = Diffusion.numbers(f, .siemensDiffusionGradientDirection, .float64)
                    }
                    if b == nil, let csa = f.siemensImageCSA(only: ["B_value", "DiffusionGradientDirection"]), let v = csa.double("B_value") {
                        b = v
                        g = csa.doubles("DiffusionGradientDirection")
                    }
                case "philips":
                    if b == nil, let v = Diffusion.numbers(f, .philipsDiffusionBFactor, .float32)?.first {
                        b = v
                        let parts = [Tag.philipsDiffusionDirectionRL, .philipsDiffusionDirectionAP, .philipsDiffusionDirectionFH]
                            .compactMap { Diffusion.numbers(f, $0, .float32)?.first }
                        g = parts.count == 3 ? parts : nil
                    }
                default: break
                }
            }
            guard let bValue = b, bValue.isFinite else { return nil }
            if let v = g, v.count != 3 || !v.allSatisfy(\.isFinite) { g = nil }
            var e = DiffusionEncoding(bValue: bValue, gradient: g, frame: frameKind, vendor: canon ? "canon" : vendor,
                                      patientPosition: patientPosition, phaseEncoding: phaseEncoding)
            e.geDirections = geDirections
            return e
        }
    }

    /// The direction in a Canon/Toshiba ImageComments "b=B(x,y,z)" (B: the b-value rounded), as dcm2niix
    /// reads it: the three numbers after the prefix, x and y swapped. Nil when the comment does not start so.
    static func canonCommentDirection(_ comments: String?, b: Double) -> [Double]? {
        let prefix = "b=\(Int(b.rounded()))("
        guard let c = comments, c.hasPrefix(prefix) else { return nil }
        let text = String(c.dropFirst(prefix.count).map { ("0"..."9").contains($0) || $0 == "." || $0 == "-" ? $0 : " " })
        let v = text.split(separator: " ").prefix(3).compactMap { Float($0) }.map(Double.init)
        guard v.count == 3 else { return nil }
        return [v[1], v[0], v[2]]
    }

    /// ImageType (enhanced: the frame's FrameType) says DERIVED.
    static func derived(_ f: DicomFile, frame: Int, enhanced: Bool) -> Bool {
        var type = f.string(.imageType) ?? ""
        if enhanced, let t = f.string(Tag.perFrameFunctionalGroupsSequence[frame] / Tag.mrImageFrameTypeSequence[0] / .frameType)
            ?? f.string(Tag.sharedFunctionalGroupsSequence[0] / Tag.mrImageFrameTypeSequence[0] / .frameType) {
            type = t
        }
        return type.uppercased().hasPrefix("DERIVED")
    }

    // MARK: one stack

    /// b-value and direction of one volume, in dcm2niix's float arithmetic.
    struct Entry: Equatable {
        var b: Float
        var g: [Float]   // 3 components
    }

    /// What a DWI stack becomes: the volumes kept, their encodings, and what to write.
    struct Plan {
        var keep: [Int]               // volume indices of the stack, in order
        var entries: [Entry]          // one per kept volume, before reorientation
        var writeBvec: Bool           // false: an isotropic series (dcm2niix writes .bval only)
        var notes: [String]
        var dropped: Int { droppedVolumes.count }
        var droppedVolumes: [Int]
        var reference: SliceHeader    // orientation, vendor, patient position of the series
        var enhanced: Bool
    }

    static func isZero(_ v: Float) -> Bool { abs(v) < Float.ulpOfOne }
    static func isZero(_ g: [Float]) -> Bool { g.allSatisfy(isZero) }

    /// The diffusion plan of `stack`, or nil when dcm2niix writes no .bval/.bvec for it.
    static func plan(_ stack: SliceStack) -> Plan? {
        let n = stack.volumes, per = stack.sliceCount
        // One encoding per volume: its first slice's (dcm2niix reads the images at the first position).
        let heads = (0..<n).map { stack.slices[$0 * per] }
        guard heads.contains(where: { $0.diffusion != nil }) else { return nil }
        if n < 3 && stack.slices.count < 3 { return nil }
        var vx = heads.map { h -> Entry in
            let d = h.diffusion
            return Entry(b: Float(d?.bValue ?? 0), g: (d?.gradient ?? [0, 0, 0]).map { Float($0) })
        }
        var notes: [String] = []
        let name = stack.name
        let varies = vx.contains { $0.b != vx[0].b } || (vx.map(\.b).min() ?? 0) > 50 || !isZero(vx[0].g)
        if !varies {
            guard vx.contains(where: { $0.g != vx[0].g }) else { return nil }   // one b, one direction: no DWI
            for i in vx.indices where isZero(vx[i].g) { vx[i].b = 0 }
            notes.append("\(name): volumes without a gradient direction are taken as b=0 (as dcm2niix does)")
        }
        let first = stack.first
        let vendor = first.diffusion?.vendor ?? heads.compactMap(\.diffusion).first!.vendor
        let adcLike = { (e: Entry) in !isZero(e.b) && isZero(e.g) }
        var isDerived = [Bool](repeating: false, count: n)
        var geZero = 0, geWarn = 0
        // GE: b>0 without a direction is a trace image when the series has no diffusion directions
        // (UserData24 = 0), a b=0 otherwise; Philips: always its isotropic/trace image.
        let geTrace = first.diffusion?.geDirections == 0
        for i in 0..<n {
            if vendor == "ge", adcLike(vx[i]) {
                geWarn += 1
                if geTrace { isDerived[i] = true } else { geZero += 1; vx[i].b = 0 }
            }
            if vendor == "philips", adcLike(vx[i]) { isDerived[i] = true }
        }
        var numDerived = isDerived.filter { $0 }.count
        let isotropic = numDerived == n || geWarn == n
        if numDerived > 0 && n - numDerived < 2 {
            // dcm2niix keeps a b=0 + trace pair, and an all-isotropic series, whole.
            isDerived = [Bool](repeating: false, count: n)
            numDerived = 0
        }
        if geZero > 0 {
            notes.append("\(name): \(geZero) volume(s) with b>0 but no gradient direction written as b=0 (GE: trace or b=0, as dcm2niix)")
        }
        let keep = (0..<n).filter { !isDerived[$0] }
        let dropped = (0..<n).filter { isDerived[$0] }
        // The series' conventions (vendor, frame, position) come from an encoded image: Canon/Toshiba
        // write no diffusion attributes on their b=0 images, which often come first.
        var reference = first
        if reference.diffusion == nil { reference.diffusion = heads.compactMap(\.diffusion).first }
        if !dropped.isEmpty {
            notes.append("\(name): ignoring \(dropped.count) derived diffusion volume(s) (isotropic/trace/ADC), as dcm2niix does: the 4-D image keeps \(keep.count)")
        }
        return Plan(keep: keep, entries: keep.map { vx[$0] }, writeBvec: !isotropic, notes: notes,
                    droppedVolumes: dropped, reference: reference,
                    // Enhanced (and legacy converted enhanced) MR: directions in world coordinates for every vendor.
                    enhanced: first.sopClassUID.hasPrefix("1.2.840.10008.5.1.4.1.1.4."))
    }

    /// A diffusion stack whose volumes are partly DERIVED (ImageType: trace, ADC) and partly ORIGINAL
    /// becomes two stacks, original first, the derived one with the same suffix (its output name gets
    /// "_2"): dcm2niix converts derived images apart from the original ones of the same series.
    static func splitDerived(_ stack: SliceStack) -> (stacks: [SliceStack], note: String?) {
        let n = stack.volumes, per = stack.sliceCount
        guard n > 1 else { return ([stack], nil) }
        let heads = (0..<n).map { stack.slices[$0 * per] }
        guard heads.contains(where: { $0.diffusion != nil }) else { return ([stack], nil) }
        let derived = (0..<n).filter { heads[$0].derived }
        guard !derived.isEmpty, derived.count < n else { return ([stack], nil) }
        func part(_ volumes: [Int], name: String) -> SliceStack {
            var s = stack
            s.name = name
            s.slices = volumes.flatMap { v in stack.slices[(v * per)..<((v + 1) * per)] }
            s.volumes = volumes.count
            return s
        }
        let original = (0..<n).filter { !heads[$0].derived }
        let note = "\(stack.name): \(derived.count) derived diffusion volume(s) (ImageType DERIVED: trace/ADC) taken out of the 4-D image and written apart, as dcm2niix does"
        return ([part(original, name: stack.name), part(derived, name: stack.name + "_derived")], note)
    }

    /// `stack` without the plan's dropped volumes.
    static func keep(_ plan: Plan, of stack: SliceStack) -> SliceStack {
        guard plan.dropped > 0 else { return stack }
        var s = stack
        let per = stack.sliceCount
        s.slices = plan.keep.flatMap { v in stack.slices[(v * per)..<((v + 1) * per)] }
        s.volumes = plan.keep.count
        return s
    }

    // MARK: directions in image space

    typealias V3 = (Float, Float, Float)
    static func dot(_ a: V3, _ b: V3) -> Float { a.0 * b.0 + a.1 * b.1 + a.2 * b.2 }
    static func norm(_ a: V3) -> V3 {
        let l = (a.0 * a.0 + a.1 * a.1 + a.2 * a.2).squareRoot()
        return l > 0 ? (a.0 / l, a.1 / l, a.2 / l) : a
    }

    /// dcm2niix's vector for one volume in its own output axes: the row direction, the column direction
    /// reversed (its rows are flipped) and the slice normal (its slices ascend along it).
    static func dcm2niixVector(_ e: inout Entry, _ ref: SliceHeader, enhanced: Bool, notes: inout Set<String>) {
        guard let d = ref.diffusion else { return }
        let o = ref.orientation.map { Float($0) }
        let row = norm((o[0], o[1], o[2])), col = norm((o[3], o[4], o[5]))
        let rawSlice = (o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3])
        let slice = norm(rawSlice)
        var v = e.g
        let len = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).squareRoot()
        let headFirstSupine = d.patientPosition.uppercased().hasPrefix("HFS")
        if d.frame == .geImage {
            // geCorrectBvecs: directions relative to the acquisition; only for head first supine.
            guard headFirstSupine else { notes.insert("GE DTI directions need a head first supine acquisition: written as recorded (as dcm2niix)"); return }
            let pe = d.phaseEncoding.uppercased()
            guard pe.hasPrefix("C") || pe.hasPrefix("R") else { notes.insert("GE DTI directions: unknown phase-encoding axis, written as recorded (as dcm2niix)"); return }
            if e.b <= Float.ulpOfOne || len <= Float.ulpOfOne { e.g = [0, 0, 0]; return }
            if len > 0.03 && len < 0.97 {
                // b scaled by |g|², rounded to 5 s/mm² (issues 163, 245)
                let scaled = e.b * len * len
                let b: Float = scaled > 0 && scaled < 5 ? 5 : Float(Int((scaled + 2.5) / 5) * 5)
                let k: Float = b == 0 ? 0 : (e.b / b).squareRoot()
                e.b = b
                v = v.map { $0 * k }
            }
            if !pe.hasPrefix("C") { v = [v[1], -v[0], v[2]] }
            let axis = [abs(slice.0), abs(slice.1), abs(slice.2)]
            let i = axis[2] >= axis[0] && axis[2] >= axis[1] ? 2 : (axis[1] >= axis[0] ? 1 : 0)
            let flip: [Bool] = i == 0 ? [true, true, false] : (i == 1 ? [false, true, true] : [false, false, true])
            for k in 0..<3 where flip[k] { v[k] = -v[k] }
            v[1] = -v[1]
            v = v.map { -$0 }
        } else if d.vendor == "uih" {
            v[1] = -v[1]   // UIH directions are already in image space
        } else if enhanced || ["siemens", "philips", "toshiba", "bruker", "hitachi"].contains(d.vendor) {
            if e.b <= Float.ulpOfOne || len <= Float.ulpOfOne { return }   // b=0: as recorded
            let g = (v[0], v[1], v[2])
            let p = norm((dot(g, row), dot(g, col), dot(g, slice)))
            v = [p.0, -p.1, p.2]
        }
        e.g = v.map { $0 == 0 ? 0 : $0 }   // no "-0"
    }

    /// The plan's directions in the axes of a volume whose direction matrix (LPS columns) is `direction`.
    static func vectors(_ plan: Plan, direction: Matrix3) -> (entries: [Entry], notes: [String]) {
        let ref = plan.reference
        let r = ref.rowDirection.normalized, c = ref.columnDirection.normalized, n = ref.normal
        let axes = [r, c * -1, n]   // dcm2niix's output axes
        // Each written axis as ± one of dcm2niix's: then components are only permuted and signed (exact).
        var map: [(Int, Float)] = []
        for i in 0..<3 {
            let d = direction.column(i).normalized
            if let j = axes.indices.first(where: { abs(axes[$0].dot(d)) > 0.9999 }) {
                map.append((j, axes[j].dot(d) > 0 ? 1 : -1))
            }
        }
        let exact = map.count == 3 && Set(map.map(\.0)).count == 3
        let positive = direction.determinant > 0
        var notes = Set<String>()
        var out: [Entry] = []
        for var e in plan.entries {
            dcm2niixVector(&e, ref, enhanced: plan.enhanced, notes: &notes)
            var v: [Float]
            if exact {
                v = map.map { $0.1 * e.g[$0.0] }
            } else {
                let w = axes[0] * Double(e.g[0]) + axes[1] * Double(e.g[1]) + axes[2] * Double(e.g[2])
                v = (0..<3).map { Float(w.dot(direction.column($0).normalized)) }
            }
            // FSL reads directions of a positive-determinant image with x mirrored; dcm2niix writes the
            // opposite (equivalent) vector, mirroring y and z.
            if positive { v = [v[0], -v[1], -v[2]] }
            e.g = v.map { $0 == 0 ? 0 : $0 }
            out.append(e)
        }
        return (out, notes.sorted())
    }

    /// The text of NAME.bval and NAME.bvec (nil when only .bval is written).
    static func text(_ entries: [Entry], writeBvec: Bool) -> (bval: String, bvec: String?) {
        func g(_ v: Float) -> String { cFormat("%g", Double(v == 0 ? 0 : v)) }
        let bval = entries.map { g($0.b) }.joined(separator: " ") + "\n"
        guard writeBvec else { return (bval, nil) }
        let bvec = (0..<3).map { k in entries.map { g($0.g[k]) }.joined(separator: " ") }.joined(separator: "\n") + "\n"
        return (bval, bvec)
    }

    /// The companion paths of `image` that `plan` writes.
    static func paths(_ plan: Plan, beside image: String) -> [String] {
        let base = Conversion.stripExtension(image)
        return [base + ".bval"] + (plan.writeBvec ? [base + ".bvec"] : [])
    }

    /// Writes NAME.bval (and NAME.bvec) beside `image`, for the volume written there; returns the paths.
    static func write(_ plan: Plan, beside image: String, direction: Matrix3) throws -> (paths: [String], notes: [String]) {
        let (entries, notes) = vectors(plan, direction: direction)
        let (bval, bvec) = text(entries, writeBvec: plan.writeBvec)
        let p = paths(plan, beside: image)
        try AtomicFile.write(Array(bval.utf8), to: p[0])
        if let bvec { try AtomicFile.write(Array(bvec.utf8), to: p[1]) }
        return (p, notes)
    }
}
