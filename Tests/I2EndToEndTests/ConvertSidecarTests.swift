// i2 convert's JSON sidecar against dcm2niix's (Debian's dcm2niix, `-b y`, default `-ba y`) on the same
// input, key by key: every key dcm2niix writes must be in i2's sidecar with the same value (numbers
// within dcm2niix's %g printing; slice times exactly as dcm2niix prints them), except
// the keys listed per fixture as known gaps. Fixtures: Tests/Fixtures/dcm_qa (see its README entry).
import Foundation
import XCTest
import I2TestSupport

final class ConvertSidecarTests: E2ECase {
    /// Compares every dcm2niix JSON with the i2 JSON of the same echo and phase; prints one JSON object
    /// {dcm2niix file: {"missing": [...], "different": {key: [dcm2niix, i2]}, "matched": i2 file}}.
    static let compare = """
    import glob, json, os, sys
    ref_dir, i2_dir = sys.argv[1], sys.argv[2]
    def same(k, a, b):
        if isinstance(a, bool) or isinstance(b, bool): return a == b
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            # SliceTiming exactly as printed (dcm2niix's rounding of exact ties included: 0.046875 -> 0.04688)
            tol = 0 if k == 'SliceTiming' else 1e-5 * max(abs(a), abs(b))
            return abs(a - b) <= tol
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(same(k, x, y) for x, y in zip(a, b))
        return a == b
    mine = [(f, json.load(open(f))) for f in sorted(glob.glob(i2_dir + '/*.json'))]
    out = {}
    for rf in sorted(glob.glob(ref_dir + '/*.json')):
        ref = json.load(open(rf))
        key = lambda j: (j.get('EchoNumber'), 'PHASE' in j.get('ImageType', []), j.get('SeriesNumber'))
        cands = [(f, j) for f, j in mine if key(j) == key(ref)]
        if len(cands) != 1:
            out[os.path.basename(rf)] = {'error': 'i2 sidecars matching %s: %s' % (key(ref), [f for f, _ in cands])}
            continue
        f, j = cands[0]
        keys = [k for k in ref if k not in ('ConversionSoftware', 'ConversionSoftwareVersion')]
        out[os.path.basename(rf)] = {
            'matched': os.path.basename(f),
            'missing': sorted(k for k in keys if k not in j),
            'different': {k: [ref[k], j[k]] for k in keys if k in j and not same(k, ref[k], j[k])},
            'keys': len(keys)}
    print(json.dumps(out))
    """

    /// Runs dcm2niix and i2 on `fixture`; asserts equal sidecars except `knownMissing` / `knownDifferent`.
    /// `fixture`: a folder under Tests/Fixtures/dcm_qa, or `files` (paths under Tests/Fixtures) copied into one input folder.
    /// `input`: an input folder made by the test instead.
    func assertSidecarsMatch(_ fixture: String? = nil, files: [String] = [], outputs: Int, knownMissing: Set<String> = [], knownDifferent: Set<String> = [],
                             input given: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        var input = given ?? fixture.map { TestSupport.fixture("dcm_qa/" + $0) } ?? ""
        if fixture == nil && given == nil {
            input = try mkdir("input")
            for f in files { try FileManager.default.copyItem(atPath: TestSupport.fixture(f), toPath: input + "/" + (f as NSString).lastPathComponent) }
        }
        let ref = path("dcm2niix"), mine = try mkdir("i2")
        _ = try E2E.dcm2niix(input, into: ref, file: file, line: line)
        try E2E.i2(["convert", input, mine, "-f", "nii"], file: file, line: line)
        let text = try E2E.pyCode(Self.compare, [ref, mine], file: file, line: line)
        let result = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [String: Any]], file: file, line: line)
        XCTAssertEqual(result.count, outputs, "dcm2niix sidecars: \(result.keys.sorted())", file: file, line: line)
        for (name, r) in result {
            XCTAssertNil(r["error"], "\(name): \(r["error"] ?? "")", file: file, line: line)
            let missing = Set(r["missing"] as? [String] ?? []).subtracting(knownMissing)
            let different = (r["different"] as? [String: Any] ?? [:]).filter { !knownDifferent.contains($0.key) }
            XCTAssertTrue(missing.isEmpty, "\(name): keys dcm2niix writes that i2 does not: \(missing.sorted())", file: file, line: line)
            XCTAssertTrue(different.isEmpty, "\(name): values that differ (dcm2niix, i2): \(different)", file: file, line: line)
        }
    }

    /// Siemens VE11 mosaic EPI (2 volumes): CSA and ASCCONV keys, SliceTiming from MosaicRefAcqTimes,
    /// PhaseEncodingDirection, echo spacings and TotalReadoutTime.
    func testSiemensMosaicSidecarMatchesDcm2niix() throws {
        try assertSidecarsMatch("dcm_qa_nih/siemens_mosaic_epi_pe_ap", outputs: 1)
    }

    /// Siemens multi-echo GRE field map (classic, 3 positions x 2 echoes): one sidecar per echo with its
    /// EchoTime and EchoNumber; SliceTiming from the slices' AcquisitionTime.
    func testSiemensMultiEchoSidecarsMatchDcm2niix() throws {
        try assertSidecarsMatch(files: ["0001", "0001_e2", "0002", "0002_e2", "0003", "0003_e2"].map { "dcm_qa/me/2_me_FieldMap_GRE/\($0).dcm" }, outputs: 2)
    }

    /// Slice times that are exact binary ties at dcm2niix's printed precision: AcquisitionTime read as a C
    /// float (122028.6425 -> 122028.640625) makes 0.046875 s, which dcm2niix prints 0.04688 (and 0.0234375,
    /// 0.02344). The times of dcm_qa_me's me_FieldMap_GRE_2, where i2 once wrote 0.04687.
    func testSliceTimingTiesPrintedAsDcm2niix() throws {
        let input = try mkdir("me")
        let files = ["0001", "0001_e2", "0002", "0002_e2", "0003", "0003_e2"].map { input + "/\($0).dcm" }
        for f in files { try E2E.copy(TestSupport.fixture("dcm_qa/me/2_me_FieldMap_GRE/" + (f as NSString).lastPathComponent), f) }
        try E2E.edit(files, """
        n = int(ds.InstanceNumber)
        ds.AcquisitionTime = ['122028.597500', '122028.620000', '122028.642500'][(n - 1) % 3]
        """)
        try assertSidecarsMatch(outputs: 2, input: input)
    }

    /// Siemens XA enhanced EPI, one volume (dcm_qa_enh REST1 6_1.dcm): SliceTiming from each frame's
    /// TimeAfterStart (0021,1104), as dcm2niix reads it (0.195, 0, 0.2625, ...), not from
    /// FrameAcquisitionDateTime (0.16, 0, 0.32, ..., what i2 once wrote).
    func testSiemensXAEnhancedSingleVolumeSliceTimingMatchesDcm2niix() throws {
        try assertSidecarsMatch(files: ["dcm_qa/j2k/original.dcm"], outputs: 1)
    }

    /// Two XA enhanced volumes: dcm2niix takes the second volume's TimeAfterStart (the first's can be
    /// wrong, its issue 240), relative to the earliest; the first volume's FrameAcquisitionDateTime is
    /// scrambled here as de-identification leaves it, and must not matter.
    func testSiemensXAEnhancedSliceTimingFromTheSecondVolume() throws {
        let input = try mkdir("xa")
        let v1 = input + "/v1.dcm", v2 = input + "/v2.dcm"
        try E2E.copy(TestSupport.fixture("dcm_qa/j2k/original.dcm"), v1)
        try E2E.copy(TestSupport.fixture("dcm_qa/j2k/original.dcm"), v2)
        try E2E.edit([v1], """
        for f in ds.PerFrameFunctionalGroupsSequence:
            f.FrameContentSequence[0].FrameAcquisitionDateTime = '20181022083600.000000'
        """)
        try E2E.edit([v2], """
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = 2
        for i, f in enumerate(ds.PerFrameFunctionalGroupsSequence):
            f[0x0021, 0x11FE][0][0x0021, 0x1104].value = ['4.58', '4.42', '4.74', '4.58', '4.42', '4.74'][i]
            f.FrameContentSequence[0].TemporalPositionIndex = 2
        """)
        try assertSidecarsMatch(outputs: 1, input: input)
        let json = try XCTUnwrap(E2E.list(path("i2")).first { $0.hasSuffix(".json") })
        let keys = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("i2/" + json)))) as? [String: Any])
        XCTAssertEqual(keys["SliceTiming"] as? [Double], [0.16, 0, 0.32, 0.16, 0, 0.32])
    }

    /// Classic 4-D series whose volumes' AcquisitionTime disagree with RepetitionTime (dcm2niix issue 560,
    /// as Debian's v1.0.20220720 does it): beyond 50 ms the spacing of the times becomes pixdim[4] and the
    /// sidecar's RepetitionTime, the reported TR RepetitionTimeExcitation (RepetitionTimeInversion for IR,
    /// except Philips); GE's TR is kept, and so is a TR within 50 ms. Made by make_volume_times.py.
    func testTimeBetweenVolumesReEstimatedAsDcm2niix() throws {
        let read = """
        import sys, json, glob, nibabel
        for d in sys.argv[1:]:
            f = sorted(glob.glob(d + '/*.nii'))[0]
            j = json.load(open(f[:-4] + '.json'))
            print(repr(float(nibabel.load(f).header['pixdim'][4])), [j.get(k) for k in ('RepetitionTime', 'RepetitionTimeExcitation', 'RepetitionTimeInversion')])
        """
        for (manufacturer, step, ir, estimated) in [("SIEMENS", "1.8", false, true), ("Philips Medical Systems", "2.1", false, true),
                                                    ("SIEMENS", "4.0", true, true), ("Philips Medical Systems", "4.0", true, true),
                                                    ("GE MEDICAL SYSTEMS", "1.8", false, false), ("SIEMENS", "2.03", false, false)] {
            let name = "\(manufacturer.prefix(2))-\(step)\(ir ? "-ir" : "")"
            let input = path(name)
            let made = try E2E.py(["make_volume_times.py", input, manufacturer, step, "2000"] + (ir ? ["--ir"] : []))
            XCTAssertEqual(made.status, 0, made.stderr)
            let ref = path(name + "-ref"), mine = try mkdir(name + "-i2")
            _ = try E2E.dcm2niix(input, into: ref)
            let r = try E2E.i2(["convert", input, mine, "-f", "nii"])
            let values = E2E.lines(try E2E.pyCode(read, [ref, mine]))
            XCTAssertEqual(values.count, 2, "\(name): \(values)")
            XCTAssertEqual(values.first, values.last, "\(name): pixdim[4], RepetitionTime, -Excitation, -Inversion (dcm2niix, then i2)")
            XCTAssertEqual(values.first?.hasPrefix("2.0 "), !estimated, "\(name): \(values)")
            XCTAssertEqual(r.stderr.contains("issue 560"), estimated, r.stderr)
        }
    }

    /// dcm2niix's ProtocolName fallbacks, one rule for the output name (%p, {protocol}) and the sidecar:
    /// no ProtocolName → the SeriesDescription if longer than one character → the SequenceName, except
    /// Siemens'; "_MoCo" for motion-corrected images (ImageType ..._MOCO_...).
    func testProtocolNameFallbacksAsDcm2niix() throws {
        for (manufacturer, description, sequence, imageType) in [("GE MEDICAL SYSTEMS", "X", "ep2d", "ORIGINAL/PRIMARY/M/ND"),
                                                                 ("SIEMENS", "X", "ep2d", "ORIGINAL/PRIMARY/M/ND"),
                                                                 ("SIEMENS", "rest", "-", "ORIGINAL/PRIMARY/M/MOCO/ND"),
                                                                 ("Philips Medical Systems", "-", "-", "DERIVED/PRIMARY/MOCO/X")] {
            let input = path("\(manufacturer.prefix(2))-\(description)-\(sequence)")
            let made = try E2E.py(["make_volume_times.py", input, manufacturer, "2.0", "2000"])
            XCTAssertEqual(made.status, 0, made.stderr)
            try E2E.edit(try E2E.list(input).map { input + "/" + $0 }, """
            del ds.ProtocolName
            if '\(description)' == '-': del ds.SeriesDescription
            else: ds.SeriesDescription = '\(description)'
            if '\(sequence)' != '-': ds.SequenceName = '\(sequence)'
            ds.ImageType = '\(imageType)'.split('/')
            """)
            let ref = try mkdir(input + "-ref"), mine = try mkdir(input + "-i2")
            let dcm2niix = try TestSupport.tool("dcm2niix", package: "dcm2niix")
            let r = try TestSupport.run(dcm2niix, ["-b", "y", "-ba", "y", "-z", "n", "-f", "%p_%s", "-o", ref, input])
            XCTAssertEqual(r.status, 0, r.stderr)
            try E2E.i2(["convert", "--name", "{protocol}_{number}", "-f", "nii", input, mine])
            XCTAssertEqual(try E2E.list(mine), try E2E.list(ref), "\(input): names")
            let protocolNames = try E2E.pyCode("import sys, json, glob\nfor d in sys.argv[1:]: print([json.load(open(f)).get('ProtocolName') for f in glob.glob(d + '/*.json')])", [ref, mine])
            let lines = E2E.lines(protocolNames)
            XCTAssertEqual(lines.first, lines.last, "\(input): ProtocolName (dcm2niix, then i2)")
        }
    }

    /// UIH classic 4-D: SliceTiming from the first volume's AcquisitionTime (read as dcm2niix reads it, a C
    /// float: 0.37 s apart prints 0.36719), acquired interleaved, the second volume in another order; so the
    /// volumes' starts vary (FrameTimesStart, dcm2niix's issue 407), and ImageType ND gives
    /// NonlinearGradientCorrection false for UIH too.
    func testUIHClassicSliceTimingMatchesDcm2niix() throws {
        let input = path("uih")
        let made = try E2E.py(["make_volume_times.py", input, "UIH", "2.0", "2000"])
        XCTAssertEqual(made.status, 0, made.stderr)
        try E2E.edit(try E2E.list(input).map { input + "/" + $0 }, """
        n = int(ds.InstanceNumber) - 1
        v, s = n // 3, n % 3
        t = 10 * 3600 + v * 2.0 + ([0, 2, 1] if v == 0 else [2, 1, 0])[s] * 0.37
        ds.AcquisitionTime = '%02d%02d%09.6f' % (t // 3600, (t % 3600) // 60, t % 60)
        """)
        try assertSidecarsMatch(outputs: 1, input: input)
        let json = try XCTUnwrap(E2E.list(path("i2")).first { $0.hasSuffix(".json") })
        let keys = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("i2/" + json)))) as? [String: Any])
        XCTAssertEqual(keys["SliceTiming"] as? [Double], [0, 0.74219, 0.36719])
    }

    /// GE EPI (one volume, so no SliceTiming from dcm2niix either): standard keys, GE echo spacing
    /// (0043,102C), PhaseEncodingDirection from the polarity in the user-defined data (0043,102A), shims.
    func testGEEPISidecarMatchesDcm2niix() throws {
        try assertSidecarsMatch(files: (1...15).map { String(format: "dcm_qa/nih-ge/mr_0004/axial_epi_fmri_interleaved_i_to_s-%05d.dcm", $0) }, outputs: 1)
    }

    /// Philips enhanced (multi-frame) field map: values from the functional groups and from Philips'
    /// private per-frame attributes; echo numbers from the echo times (EchoNumber 1 and 2), no EchoTime for
    /// the 0 ms field map; dcm2niix's FIELDMAPHZ (both outputs) and REAL image types, Units Hz, and the
    /// last frame's ScanningSequence (RM: the frames say GR, then RM).
    func testPhilipsEnhancedSidecarMatchesDcm2niix() throws {
        try assertSidecarsMatch(files: ["dcm_qa_enh/Philips/IM_0027_fMAP.dcm"], outputs: 2)
    }

    /// Identifying values appear only with --sidecar-identifiers (dcm2niix's -ba n), and then as dcm2niix writes them.
    func testIdentifiersOnlyWithTheFlag() throws {
        let input = TestSupport.fixture("dcm_qa/dcm_qa_nih/siemens_mosaic_epi_pe_ap")
        let identifying = ["PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientWeight", "AccessionNumber",
                           "ReferringPhysicianName", "StudyID", "StudyInstanceUID", "SeriesInstanceUID", "AcquisitionDateTime"]
        let plain = try mkdir("plain"), flagged = try mkdir("flagged")
        try E2E.i2(["convert", input, plain, "-f", "nii"])
        try E2E.i2(["convert", "--sidecar-identifiers", input, flagged, "-f", "nii"])
        func keys(_ dir: String) throws -> [String: Any] {
            let json = try XCTUnwrap(E2E.list(dir).first { $0.hasSuffix(".json") })
            return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/" + json))) as? [String: Any])
        }
        let without = try keys(plain), with = try keys(flagged)
        XCTAssertEqual(Set(without.keys).intersection(identifying), [], "identifiers written without the flag")
        // dcm2niix -ba n on the same input: the identifying keys it writes are the ones i2 writes, same values.
        let ref = path("ref")
        let exe = try TestSupport.tool("dcm2niix", package: "dcm2niix")
        try FileManager.default.createDirectory(atPath: ref, withIntermediateDirectories: true)
        let r = try TestSupport.run(exe, ["-ba", "n", "-z", "n", "-f", "ref", "-o", ref, input])
        XCTAssertEqual(r.status, 0, r.stderr)
        let dcm = try keys(ref)
        let expected = Set(dcm.keys).intersection(identifying)
        XCTAssertFalse(expected.isEmpty)
        XCTAssertEqual(Set(with.keys).intersection(identifying), expected)
        for k in expected { XCTAssertEqual("\(with[k]!)", "\(dcm[k]!)", k) }
    }
}
