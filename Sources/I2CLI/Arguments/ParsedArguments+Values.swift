// Stage two of parsing: typed values, read by the Flag itself (not its name, so a misspelt flag cannot
// compile). A flag that was not given yields the default it declares for help: one literal per default.
import I2Core

extension ParsedArguments {
    public func has(_ flag: Flag) -> Bool { values[flag.long] != nil }

    /// The last value given (last one wins for non-repeatable options), else the declared default.
    public func value(_ flag: Flag) -> String? { values[flag.long]?.last ?? flag.defaultValue }

    /// Only what the user gave, ignoring the default.
    public func given(_ flag: Flag) -> String? { values[flag.long]?.last }

    public func all(_ flag: Flag) -> [String] { values[flag.long] ?? [] }

    /// A choice flag as an enum (the parser already checked the value is one of the choices).
    public func choice<T: RawRepresentable>(_ flag: Flag, _: T.Type = T.self) -> T where T.RawValue == String {
        guard let v = value(flag), let t = T(rawValue: v) else {
            preconditionFailure("--\(flag.long): no default or no case for its value")
        }
        return t
    }

    public func int(_ flag: Flag, range: ClosedRange<Int>) throws -> Int {
        let text = try required(flag)
        guard let v = Int(text), range.contains(v) else {
            throw I2Error(.usage, "--\(flag.long): '\(text)' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return v
    }

    public func seconds(_ flag: Flag, max: Double) throws -> Double {
        let text = try required(flag)
        guard let v = Double(text), v.isFinite, v >= 0, v <= max else {
            throw I2Error(.usage, "--\(flag.long): '\(text)' is not a number of seconds from 0 to \(Int(max))")
        }
        return v
    }

    /// "500M", "2G", "1024" (bytes), with K/M/G/T as powers of 1024.
    public func size(_ flag: Flag) throws -> UInt64 {
        let text = try required(flag)
        let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var digits = text.uppercased()
        var scale: UInt64 = 1
        if let last = digits.last, let u = units[last] { scale = u; digits.removeLast() }
        guard let n = UInt64(digits), n <= UInt64.max / scale else {
            throw I2Error(.usage, "--\(flag.long): '\(text)' should look like 500M or 2G")
        }
        return n * scale
    }

    private func required(_ flag: Flag) throws -> String {
        guard let v = value(flag) else { preconditionFailure("--\(flag.long) has no default: read it with given()") }
        return v
    }

    /// Positionals with each '-' replaced by the paths read from stdin.
    public func expandingStdin(_ list: [String]) -> [String] {
        list.flatMap { $0 == "-" ? StandardInput.paths() : [$0] }
    }
}
