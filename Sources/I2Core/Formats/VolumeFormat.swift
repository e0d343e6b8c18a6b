// The file formats i2 reads and writes, chosen by file extension, and the one protocol they share.
import Foundation
import I2Model

public enum FileFormat: String, CaseIterable, Sendable {
    case nifti = "nii", niftiGz = "nii.gz", nrrd, nhdr, mha, mhd, npy

    /// The format a path names by its extension, or nil (a directory or a DICOM file list).
    public init?(path: String) {
        let lower = path.lowercased()
        for f in FileFormat.allCases.sorted(by: { $0.rawValue.count > $1.rawValue.count })
        where lower.hasSuffix("." + f.rawValue) {
            self = f
            return
        }
        return nil
    }

    /// The extensions listed in help and completions.
    public static var extensions: [String] { allCases.map { "." + $0.rawValue } }

    var codec: VolumeFormat.Type {
        switch self {
        case .nifti, .niftiGz: return NIfTIFormat.self
        case .nrrd, .nhdr: return NRRDFormat.self
        case .mha, .mhd: return MetaImageFormat.self
        case .npy: return NumPyFormat.self
        }
    }
}

/// One file format. Readers return a `Volume` in LPS; writers must write atomically
/// (use `AtomicFile`) and return every path they created (e.g. `.mhd` + `.raw`, `.npy` + `.json`).
protocol VolumeFormat {
    static func read(path: String) throws -> Volume
    static func write(_ volume: Volume, to path: String, options: WriteOptions) throws -> [String]
}

public struct WriteOptions: Sendable {
    /// gzip level for compressed outputs (.nii.gz, gzip NRRD, compressed MetaImage): 1...9.
    public var compressionLevel: Int = 6
    /// Worker threads for compression.
    public var threads: Int = 0   // 0: one per core
    public init() {}
}

public struct ReadOptions: Sendable {
    /// A detached NRRD `data file` / MetaImage `ElementDataFile` may be absolute or leave the header's folder.
    public var allowOutsideData = false
    public init() {}
}

public enum VolumeIO {
    public static func read(path: String, options: ReadOptions = ReadOptions()) throws -> Volume {
        guard let f = FileFormat(path: path) else {
            throw I2Error(.usage, path: path, "unknown image format (expected one of \(FileFormat.extensions.joined(separator: ", ")))")
        }
        let volume: Volume
        switch f {
        case .nrrd, .nhdr: volume = try NRRDFormat.read(path: path, allowOutsideData: options.allowOutsideData)
        case .mha, .mhd: volume = try MetaImageFormat.read(path: path, allowOutsideData: options.allowOutsideData)
        default: volume = try f.codec.read(path: path)
        }
        if let why = nonFiniteGeometry(volume) { throw I2Error(.badInput, path: path, why) }
        return volume
    }

    /// Throws without a path when the geometry is not finite: the fault is the input's, so the caller names
    /// the input (the DICOM file, the SEG, the label map) it built `volume` from, never the output.
    public static func write(_ volume: Volume, to path: String, options: WriteOptions = WriteOptions()) throws -> [String] {
        guard let f = FileFormat(path: path) else {
            throw I2Error(.usage, path: path, "unknown output format (expected one of \(FileFormat.extensions.joined(separator: ", ")))")
        }
        if let why = nonFiniteGeometry(volume) { throw I2Error(.badInput, why) }
        return try f.codec.write(volume, to: path, options: options)
    }

    /// Why `volume`'s voxel-to-world geometry cannot be written (an infinite or NaN origin, spacing or
    /// direction: e.g. slice positions ±1e308 apart), or nil. NRRD and MetaImage used to write "nan" into
    /// their headers silently; NIfTI refused, naming its output.
    public static func nonFiniteGeometry(_ v: Volume) -> String? {
        guard v.geometryKnown, !v.affineLPS.joined().allSatisfy(\.isFinite) else { return nil }
        let f = { (x: [Double]) in x.map { String(format: "%g", $0) }.joined(separator: ", ") }
        return "the volume geometry has non-finite entries (origin \(f(v.origin.array)), spacing \(f(v.spacing))): "
            + "positions, spacing or orientation out of range"
    }
}

/// Issue 11 item 4: a detached data file named in a header stays in the header's folder (no absolute
/// path, no `..` leaving it) unless --allow-outside-data: a header must not turn any readable file
/// into voxels. Returns the data file's path.
enum DetachedData {
    static func path(_ file: String, header: String, field: String, allowOutside: Bool) throws -> String {
        let dir = (header as NSString).deletingLastPathComponent
        var depth = 0
        var escapes = file.hasPrefix("/")
        for c in file.split(separator: "/", omittingEmptySubsequences: true) where c != "." {
            depth += c == ".." ? -1 : 1
            if depth < 0 { escapes = true }
        }
        if escapes && !allowOutside {
            throw I2Error(.badInput, path: header, "'\(field)' \(file) lies outside the header's folder: refused (--allow-outside-data reads it)")
        }
        return file.hasPrefix("/") ? file : (dir.isEmpty ? file : dir + "/" + file)
    }
}
