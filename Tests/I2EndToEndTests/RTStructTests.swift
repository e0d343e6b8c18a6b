// The objects nifti2seg derives besides SEG. Overlay series: dciodvfy, positions, colours, Orthanc.
// RT Structure Sets both ways, against real peers: dciodvfy; rt-utils and dcmrtstruct2nii reading what
// i2 writes (every ROI exactly its label, holes, islands, pixels touching at a corner, single pixels);
// i2 reading what rt-utils writes and what a clinical planning system wrote (dicompyler-core's Eclipse
// export, volumes against dicompyler-core's); Orthanc storing it in the CT's study; and the errors a
// structure set that cannot be placed must give. Peers: .venv (rt-utils), .venv-rt (dcmrtstruct2nii and
// dicompyler-core, which need pydicom < 3); both made by scripts/install-deps.sh.
import Foundation
import XCTest
import I2TestSupport

final class RTStructTests: E2ECase {
    /// `.venv-rt/bin/python3`, or a failure telling how to make it.
    func pythonRT() throws -> String {
        let p = E2E.root + "/.venv-rt/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: p) else {
            throw TestSupport.Missing("run 'bash scripts/install-deps.sh' (creates .venv-rt with dcmrtstruct2nii and dicompyler-core)")
        }
        return p
    }

    func rtstruct(_ s: (ct: String, labels: String, meta: String), _ name: String = "rt.dcm", _ extra: [String] = []) throws -> String {
        let out = path(name)
        let r = try E2E.i2(["nifti2seg", "--ref", s.ct, "--meta", s.meta, s.labels, "--as", "rtstruct", "-o", out] + extra)
        XCTAssertEqual(E2E.lines(r.stdout), [out])
        return out
    }

    func testWrittenStructureSetIsValidAndEveryReaderRestoresTheLabelMap() throws {
        let s = try series()
        let rt = try rtstruct(s)
        let v = try TestSupport.run(try TestSupport.tool("dciodvfy", package: "dicom3tools"), [rt])
        XCTAssertEqual((v.stdout + v.stderr).split(separator: "\n").filter { $0.hasPrefix("Error") }, [], v.stdout + v.stderr)
        // rt-utils (slices by SOP UID) and dcmrtstruct2nii (slices by z, contours XOR-ed): each ROI exactly its label.
        let u = try E2E.py(["rt_peers.py", "rtutils-compare", s.ct, rt, s.labels, s.meta])
        XCTAssertEqual(u.status, 0, u.stderr)
        let d = try TestSupport.run(try pythonRT(), [E2E.tools + "/rt_peers.py", "dcmrtstruct2nii-compare", rt, s.ct, s.labels, s.meta, try mkdir("d2n")])
        XCTAssertEqual(d.status, 0, d.stderr)
        // i2's own reading: the label map back, its gapped values (1, 2, 5) included, and dcmqi JSON.
        try E2E.i2(["seg2nifti", rt, "--ref", s.ct, "-o", path("back.nii.gz")])
        try E2E.assertSameImage(path("back.nii.gz"), s.labels)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("back.json")))) as? [String: Any]
        let segments = (json?["segmentAttributes"] as? [[[String: Any]]])?.first ?? []
        XCTAssertEqual(segments.compactMap { $0["labelID"] as? Int }, [1, 2, 5])
        XCTAssertEqual(segments.compactMap { $0["SegmentLabel"] as? String }, ["Ring", "Islands", "Specks"])
        XCTAssertEqual(segments.first?["recommendedDisplayRGBValue"] as? [Int], [255, 0, 0])
    }

    /// --as seg,rtstruct: both objects in the directory -o names, both paths printed; UIDs distinct from
    /// each other and the same on a rerun (a PACS replaces the earlier objects).
    func testSegAndStructureSetTogether() throws {
        let s = try series()
        func run(_ dir: String) throws -> [String] {
            let r = try E2E.i2(["nifti2seg", "--ref", s.ct, "--meta", s.meta, s.labels, "--as", "seg,rtstruct", "-o", dir])
            XCTAssertEqual(E2E.lines(r.stdout), [dir + "/seg.dcm", dir + "/rtstruct.dcm"])
            return try E2E.lines(r.stdout).map { f in
                let d = try TestSupport.run(try TestSupport.tool("dcmdump", package: "dcmtk"), ["+P", "0020,000e", "+P", "0008,0018", f])
                return d.stdout
            }
        }
        let first = try run(path("a")), second = try run(path("b"))
        XCTAssertEqual(first, second)
        XCTAssertNotEqual(first[0], first[1])
        let bad = try E2E.i2(["nifti2seg", "--ref", s.ct, "--meta", s.meta, s.labels, "--as", "seg,gspr", "-o", path("c")], expect: 2)
        XCTAssertTrue(bad.stderr.contains("--as: \"gspr\" is not one of seg, rtstruct, overlay, sr"), bad.stderr)
    }

    /// rt-utils writes contours through the boundary pixels' centres (OpenCV), holes as separate
    /// contours: i2 (a centre on a contour counts as inside, even-odd inside) reads each ROI back exactly.
    func testStructureSetWrittenByRtUtilsReadsBackExactly() throws {
        let s = try series()
        let w = try E2E.py(["rt_peers.py", "rtutils-write", s.ct, s.labels, s.meta, path("rtutils.dcm")])
        XCTAssertEqual(w.status, 0, w.stderr)
        try E2E.i2(["seg2nifti", path("rtutils.dcm"), "--ref", s.ct, "-o", path("from-rtutils.nii.gz")])
        let c = try E2E.py(["rt_peers.py", "compare-by-name", path("from-rtutils.nii.gz"), path("from-rtutils.json"), s.labels, s.meta])
        XCTAssertEqual(c.status, 0, c.stderr)
    }

    /// plastimatch (Debian) writes an ROI with a hole as one "keyholed" contour (the hole joined to the
    /// outline by a cut of no width), islands as contours of their own: i2 reads every ROI back exactly.
    /// Reading i2's structure set, plastimatch restores the ROIs without holes exactly; it fills the ring's
    /// hole (its rule is the union of contours, not the even-odd rule of PS3.3 C.8.8.6 that i2 writes for):
    /// exactly the hole's 8x8 pixels on each of the 12 slices, nothing else.
    func testPlastimatchStructureSetsBothWays() throws {
        _ = try TestSupport.tool("plastimatch", package: "plastimatch")
        let s = try series()
        let w = try E2E.py(["rt_peers.py", "plastimatch-write", s.ct, s.labels, s.meta, path("plm")])
        XCTAssertEqual(w.status, 0, w.stderr)
        let rt = w.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try E2E.i2(["seg2nifti", rt, "--ref", s.ct, "-o", path("from-plm.nii.gz")])
        let c = try E2E.py(["rt_peers.py", "compare-by-name", path("from-plm.nii.gz"), path("from-plm.json"), s.labels, s.meta])
        XCTAssertEqual(c.status, 0, c.stderr)
        let mine = try rtstruct(s)
        let r = try E2E.py(["rt_peers.py", "plastimatch-compare", mine, s.ct, s.labels, s.meta, try mkdir("plm-read")])
        XCTAssertEqual(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines), "MISMATCH Ring: \(8 * 8 * 12) voxels differ")
    }

    /// A clinical structure set (Varian Eclipse, via dicompyler-core's test data) on its CT grid: every
    /// ROI of 10 cm3 or more within 1% of dicompyler-core's volume (its plane areas summed in full), the
    /// small ones within 3% (40 to 150 voxels); the empty ROI reported; overlapping ROIs (BODY holds the
    /// organs) refused as one label map, naming them.
    func testClinicalStructureSetVolumesAgreeWithDicompylerCore() throws {
        let rtss = TestSupport.fixture("dicompyler/rtss.dcm")
        let ct = path("ct")
        let made = try E2E.py(["rt_peers.py", "clinical-ct", TestSupport.fixture("dicompyler/ct.0.dcm"), rtss, ct])
        XCTAssertEqual(made.status, 0, made.stderr)
        let r = try E2E.i2(["seg2nifti", rtss, "--ref", ct, "--per-segment", "-o", path("roi.nii.gz")])
        XCTAssertTrue(r.stderr.contains("ROI 2 ('Areola') has no closed contour"), r.stderr)
        let d = try TestSupport.run(try pythonRT(), [E2E.tools + "/rt_peers.py", "dicompyler-volumes", rtss])
        XCTAssertEqual(d.status, 0, d.stderr)
        var reference: [String: Double] = [:]
        for line in E2E.lines(d.stdout) {
            let f = line.split(separator: "\t")
            reference[String(f[0])] = Double(f[1])
        }
        XCTAssertEqual(reference.count, 9)
        let measured = try E2E.pyCode("""
            import sys, json, numpy as np, nibabel as nib
            m = json.load(open(sys.argv[1])); d = sys.argv[1].rsplit('/', 1)[0]
            for f, a in zip(m['segmentAttributesFileMapping'], m['segmentAttributes']):
                img = nib.load(d + '/' + f)
                print(a[0]['SegmentLabel'] + '\\t' + str((np.asanyarray(img.dataobj) > 0).sum() * abs(np.linalg.det(img.affine[:3, :3])) / 1000))
            """, [path("roi.json")])
        var checked = 0
        for line in measured.split(separator: "\n") {
            let f = line.split(separator: "\t")
            guard let want = reference[String(f[0])], let got = Double(f[1]) else { continue }
            let tolerance = want >= 10 ? 0.01 : 0.03
            XCTAssertLessThanOrEqual(abs(got - want) / want, tolerance, "\(f[0]): i2 \(got) cm3, dicompyler-core \(want) cm3")
            checked += 1
        }
        XCTAssertEqual(checked, 9)
        let one = try E2E.i2(["seg2nifti", rtss, "--ref", ct, "-o", path("one.nii.gz")], expect: 1)
        XCTAssertTrue(one.stderr.contains("('BODY')") && one.stderr.contains("overlap") && one.stderr.contains("--per-segment"), one.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("one.nii.gz")))
    }

    /// Orthanc stores the structure set (sent with i2 send) in the CT's study.
    func testOrthancStoresTheStructureSetInTheCTStudy() throws {
        let s = try series()
        let rt = try rtstruct(s)
        let orthanc = try OrthancPeer()
        defer { orthanc.stop() }
        let ct = try E2E.list(s.ct).map { try orthanc.upload(s.ct + "/" + $0) }
        try E2E.i2(["send", "--to", orthanc.address, rt])
        let series = try JSONSerialization.jsonObject(with: try orthanc.get("/instances/\(ct[0])/series")) as? [String: Any]
        let study = try XCTUnwrap(series?["ParentStudy"] as? String)
        let all = try JSONSerialization.jsonObject(with: try orthanc.get("/studies/\(study)/series")) as? [[String: Any]] ?? []
        XCTAssertEqual(all.compactMap { ($0["MainDicomTags"] as? [String: Any])?["Modality"] as? String }.sorted(), ["CT", "RTSTRUCT"])
    }

    /// What cannot be placed fails naming the file and the reason, and writes nothing: no --ref; a
    /// contour between slices; ContourData that is not x, y, z triples; a frame of reference not the
    /// series'.
    func testStructureSetsThatCannotBePlacedFailLoudly() throws {
        let s = try series()
        let rt = try rtstruct(s)
        let noRef = try E2E.i2(["seg2nifti", rt, "-o", path("x.nii.gz")], expect: 2)
        XCTAssertTrue(noRef.stderr.contains("--ref"), noRef.stderr)
        let cases: [(String, String, String)] = [
            ("between", "c = ds.ROIContourSequence[0].ContourSequence[0]; d = [float(v) for v in c.ContourData]; d[2::3] = [v + 0.5 * sp for v in d[2::3]]; c.ContourData = d",
             "lies on no slice"),
            ("pairs", "c = ds.ROIContourSequence[0].ContourSequence[0]; c.ContourData = list(c.ContourData)[:-1]", "not a list of x, y, z numbers"),
            ("frame", "ds.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID = '1.2.3.4'", "frame of reference"),
        ]
        for (name, edit, message) in cases {
            let bad = path(name + ".dcm")
            try E2E.pyCode("""
                import sys, pydicom
                ds = pydicom.dcmread(sys.argv[1]); sp = 1.25
                \(edit)
                ds.save_as(sys.argv[2])
                """, [rt, bad])
            let r = try E2E.i2(["seg2nifti", bad, "--ref", s.ct, "-o", path(name + ".nii.gz")], expect: 1)
            XCTAssertTrue(r.stderr.contains(bad) && r.stderr.contains(message), "\(name): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path(name + ".nii.gz")), name)
        }
    }

    /// --as overlay: one RGB secondary capture per source slice, at its position (within 1e-3 mm), in its
    /// frame of reference, BurnedInAnnotation YES; a label voxel is the windowed gray blended half and
    /// half with its colour, any other voxel the windowed gray; outline paints only the boundary; dciodvfy
    /// finds no error; Orthanc stores the series in the CT's study.
    func testOverlaySeries() throws {
        let s = try series()
        let dir = path("overlay")
        let r = try E2E.i2(["nifti2seg", "--ref", s.ct, "--meta", s.meta, s.labels, "--as", "overlay", "--window", "40,400", "-o", dir])
        let files = E2E.lines(r.stdout)
        XCTAssertEqual(files.count, 12)
        let v = try TestSupport.run(try TestSupport.tool("dciodvfy", package: "dicom3tools"), [files[0]])
        XCTAssertEqual((v.stdout + v.stderr).split(separator: "\n").filter { $0.hasPrefix("Error") }, [], v.stdout + v.stderr)
        try E2E.pyCode("""
            import sys, os, numpy as np, pydicom, nibabel as nib
            ct = [pydicom.dcmread(os.path.join(sys.argv[1], f)) for f in os.listdir(sys.argv[1])]
            ov = [pydicom.dcmread(f) for f in sys.argv[4:]]
            lab = np.asanyarray(nib.load(sys.argv[2]).dataobj)[:, ::-1, :]   # [column, row, slice], rows as DICOM
            n = np.cross(np.array(ct[0].ImageOrientationPatient[:3], float), np.array(ct[0].ImageOrientationPatient[3:], float))
            ct.sort(key=lambda d: float(np.dot(n, np.array(d.ImagePositionPatient, float))))
            assert len(ov) == len(ct), (len(ov), len(ct))
            colour = {1: (255, 0, 0), 2: (0, 255, 0), 5: (0, 0, 255)}
            for k, (o, c) in enumerate(zip(ov, ct)):
                assert o.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7" and o.PhotometricInterpretation == "RGB" and o.BurnedInAnnotation == "YES"
                assert o.FrameOfReferenceUID == c.FrameOfReferenceUID and o.StudyInstanceUID == c.StudyInstanceUID
                assert np.allclose(np.array(o.ImagePositionPatient, float), np.array(c.ImagePositionPatient, float), atol=1e-3), (k, o.ImagePositionPatient, c.ImagePositionPatient)
                assert np.allclose(np.array(o.ImageOrientationPatient, float), np.array(c.ImageOrientationPatient, float), atol=1e-4)
                assert o.SourceImageSequence[0].ReferencedSOPInstanceUID == c.SOPInstanceUID
                hu = c.pixel_array * float(c.RescaleSlope) + float(c.RescaleIntercept)
                gray = np.clip(np.floor((hu - (40 - 200)) / 400 * 255 + 0.5), 0, 255).astype(int)   # half up, as i2 rounds
                rgb = o.pixel_array.astype(int)
                L = lab[:, :, k].T
                for value, col in colour.items():
                    m = L == value
                    assert m.any()
                    for ch in range(3):
                        want = (gray[m] + col[ch] + 1) // 2
                        assert np.array_equal(rgb[..., ch][m], want), (k, value, ch)
                rest = L == 0
                for ch in range(3):
                    assert np.array_equal(rgb[..., ch][rest], gray[rest]), (k, ch)
            """, [s.ct, s.labels, ""] + files)
        // Outline: interior voxels of the ring keep the gray, its boundary is pure red.
        let outline = path("outline")
        let o = try E2E.i2(["nifti2seg", "--ref", s.ct, "--meta", s.meta, s.labels, "--as", "overlay", "--overlay-style", "outline", "-o", outline])
        try E2E.pyCode("""
            import sys, numpy as np, pydicom
            px = pydicom.dcmread(sys.argv[1]).pixel_array
            # rt_peers.py labels: the ring is columns 10..39, rows (in i2's order) 12..43, so DICOM rows 116..147.
            assert tuple(px[147 - 0, 10]) == (255, 0, 0), tuple(px[147, 10])
            assert tuple(px[140, 15])[0] == tuple(px[140, 15])[1], tuple(px[140, 15])   # inside the ring: gray
            """, [E2E.lines(o.stdout)[0]])
        let orthanc = try OrthancPeer()
        defer { orthanc.stop() }
        let ct = try E2E.list(s.ct).map { try orthanc.upload(s.ct + "/" + $0) }
        try E2E.i2(["send", "--to", orthanc.address] + files)
        let seriesInfo = try JSONSerialization.jsonObject(with: try orthanc.get("/instances/\(ct[0])/series")) as? [String: Any]
        let study = try XCTUnwrap(seriesInfo?["ParentStudy"] as? String)
        let all = try JSONSerialization.jsonObject(with: try orthanc.get("/studies/\(study)/series")) as? [[String: Any]] ?? []
        XCTAssertEqual(all.count, 2)
        let overlay = all.first { (($0["MainDicomTags"] as? [String: Any])?["SeriesDescription"] as? String)?.hasPrefix("i2 overlay") == true }
        XCTAssertEqual((overlay?["Instances"] as? [Any])?.count, 12)
    }
}

extension E2ECase {
    /// A generated 12-slice CT, its `i2 convert` NIfTI and a label map on it (rt_peers.py labels): labels
    /// 1 (a ring), 2 (islands, a diagonal pair), 5 (single pixels and a one-pixel bar).
    func series() throws -> (ct: String, labels: String, meta: String) {
        let ct = path("ct")
        try E2E.makeSeries(ct)
        try E2E.i2(["convert", ct, path("ct.nii.gz")])
        let r = try E2E.py(["rt_peers.py", "labels", path("ct.nii.gz"), path("labels.nii.gz"), path("meta.json")])
        XCTAssertEqual(r.status, 0, r.stderr)
        return (ct, path("labels.nii.gz"), path("meta.json"))
    }
}
