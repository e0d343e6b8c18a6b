// Diffusion's plan and text, for a volume in dcm2niix's own voxel axes (rows flipped: the row direction,
// the column direction reversed, the slice normal): the .bvec text must then be dcm2niix's byte for byte.
// The expected texts are dcm2niix v1.0.20220720's output on Tests/Tools/make_dwi.py series with the same
// orientation and encodings (`make_dwi.py X --vendor siemens --oblique 30`, `--vendor ge --iop 0,1,0,0,0,-1`,
// `--vendor philips --trace`).
import XCTest
@testable import I2Core
@testable import I2Model

final class DiffusionTests: XCTestCase {
    static let directions: [(Double, [Double])] = [(0, [0, 0, 0])] + [
        [1, 0, 0], [0, 1, 0], [0, 0, 1], [0.707107, 0.707107, 0], [0.57735, -0.57735, 0.57735], [-0.267261, 0.534522, 0.801784],
    ].map { (1000, $0) }

    /// One slice per volume, each volume with one encoding.
    func stack(_ iop: [Double], vendor: String, frame: DiffusionEncoding.Frame = .patient,
               encodings: [(Double, [Double])] = directions) -> SliceStack {
        let slices = encodings.enumerated().map { i, e -> SliceHeader in
            var s = SliceHeader(path: "f\(i)", sopInstanceUID: "\(i)", seriesInstanceUID: "s", rows: 8, columns: 8,
                                pixelSpacing: [2, 2], orientation: iop, position: .zero)
            s.diffusion = DiffusionEncoding(bValue: e.0, gradient: e.1, frame: frame, vendor: vendor,
                                            patientPosition: "HFS", phaseEncoding: "COL")
            return s
        }
        return SliceStack(name: "s", suffix: "", slices: slices, volumes: encodings.count)
    }

    /// dcm2niix's output axes for `iop`: row, reversed column, normal.
    func dcm2niixAxes(_ iop: [Double]) -> Matrix3 {
        let r = Vector3(iop[0], iop[1], iop[2]), c = Vector3(iop[3], iop[4], iop[5])
        return Matrix3(columns: [r.normalized, (c * -1).normalized, r.cross(c).normalized])
    }

    func text(_ s: SliceStack, direction: Matrix3? = nil) throws -> (String, String?) {
        let plan = try XCTUnwrap(Diffusion.plan(s))
        return Diffusion.text(Diffusion.vectors(plan, direction: direction ?? dcm2niixAxes(s.first.orientation)).entries,
                              writeBvec: plan.writeBvec)
    }

    func testSiemensObliqueIsDcm2niixText() throws {
        let iop = [0.875595, 0.420031, -0.238552, -0.381753, 0.904304, 0.191048]
        let (bval, bvec) = try text(stack(iop, vendor: "siemens"))
        XCTAssertEqual(bval, "0 1000 1000 1000 1000 1000 1000\n")
        XCTAssertEqual(bvec, """
            0 0.875595 0.420031 -0.238552 0.916146 0.125292 -0.200764
            0 0.381753 -0.904304 -0.191048 -0.369499 0.632204 -0.738577
            0 0.29597 -0.0762127 0.952152 0.155392 0.764605 0.643582

            """)
    }

    func testGESagittalIsDcm2niixText() throws {
        let (_, bvec) = try text(stack([0, 1, 0, 0, 0, -1], vendor: "ge", frame: .geImage))
        XCTAssertEqual(bvec, """
            0 1 0 0 0.707107 0.57735 -0.267261
            0 0 -1 0 -0.707107 0.57735 -0.534522
            0 0 0 -1 0 -0.57735 -0.801784

            """)
    }

    /// The same directions for a volume with rows not flipped (positive determinant): the vectors are the
    /// voxel-axis components with y and z mirrored (FSL's rule, in dcm2niix's sign choice).
    func testPositiveDeterminantMirrorsYAndZ() throws {
        let iop = [1.0, 0, 0, 0, 1, 0]
        let (_, bvec) = try text(stack(iop, vendor: "siemens"), direction: .identity)
        XCTAssertEqual(bvec, """
            0 1 0 0 0.707107 0.57735 -0.267261
            0 0 -1 0 -0.707107 0.57735 -0.534522
            0 0 0 -1 0 -0.57735 -0.801784

            """)
    }

    func testPhilipsIsotropicVolumeIsDropped() throws {
        let s = stack([1, 0, 0, 0, 1, 0], vendor: "philips", encodings: Self.directions + [(1000, [0, 0, 0])])
        let plan = try XCTUnwrap(Diffusion.plan(s))
        XCTAssertEqual(plan.droppedVolumes, [7])
        XCTAssertEqual(Diffusion.keep(plan, of: s).volumes, 7)
        XCTAssertTrue(plan.notes.contains { $0.contains("ignoring 1 derived diffusion volume(s)") }, "\(plan.notes)")
    }

    /// GE: a b>0 volume without a direction is a trace image (dropped) when UserData24, the number of
    /// directions, is 0; a b=0 otherwise (dcm2niix's numberOfDiffusionDirectionGE).
    func testGETraceVolumeDependsOnUserData24() throws {
        var s = stack([1, 0, 0, 0, 1, 0], vendor: "ge", frame: .geImage, encodings: Self.directions + [(1000, [0, 0, 0])])
        let kept = try XCTUnwrap(Diffusion.plan(s))
        XCTAssertEqual(kept.droppedVolumes, [])
        XCTAssertEqual(kept.entries.last?.b, 0)
        for i in s.slices.indices { s.slices[i].diffusion?.geDirections = 0 }
        XCTAssertEqual(try XCTUnwrap(Diffusion.plan(s)).droppedVolumes, [7])
    }

    func testNoTablesWithoutVariation() {
        // One b-value and one direction everywhere (e.g. GE fMRI, whose (0043,1039) reads b=0): not a DWI.
        XCTAssertNil(Diffusion.plan(stack([1, 0, 0, 0, 1, 0], vendor: "ge", frame: .geImage,
                                          encodings: Array(repeating: (0, [0, 0, 0]), count: 5))))
        // Fewer than three volumes and three images (dcm2niix's rule).
        XCTAssertNil(Diffusion.plan(stack([1, 0, 0, 0, 1, 0], vendor: "siemens", encodings: Array(Self.directions.prefix(2)))))
    }

    func testBZeroPlusTracePairIsKept() throws {
        // dcm2niix keeps a b=0 + trace pair whole (two volumes, here of two slices each).
        var s = stack([1, 0, 0, 0, 1, 0], vendor: "philips", encodings: [(0, [0, 0, 0]), (1000, [0, 0, 0])])
        s.slices = s.slices.flatMap { [$0, $0] }
        let plan = try XCTUnwrap(Diffusion.plan(s))
        XCTAssertEqual(plan.droppedVolumes, [])
        XCTAssertEqual(Diffusion.text(plan.entries, writeBvec: plan.writeBvec).bval, "0 1000\n")
        // Three volumes, one of them isotropic: that one goes.
        let three = stack([1, 0, 0, 0, 1, 0], vendor: "philips", encodings: [(0, [0, 0, 0]), (1000, [0, 0, 0]), (0, [0, 0, 0])])
        XCTAssertEqual(try XCTUnwrap(Diffusion.plan(three)).droppedVolumes, [1])
    }
}
