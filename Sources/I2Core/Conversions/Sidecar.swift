// The JSON sidecar written next to an image converted from DICOM (on by default, --no-sidecar): the
// BIDS keys dcm2niix writes for the same input, with its values and units (seconds for times); see
// BIDS.swift. Identifying values only with --sidecar-identifiers (dcm2niix's `-ba n`).
import Foundation
import I2DICOM
import I2Model

enum Sidecar {
    /// The last sidecar's first file, kept open for the next stack (see Conversion.run).
    final class LastFile {
        private var file: DicomFile?

        /// Starts with `file` (the scan's parsed file, DicomScan.keptFile) as the kept one.
        init(_ file: DicomFile? = nil) { self.file = file }

        /// `path` opened: the kept file when it is that one, else a new one, which replaces it.
        func open(_ path: String) throws -> DicomFile {
            if let f = file, f.path == path { return f }
            file = nil   // one parsed file at a time
            let f = try DicomFile(path: path)
            file = f
            return f
        }
    }

    /// Writes IMAGE.json beside `imagePath` (same name without the image extension) and returns its path.
    /// Callers pass only sidecars they have not already reported (see Conversion.run). The
    /// stack's first file is taken from `last` when given (see `object`).
    static func write(for imagePath: String, info: SeriesInfo, stack: SliceStack, volume: Volume, notes: [String],
                      written: [String] = [], identifying: Bool = false, last: LastFile? = nil) throws -> String {
        var json = try object(info: info, stack: stack, volume: volume, notes: notes, identifying: identifying, last: last)
        let path = Conversion.stripExtension(imagePath) + ".json"
        // A format that writes its own JSON beside the image (.npy: axis order and affine) keeps its
        // keys; the acquisition metadata joins them in the same file. Only a JSON written by this
        // conversion is merged: an older file of that name (replaced with --force) is not.
        var merged = false
        if written.contains(path), let own = try? JSONSerialization.jsonObject(with: Data(FileBytes.read(path))) as? [String: Any] {
            json.merge(own) { _, format in format }
            merged = true
        }
        // The hand writer for i2's own values (the same bytes, SidecarJSON.swift); JSONSerialization for
        // values parsed back from a format's JSON.
        let text = merged ? nil : SidecarJSON.data(json)
        let data = try text ?? Array(JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]))
        try AtomicFile.write(data + [10], to: path)
        return path
    }

    /// The sidecar's keys for one output volume.
    /// `last`: the caller's kept file, reused when this stack starts in the same file (the stacks of one
    /// enhanced file); else the first file is opened here.
    static func object(info: SeriesInfo, stack: SliceStack, volume: Volume, notes: [String], identifying: Bool,
                       last: LastFile? = nil) throws -> [String: Any] {
        // The values of the stack's own first image (an echo or phase split has its own EchoTime,
        // ImageType…), read again here: only converted stacks pay for the ~100 lookups.
        // Enhanced files number echoes by their distinct times at assembly: the stack's "_eN" suffix says which.
        let suffixEcho = stack.suffix.split(separator: "_").first { $0.hasPrefix("e") && Int($0.dropFirst()) != nil }.flatMap { Int($0.dropFirst()) }
        let rank = stack.first.echo.flatMap { info.echoes.firstIndex(of: $0) }.map { $0 + 1 } ?? suffixEcho
        let first = try last?.open(stack.first.path) ?? DicomFile(path: stack.first.path)
        let bids = BIDSSeries(file: first, frame: stack.first.frame,
                              multiEcho: info.echoes.count > 1 || suffixEcho != nil, echoRank: rank)
        // The reconstructed in-plane grid (NIfTI dim[1] = columns, dim[2] = rows): a mosaic's slices are its tiles already.
        let columns = stack.first.columns, rows = stack.first.rows
        var json: [String: Any] = [:]
        for (key, value) in bids.keys(stack: stack, columns: columns, rows: rows, identifying: identifying) { json[key] = value.json }
        json.merge(philipsScaling(stack.first)) { _, scaling in scaling }
        // i2's own: what the conversion did to the data (tilt, resampling), and who wrote the file.
        json["ConversionNotes"] = notes.isEmpty ? nil : notes
        json["ConversionSoftware"] = "i2"
        json["ConversionSoftwareVersion"] = "0.1.0"
        return json
    }

    /// dcm2niix's Philips scaling keys (nii_dicom_batch.cpp, nii_SaveBIDSX), from the first image: the
    /// real-world value mapping when present, and with the private scale slope (2005,100E) the display
    /// rescale, that scale slope and UsePhilipsFloatNotDisplayScaling = 1 (the voxels hold the precise
    /// floating-point values, see Scaling.philipsPrecise). Numbers as dcm2niix prints them (%g).
    static func philipsScaling(_ s: SliceHeader) -> [String: Any] {
        func g(_ v: Double) -> Double { Double(cFormat("%g", v)) ?? v }
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
