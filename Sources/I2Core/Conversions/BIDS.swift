// The BIDS sidecar's keys and values as dcm2niix writes them (nii_dicom_batch.cpp nii_SaveBIDSX, the
// readers of nii_dicom.cpp, dcm2niix's BIDS docs). Series-level values are read once from the first
// file (`BIDSSeries`); what needs the whole stack or the output grid (SliceTiming, ReconMatrixPE and the
// echo spacings derived from it) is finished by `BIDSSeries.keys(stack:…)`.
// Numbers are written as dcm2niix prints them: its values are C floats printed with %g (6 significant
// digits), so a value here is rounded the same way and compares equal, not merely close.
import Foundation
import I2DICOM
import I2Model
import I2NIfTI

/// A JSON value that can be kept in the Sendable SeriesInfo.
enum BIDSValue: Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case strings([String])
    case numbers([Double])

    var json: Any {
        switch self {
        case .string(let s): return s
        case .number(let d): return BIDSValue.jsonNumber(d)
        case .bool(let b): return b
        case .strings(let a): return a
        case .numbers(let a): return a.map(BIDSValue.jsonNumber)
        }
    }

    /// Integral values as integers, so the JSON reads 3 and not 3.0.
    static func jsonNumber(_ d: Double) -> Any { d == d.rounded() && abs(d) < 1e15 ? Int(d) as Any : d }
}

/// dcm2niix's `%g` of a C float: single precision, then 6 significant digits.
func g(_ v: Double) -> Double { Double(cFormat("%g", Double(Float(v)))) ?? v }

enum Vendor: String, Sendable { case siemens = "Siemens", ge = "GE", philips = "Philips", toshiba = "Toshiba", canon = "Canon",
                                    uih = "UIH", hitachi = "Hitachi", bruker = "Bruker", mediso = "Mediso", other = "" }

/// The series-level sidecar values of one series (from its first file) and what the stack-level keys need.
struct BIDSSeries: Sendable {
    var keys: [String: BIDSValue] = [:]
    /// Written only with --sidecar-identifiers (dcm2niix's `-ba n`); dcm2niix's default `-ba y` leaves them out.
    var identifiers: [String: BIDSValue] = [:]
    var vendor = Vendor.other
    var modality = ""
    var phaseEncodingRC: Character?          // "R"ow or "C"olumn, from InPlanePhaseEncodingDirection
    var phasePositive: Int = -1              // Siemens CSA PhaseEncodingDirectionPositive: 1, 0, or -1 unknown
    var bandwidthPerPixelPhaseEncode = 0.0
    var phaseEncodingLines = 0
    var accelFactPE = 0.0
    var phaseOversampling = 0.0
    var effectiveEchoSpacingGE = 0.0         // µs
    var isPartialFourierGE = false
    var is3D = false
    var echoTrainLength = 0
    var mosaicImages = 0
    var mosaicTimes: [Double] = []           // ms, CSA MosaicRefAcqTimes
    var isCT = false
    var geSliceTiming: GESliceTiming?
    var isMultiEcho = false                  // several echoes in the series (or Siemens ASCCONV lContrasts > 1)
    var echoNumber: Int?                     // EchoNumbers of the frame
    var imagingFrequency = 0.0
    var waterFatShift = 0.0                  // Philips, pixels
    var repetitionTime = 0.0                 // ms
    var protocolFromASCCONV = false          // no ProtocolName in the file: Siemens' ASCCONV tProtocolName named it
    var inversionRecovery = false            // ScanningSequence has IR, or InversionRecovery YES (dcm2niix's isIR)

    init() {}

    /// The values of `frame` of file `f` (0 for single-frame files); `multiEcho`: the series has several echoes.
    /// `echoRank`: the 1-based rank of the frame's echo time among the series' (enhanced files carry no EchoNumbers).
    init(file f: DicomFile, frame: Int = 0, multiEcho: Bool = false, echoRank: Int? = nil) {
        let enhanced = f.items(.perFrameFunctionalGroupsSequence) != nil
        // A nested search walks every frame when the value is absent: only for Philips, whose classic
        // attributes sit in a private per-frame sequence.
        let philips = Self.vendor(f.string(.manufacturer) ?? "") == .philips
        isMultiEcho = multiEcho
        /// A value at top level; in an enhanced file, else in the frame's or the shared functional group
        /// `macro`, else in Philips' private per-frame copy of the classic attributes (dcm2niix reads
        /// nested attributes wherever they are).
        func text(_ tag: Tag, _ macro: Tag? = nil) -> String? {
            guard enhanced else { return f.string(tag).flatMap { $0.isEmpty ? nil : $0 } }
            // dcm2niix keeps the last value it parses: a functional group's value (after the top level
            // in file order) wins over a top-level one.
            var paths: [TagPath] = []
            if let m = macro {
                paths += [Tag.perFrameFunctionalGroupsSequence[frame] / m[0] / tag, Tag.sharedFunctionalGroupsSequence[0] / m[0] / tag]
            }
            paths.append(TagPath(tag))
            for path in paths {
                if let v = f.string(path), !v.isEmpty { return v }
            }
            // Private sequences (Philips' per-frame copy of the classic attributes) cannot be walked by a
            // tag path (DCMTK does not know them as sequences): the first occurrence anywhere.
            // dcm2niix keeps the last value it parses, so the last frame's copy (a Philips B0 map file: the
            // field map frames' ScanningSequence RM, not the magnitude frames' GR, for both outputs).
            if philips, let n = f.items(.perFrameFunctionalGroupsSequence), n > 0,
               let v = f.perFrameValue(n - 1, [.philipsPerFrameSequence, tag]), !v.isEmpty { return v }
            if philips, let v = f.nestedString(tag), !v.isEmpty { return v }
            return nil
        }
        func num(_ tag: Tag, _ macro: Tag? = nil) -> Double? {
            text(tag, macro).flatMap { $0.split(separator: "\\").first.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) } }
        }
        func str(_ key: String, _ tag: Tag, _ macro: Tag? = nil) { if let v = text(tag, macro) { keys[key] = .string(v) } }
        func positive(_ key: String, _ v: Double?, scale: Double = 1) {   // dcm2niix's json_Float: only > 0
            if let v = v, v > 0, v.isFinite { keys[key] = .number(g(v * scale)) }
        }

        modality = f.string(.modality) ?? ""
        // dcm2niix's isXRay (nii_dicom.cpp): an Exposure (0018,1152) where there is no echo time, whatever
        // the Modality; it then leaves out SliceThickness, SpacingBetweenSlices and EchoTime.
        isCT = num(.exposure) != nil && (num(.echoTime) ?? 0) == 0
        if ["CR", "CT", "MR", "PT", "US"].contains(modality) { keys["Modality"] = .string(modality) }
        let manufacturer = f.string(.manufacturer) ?? ""
        vendor = Self.vendor(manufacturer)
        positive("MagneticFieldStrength", num(.magneticFieldStrength))
        if let fq = num(.imagingFrequency) ?? num(.transmitterFrequency, .mrImagingModifierSequence), fq < 9_000_000 { positive("ImagingFrequency", fq); imagingFrequency = fq }   // UIH writes Hz
        keys["Manufacturer"] = .string(vendor == .other ? manufacturer : vendor.rawValue)
        if manufacturer.isEmpty && vendor == .other { keys["Manufacturer"] = nil }
        if vendor == .ge, let seq = f.privateString(.gePulseSequenceName)?.lowercased() {
            if seq.hasPrefix("epirt") { keys["PulseSequenceName"] = .string("epiRT") } else if seq.hasPrefix("epi") { keys["PulseSequenceName"] = .string("epi") }
            switch f.privateString(.geInternalPulseSequenceName) {
            case "EPI": keys["InternalPulseSequenceName"] = .string("EPI")
            case "EPI2": keys["InternalPulseSequenceName"] = .string("EPI2")
            default: break
            }
        } else if vendor != .ge {
            str("PulseSequenceName", .pulseSequenceName)
        }
        str("ManufacturersModelName", .manufacturerModelName)
        str("InstitutionName", .institutionName)
        str("InstitutionalDepartmentName", .institutionalDepartmentName)
        str("InstitutionAddress", .institutionAddress)
        str("DeviceSerialNumber", .deviceSerialNumber)
        str("StationName", .stationName)
        str("BodyPartExamined", .bodyPartExamined)
        str("PatientPosition", .patientPosition)
        str("ProcedureStepDescription", .performedProcedureStepDescription)
        str("SoftwareVersions", .softwareVersions)
        switch f.string(.mrAcquisitionType) {
        case "2D": keys["MRAcquisitionType"] = .string("2D")
        case "3D": keys["MRAcquisitionType"] = .string("3D"); is3D = true
        default: break
        }
        str("SeriesDescription", .seriesDescription)
        str("ProtocolName", .protocolName)
        str("ScanningSequence", .scanningSequence)
        inversionRecovery = VolumeTiming.isInversionRecovery(scanningSequence: f.string(.scanningSequence), flag: f.string(.inversionRecovery))
        str("SequenceVariant", .sequenceVariant)
        str("ScanOptions", .scanOptions)
        str("SequenceName", .sequenceName)
        // Enhanced MR modifiers dcm2niix writes as they are (nii_dicom.cpp kPartialFourierDirection,
        // kParallelAcquisitionTechnique).
        str("PartialFourierDirection", .partialFourierDirection, .mrModifierSequence)
        str("ParallelAcquisitionTechnique", .parallelAcquisitionTechnique, .mrModifierSequence)
        let imageType = (f.string(.imageType) ?? "").split(separator: "\\").map { $0.trimmingCharacters(in: .whitespaces) }
        if !imageType.isEmpty {
            // dcm2niix joins the values with "_" and splits there: "ECHO_00" becomes "ECHO", "00".
            var types = imageType.flatMap { $0.split(separator: "_").map(String.init) }.filter { !$0.isEmpty }
            // dcm2niix appends PHASE for phase images not already saying so (Siemens "P", GE always).
            let hasPhase = imageType.contains("P") || imageType.contains("PHASE")
            if hasPhase && (vendor == .ge || !imageType.contains("PHASE")) { types.append("PHASE") }
            if enhanced && philips {
                // dcm2niix (nii_dicom.cpp): REAL for a real-valued frame (ComplexImageComponent); FIELDMAPHZ on
                // every output of a file any frame of which is a B0 map (isRealIsPhaseMapHz is per file), and
                // the real one is that map in Hz (dcm_qa_enh IM_0027_fMAP: _e1 and _e2_fieldmaphz).
                let component = f.perFrameString(frame, [.mrImageFrameTypeSequence, .complexImageComponent]) ?? ""
                if component.uppercased().hasPrefix("REAL") && !types.contains("REAL") { types.append("REAL") }
                if let n = f.items(.perFrameFunctionalGroupsSequence), (0..<n).contains(where: { i in
                    let t = (f.perFrameString(i, [.philipsPerFrameSequence, .imageType]) ?? "").uppercased()
                    return t.contains("B0") && t.contains("MAP")
                }) {
                    types.append("FIELDMAPHZ")
                    if component.uppercased().hasPrefix("REAL") { keys["Units"] = .string("Hz") }
                }
            }
            keys["ImageType"] = .strings(types)
            if imageType.first == "DERIVED" { keys["RawImage"] = .bool(false) }
            // Every vendor (Debian's dcm2niix writes it for GE, Philips and UIH images saying ND too).
            if imageType.contains("ND") { keys["NonlinearGradientCorrection"] = .bool(false) }
            if imageType.contains("DIS2D") || imageType.contains("DIS3D") { keys["NonlinearGradientCorrection"] = .bool(true) }
        }
        if let n = num(.seriesNumber), n > 0 { keys["SeriesNumber"] = .number(n) }
        var acquisition = (f.string(.acquisitionDate) ?? "", f.string(.acquisitionTime) ?? "")
        if acquisition.1.isEmpty, let dt = f.string(.acquisitionDateTime), dt.count > 8 {   // enhanced: AcquisitionDateTime
            acquisition = (String(dt.prefix(8)), String(dt.dropFirst(8).prefix { $0 != "+" && $0 != "-" }))
        }
        if case let (date, time) = acquisition, !date.isEmpty, let t = Self.clock(time) {
            keys["AcquisitionTime"] = .string(t)
            if date.count == 8 {
                let d = Array(date)
                identifiers["AcquisitionDateTime"] = .string("\(String(d[0..<4]))-\(String(d[4..<6]))-\(String(d[6..<8]))T" + t)
            }
        }
        if let n = num(.acquisitionNumber), n > 0 { keys["AcquisitionNumber"] = .number(n) }
        echoNumber = enhanced ? echoRank : num(.echoNumbers).map { Int($0) }
        str("ImageComments", .imageComments)
        if !isCT {   // dcm2niix: thickness often varies on X-ray CT
            positive("SliceThickness", num(.sliceThickness, .pixelMeasuresSequence))
            positive("SpacingBetweenSlices", num(.spacingBetweenSlices, .pixelMeasuresSequence))
        } else {
            positive("XRayExposure", num(.exposure))
        }
        positive("ExposureTime", num(.exposureTime), scale: 1.0 / 1000)   // ms → s
        positive("XRayTubeCurrent", num(.xRayTubeCurrent))
        str("ConvolutionKernel", .convolutionKernel)
        positive("SAR", num(.sar))
        if let n = num(.numberOfAverages), n > 1 { keys["NumberOfAverages"] = .number(g(n)) }
        // Enhanced: the frame's own effective echo time first (a Philips B0 map's field map frames: 0, so
        // no EchoTime, as dcm2niix; its magnitude frames 1.52 ms).
        let echoTime = enhanced ? num(.effectiveEchoTime, .mrEchoSequence) ?? num(.echoTime) : num(.echoTime) ?? num(.effectiveEchoTime, .mrEchoSequence)
        if !isCT { positive("EchoTime", echoTime, scale: 1.0 / 1000) }
        repetitionTime = num(.repetitionTime, .mrTimingAndRelatedParametersSequence) ?? 0
        positive("RepetitionTime", repetitionTime, scale: 1.0 / 1000)
        positive("InversionTime", num(.inversionTime), scale: 1.0 / 1000)
        switch text(.magnetizationTransfer, .mrImagingModifierSequence) {   // dcm2niix's MTState from (0018,9020)
        case "NONE"?: keys["MTState"] = .bool(false)
        case let v? where !v.isEmpty: keys["MTState"] = .bool(true)
        default: break
        }
        positive("AcquisitionDuration", num(.acquisitionDuration))
        positive("FlipAngle", num(.flipAngle, .mrTimingAndRelatedParametersSequence))
        echoTrainLength = Int(num(.echoTrainLength, .mrTimingAndRelatedParametersSequence) ?? 0)
        positive("PercentPhaseFOV", num(.percentPhaseFieldOfView, .mrFOVGeometrySequence))
        positive("PercentSampling", num(.percentSampling, .mrFOVGeometrySequence))
        if echoTrainLength > 1 { keys["EchoTrainLength"] = .number(Double(echoTrainLength)) }
        if let n = num(.numberOfPhaseEncodingSteps), n > 0 { keys["PhaseEncodingSteps"] = .number(n) }
        positive("PixelBandwidth", num(.pixelBandwidth, .mrImagingModifierSequence))
        if let iop = (text(.imageOrientationPatient, .planeOrientationSequence) ?? "").split(separator: "\\").compactMap({ Double($0.trimmingCharacters(in: .whitespaces)) }) as [Double]?,
           iop.count == 6, iop.contains(where: { abs($0) > 0 }) {
            keys["ImageOrientationPatientDICOM"] = .numbers(iop.map(g))
        }
        switch text(.inPlanePhaseEncodingDirection, .mrFOVGeometrySequence) {
        case "COL", "COLUMN": phaseEncodingRC = "C"   // COLUMN: enhanced MR's term
        case "ROW": phaseEncodingRC = "R"
        default: break
        }
        if let m = text(.acquisitionMatrix)?.split(separator: "\\").compactMap({ Int($0.trimmingCharacters(in: .whitespaces)) }), m.count == 4 {
            phaseEncodingLines = max(m[2], m[3])   // frequency rows\frequency columns\phase rows\phase columns
        } else if let n = num(.mrAcquisitionPhaseEncodingStepsInPlane, .mrFOVGeometrySequence) {
            phaseEncodingLines = Int(n)
        }
        // Coil: Siemens' coil string, else the standard ReceiveCoilName.
        let coilName = (vendor == .siemens ? f.privateString(.siemensCoilString) : nil) ?? text(.receiveCoilName, .mrReceiveCoilSequence) ?? ""

        // Identifying values (dcm2niix writes them only with -ba n).
        for (key, tag) in [("SeriesInstanceUID", Tag.seriesInstanceUID), ("StudyInstanceUID", .studyInstanceUID),
                           ("ReferringPhysicianName", .referringPhysicianName), ("StudyID", .studyID),
                           ("PatientName", .patientName), ("PatientID", .patientID), ("AccessionNumber", .accessionNumber)] {
            if let v = f.string(tag), !v.isEmpty { identifiers[key] = .string(v) }
        }
        if let b = f.string(.patientBirthDate), b.count == 8 {
            let d = Array(b)
            identifiers["PatientBirthDate"] = .string("\(String(d[0..<4]))-\(String(d[4..<6]))-\(String(d[6..<8]))")
        }
        if let s = f.string(.patientSex)?.uppercased().first, "MFO".contains(s) { identifiers["PatientSex"] = .string(String(s)) }
        if let w = f.doubles(.patientWeight)?.first, w > 0 { identifiers["PatientWeight"] = .number(g(w)) }

        switch vendor {
        case .siemens: siemens(f, coilName: coilName)
        case .ge:
            genericCoil(coilName)
            effectiveEchoSpacingGE = f.privateDouble(.geEffectiveEchoSpacing) ?? 0
            // ASSET: "0.5\1" gives an in-plane acceleration of 1/0.5 (dcm2niix's kAssetRFactorsGE).
            if let r = f.privateString(.geAssetRFactors)?.split(separator: "\\").first.flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }), r > 0, r < 1 {
                accelFactPE = 1 / r
            }
            isPartialFourierGE = (f.string(.scanOptions) ?? "").contains("PFF") || (f.string(.scanOptions) ?? "").contains("PFP")
            if let p = f.bytes(.geUserDefinedData).flatMap(Self.gePhasePolarity) {
                phasePositive = p
                keys["PhaseEncodingPolarityGE"] = .string(p == 1 ? "Unflipped" : "Flipped")
            }
            let shims = [Tag.geGradientOffsetInX, .geGradientOffsetInY, .geGradientOffsetInZ].compactMap { f.privateShort($0) }
            if shims.count == 3 { keys["ShimSetting"] = .numbers(shims.map(Double.init)) }
            if let s = f.privateString(.gePrescanReuseString) { keys["PrescanReuseString"] = .string(s) }
            geSliceTiming = GESliceTiming(file: f, repetitionTime: repetitionTime, softwareVersions: f.string(.softwareVersions) ?? "")
            if let mb = geSliceTiming?.multiband, mb > 1 { keys["MultibandAccelerationFactor"] = .number(Double(mb)) }
        case .philips:
            genericCoil(coilName)
            waterFatShift = f.privateDouble(.philipsWaterFatShift) ?? 0
            if waterFatShift != 0 { keys["WaterFatShift"] = .number(g(waterFatShift)) }
        default: genericCoil(coilName)
        }
        if accelFactPE > 1 { keys["ParallelReductionFactorInPlane"] = .number(g(accelFactPE)) }
    }

    private mutating func genericCoil(_ coilName: String) {
        if !coilName.isEmpty { keys["CoilString"] = .string(coilName) }
    }

    /// Siemens CSA (binary image header) and ASCCONV (series header) values, as nii_SaveBIDSX reads them.
    private mutating func siemens(_ f: DicomFile, coilName: String) {
        if let text = f.privateString(.siemensImageOrientationText) { keys["ImageOrientationText"] = .string(text) }
        if let pat = f.privateString(.siemensPATModeText), pat.first == "p", let r = Double(pat.dropFirst().prefix { $0.isNumber || $0 == "." }) {
            accelFactPE = r   // "p2": GRAPPA/SENSE factor 2
        }
        bandwidthPerPixelPhaseEncode = f.privateDouble(.siemensBandwidthPerPixelPhaseEncode) ?? 0
        if let csa = f.siemensImageCSA {
            if bandwidthPerPixelPhaseEncode == 0 { bandwidthPerPixelPhaseEncode = csa.double("BandwidthPerPixelPhaseEncode") ?? 0 }
            if let p = csa.int("PhaseEncodingDirectionPositive"), p == 0 || p == 1 { phasePositive = p }
            if let dwell = csa.double("RealDwellTime"), dwell > 0 { keys["DwellTime"] = .number(g(dwell * 1e-9)) }
            mosaicImages = csa.int("NumberOfImagesInMosaic") ?? 0
            if mosaicImages > 1, let times = csa.doubles("MosaicRefAcqTimes"), times.count >= mosaicImages {
                mosaicTimes = Array(times.prefix(mosaicImages))
            }
        } else if f.items(.perFrameFunctionalGroupsSequence) != nil {
            // XA enhanced: no CSA; the same values in private functional groups.
            let nested = { (tag: Tag) in f.nestedString(tag).flatMap { Double($0.trimmingCharacters(in: .whitespaces)) } }
            if bandwidthPerPixelPhaseEncode == 0 { bandwidthPerPixelPhaseEncode = nested(.siemensXABandwidthPerPixelPhaseEncode) ?? 0 }
            if let p = nested(.siemensXAPhaseEncodingDirectionPositive), p == 0 || p == 1 { phasePositive = Int(p) }
            if let dwell = nested(.siemensXADwellTime), dwell > 0 { keys["DwellTime"] = .number(g(dwell * 1e-9)) }
            for (key, tag) in [("ScanningSequence", Tag.siemensXAScanningSequence), ("SequenceVariant", .siemensXASequenceVariant), ("ScanOptions", .siemensXAScanOptions)]
            where keys[key] == nil {
                if let v = f.nestedString(tag), !v.isEmpty { keys[key] = .string(v) }
            }
            if let text = f.nestedString(.siemensXAImageTypeText) {
                let types = text.split(separator: "\\").map { $0.trimmingCharacters(in: .whitespaces) }
                keys["ImageTypeText"] = .strings(types)
                if types.contains("ND") { keys["NonlinearGradientCorrection"] = .bool(false) }
                if types.contains("DIS2D") || types.contains("DIS3D") { keys["NonlinearGradientCorrection"] = .bool(true) }
            }
        }
        guard let asc = f.siemensASCCONV else {
            genericCoil(coilName)
            return
        }
        let isMR = modality == "MR"
        isMultiEcho = isMultiEcho || (asc.int("lContrasts") ?? 1) > 1
        if phaseEncodingLines < 1, let n = asc.int("sKSpace.lPhaseEncodingLines"), n > 0 { phaseEncodingLines = n }
        let imageType = (f.string(.imageType) ?? "").split(separator: "\\").map { $0.trimmingCharacters(in: .whitespaces) }
        if imageType.contains("P") || imageType.contains("PHASE"), let te0 = asc.double("alTE[0]"), let te1 = asc.double("alTE[1]"), te0 > 0, te1 > 0 {
            keys["EchoTime1"] = .number(g(te0 / 1e6))
            keys["EchoTime2"] = .number(g(te1 / 1e6))
        }
        if let a = asc.double("dAveragesDouble"), a > 1 { keys["AveragesDouble"] = .number(g(a)) }
        phaseOversampling = asc.double("sKSpace.dPhaseOversamplingForDialog") ?? 0
        if isMR, let pf = asc.int("sKSpace.ucPhasePartialFourier"), pf > 0 {
            // ucPhasePartialFourier: 1 = 4/8, 2 = 5/8, 4 = 6/8, 8 = 7/8, otherwise (16) off
            keys["PartialFourier"] = .number([1: 0.5, 2: 0.625, 4: 0.75, 8: 0.875][pf] ?? 1)
        }
        if let interp = asc.int("sKSpace.uc2DInterpolation"), interp > 0 { keys["Interpolation2D"] = .number(1) }
        if let base = asc.int("sKSpace.lBaseResolution"), base > 0 { keys["BaseResolution"] = .number(Double(base)) }
        var shim = [Double](repeating: 0, count: 8)
        for (i, axis) in ["X", "Y", "Z"].enumerated() {
            shim[i] = asc.double("sGRADSPEC.asGPAData[0].lOffset" + axis) ?? 0
            if shim[i] == 0 { shim[i] = asc.double("sGRADSPEC.lOffset" + axis) ?? 0 }
        }
        for i in 0..<5 { shim[3 + i] = asc.double("sGRADSPEC.alShimCurrent[\(i)]") ?? 0 }
        if shim[0] != 0 { keys["ShimSetting"] = .numbers(shim.map(g)) }
        if let delay = asc.double("lDelayTimeInTR"), delay > 0 { keys["DelayTime"] = .number(g(delay / 1e6)) }   // µs → s
        if isMR, let amp = asc.double("sTXSPEC.asNucleusInfo[0].flReferenceAmplitude"), amp > 0 { keys["TxRefAmp"] = .number(g(amp)) }
        if isMR, let res = asc.double("sKSpace.dPhaseResolution"), res > 0 { keys["PhaseResolution"] = .number(g(res)) }
        if phaseOversampling > 0 { keys["PhaseOversampling"] = .number(g(phaseOversampling)) }
        if let es = asc.int("sFastImaging.lEchoSpacing"), es > 0 { keys["VendorReportedEchoSpacing"] = .number(g(Double(es) / 1e6)) }
        if let coil = asc.string("sCoilElementID.tCoilID") { keys["ReceiveCoilName"] = .string(coil) }
        let elements = asc.string("sCoilSelectMeas.sCoilStringForConversion") ?? ""
        if isMR && !elements.isEmpty { keys["ReceiveCoilActiveElements"] = .string(elements) }
        if elements != coilName && !coilName.isEmpty { keys["CoilString"] = .string(coilName) }
        if let s = asc.string("tSequenceFileName") { keys["PulseSequenceDetails"] = .string(s) }
        if let s = asc.string("sWipMemBlock.tFree") { keys["WipMemBlock"] = .string(s) }
        if keys["ProtocolName"] == nil, let s = asc.string("tProtocolName") { keys["ProtocolName"] = .string(s); protocolFromASCCONV = true }
        if let r = asc.int("sPat.lRefLinesPE"), r > 0 { keys["RefLinesPE"] = .number(Double(r)) }
        switch asc.int("ucCoilCombineMode") {
        case 1: keys["CoilCombinationMethod"] = .string("Sum of Squares")
        case 2: keys["CoilCombinationMethod"] = .string("Adaptive Combine")
        default: break
        }
        if asc.int("sPrepPulses.ucMTC") == 1 { keys["MTState"] = .bool(true) }
        if let s = asc.string("sProtConsistencyInfo.tMeasuredBaselineString") { keys["ConsistencyInfo"] = .string(s) }
        let accel3D = Double(asc.int("sPat.lAccelFact3D") ?? 0)
        if accel3D > 1.01 { keys["AccelFact3D"] = .number(g(accel3D)) }
        if let r = asc.int("sPat.lAccelFactPE"), r > 0 {
            switch asc.int("sPat.ucPATMode") {
            case 1: keys["MatrixCoilMode"] = .string("SENSE")
            case 2: keys["MatrixCoilMode"] = .string("GRAPPA")
            default: break
            }
            if accelFactPE < 1 { accelFactPE = Double(r) }
        }
        // XA: the protocol's multiband factor (the mosaic slice-time count gives it on older systems).
        if let mb = asc.int("sSliceAcceleration.lMultiBandFactor"), mb > 1, keys["MultibandAccelerationFactor"] == nil {
            keys["MultibandAccelerationFactor"] = .number(Double(mb))
        }
    }

    /// The keys that need the stack (slice times, multi-echo) and the output grid (reconstructed matrix).
    func keys(stack: SliceStack, columns: Int, rows: Int, identifying: Bool) -> [String: BIDSValue] {
        var out = keys
        // ProtocolName: the scan's (Naming.protocolName: dcm2niix's fallbacks and "_MoCo"), unless the file
        // has none and Siemens' ASCCONV tProtocolName gave it.
        if !protocolFromASCCONV && !stack.first.protocolName.isEmpty { out["ProtocolName"] = .string(stack.first.protocolName) }
        if identifying { out.merge(identifiers) { a, _ in a } }
        if let e = VolumeTiming.estimate(stack, ge: vendor == .ge, philips: vendor == .philips,
                                         inversionRecovery: inversionRecovery) {
            out["RepetitionTime"] = .number(g(e.seconds))
            out[e.inversion ? "RepetitionTimeInversion" : "RepetitionTimeExcitation"] = .number(g(e.reported))
        }
        if let starts = VolumeTiming.frameTimesStart(stack, ge: vendor == .ge) { out["FrameTimesStart"] = .numbers(starts.map(g)) }
        if let echo = echoNumber ?? stack.first.echo, echo > 1 || isMultiEcho { out["EchoNumber"] = .number(Double(echo)) }
        let isMR = modality == "MR"
        if isMR && phaseEncodingLines > 0 { out["AcquisitionMatrixPE"] = .number(Double(phaseEncodingLines)) }
        // ReconMatrixPE: the reconstructed size along the phase axis (NIfTI dim[1] = columns, dim[2] = rows).
        var recon = phaseEncodingLines
        if rows > 0 && columns > 0 {
            if rows == columns || phaseEncodingRC == "C" { recon = rows } else if phaseEncodingRC == "R" { recon = columns }
        }
        if isMR && recon > 0 { out["ReconMatrixPE"] = .number(Double(recon)) }
        if bandwidthPerPixelPhaseEncode > 0 { out["BandwidthPerPixelPhaseEncode"] = .number(g(bandwidthPerPixelPhaseEncode)) }
        var ees = 0.0
        if recon > 0 && bandwidthPerPixelPhaseEncode > 0 { ees = 1 / (bandwidthPerPixelPhaseEncode * Double(recon)) }
        if effectiveEchoSpacingGE > 0 && recon > 1 {
            // GE: TotalReadoutTime = (ceil(PE lines / ASSET / round) * round - 1) * ESP (dcm2niix, nii_SaveBIDSX)
            let round = isPartialFourierGE ? 4.0 : 2.0
            let accel = accelFactPE > 0 ? accelFactPE : 1
            let trt = ((ceil(1 / round * Double(phaseEncodingLines) / accel) * round) - 1) * effectiveEchoSpacingGE * 0.000001
            ees = trt / Double(recon - 1)
        }
        if ees == 0 && imagingFrequency > 0 && waterFatShift != 0 && echoTrainLength > 0 && recon > 1 {
            // Philips: estimated from the water-fat shift (dcm2niix issue 377; BrainVoyager's formula)
            let actual = Float(waterFatShift) / (Float(imagingFrequency) * 3.4 * Float(echoTrainLength + 1))
            let total = actual * Float(echoTrainLength)
            out["EstimatedEffectiveEchoSpacing"] = .number(g(Double(total / Float(recon - 1))))
            out["EstimatedTotalReadoutTime"] = .number(g(Double(total)))
        }
        if ees > 0 { out["EffectiveEchoSpacing"] = .number(g(ees)) }
        var trueES = 1.0
        if accelFactPE > 1 { trueES /= accelFactPE }
        if phaseOversampling > 0 { trueES *= 1 + phaseOversampling }
        let derived = bandwidthPerPixelPhaseEncode * trueES * Double(recon)
        if derived > 0 { out["DerivedVendorReportedEchoSpacing"] = .number(g(1 / derived)) }
        if recon > 0 && ees > 0 { out["TotalReadoutTime"] = .number(g(ees * Double(recon - 1))) }
        // Phase encoding: the axis always when known, the polarity only when the vendor reports it.
        // dcm2niix's NIfTI runs the rows (j) the other way from DICOM, hence "j-" for a positive column polarity.
        let skipAxis = is3D && echoTrainLength <= 1   // 3D MP-RAGE/SPACE: not reported (dcm2niix issue 371)
        if let rc = phaseEncodingRC, !skipAxis {
            if phasePositive < 0 {
                out["PhaseEncodingAxis"] = .string(rc == "C" ? "j" : "i")
            } else {
                let minus = rc == "C" ? phasePositive == 1 : phasePositive == 0
                out["PhaseEncodingDirection"] = .string((rc == "C" ? "j" : "i") + (minus ? "-" : ""))
            }
        }
        if let rc = phaseEncodingRC { out["InPlanePhaseEncodingDirectionDICOM"] = .string(rc == "C" ? "COL" : "ROW") }
        if isMR && !is3D, let times = sliceTimes(stack) {
            // Seconds at dcm2niix's precision (0.01 ms); exact binary ties round to even as in its output.
            out["SliceTiming"] = .numbers(times.map { g(Double(cFormat("%.5f", $0)) ?? $0) })
            if !mosaicTimes.isEmpty {
                let first = times.min() ?? 0
                let mb = times.filter { abs($0 - first) < 1e-6 }.count
                if mb > 1 { out["MultibandAccelerationFactor"] = .number(Double(mb)) }
            }
        }
        return out
    }

    /// Slice acquisition times in seconds, in the stack's slice order: Siemens mosaics from the CSA
    /// MosaicRefAcqTimes; other Siemens 2D series from each slice's AcquisitionTime relative to the
    /// earliest (dcm2niix reads that time as a C float, HHMMSS.FFFFFF → seconds; the same rounding
    /// is kept so the values equal its own). Nil when unknown.
    func sliceTimes(_ stack: SliceStack) -> [Double]? {
        if !mosaicTimes.isEmpty { return mosaicSliceTimes(stack).map { $0 / 1000 } }
        if vendor == .ge {
            // dcm2niix: only for a time series (dim[4] > 1); times by acquisition order, GE's slice k being the
            // k-th location in instance order, placed here on the stack's slices wherever they sit.
            guard stack.volumes > 1, stack.sliceCount > 1, let ge = geSliceTiming else { return nil }
            let times = ge.times(slices: stack.sliceCount)
            let first = Array(stack.slices.prefix(stack.sliceCount))
            let rank = Dictionary(uniqueKeysWithValues: first.enumerated().sorted { $0.element.instanceNumber < $1.element.instanceNumber }
                .enumerated().map { ($0.element.offset, $0.offset) })
            return first.indices.map { times[rank[$0]!] / 1000 }
        }
        // UIH classic: the slices' AcquisitionTime as for Siemens (dcm2niix's sliceTimingUIH; its reader keeps
        // UIH's per-slice AcquisitionTime, which it ignores for Siemens XA only).
        guard vendor == .siemens || (vendor == .uih && stack.first.frameCount == 1 && stack.first.mosaic == nil),
              stack.sliceCount > 1 else { return nil }
        if stack.first.frameCount > 1 {
            // XA enhanced: each frame's TimeAfterStart (0021,1104) in Siemens' per-frame private group, as
            // dcm2niix reads it (kTimeAfterStart; not FrameAcquisitionDateTime, which de-identification
            // scrambles): of the second volume when there are several (the first volume's can be wrong,
            // dcm2niix issue 240), relative to their earliest, in its float milliseconds. dcm_qa_enh
            // REST1_w_SMS_PF7-8_6: 4 volumes 0.16, 0, 0.32, ...; its first file alone 0.195, 0, 0.2625, ...
            let v = stack.volumes > 1 ? 1 : 0
            var ms: [Float] = []
            for s in stack.slices[(v * stack.sliceCount)..<((v + 1) * stack.sliceCount)] {
                guard let sec = s.timeAfterStart else { return nil }   // read by the scan (DicomScan)
                ms.append(sec * 1000)
            }
            let first = ms.min()!
            let times = ms.map { Double($0 - first) / 1000 }
            return times.contains(where: { $0 != 0 }) ? times : nil
        }
        let slices = stack.slices.prefix(stack.sliceCount)
        var seconds: [Double] = []
        for s in slices {
            // HHMMSS as a C float, split exactly (not through "%.5f", which rounds 28.640625 to 28.64062):
            // dcm2niix's differences are exact multiples of the float's step, so 0.046875 prints 0.04688
            // (dcm_qa_me me_FieldMap_GRE_2: every one of the 36 times equal).
            guard let t = Double(s.acquisitionTime.trimmingCharacters(in: .whitespaces)), t >= 0 else { return nil }
            let f = Double(Float(t)), h = (f / 10000).rounded(.down), m = ((f - h * 10000) / 100).rounded(.down)
            seconds.append(h * 3600 + m * 60 + (f - h * 10000 - m * 100))
        }
        let first = seconds.min()!
        let times = seconds.map { $0 - first }
        guard times.contains(where: { $0 != 0 }) else { return nil }
        return times
    }

    /// A mosaic's CSA MosaicRefAcqTimes (ms).
    func mosaicSliceTimes(_ stack: SliceStack) -> [Double] {
        do {
            // dcm2niix's checkSliceTiming: the first volume of some CMRR series records wrong times (range
            // beyond TR); then the second volume's are used, shifted to start at 0.
            let lo = mosaicTimes.min()!, hi = mosaicTimes.max()!
            if lo != hi && hi <= repetitionTime { return mosaicTimes }
            if lo == hi && is3D { return mosaicTimes }
            if stack.volumes > 1, let f = try? DicomFile(path: stack.slices[stack.sliceCount].path),
               let t = f.siemensImageCSA?.doubles("MosaicRefAcqTimes"), t.count >= mosaicTimes.count {
                var times = Array(t.prefix(mosaicTimes.count))
                let lo1 = times.min()!, hi1 = times.max()!
                if lo1 < hi1 && lo1 > 0 && hi1 - lo1 <= repetitionTime { times = times.map { $0 - lo1 } }
                let l = times.min()!, h = times.max()!
                if l >= 0 && l != h && h < repetitionTime { return times }
            }
            return mosaicTimes
        }
    }

    /// GE's EPI phase-encoding polarity from the user-defined data (0043,102A), as dcm2niix's nii_dicom.cpp
    /// (kUserDefineDataGE) reads it: 1 unflipped (positive), 0 flipped; nil when not EPI or not readable.
    static func gePhasePolarity(_ b: [UInt8]) -> Int? {
        func u16(_ at: Int) -> Int? { at >= 0 && at + 2 <= b.count ? Int(b[at]) | Int(b[at + 1]) << 8 : nil }
        guard b.count >= 916, let offset = u16(24), b.count >= offset + 916, offset + 4 <= b.count else { return nil }
        let version = Float(bitPattern: UInt32(b[offset]) | UInt32(b[offset + 1]) << 8 | UInt32(b[offset + 2]) << 16 | UInt32(b[offset + 3]) << 24)
        guard version >= 5, version <= 40 else { return nil }
        var hdr = offset, kyDir = 0x0394
        if version >= 25.002 { hdr += 0x004C; kyDir -= 0x008C }
        guard let epi = u16(hdr + 0x003A), epi & 0x800 != 0 else { return nil }   // not EPI
        guard let polarity = u16(hdr + 0x0030), let sliceOrder = u16(hdr + kyDir) else { return nil }
        var unflipped = polarity & 0x0004 == 0
        if sliceOrder == 2 { unflipped.toggle() }   // kGE_SLICE_ORDER_BOTTOM_UP (2): the ky order reverses the polarity
        return unflipped ? 1 : 0
    }

    /// DICOM TM "HHMMSS.FFFFFF" as dcm2niix prints AcquisitionTime: "%02d:%02d:%02.6f" (seconds not zero-padded).
    static func clock(_ tm: String) -> String? {
        guard let t = Double(tm.trimmingCharacters(in: .whitespaces)), t > 0 else { return nil }
        let s = Array(cFormat("%+013.5f", t))
        guard s.count >= 13, let h = Int(String(s[1..<3])), let m = Int(String(s[3..<5])), let sec = Double(String(s[5...])) else { return nil }
        return cFormat("%02ld:%02ld:%02.6f", h, m, sec)
    }

    static func vendor(_ manufacturer: String) -> Vendor {
        let m = manufacturer.uppercased()
        if m.hasPrefix("SIEMENS") || m.hasPrefix("SIEMENS HEALTHINEERS") { return .siemens }
        if m.hasPrefix("GE") { return .ge }
        if m.hasPrefix("PHILIPS") { return .philips }
        if m.hasPrefix("TOSHIBA") { return .toshiba }
        if m.hasPrefix("CANON") { return .canon }
        if m.hasPrefix("UIH") || m.hasPrefix("UNITED IMAGING") { return .uih }
        if m.hasPrefix("HITACHI") { return .hitachi }
        if m.hasPrefix("BRUKER") { return .bruker }
        if m.hasPrefix("MEDISO") { return .mediso }
        return .other
    }
}

/// GE slice timing as dcm2niix estimates it (nii_dicom_batch.cpp sliceTimingGE/sliceTimeGE): from the
/// protocol data block's slice order and multiband factor, the TR and the group delay, assuming
/// continuous acquisition. Nil where dcm2niix gives none (not EPI, diffusion, variable delays).
struct GESliceTiming: Sendable {
    var interleaved: Bool
    var multiband: Int
    var repetitionTime: Double      // ms, with the group delay added for multi-phase epi
    var groupDelay: Double          // ms
    var majorVersion: Double
    var is27r3: Bool

    init(interleaved: Bool, multiband: Int, repetitionTime: Double, groupDelay: Double, majorVersion: Double, is27r3: Bool) {
        self.interleaved = interleaved
        self.multiband = multiband
        self.repetitionTime = repetitionTime
        self.groupDelay = groupDelay
        self.majorVersion = majorVersion
        self.is27r3 = is27r3
    }

    init?(file f: DicomFile, repetitionTime tr: Double, softwareVersions: String) {
        // The element holds a 4-byte length, then the gzip stream (dcm2niix's protocolBlockStartGE).
        guard tr > 0, var block = f.bytes(.geProtocolDataBlock) ?? f.nestedBytes(.geProtocolDataBlock) else { return nil }
        if block.count > 6 && !(block[0] == 0x1F && block[1] == 0x8B) && block[4] == 0x1F && block[5] == 0x8B { block.removeFirst(4) }
        guard let text = try? Gzip.decompress(block[...]), let p = SiemensASCCONV(protocolBlock: text) else { return nil }
        let sliceOrder = p.int("SLICEORDER") ?? -1
        multiband = max(p.int("MBACCEL") ?? 0, 1)
        var delay = (p.double("DELACQNOAV") ?? 0) * 1000   // s → ms
        let iopt = p.string("IOPT") ?? ""
        let delacq = p.string("DELACQ") ?? ""
        if iopt.contains("MPh") {
            if delacq == "Minimum" { delay = 0 }
            if iopt.contains("MPhVar") { return nil }   // multi-phase with variable delays: unsupported
        }
        let seq = (f.privateString(.gePulseSequenceName) ?? "").lowercased()
        let internalName = f.privateString(.geInternalPulseSequenceName) ?? ""
        repetitionTime = tr
        groupDelay = 0
        if seq.hasPrefix("epirt") || iopt.contains("FMRI") {
            groupDelay = delay
        } else if seq.hasPrefix("epi") || iopt.contains("MPh") {
            if internalName == "EPI2" || iopt.contains("DIFF") { return nil }
            if delay > 0 { repetitionTime += delay; groupDelay = delay }
        } else {
            return nil
        }
        interleaved = sliceOrder != 0
        // "27\LX\MR Software release:RX27.0_R02_1831.a" or "28\LX\MR29.1_EA_2039.g" (readSoftwareVersionsGE)
        let tail = softwareVersions.split(separator: ":").last.map(String.init).flatMap { $0.contains("_") ? $0 : nil }
            ?? softwareVersions.split(separator: "\\").last.map(String.init) ?? ""
        let chars = Array(tail.dropFirst(2))
        let numeric = String(chars.prefix { $0.isNumber || $0 == "." })
        let parts = numeric.split(separator: ".")
        let major = Int(parts.first ?? "") ?? 0, minor = Int(parts.dropFirst().first ?? "") ?? 0
        let release: Int = {
            let r = tail.split(separator: "_").dropFirst().first.map(String.init) ?? ""
            return r.hasPrefix("EA") ? 0 : Int(r.dropFirst()) ?? 0
        }()
        majorVersion = Double(major) + 0.1 * Double(minor)
        is27r3 = majorVersion >= 27.1 || (major == 27 && release >= 3)
        if multiband > 1 && majorVersion < 26 { return nil }   // early HyperBand: unknown
    }

    /// Times (ms) of the acquisition's slices 0..<n (sliceTimeGE).
    func times(slices n: Int) -> [Double] {
        var excitations = Int((Double(n) / Double(multiband)).rounded(.up))
        if multiband > 1 && !is27r3 && excitations % 2 == 0 { excitations += 1 }
        let perSlice = (repetitionTime - groupDelay) / Double(excitations)
        var t = [Double](repeating: 0, count: max(excitations, n))
        if !interleaved {
            for i in 0..<excitations { t[i] = Double(i) * perSlice }
        } else {
            let odd = (excitations - 1) / 2
            for i in 0..<excitations { t[i] = (i % 2 == 0 ? Double(i / 2) : Double(odd + (i + 1) / 2)) * perSlice }
            if multiband > 1 && is27r3 && excitations > 2 && excitations % 2 == 0 { t.swapAt(excitations - 1, excitations - 3) }
        }
        return (0..<n).map { t[$0 % excitations] }
    }
}
