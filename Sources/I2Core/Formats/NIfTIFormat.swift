// NIfTI-1 (.nii, .nii.gz) through I2NIfTI. Writing bypasses nifti_image_write: the 352-byte prefix and
// the voxel buffer go straight to disk (or through parallel gzip), so a 150 MB volume is never copied.
import Foundation
import I2Model
import I2NIfTI

enum NIfTIFormat: VolumeFormat {
    static func read(path: String) throws -> Volume {
        try NiftiImage.readVolume(path: path)
    }

    static func write(_ volume: Volume, to path: String, options: WriteOptions) throws -> [String] {
        let prefix: [UInt8]
        do { prefix = try NiftiImage.prefix(for: volume) } catch let e as I2Error { throw e.at(path) }
        let compressed = path.lowercased().hasSuffix(".gz")
        try AtomicFile.write(to: path) { tmp in
            let out = try OutputFile(tmp)
            defer { out.abandon() }
            if compressed {
                try out.writeGzip(prefix, level: options.compressionLevel, threads: options.threads)
                try out.writeGzip(volume.data, level: options.compressionLevel, threads: options.threads)
            } else {
                try out.write(prefix)
                try out.write(volume.data)
            }
            try out.close()
        }
        return [path]
    }
}

/// A file written front to back from buffers the caller already holds (no staging copies), with
/// errors naming the path. Shared by the NIfTI and NumPy writers; callers wrap it in AtomicFile.
final class OutputFile {
    let path: String
    private var handle: UnsafeMutablePointer<FILE>?

    /// gzip input per round: Gzip.compress keeps every compressed member in memory until it returns, so
    /// a large volume is fed in windows (several 4 MB chunks per core) and written as it goes, keeping
    /// peak memory near volume + one window instead of volume + its compressed copy.
    static let gzipWindow = max(32 << 20, Processors.active * (8 << 20))

    init(_ path: String) throws {
        self.path = path
        guard let h = fopen(path, "wb") else {
            throw I2Error(.storage, path: path, "cannot create: \(String(cString: strerror(errno)))")
        }
        handle = h
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let h = handle else { throw I2Error(.storage, path: path, "write after close") }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        if fwrite(base, 1, bytes.count, h) != bytes.count {
            throw I2Error(.storage, path: path, "write failed: \(String(cString: strerror(errno)))")
        }
    }

    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Appends `bytes` as one or more gzip members (members concatenate into one valid gzip stream).
    func writeGzip(_ bytes: [UInt8], level: Int, threads: Int) throws {
        try bytes.withUnsafeBytes { all in
            guard let base = all.baseAddress, all.count > 0 else { return }
            var start = 0
            repeat {
                let n = min(OutputFile.gzipWindow, all.count - start)
                let window = UnsafeRawBufferPointer(start: base + start, count: n)
                for member in Gzip.compress(window, level: level, threads: threads) { try write(member) }
                start += n
            } while start < all.count
        }
    }

    func close() throws {
        guard let h = handle else { return }
        handle = nil
        if fclose(h) != 0 { throw I2Error(.storage, path: path, "write failed: \(String(cString: strerror(errno)))") }
    }

    /// Closes without reporting (error paths; AtomicFile removes the temporary file).
    func abandon() {
        if let h = handle { fclose(h); handle = nil }
    }
}
