// An image volume → a derived DICOM series on the volume's grid, in the study (patient, study, frame
// of reference) of a reference series: how non-segmentation AI results go back to a PACS.
// The SOP class follows the reference: CT stays CT Image Storage, MR stays MR Image Storage (so
// viewers hang and window them like the source), anything else becomes Secondary Capture with the
// Image Plane attributes added (so it still lies in the reference's frame of reference).
import Foundation
import I2DICOM
import I2Model

enum VolumeToDicom {
    static let ctImage = "1.2.840.10008.5.1.4.1.1.2"
    static let mrImage = "1.2.840.10008.5.1.4.1.1.4"
    static let secondaryCapture = "1.2.840.10008.5.1.4.1.1.7"

    /// Writes one single-frame instance per slice k into `dir` (which exists), named `IM_0001.dcm`,
    /// `IM_0002.dcm`, … (k+1, at least four digits), each atomically. Returns the paths in slice order.
    /// `reference` is a series directory or one of its files (several series: the first found); its
    /// first slice along the normal supplies the copied attributes.
    /// With `uidSeed`, the series and instance UIDs derive from it (re-running re-creates, not duplicates).
    static func instancePath(_ k: Int, in dir: String) -> String { dir + "/IM_" + String(format: "%04d", k + 1) + ".dcm" }

    /// The paths `write` creates for `volume` (so callers can check them all before writing).
    static func instancePaths(_ volume: Volume, in dir: String) -> [String] {
        (0..<(volume.size.count >= 3 ? volume.size[2] : 0)).map { instancePath($0, in: dir) }
    }

    /// An RGB volume (3 components of uint8: i2's overlays) becomes a Secondary Capture series; `burnedIn`
    /// says its pixels carry annotation (BurnedInAnnotation YES). With `rgbSlice`, the RGB volume has no
    /// voxels: slice k's bytes come from `rgbSlice(k)` as it is written (the reference's row order).
    static func write(_ volume: Volume, reference: String, into dir: String, uidSeed: String? = nil,
                      seriesDescription: String? = nil, burnedIn: Bool = false, rgbSlice: ((Int) throws -> [UInt8])? = nil) throws -> [String] {
        let rgb = volume.components == 3 && volume.voxelType == .uint8
        guard volume.components == 1 || rgb else { throw I2Error(.badInput, "a volume of \(volume.components) components cannot become a derived DICOM series (scalar volumes and 8-bit RGB only)") }
        var volume = rgb ? volume : volume.scaleApplied()   // the values, whatever their stored form
        guard volume.size.count == 3 || (volume.size.count == 4 && volume.size[3] == 1) else {
            throw I2Error(.badInput, "a \(volume.size.count)-D volume (\(volume.size.map(String.init).joined(separator: "x"))) cannot become a derived DICOM series: only 3-D volumes are supported")
        }
        let (files, listErrors) = DicomScan.files(in: [reference])
        if let e = listErrors.first { throw e }
        let scan = DicomScan(files: files)
        guard let stack = SeriesAssembly.stacks(scan.slices).first else {
            throw scan.errors.first ?? I2Error(.badInput, path: reference, "no DICOM image found in the reference")
        }
        // An image in i2 convert's (dcm2niix's) voxel order has its rows reversed against the reference's:
        // written back in the reference's row and column order, so each derived frame lies as its source does.
        for (axis, refAxis) in [(0, stack.first.rowDirection), (1, stack.first.columnDirection)]
        where volume.direction.column(axis).dot(refAxis.normalized) < -0.5 {
            guard rgbSlice == nil else { throw I2Error(.internal, "slices given in another row or column order than the reference's") }
            volume.reverse(axis: axis)
        }
        let ref = try DicomFile(path: stack.first.path)
        let refClass = ref.string(.sopClassUID) ?? ""
        let sopClass = rgb ? secondaryCapture : sopClass(for: refClass)
        let pixels = try rgb ? PixelEncoding(rgb: volume, voxels: rgbSlice == nil) : PixelEncoding(volume, sixteenBits: sopClass != secondaryCapture)

        let seriesUID = uidSeed.map { UID.derived(from: $0 + "/series") } ?? UID.make()
        let now = Stamp()
        var paths: [String] = []
        let (nx, ny, nz) = (volume.size[0], volume.size[1], volume.size[2])
        let sliceBytes = nx * ny * pixels.bitsAllocated / 8 * pixels.samples
        for k in 0..<nz {
            let path = instancePath(k, in: dir)
            let f = DicomFile(newAt: path)
            try header(f, ref: ref, refStack: stack, sopClass: sopClass, seriesUID: seriesUID, now: now)
            if let d = seriesDescription { try f.set(.seriesDescription, String(d.prefix(64))) }
            try f.set(.sopInstanceUID, uidSeed.map { UID.derived(from: $0 + "/instance/\(k)") } ?? UID.make())
            try f.set(.instanceNumber, String(k + 1))
            let position = volume.origin + volume.direction.column(2) * (Double(k) * volume.spacing[2])
            try f.set(.imagePositionPatient, try DS.join(position.array))
            try f.set(.sliceThickness, try DS.format(volume.spacing[2]))
            try source(f, position: position, volume: volume, refStack: stack, refClass: refClass)
            try geometry(f, volume, sopClass: sopClass)
            try pixels.describe(f, columns: nx, rows: ny, ct: sopClass == ctImage)
            if burnedIn { try f.set(.burnedInAnnotation, "YES") }
            if let rgbSlice {
                let bytes = try rgbSlice(k)
                guard bytes.count == sliceBytes else { throw I2Error(.internal, "slice \(k + 1): \(bytes.count) bytes, \(sliceBytes) expected") }
                try bytes.withUnsafeBytes { try f.setPixels($0, bitsAllocated: 8) }
            } else {
                try pixels.bytes.withUnsafeBytes { raw in
                    try f.setPixels(UnsafeRawBufferPointer(rebasing: raw[(k * sliceBytes)..<((k + 1) * sliceBytes)]),
                                    bitsAllocated: pixels.bitsAllocated)
                }
            }
            try AtomicFile.write(to: path) { tmp in try f.save(to: tmp) }
            paths.append(path)
        }
        return paths
    }

    /// CT and MR references (classic, enhanced or legacy-converted) keep their modality's image
    /// storage class; anything else (PET needs attributes a derived image cannot supply) becomes SC.
    static func sopClass(for reference: String) -> String {
        if [ctImage, ctImage + ".1", ctImage + ".2"].contains(reference) { return ctImage }
        if [mrImage, mrImage + ".1", mrImage + ".4"].contains(reference) { return mrImage }
        return secondaryCapture
    }

    /// Patient, study, series, equipment, frame of reference and modality-specific attributes:
    /// the same for every slice.
    static func header(_ f: DicomFile, ref: DicomFile, refStack: SliceStack, sopClass: String,
                       seriesUID: String, now: Stamp) throws {
        try f.set(.sopClassUID, sopClass)
        try patientAndStudy(f, ref: ref, refSeriesUID: refStack.first.seriesInstanceUID, now: now)
        let modality = ref.string(.modality).flatMap { $0.isEmpty ? nil : $0 }
            ?? (sopClass == ctImage ? "CT" : sopClass == mrImage ? "MR" : "OT")
        try f.set(.modality, modality)
        try f.set(.seriesInstanceUID, seriesUID)
        let refNumber = ref.string(.seriesNumber).flatMap { Int($0) }
        try f.set(.seriesNumber, String(refNumber.map { min(max($0, 0), Int(Int32.max) - 1000) + 1000 } ?? 1000))
        let refDescription = (ref.string(.seriesDescription) ?? "").replacingOccurrences(of: "\\", with: " ")
        try f.set(.seriesDescription, refDescription.isEmpty ? "i2 derived" : String((refDescription + " (derived)").suffix(64)))
        try f.set(.seriesDate, now.date)
        try f.set(.seriesTime, now.time)
        if sopClass != secondaryCapture, !f.copy(.patientPosition, from: ref) { try f.set(.patientPosition, "") }
        // Type 2C (paired body parts): a validator cannot tell, so always present, empty if unknown.
        if !f.copy(.laterality, from: ref) { try f.set(.laterality, "") }
        // Frame of Reference: the reference's, so the derived series overlays its source.
        try f.set(.frameOfReferenceUID, ref.string(.frameOfReferenceUID).flatMap { $0.isEmpty ? nil : $0 }
                  ?? UID.derived(from: "frame-of-reference/" + refStack.first.seriesInstanceUID))
        try f.set(.positionReferenceIndicator, "")
        try f.set(.manufacturer, "i2")
        try f.set(.contentDate, now.date)
        try f.set(.contentTime, now.time)
        // ImageType: CT and MR require a third value. CT: the reference's (AXIAL or LOCALIZER), else
        // AXIAL. MR: OTHER, since its terms (T1 MAP, MPR, …) describe content a tool's output may not be.
        var imageType = ["DERIVED", "SECONDARY"]
        if sopClass == ctImage {
            let refType = (ref.string(.imageType) ?? "").split(separator: "\\").map(String.init)
            imageType.append(refType.count > 2 && ["AXIAL", "LOCALIZER"].contains(refType[2]) ? refType[2] : "AXIAL")
        } else if sopClass == mrImage {
            imageType.append("OTHER")
        }
        try f.set(.imageType, imageType.joined(separator: "\\"))
        try f.set(.derivationDescription, "Computed image written by i2 on the grid of its volume, in the frame of reference of series \(refStack.first.seriesInstanceUID)")
        switch sopClass {
        case ctImage:
            try f.set(.kvp, "")
            try f.set(.acquisitionNumber, "")
        case mrImage:
            // MR Image module: Type 1 values fall back to "research mode" when the reference has none.
            if !f.copy(.scanningSequence, from: ref) { try f.set(.scanningSequence, "RM") }
            if !f.copy(.sequenceVariant, from: ref) { try f.set(.sequenceVariant, "NONE") }
            for tag: Tag in [.scanOptions, .mrAcquisitionType, .repetitionTime, .echoTime, .echoTrainLength] {
                if !f.copy(tag, from: ref) { try f.set(tag, "") }
            }
            for tag: Tag in [.inversionTime, .sequenceName, .magneticFieldStrength, .flipAngle] { f.copy(tag, from: ref) }
        default:
            try f.set(.conversionType, "WSD")     // SC Equipment: produced on a workstation
        }
    }

    /// Image Plane (and Patient Orientation, which SC requires because its IOD lacks Image Plane).
    /// What every object i2 derives from a series shares with it: character set, creation stamp,
    /// patient and study (Type 2 attributes copied, or present and empty when the reference lacks them).
    static func patientAndStudy(_ f: DicomFile, ref: DicomFile, refSeriesUID: String, now: Stamp) throws {
        if let cs = ref.string(.specificCharacterSet), !cs.isEmpty { f.copy(.specificCharacterSet, from: ref) }
        try f.set(.instanceCreationDate, now.date)
        try f.set(.instanceCreationTime, now.time)
        for tag: Tag in [.patientName, .patientID, .patientBirthDate, .patientSex,
                         .studyDate, .studyTime, .referringPhysicianName, .studyID, .accessionNumber] {
            if !f.copy(tag, from: ref) { try f.set(tag, "") }
        }
        try f.set(.studyInstanceUID, ref.string(.studyInstanceUID) ?? UID.derived(from: "study/" + refSeriesUID))
        f.copy(.studyDescription, from: ref)
    }

    static func geometry(_ f: DicomFile, _ v: Volume, sopClass: String) throws {
        let row = v.direction.column(0), column = v.direction.column(1)
        try f.set(.pixelSpacing, try DS.join([v.spacing[1], v.spacing[0]]))   // between rows, then between columns
        try f.set(.imageOrientationPatient, try DS.join(row.array + column.array))
        if sopClass == secondaryCapture {
            try f.set(.patientOrientation, orientationLetters(row) + "\\" + orientationLetters(column))
        }
    }

    /// Source Image Sequence to the reference slice this one lies on (same orientation, within half a
    /// slice), with the Common Instance Reference module's Referenced Series Sequence that must list it.
    /// A volume on another grid references nothing: no reference slice is its source.
    static func source(_ f: DicomFile, position: Vector3, volume: Volume, refStack: SliceStack, refClass: String) throws {
        let first = refStack.first
        let sameOrientation = zip(first.orientation, volume.direction.column(0).array + volume.direction.column(1).array)
            .allSatisfy { abs($0 - $1) < 1e-4 }
        guard sameOrientation else { return }
        let n = first.normal
        let slices = refStack.slices.prefix(refStack.sliceCount)
        let gap = slices.count > 1 ? abs((slices[slices.startIndex + 1].position - first.position).dot(n)) : volume.spacing[2]
        guard let nearest = slices.min(by: { abs(($0.position - position).dot(n)) < abs(($1.position - position).dot(n)) }),
              abs((nearest.position - position).dot(n)) <= max(gap / 2, 1e-3) else { return }
        try f.set(Tag.sourceImageSequence[0] / .referencedSOPClassUID, refClass)
        try f.set(Tag.sourceImageSequence[0] / .referencedSOPInstanceUID, nearest.sopInstanceUID)
        try f.set(Tag.referencedSeriesSequence[0] / .seriesInstanceUID, nearest.seriesInstanceUID)
        try f.set(Tag.referencedSeriesSequence[0] / Tag.referencedInstanceSequence[0] / .referencedSOPClassUID, refClass)
        try f.set(Tag.referencedSeriesSequence[0] / Tag.referencedInstanceSequence[0] / .referencedSOPInstanceUID, nearest.sopInstanceUID)
    }

    /// "LP" style letters for a direction: the patient axes it runs towards, largest component first.
    static func orientationLetters(_ v: Vector3) -> String {
        let letters = [("L", "R"), ("P", "A"), ("H", "F")]
        return (0..<3).filter { abs(v[$0]) > 1e-4 }.sorted { abs(v[$0]) > abs(v[$1]) }
            .map { v[$0] > 0 ? letters[$0].0 : letters[$0].1 }.joined()
    }

    /// The creation date and time shared by all instances of one run.
    struct Stamp {
        let date: String, time: String
        init() {
            var t = time_t(Foundation.time(nil))
            var tm = tm()
            localtime_r(&t, &tm)
            date = String(format: "%04d%02d%02d", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday))
            time = String(format: "%02d%02d%02d", Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec))
        }
    }
}

/// The stored pixel values of a whole volume, and the Image Pixel / rescale attributes that map them
/// back. 16-bit and (for SC) 8-bit integers are stored as they are. Other types are checked first:
/// integers spanning at most 65536 values are stored losslessly (shifted by an integer intercept if
/// they do not fit int16 or uint16); anything else is mapped linearly onto the int16 range, so a
/// value is off by at most slope/2 = (max - min) / 131070. NaN is stored as the minimum.
struct PixelEncoding {
    var bytes: [UInt8] = []
    var bitsAllocated = 16
    /// 3: RGB, interleaved per pixel (PlanarConfiguration 0).
    var samples = 1
    var signed = true
    var slope = "1", intercept = "0"
    var low = 0.0, high = 0.0          // value range after rescaling, for the default window

    init(_ v: Volume, sixteenBits: Bool) throws {
        let n = v.size[0] * v.size[1] * v.size[2]
        guard v.data.count >= n * v.voxelType.byteCount else {
            throw I2Error(.badInput, "volume data holds \(v.data.count) bytes, \(n * v.voxelType.byteCount) expected")
        }
        var lo = Double.infinity, hi = -Double.infinity, integral = true
        v.forEachValue(in: 0..<n) { _, x in
            guard x.isFinite else { if !x.isNaN { integral = false }; return }
            if x < lo { lo = x }
            if x > hi { hi = x }
            if integral && x != x.rounded() { integral = false }
        }
        if lo > hi { lo = 0; hi = 0 }
        (low, high) = (lo, hi)
        // int16/uint16 (the only 2-byte types), and int8/uint8 where 8 bits are allowed: as they are.
        if v.voxelType.byteCount == 2 || (v.voxelType.byteCount == 1 && !sixteenBits) {
            bitsAllocated = v.voxelType.byteCount * 8
            signed = v.voxelType.isSigned
            let needed = n * v.voxelType.byteCount
            bytes = v.data.count == needed ? v.data : Array(v.data.prefix(needed))   // shared, not copied
            return
        }
        var sl = 1.0, ic = 0.0
        if integral && lo >= -32768 && hi <= 32767 {
        } else if integral && lo >= 0 && hi <= 65535 {
            signed = false
        } else if integral && hi - lo <= 65535 {
            ic = lo + 32768
        } else {
            sl = hi > lo ? (hi - lo) / 65535 : 1
            ic = lo + 32768 * sl
        }
        // The reader applies the written (rounded) slope and intercept: quantize with those.
        slope = try DS.format(sl)
        intercept = try DS.format(ic)
        sl = Double(slope)!
        ic = Double(intercept)!
        var out = [UInt8](repeating: 0, count: n * 2)
        let (minStored, maxStored) = signed ? (-32768.0, 32767.0) : (0.0, 65535.0)
        out.withUnsafeMutableBytes { raw in
            let s16 = raw.bindMemory(to: Int16.self), u16 = raw.bindMemory(to: UInt16.self)
            let isSigned = signed
            v.forEachValue(in: 0..<n) { i, x in
                let y = min(max((((x.isNaN ? lo : x) - ic) / sl).rounded(), minStored), maxStored)
                if isSigned { s16[i] = Int16(y) } else { u16[i] = UInt16(y) }
            }
        }
        bytes = out
    }

    /// 8-bit RGB as it is (`voxels` false: the bytes come slice by slice, not from the volume).
    init(rgb v: Volume, voxels: Bool = true) throws {
        let n = v.size[0] * v.size[1] * v.size[2] * 3
        guard !voxels || v.data.count >= n else { throw I2Error(.badInput, "volume data holds \(v.data.count) bytes, \(n) expected") }
        bytes = voxels ? v.data : []
        bitsAllocated = 8
        signed = false
        samples = 3
    }

    /// Image Pixel, Modality LUT (CT: always, as its IOD requires; others: when not identity) and a
    /// window covering the value range, so a viewer shows the whole range at first.
    func describe(_ f: DicomFile, columns: Int, rows: Int, ct: Bool) throws {
        if samples == 3 {
            try f.set(.samplesPerPixel, "3")
            try f.set(.photometricInterpretation, "RGB")
            try f.set(.planarConfiguration, "0")
            try f.set(.rows, String(rows))
            try f.set(.columns, String(columns))
            for tag: Tag in [.bitsAllocated, .bitsStored] { try f.set(tag, "8") }
            try f.set(.highBit, "7")
            try f.set(.pixelRepresentation, "0")
            return
        }
        try f.set(.samplesPerPixel, "1")
        try f.set(.photometricInterpretation, "MONOCHROME2")
        try f.set(.rows, String(rows))
        try f.set(.columns, String(columns))
        try f.set(.bitsAllocated, String(bitsAllocated))
        try f.set(.bitsStored, String(bitsAllocated))
        try f.set(.highBit, String(bitsAllocated - 1))
        try f.set(.pixelRepresentation, signed ? "1" : "0")
        if ct || slope != "1" || intercept != "0" {
            try f.set(.rescaleIntercept, intercept)
            try f.set(.rescaleSlope, slope)
            try f.set(.rescaleType, ct ? "HU" : "US")
        }
        try f.set(.windowCenter, try DS.format((low + high) / 2))
        try f.set(.windowWidth, try DS.format(max(high - low, 1)))
    }
}

