// The diffusion encoding of one image (b-value and gradient direction) as the scanner recorded it, before
// any conversion to the image space of an output volume (that is I2Core's Diffusion).

public struct DiffusionEncoding: Sendable, Equatable {
    /// How `gradient` is expressed.
    public enum Frame: Sendable, Equatable {
        /// Patient coordinates (LPS): the standard (0018,9089), Siemens, Philips, enhanced Canon.
        case patient
        /// GE's (0019,10BB/BC/BD) and classic Canon/Toshiba: relative to the acquisition (phase,
        /// frequency, slice) as dcm2niix's geCorrectBvecs reads them.
        case geImage
    }

    public var bValue: Double
    /// Three components, or nil when the image gives none (b=0, isotropic/trace).
    public var gradient: [Double]?
    public var frame: Frame
    /// The vendor as dcm2niix distinguishes them for diffusion (its derived-volume rules differ).
    public var vendor: String
    /// (0018,5100) PatientPosition, e.g. "HFS"; GE directions are only transformed for head first supine.
    public var patientPosition: String
    /// (0018,1312) InPlanePhaseEncodingDirection, "ROW" or "COL" (GE directions depend on it).
    public var phaseEncoding: String
    /// GE's number of diffusion directions (UserData24, (0019,10E0)): 0 marks a b>0 volume without a
    /// direction as a trace/ADC image, otherwise it is a b=0 (dcm2niix's numberOfDiffusionDirectionGE).
    public var geDirections: Int?

    public init(bValue: Double, gradient: [Double]?, frame: Frame = .patient, vendor: String = "",
                patientPosition: String = "", phaseEncoding: String = "") {
        self.bValue = bValue; self.gradient = gradient; self.frame = frame; self.vendor = vendor
        self.patientPosition = patientPosition; self.phaseEncoding = phaseEncoding
    }
}
