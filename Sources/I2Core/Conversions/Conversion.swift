// i2 convert's engine: resolve inputs to volumes, write each to its output, collect per-input errors.
import Foundation
import I2Model

public enum TiltPolicy: Sendable { case shear, resample }

public struct ConvertOptions: Sendable {
    public var inputs: [String]
    public var output: String
    public var formatInDirectory: FileFormat = .niftiGz
    public var seriesFilter: [String] = []
    public var namePattern = "{number}_{description}"
    public var sidecar = true
    public var tilt: TiltPolicy = .shear
    public var equalize = false
    public var reference: String?
    public var overwrite = false
    public var write = WriteOptions()
    public init(inputs: [String], output: String) { self.inputs = inputs; self.output = output }
}

public struct BatchResult: Sendable {
    public var written: [String] = []
    public var errors: [I2Error] = []
    public var lines: [String] = []
}

public enum Conversion {
    public static func run(_ options: ConvertOptions, warn: (String) -> Void, wrote: (String) -> Void) -> BatchResult {
        var r = BatchResult()
        r.errors.append(I2Error(.usage, "not implemented"))
        return r
    }
    public static func list(inputs: [String], warn: (String) -> Void) throws -> BatchResult {
        BatchResult()
    }
}
