// Segment colours: 8-bit sRGB (what dcmqi's JSON and TotalSegmentator give) and the scaled CIELab
// triplet DICOM stores as Recommended Display CIELab Value (0062,000D).
//
// PS3.3 C.10.7.1.1 defines the integer encoding (L* 0...100 → 0...65535, a*/b* -128...127 → 0...65535,
// as ICC profiles encode them). For the RGB→Lab step, the SEG writers this project must agree with,
// dcmqi (libsrc/ColorUtilities.cpp) and highdicom (color.py), both follow PixelMed's ColorUtilities:
// sRGB with the IEC 61966-2-1 4-digit matrix to XYZ, then CIELab relative to the D65 white (95.047, 100,
// 108.883), with no adaptation to the ICC PCS's D50. We do the same, in Double like highdicom, so values
// equal theirs (dcmqi computes in Float and may differ by 1 in the last unit; exact .5 ties round away
// from zero as in dcmqi's C round(), where highdicom's Python round() goes to even).
// DCMTK's dcmiod IODCIELabUtil uses a slightly different matrix and white point; dcmqi does not use it.
import Foundation

/// An 8-bit sRGB colour, as in dcmqi's `recommendedDisplayRGBValue`.
public struct RGBColor: Hashable, Sendable, CustomStringConvertible {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    public var components: [Int] { [Int(red), Int(green), Int(blue)] }
    public var description: String { "[\(red), \(green), \(blue)]" }
}

/// Recommended Display CIELab Value (0062,000D): three UInt16 scaled per PS3.3 C.10.7.1.1.
public struct CIELabColor: Hashable, Sendable, CustomStringConvertible {
    /// L* scaled from 0...100 to 0...65535.
    public var l: UInt16
    /// a* shifted by +128 and scaled from 0...255 to 0...65535 (0.0 is 32896).
    public var a: UInt16
    /// b* shifted and scaled like `a`.
    public var b: UInt16

    /// The stored (scaled) values, as they appear in the DICOM attribute.
    public init(l: UInt16, a: UInt16, b: UInt16) {
        self.l = l
        self.a = a
        self.b = b
    }

    /// Scales CIELab components into the DICOM encoding, rounding to nearest and clamping to range.
    public init(lStar: Double, aStar: Double, bStar: Double) {
        func scaled(_ v: Double) -> UInt16 { UInt16(min(max(v.rounded(), 0), 65535)) }
        self.init(l: scaled(lStar * 65535 / 100), a: scaled((aStar + 128) * 65535 / 255),
                  b: scaled((bStar + 128) * 65535 / 255))
    }

    /// The colour an sRGB triplet has in CIELab (see the header for the conversion chosen and why).
    public init(_ rgb: RGBColor) {
        let (x, y, z) = Self.xyz(fromSRGB: rgb)
        // CIE 1976 f(t) with PixelMed's constants (κ/116 = 7.787, ε = 0.008856).
        func f(_ t: Double) -> Double { t > 0.008856 ? cbrt(t) : 7.787 * t + 16.0 / 116 }
        let fx = f(x / Self.white.x), fy = f(y / Self.white.y), fz = f(z / Self.white.z)
        self.init(lStar: 116 * fy - 16, aStar: 500 * (fx - fy), bStar: 200 * (fy - fz))
    }

    /// L* in 0...100.
    public var lStar: Double { Double(l) * 100 / 65535 }
    /// a* in -128...127.
    public var aStar: Double { Double(a) * 255 / 65535 - 128 }
    /// b* in -128...127.
    public var bStar: Double { Double(b) * 255 / 65535 - 128 }

    /// The nearest sRGB colour. CIELab holds colours sRGB cannot show; those are clamped per channel,
    /// which is what a viewer does with a stored value no RGB template produced.
    public var rgb: RGBColor {
        func fInverse(_ t: Double) -> Double {
            let cube = t * t * t
            return cube > 0.008856 ? cube : (t - 16.0 / 116) / 7.787
        }
        let fy = (lStar + 16) / 116
        let x = Self.white.x * fInverse(fy + aStar / 500)
        let y = Self.white.y * fInverse(fy)
        let z = Self.white.z * fInverse(fy - bStar / 200)
        return Self.sRGB(fromX: x, y: y, z: z)
    }

    /// The stored values, in attribute order.
    public var components: [Int] { [Int(l), Int(a), Int(b)] }
    public var description: String { "[\(l), \(a), \(b)]" }

    // D65 reference white, 2° observer, on the 0...100 scale PixelMed/dcmqi/highdicom use.
    private static let white = (x: 95.047, y: 100.0, z: 108.883)

    private static func xyz(fromSRGB c: RGBColor) -> (Double, Double, Double) {
        func linear(_ v: UInt8) -> Double {
            let s = Double(v) / 255
            return (s > 0.04045 ? pow((s + 0.055) / 1.055, 2.4) : s / 12.92) * 100
        }
        let r = linear(c.red), g = linear(c.green), b = linear(c.blue)
        return (r * 0.4124 + g * 0.3576 + b * 0.1805,
                r * 0.2126 + g * 0.7152 + b * 0.0722,
                r * 0.0193 + g * 0.1192 + b * 0.9505)
    }

    private static func sRGB(fromX x: Double, y: Double, z: Double) -> RGBColor {
        let (x, y, z) = (x / 100, y / 100, z / 100)
        func encoded(_ v: Double) -> UInt8 {
            let s = v > 0.0031308 ? 1.055 * pow(v, 1 / 2.4) - 0.055 : 12.92 * v
            return UInt8(min(max((s * 255).rounded(), 0), 255))
        }
        return RGBColor(encoded(x * 3.2406 - y * 1.5372 - z * 0.4986),
                        encoded(-x * 0.9689 + y * 1.8758 + z * 0.0415),
                        encoded(x * 0.0557 - y * 0.2040 + z * 1.0570))
    }
}

extension RGBColor {
    /// The Recommended Display CIELab Value for this colour.
    public var cieLab: CIELabColor { CIELabColor(self) }
}
