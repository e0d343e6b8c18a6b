// VolumeToDicom: a volume written as a derived series must read back (through the same scan/assembly
// code `i2 convert` uses) with the same grid and values, inside the reference's patient and study,
// and pass dciodvfy. Also the DS formatter and UID generation it relies on.
import Foundation
import XCTest
@testable import I2Core
import I2DICOM
import I2Model
import I2TestSupport

final class VolumeToDicomTests: XCTestCase {
    let ctRef = TestSupport.fixture("dcmqi/ct-3slice")

    /// Reads a series directory the way `i2 convert` does.
    func readSeries(_ dir: String) throws -> (Volume, SliceStack) {
        let (files, errors) = DicomScan.files(in: [dir])
        XCTAssertTrue(errors.isEmpty, "\(errors)")
        let scan = DicomScan(files: files)
        XCTAssertTrue(scan.errors.isEmpty, "\(scan.errors)")
        let stacks = SeriesAssembly.stacks(scan.slices)
        XCTAssertEqual(stacks.count, 1)
        let stack = try XCTUnwrap(stacks.first)
        return (try DicomToVolume.read(stack, geometry: SeriesAssembly.geometry(stack)), stack)
    }

    func assertSameGrid(_ a: Volume, _ b: Volume, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.size, b.size, file: file, line: line)
        for i in 0..<3 {
            XCTAssertEqual(a.spacing[i], b.spacing[i], accuracy: 1e-4, "spacing[\(i)]", file: file, line: line)
            XCTAssertEqual(a.origin[i], b.origin[i], accuracy: 1e-4, "origin[\(i)]", file: file, line: line)
            for r in 0..<3 {
                XCTAssertEqual(a.direction[r, i], b.direction[r, i], accuracy: 1e-4, "direction[\(r),\(i)]", file: file, line: line)
            }
        }
    }

    func values(_ v: Volume) -> [Double] {
        var out: [Double] = []
        v.forEachValue(in: 0..<v.voxelCount) { _, x in out.append(x) }
        return out
    }

    /// dciodvfy (dicom3tools) reports no errors for `path`; warnings are allowed.
    func assertValidIOD(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let tool = try TestSupport.tool("dciodvfy", package: "dicom3tools")
        let r = try TestSupport.run(tool, [path])
        let errors = (r.stdout + r.stderr).split(separator: "\n").filter { $0.contains("Error") }
        XCTAssertTrue(errors.isEmpty, "dciodvfy \(path):\n" + errors.joined(separator: "\n"), file: file, line: line)
    }

    /// A copy of the CT reference's first slice posing as another SOP class.
    func reference(as sopClass: String, modality: String, in dir: String) throws -> String {
        let f = try DicomFile(path: ctRef + "/01.dcm")
        try f.set(.sopClassUID, sopClass)
        try f.set(.modality, modality)
        let path = dir + "/ref-\(modality).dcm"
        try f.save(to: path)
        return path
    }

    /// An oblique 4x5x3 grid (rotated about two axes), right-handed so slice order survives re-sorting.
    func obliqueVolume(_ type: VoxelType, _ value: (Int) -> Double) -> Volume {
        let (a, b) = (20.0 * .pi / 180, 15.0 * .pi / 180)
        let rz = [Vector3(cos(a), sin(a), 0), Vector3(-sin(a), cos(a), 0), Vector3(0, 0, 1)]
        func rotX(_ v: Vector3) -> Vector3 { Vector3(v.x, v.y * cos(b) - v.z * sin(b), v.y * sin(b) + v.z * cos(b)) }
        var v = Volume(size: [4, 5, 3], spacing: [0.7, 0.9, 2.5], origin: Vector3(-12.25, 30.5, 101.125),
                       direction: Matrix3(columns: rz.map(rotX)), voxelType: type)
        let count = v.voxelCount
        v.data.withUnsafeMutableBytes { raw in
            for i in 0..<count {
                switch type {
                case .float32: raw.bindMemory(to: Float.self)[i] = Float(value(i))
                case .int32: raw.bindMemory(to: Int32.self)[i] = Int32(value(i))
                case .uint8: raw.bindMemory(to: UInt8.self)[i] = UInt8(value(i))
                default: fatalError("not used")
                }
            }
        }
        return v
    }

    func testRealCTRoundTrip() throws {
        let out = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let (volume, refStack) = try readSeries(ctRef)
        let paths = try VolumeToDicom.write(volume, reference: ctRef, into: out)
        XCTAssertEqual(paths.map { ($0 as NSString).lastPathComponent }, ["IM_0001.dcm", "IM_0002.dcm", "IM_0003.dcm"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).count, 3, "no temporary files left")

        let (back, stack) = try readSeries(out)
        assertSameGrid(volume, back)
        // The values (a DICOM volume keeps stored integers plus its rescale; compare what they mean).
        let values = volume.scaleApplied(), backValues = back.scaleApplied()
        XCTAssertEqual(backValues.voxelType, values.voxelType)
        XCTAssertTrue(backValues.data == values.data, "voxel values differ")

        let ref = try DicomFile(path: refStack.first.path)
        var sops = Set<String>()
        for (k, path) in paths.enumerated() {
            let f = try DicomFile(path: path)
            for tag: Tag in [.patientID, .patientName, .studyInstanceUID, .frameOfReferenceUID, .modality] {
                XCTAssertEqual(f.string(tag), ref.string(tag), "\(tag.path) copied")
            }
            XCTAssertEqual(f.string(.sopClassUID), VolumeToDicom.ctImage)
            XCTAssertNotEqual(f.string(.seriesInstanceUID), ref.string(.seriesInstanceUID))
            XCTAssertEqual(f.string(.seriesInstanceUID), stack.first.seriesInstanceUID)
            XCTAssertEqual(f.int(.seriesNumber), (ref.int(.seriesNumber) ?? 0) + 1000)
            XCTAssertEqual(f.int(.instanceNumber), k + 1)
            let sop = try XCTUnwrap(f.string(.sopInstanceUID))
            XCTAssertTrue(UID.isValid(sop), sop)
            XCTAssertTrue(sops.insert(sop).inserted, "duplicate SOPInstanceUID \(sop)")
            // Same grid as the reference: each slice names the reference slice it was computed on.
            XCTAssertEqual(f.string(Tag.sourceImageSequence[0] / .referencedSOPInstanceUID), refStack.slices[k].sopInstanceUID)
            XCTAssertEqual(f.string(Tag.referencedSeriesSequence[0] / .seriesInstanceUID), ref.string(.seriesInstanceUID))
        }
        try assertValidIOD(paths[1])
    }

    /// Float values become int16 with a rescale; the error stays within half a quantization step.
    func testObliqueFloatVolumeRescaled() throws {
        let out = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let volume = obliqueVolume(.float32) { i in sin(Double(i)) * 1000.5 + 0.25 }
        let paths = try VolumeToDicom.write(volume, reference: ctRef, into: out)
        XCTAssertEqual(paths.count, 3)
        let (back, _) = try readSeries(out)
        assertSameGrid(volume, back)
        let (a, b) = (values(volume), values(back))
        let step = (a.max()! - a.min()!) / 65535
        for i in a.indices { XCTAssertEqual(a[i], b[i], accuracy: step / 2 + 1e-3, "voxel \(i)") }
        let f = try DicomFile(path: paths[0])
        XCTAssertNil(f.items(.sourceImageSequence), "an oblique grid has no source slice in the axial reference")
        try assertValidIOD(paths[0])
    }

    /// Integers that span at most 65536 values are stored without loss, shifted if need be.
    func testWideIntegersLossless() throws {
        let out = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let volume = obliqueVolume(.int32) { i in 100_000 + Double(i * 997 % 60_000) }
        _ = try VolumeToDicom.write(volume, reference: ctRef, into: out)
        let (back, _) = try readSeries(out)
        XCTAssertEqual(values(back), values(volume))
    }

    /// An MR reference keeps MR Image Storage (16 bits); anything else becomes Secondary Capture, which
    /// takes 8-bit pixels as they are. All must be valid IODs, rescaled or not.
    func testMRAndSecondaryCapture() throws {
        let dir = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bytes = obliqueVolume(.uint8) { i in Double(i * 7 % 256) }
        let floats = obliqueVolume(.float32) { i in Double(i) / 7 }
        let pet = "1.2.840.10008.5.1.4.1.1.128", sc = VolumeToDicom.secondaryCapture, mr = VolumeToDicom.mrImage
        for (n, (sopClass, modality, volume, expected, bits)) in [(mr, "MR", bytes, mr, 16), (pet, "PT", bytes, sc, 8),
                                                                  (mr, "MR", floats, mr, 16), (pet, "PT", floats, sc, 16)].enumerated() {
            let ref = try reference(as: sopClass, modality: modality, in: dir)
            let out = dir + "/\(n)"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let paths = try VolumeToDicom.write(volume, reference: ref, into: out)
            let f = try DicomFile(path: paths[0])
            XCTAssertEqual(f.string(.sopClassUID), expected)
            XCTAssertEqual(f.string(.modality), modality)
            XCTAssertEqual(f.int(.bitsAllocated), bits)
            let (back, _) = try readSeries(out)
            assertSameGrid(volume, back)
            let (a, b) = (values(volume), values(back))
            let tolerance = volume.voxelType.isFloat ? (a.max()! - a.min()!) / 131070 + 1e-6 : 0
            for i in a.indices { XCTAssertEqual(a[i], b[i], accuracy: tolerance, "case \(n) voxel \(i)") }
            try assertValidIOD(paths[2])
        }
    }

    func testFourDimensionalVolumeRejected() throws {
        let out = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let v = Volume(size: [4, 5, 3, 2], voxelType: .int16)
        XCTAssertThrowsError(try VolumeToDicom.write(v, reference: ctRef, into: out)) { e in
            XCTAssertTrue("\(e)".contains("only 3-D volumes are supported"), "\(e)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [])
    }

    /// dcmdump (DCMTK) parses the written PixelSpacing and ImagePositionPatient to the volume's values.
    func testDcmdumpReadsPlaneAttributes() throws {
        let dcmdump = try TestSupport.tool("dcmdump", package: "dcmtk")
        let out = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let volume = obliqueVolume(.float32) { Double($0) }
        let paths = try VolumeToDicom.write(volume, reference: ctRef, into: out)
        let r = try TestSupport.run(dcmdump, ["+P", "PixelSpacing", "+P", "ImagePositionPatient", paths[2]])
        XCTAssertEqual(r.status, 0, r.stderr)
        func parsed(_ name: String) -> [Double] {
            guard let line = r.stdout.split(separator: "\n").first(where: { $0.hasSuffix(name) }),
                  let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]") else { return [] }
            return line[line.index(after: open)..<close].split(separator: "\\").compactMap { Double($0) }
        }
        let expected = volume.origin + volume.direction.column(2) * (2 * volume.spacing[2])
        XCTAssertEqual(parsed("PixelSpacing"), [0.9, 0.7])
        let ipp = parsed("ImagePositionPatient")
        XCTAssertEqual(ipp.count, 3, r.stdout)
        for i in 0..<min(3, ipp.count) { XCTAssertEqual(ipp[i], expected[i], accuracy: 1e-9) }
    }

    func testDecimalStrings() throws {
        let cases: [Double] = [0, 1, -1024, 0.1, 2.5, 0.7071067811865476, -0.7071067811865476, 1.0 / 3,
                               -123456.789012345, 1e-7, -1.2345678901234e-5, 6.02214076e23, 65535, -2147483648]
        for x in cases {
            let s = try DS.format(x)
            XCTAssertLessThanOrEqual(s.count, 16, s)
            XCTAssertTrue(s.allSatisfy { "0123456789+-.eE".contains($0) }, s)
            let y = try XCTUnwrap(Double(s), s)
            XCTAssertEqual(y, x, accuracy: abs(x) * 1e-9, s)
        }
        XCTAssertEqual(try DS.format(2.5), "2.5")
        XCTAssertEqual(try DS.format(-1024), "-1024")
        XCTAssertEqual(try DS.format(0.1), "0.1")
        XCTAssertThrowsError(try DS.format(.nan))
    }

    func testUIDs() {
        let made = (0..<1000).map { _ in UID.make() }
        XCTAssertEqual(Set(made).count, made.count)
        for u in made { XCTAssertTrue(u.hasPrefix("2.25.") && UID.isValid(u), u) }
        XCTAssertEqual(UID.derived(from: "series-1/seg"), UID.derived(from: "series-1/seg"))
        XCTAssertNotEqual(UID.derived(from: "series-1/seg"), UID.derived(from: "series-2/seg"))
        XCTAssertTrue(UID.isValid(UID.derived(from: "")))
        XCTAssertFalse(UID.isValid("1.02.3"))
        XCTAssertFalse(UID.isValid("1..2"))
        XCTAssertFalse(UID.isValid("1.2." + String(repeating: "9", count: 61)))
        // The UUID-as-integer encoding: all ones is 2^128 - 1.
        XCTAssertEqual(UID.decimal([UInt8](repeating: 0xFF, count: 16)), "340282366920938463463374607431768211455")
        XCTAssertEqual(UID.decimal([0, 0, 1, 0]), "256")
    }
}
