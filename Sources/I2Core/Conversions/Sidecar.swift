// The JSON sidecar written next to an image converted from DICOM (on by default, --no-sidecar):
// key acquisition metadata with BIDS-style names, as dcm2niix writes them; times in seconds as BIDS wants.
import Foundation
import I2Model

enum Sidecar {
    static let numeric: Set<String> = ["SeriesNumber", "AcquisitionNumber", "SliceThickness", "SpacingBetweenSlices", "KVP",
                                       "XRayTubeCurrent", "ExposureTime", "MagneticFieldStrength", "FlipAngle", "GantryDetectorTilt"]
    static let milliseconds: Set<String> = ["EchoTime", "RepetitionTime", "InversionTime"]   // DICOM ms → BIDS s
    static let arrays: Set<String> = ["ImageType", "ScanningSequence", "SequenceVariant", "ScanOptions", "ImageOrientationPatientDICOM"]

    /// Writes IMAGE.json beside `imagePath` (same name without the image extension) and returns its path.
    /// Callers pass only sidecars they have not already reported (see Conversion.run).
    static func write(for imagePath: String, info: SeriesInfo, stack: SliceStack, volume: Volume, notes: [String],
                      written: [String] = []) throws -> String {
        var json: [String: Any] = [:]
        for (key, raw) in info.values {
            let parts = raw.split(separator: "\\").map { String($0).trimmingCharacters(in: .whitespaces) }
            if milliseconds.contains(key), let v = Double(parts[0]) { json[key] = v / 1000 }
            else if key == "ImageOrientationPatientDICOM" { json[key] = parts.compactMap(Double.init) }
            else if arrays.contains(key) { json[key] = parts }
            else if numeric.contains(key), let v = Double(parts[0]) { json[key] = v == v.rounded() && abs(v) < 1e15 ? Int(v) as Any : v }
            else { json[key] = raw }
        }
        if let echo = stack.first.echo { json["EchoNumber"] = echo }
        json["SliceCount"] = stack.sliceCount
        if stack.volumes > 1 { json["VolumeCount"] = stack.volumes }
        json["VoxelSpacing"] = volume.spacing
        json["ConversionNotes"] = notes.isEmpty ? nil : notes
        json.merge(philipsScaling(stack.first)) { _, philips in philips }
        json["ConversionSoftware"] = "i2"
        json["ConversionSoftwareVersion"] = "0.1.0"
        let path = Conversion.stripExtension(imagePath) + ".json"
        // A format that writes its own JSON beside the image (.npy: axis order and affine) keeps its
        // keys; the acquisition metadata joins them in the same file. Only a JSON written by this
        // conversion is merged: an older file of that name (replaced with --force) is not.
        if written.contains(path), let own = try? JSONSerialization.jsonObject(with: Data(FileBytes.read(path))) as? [String: Any] {
            json.merge(own) { _, format in format }
        }
        let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(Array(data) + [10], to: path)
        return path
    }

    /// dcm2niix's Philips scaling keys (nii_dicom_batch.cpp, nii_SaveBIDSX), from the first image: the
    /// real-world value mapping when present, and with the private scale slope (2005,100E) the display
    /// rescale, that scale slope and UsePhilipsFloatNotDisplayScaling = 1 (the voxels hold the precise
    /// floating-point values, see Scaling.philipsPrecise). Numbers as dcm2niix prints them (%g).
    static func philipsScaling(_ s: SliceHeader) -> [String: Any] {
        func g(_ v: Double) -> Double { Double(String(format: "%g", v)) ?? v }
        var keys: [String: Any] = [:]
        if let rwv = s.realWorldSlope, rwv != 0 {
            keys["PhilipsRWVSlope"] = g(rwv)
            keys["PhilipsRWVIntercept"] = g(s.realWorldIntercept ?? 0)
        }
        if let ss = s.philipsScaleSlope, ss != 0 {
            keys["PhilipsRescaleSlope"] = g(s.slope)
            keys["PhilipsRescaleIntercept"] = g(s.intercept)
            keys["PhilipsScaleSlope"] = g(ss)
            keys["UsePhilipsFloatNotDisplayScaling"] = 1
        }
        return keys
    }
}
