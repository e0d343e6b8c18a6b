// What a process fixes before any thread starts: I2CLI.main runs it first.
import I2DICOM

public enum ProcessSetUp {
    /// DCMTK's environment (DicomEnvironment): after this, DCMTK's set-up, on whichever thread, changes
    /// no environment variable.
    public static func run() { DicomEnvironment.prepare() }
}
