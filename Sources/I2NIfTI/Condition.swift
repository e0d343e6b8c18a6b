// The one place a nifticlib, zlib or libdeflate failure (a NULL image, a status code, errno after a
// failed open) becomes an I2Error: which kind it is, and the file it concerns. NiftiImage and Gzip
// describe what went wrong as a `Failure`; the kind and the wording are decided here.
internal import CNIfTI
import Foundation
import I2Model

enum Condition {
    enum Failure {
        /// No file at the path.
        case missing
        /// The path names a directory.
        case directory
        /// The file exists but cannot be opened for reading (`errno` from the attempt).
        case cannotOpen(errno: Int32)
        /// nifti_image_read returned no image for a readable file.
        case unreadableHeader
        /// The header describes voxel data nifticlib cannot lay out (no size or offset).
        case unsupportedLayout
        /// Opening the voxel data (znzopen) failed with `errno`.
        case cannotOpenData(errno: Int32)
        /// znzseek could not reach the voxel data's offset.
        case offsetPastEnd(Int)
        /// Fewer voxel bytes than the header says (`have` nil: the file cannot hold `need` bytes at all).
        case truncated(have: Int?, need: Int)
        /// A zlib status from inflateInit / inflate other than success.
        case zlib(Int32)
        /// The compressed stream ended before its end marker.
        case compressedEndsEarly
        /// libdeflate could not allocate its compressor or decompressor.
        case libdeflateAllocation
    }

    static func error(_ failure: Failure, path: String?) -> I2Error {
        switch failure {
        case .missing:
            return I2Error(.notFound, path: path, "no such file")
        case .cannotOpen(let e):
            return I2Error(.storage, path: path, "cannot open: \(String(cString: strerror(e)))")
        case .unreadableHeader:
            return I2Error(.badInput, path: path, "not a readable NIfTI-1 file")
        case .directory:
            return I2Error(.badInput, path: path, "is a directory, not a NIfTI file")
        case .unsupportedLayout:
            return I2Error(.badInput, path: path, "unsupported NIfTI layout (no usable voxel data size or offset)")
        case .cannotOpenData(let e):
            return I2Error(e == ENOENT ? .notFound : .storage, path: path, "cannot open voxel data" + (e != 0 ? ": \(String(cString: strerror(e)))" : ""))
        case .offsetPastEnd(let offset):
            return I2Error(.badInput, path: path, "data offset \(offset) is past the end of the file")
        case .truncated(let have?, let need):
            return I2Error(.badInput, path: path, "voxel data is truncated: \(max(have, 0)) of \(need) bytes present")
        case .truncated(nil, let need):
            return I2Error(.badInput, path: path, "voxel data is truncated: the header needs \(need) bytes, more than the file can hold")
        case .zlib(let status) where status == Z_MEM_ERROR:
            return I2Error(.internal, path: path, "zlib ran out of memory")
        case .zlib(let status) where status == Z_VERSION_ERROR || status == Z_STREAM_ERROR:
            return I2Error(.internal, path: path, "zlib initialisation failed (status \(status))")
        case .zlib(let status):
            return I2Error(.badInput, path: path, "corrupt compressed data (zlib status \(status))")
        case .compressedEndsEarly:
            return I2Error(.badInput, path: path, "compressed data ends early (truncated file?)")
        case .libdeflateAllocation:
            return I2Error(.internal, path: path, "libdeflate could not allocate its state (out of memory)")
        }
    }

    /// For the paths that cannot throw (compression): an allocation failure stops the process with the
    /// same wording rather than writing a corrupt stream.
    static func require<T>(_ value: T?, _ failure: Failure) -> T {
        guard let value else { fatalError(error(failure, path: nil).description) }
        return value
    }
}
