// The file meta information of a Part 10 file (PS3.10 7.1, group 0002), read without parsing the data
// set: what a stored file is and where its data set starts. The one reader of that header is the shim's
// (i2dcm_meta); nothing above I2DICOM walks DICOM bytes.
internal import CDCMTK
import I2Model

public struct FileMetaInformation: Sendable, Equatable {
    /// True when the file has the 128-byte preamble and "DICM" (otherwise it is a bare data set and
    /// the other fields are empty).
    public var isPart10: Bool
    public var mediaStorageSOPClassUID: String
    public var mediaStorageSOPInstanceUID: String
    public var transferSyntaxUID: String
    /// Byte offset of the data set: after the preamble, "DICM" and the group 0002 elements (0 without them).
    public var dataSetOffset: Int

    /// Reads the header of `path`. Throws I2Error naming `path` (.notFound, .storage, .badInput).
    public init(path: String) throws {
        var m = i2dcm_meta_info()
        try Condition.check(path: path) { i2dcm_meta(path, &m, $0, $1) }
        func text<T>(_ t: inout T) -> String { withUnsafeBytes(of: &t) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
        isPart10 = m.part10 != 0
        mediaStorageSOPClassUID = text(&m.sop_class)
        mediaStorageSOPInstanceUID = text(&m.sop_instance)
        transferSyntaxUID = text(&m.transfer_syntax)
        dataSetOffset = Int(m.data_set_offset)
    }
}
