import I2Model
enum NIfTIFormat: VolumeFormat {
    static func read(path: String) throws -> Volume { throw I2Error(.usage, path: path, "not implemented") }
    static func write(_ volume: Volume, to path: String, options: WriteOptions) throws -> [String] { throw I2Error(.usage, path: path, "not implemented") }
}
