// The time between volumes of a classic 4-D series, as dcm2niix (v1.0.20220720, Debian's) writes it
// when it differs from RepetitionTime (its issue 560, nii_dicom_batch.cpp saveDcm2NiiCore): from the
// AcquisitionTime of the images at the first position, (last - first) / (volumes - 1). When that
// differs from (0018,0080) by more than 50 ms, it becomes NIfTI pixdim[4] and the sidecar's
// RepetitionTime, and the reported TR moves to RepetitionTimeExcitation (RepetitionTimeInversion for an
// inversion-recovery sequence, except Philips'). Not for GE (dcm2niix leaves GE's TR alone: its
// AcquisitionTime is unreliable), nor for files that hold a whole volume (mosaics, enhanced, 3-D
// multi-frame), whose times dcm2niix does not compare.
import Foundation
import I2DICOM
import I2Model

enum VolumeTiming {
    struct Estimate: Equatable {
        var seconds: Double        // the time between volumes (dcm2niix's float)
        var reported: Double       // RepetitionTime (0018,0080) in seconds
        var inversion: Bool        // the reported TR is RepetitionTimeInversion, not RepetitionTimeExcitation
    }

    /// Whether `stack` is the kind of series dcm2niix re-estimates (before looking at the vendor).
    static func applies(_ stack: SliceStack) -> Bool {
        stack.volumes > 1 && stack.first.frameCount == 1 && stack.first.mosaic == nil
    }

    /// dcm2niix's estimate for `stack`, nil when it keeps RepetitionTime. `ge`: the manufacturer is GE;
    /// `inversionRecovery`: ScanningSequence has IR (or InversionRecovery is YES); `philips`: Philips.
    static func estimate(_ stack: SliceStack, ge: Bool, philips: Bool, inversionRecovery: Bool) -> Estimate? {
        guard applies(stack), !ge || stack.first.modality == "PT" else { return nil }
        let per = stack.sliceCount
        let times = (0..<stack.volumes).map { seconds(stack.slices[$0 * per].acquisitionTime) }
        guard let t0 = times[0] else { return nil }
        var latest = -1.0
        var previous = t0
        for t in times.dropFirst() {
            guard let t else { return nil }
            defer { previous = t }
            if t - previous <= 0 { continue }   // dcm2niix skips a volume not later than the one before
            latest = max(latest, t - t0)
        }
        guard latest > 0 else { return nil }
        let tr = Double(Float(latest) / Float(stack.volumes - 1))   // its float arithmetic: 5.4 / 3 = 1.8000001
        let reported = Double(Float((stack.first.repetitionTime ?? 0) / 1000))
        guard abs(tr - reported) > 0.05 else { return nil }
        if stack.first.modality == "PT" && frameTimesStart(stack, ge: ge) != nil { return nil }   // dcm2niix: pixdim[4] 0, TR kept
        return Estimate(seconds: tr, reported: reported, inversion: inversionRecovery && !philips)
    }

    /// Each volume's start relative to the first (seconds, dcm2niix's float), when the spacing of the volumes
    /// varies by more than 50 ms (dcm2niix's issue 407: the sidecar's FrameTimesStart); nil otherwise.
    static func frameTimesStart(_ stack: SliceStack, ge: Bool) -> [Double]? {
        guard applies(stack), !ge || stack.first.modality == "PT" else { return nil }
        let per = stack.sliceCount
        let times = (0..<stack.volumes).compactMap { seconds(stack.slices[$0 * per].acquisitionTime) }
        guard times.count == stack.volumes else { return nil }
        let steps = zip(times.dropFirst(), times).map { $0 - $1 }.filter { $0 > 0 }
        guard let lo = steps.min(), let hi = steps.max(), hi - lo > 0.05 else { return nil }
        return times.map { Double(Float($0 - times[0])) }
    }

    /// `estimate` for a stack, reading the vendor and sequence from its first file (only when it applies).
    static func estimate(_ stack: SliceStack) -> Estimate? {
        guard applies(stack), let f = try? DicomFile(path: stack.first.path) else { return nil }
        let manufacturer = (f.string(.manufacturer) ?? "").uppercased()
        return estimate(stack, ge: manufacturer.hasPrefix("GE"), philips: manufacturer.contains("PHILIPS"),
                        inversionRecovery: isInversionRecovery(scanningSequence: f.string(.scanningSequence), flag: f.string(.inversionRecovery)))
    }

    static func isInversionRecovery(scanningSequence: String?, flag: String?) -> Bool {
        (scanningSequence ?? "").uppercased().contains("IR") || (flag ?? "").uppercased().hasPrefix("Y")
    }

    /// HHMMSS.FFFFFF as seconds of the day.
    static func seconds(_ tm: String) -> Double? {
        let s = tm.trimmingCharacters(in: .whitespaces)
        guard s.count >= 6, let h = Double(s.prefix(2)), let m = Double(s.dropFirst(2).prefix(2)), let sec = Double(s.dropFirst(4)) else { return nil }
        return h * 3600 + m * 60 + sec
    }
}
