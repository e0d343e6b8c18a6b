// The receive store in-process (Receive/StoreLayout.swift, Receive/InstanceStore.swift): PatientID made
// a safe path component, UIDs checked before anything is stored, the duplicate policies, the durable
// .part → .done → place sequence and the recovery of what a dead receiver left, all on a temp dir.
import Foundation
import XCTest
@testable import I2Core
import I2DICOM
import I2Model
import I2TestSupport

final class InstanceStoreTests: XCTestCase {
    var dir = "", root = "", incoming = ""
    let study = "1.2.826.0.1.3680043.8.498.1", series = "1.2.826.0.1.3680043.8.498.2", sop = "1.2.826.0.1.3680043.8.498.3"

    override func setUpWithError() throws {
        dir = TestSupport.tempDirectory()
        root = dir + "/store"
        incoming = StoreLayout.incoming(root)
        try FileManager.default.createDirectory(atPath: incoming, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    // MARK: StoreLayout

    func testPatientIDBecomesOneSafeComponent() {
        XCTAssertEqual(StoreLayout.patientComponent("PAT-001"), "PAT-001")
        XCTAssertEqual(StoreLayout.patientComponent("a/b\\c"), "a_b_c")
        XCTAssertEqual(StoreLayout.patientComponent(".."), "_.", "the leading dot only: no longer '..'")
        XCTAssertEqual(StoreLayout.patientComponent("."), "_")
        XCTAssertEqual(StoreLayout.patientComponent("../../etc"), "_._.._etc")
        XCTAssertEqual(StoreLayout.patientComponent(".hidden"), "_hidden")
        XCTAssertEqual(StoreLayout.patientComponent("a\u{0}b\u{1}c\nd\u{7f}e"), "a_b_c_d_e")
        XCTAssertEqual(StoreLayout.patientComponent(""), "UNKNOWN")
        XCTAssertEqual(StoreLayout.patientComponent("   "), "UNKNOWN")
        XCTAssertEqual(StoreLayout.patientComponent("  P1  "), "P1", "DICOM padding trimmed")
        XCTAssertEqual(StoreLayout.patientComponent(String(repeating: "x", count: 80)), String(repeating: "x", count: 64))
        // Cut at 64 bytes on a character boundary: valid UTF-8, never half a character.
        let cut = StoreLayout.patientComponent(String(repeating: "é", count: 40))   // 80 bytes
        XCTAssertEqual(cut, String(repeating: "é", count: 32))
        XCTAssertEqual(cut.utf8.count, 64)
        for id in ["a/b", "..", "x\u{0}", String(repeating: "ü", count: 50), "/"] {
            let c = StoreLayout.patientComponent(id)
            XCTAssertFalse(c.contains("/") || c.hasPrefix(".") || c.isEmpty || c.utf8.count > 64, "\(id) → \(c)")
        }
    }

    func testUIDCheck() {
        for good in ["1", "1.2.840.10008.5.1.4.1.1.2", "2.25.0", String(repeating: "1", count: 64)] {
            XCTAssertTrue(StoreLayout.isUID(good), good)
        }
        for bad in ["", ".", "1.", ".1", "1..2", "1.a", "1/2", "../1", "1.2 ", "١.٢", String(repeating: "1", count: 65)] {
            XCTAssertFalse(StoreLayout.isUID(bad), bad)
        }
    }

    // MARK: InstanceStore

    /// A DICOM instance (pydicom's 16x16 CT) in the incoming directory with the given attributes.
    func incomingFile(patient: String? = "P1", study: String? = nil, series: String? = nil, sop: String? = nil,
                      name: String = "Sam", suffix: String = ".part", pid: Int32 = 99_999_999) throws -> String {
        let f = try DicomFile(path: TestSupport.fixture("pydicom-ct2/17106"))
        if let p = patient { try f.set(.patientID, p) }
        try f.set(.studyInstanceUID, study ?? self.study)
        try f.set(.seriesInstanceUID, series ?? self.series)
        try f.set(.sopInstanceUID, sop ?? self.sop)
        try f.set(.patientName, name)
        let path = incoming + "/.i2-\(pid)-\(UUID().uuidString)" + suffix
        try f.save(to: path)
        return path
    }

    func store(_ s: InstanceStore, _ path: String) -> InstanceStore.Outcome { s.store(temporary: path, sopInstanceUID: sop) }

    func storedPath(_ o: InstanceStore.Outcome, file: StaticString = #filePath, line: UInt = #line) -> String? {
        guard case .stored(let p, _, _, _) = o else { XCTFail("not stored: \(o)", file: file, line: line); return nil }
        return p
    }

    func assertRefused(_ o: InstanceStore.Outcome, status: UInt16, _ words: String, file: StaticString = #filePath, line: UInt = #line) {
        guard case .refused(let answer, _) = o else { return XCTFail("not refused: \(o)", file: file, line: line) }
        XCTAssertEqual(answer.status, status, file: file, line: line)
        XCTAssertTrue(answer.comment.contains(words), "'\(words)' not in '\(answer.comment)'", file: file, line: line)
    }

    func incomingEntries() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: incoming)) ?? []).sorted() }

    func testStoresUnderPatientStudySeriesAndLeavesNothingIncoming() throws {
        let o = store(InstanceStore(root: root), try incomingFile(patient: "../../etc"))
        let p = storedPath(o)
        XCTAssertEqual(p, [root, "_._.._etc", study, series, sop + ".dcm"].joined(separator: "/"))
        if case .stored(_, let patient, let st, let se) = o {
            XCTAssertEqual(patient, "../../etc", "the PatientID as received")
            XCTAssertEqual(st, study)
            XCTAssertEqual(se, series)
        }
        XCTAssertEqual(try DicomFile(path: p ?? "").string(.sopInstanceUID), sop)
        XCTAssertEqual(incomingEntries(), [], "neither .part nor .done left")
    }

    func testEmptyOrMissingPatientIDGoesToUNKNOWN() throws {
        XCTAssertEqual(storedPath(store(InstanceStore(root: root), try incomingFile(patient: ""))),
                       [root, "UNKNOWN", study, series, sop + ".dcm"].joined(separator: "/"))
    }

    func testNonDurableStoreMovesTheTemporaryAsIs() throws {
        var s = InstanceStore(root: root)
        s.durable = false
        XCTAssertNotNil(storedPath(store(s, try incomingFile(patient: "P2"))))
        XCTAssertEqual(incomingEntries(), [])
    }

    func testInvalidUIDsAreRefusedAndNothingIsStored() throws {
        let cases: [(String?, String?, String?, String)] = [
            ("1.2.3", "1.2.x", nil, "SeriesInstanceUID"), ("../x", nil, nil, "StudyInstanceUID"),
            (nil, nil, "1..2", "SOPInstanceUID"), (nil, "", nil, "SeriesInstanceUID"),
            (nil, nil, "/etc/passwd", "SOPInstanceUID"),
        ]
        for (st, se, so, name) in cases {
            let o = store(InstanceStore(root: root), try incomingFile(study: st, series: se, sop: so))
            assertRefused(o, status: 0xC000, name)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), [".i2-incoming"], "no directory created")
        XCTAssertEqual(incomingEntries(), [], "the temporaries are removed")
    }

    func testNonDICOMIsRefused() throws {
        let p = incoming + "/.i2-99999999-x.part"
        XCTAssertTrue(FileManager.default.createFile(atPath: p, contents: Data("not dicom".utf8)))
        assertRefused(store(InstanceStore(root: root), p), status: 0xC000, "cannot be parsed")
        XCTAssertEqual(incomingEntries(), [])
    }

    func testUnwritableStoreIsOutOfResources() throws {
        // The patient directory's place is taken by a file: mkdir fails.
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: root + "/P1", contents: Data()))
        assertRefused(store(InstanceStore(root: root), try incomingFile()), status: 0xA700, "P1")
        XCTAssertEqual(incomingEntries(), [])
    }

    func testDuplicateKeepBoth() throws {
        let s = InstanceStore(root: root)   // keep-both is the default
        let first = storedPath(store(s, try incomingFile(name: "First")))
        // The same data set again: nothing new.
        guard case .identical(let same) = store(s, try incomingFile(name: "First")) else { return XCTFail("identical expected") }
        XCTAssertEqual(same, first)
        let second = storedPath(store(s, try incomingFile(name: "Second")))
        let third = storedPath(store(s, try incomingFile(name: "Third")))
        let dirPath = [root, "P1", study, series].joined(separator: "/")
        XCTAssertEqual(second, dirPath + "/" + sop + "_2.dcm")
        XCTAssertEqual(third, dirPath + "/" + sop + "_3.dcm")
        // A re-sent copy of the second is recognised among the variants.
        guard case .identical(let again) = store(s, try incomingFile(name: "Second")) else { return XCTFail("identical expected") }
        XCTAssertEqual(again, second)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dirPath).sorted(), [sop + ".dcm", sop + "_2.dcm", sop + "_3.dcm"])
        XCTAssertEqual(try DicomFile(path: first!).string(.patientName), "First", "the old one untouched")
        XCTAssertEqual(incomingEntries(), [])
    }

    func testDuplicateOverwrite() throws {
        var s = InstanceStore(root: root)
        s.onDuplicate = .overwrite
        let first = storedPath(store(s, try incomingFile(name: "First")))
        let second = storedPath(store(s, try incomingFile(name: "Second")))
        XCTAssertEqual(first, second)
        XCTAssertEqual(try DicomFile(path: second!).string(.patientName), "Second")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: [root, "P1", study, series].joined(separator: "/")), [sop + ".dcm"])
    }

    func testDuplicateReject() throws {
        var s = InstanceStore(root: root)
        s.onDuplicate = .reject
        let first = storedPath(store(s, try incomingFile(name: "First")))
        assertRefused(store(s, try incomingFile(name: "Second")), status: 0xC000, "other content")
        guard case .identical = store(s, try incomingFile(name: "First")) else { return XCTFail("an identical copy is not a conflict") }
        XCTAssertEqual(try DicomFile(path: first!).string(.patientName), "First")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: [root, "P1", study, series].joined(separator: "/")), [sop + ".dcm"])
        XCTAssertEqual(incomingEntries(), [])
    }

    func testRecoverPlacesDoneRemovesPartAndSparesLiveReceivers() throws {
        let done = try incomingFile(suffix: ".done")                                 // acknowledged, not yet placed
        let part = try incomingFile(sop: "1.2.9", suffix: ".part")                   // unfinished transfer
        let live = try incomingFile(sop: "1.2.10", suffix: ".part", pid: getpid())  // a running receiver's
        var placed: [String] = []
        InstanceStore(root: root).recover(incoming: incoming, quarantine: root + "/.i2-quarantine",
                                          stored: { placed.append($0) }, quarantined: { XCTFail("quarantined \($0): \($1)") })
        XCTAssertEqual(placed, [[root, "P1", study, series, sop + ".dcm"].joined(separator: "/")])
        XCTAssertFalse(FileManager.default.fileExists(atPath: done))
        XCTAssertFalse(FileManager.default.fileExists(atPath: part))
        XCTAssertTrue(FileManager.default.fileExists(atPath: live))
        XCTAssertEqual(incomingEntries(), [(live as NSString).lastPathComponent])
    }

    func testDataSetComparisonIgnoresTheMetaHeader() throws {
        let a = try incomingFile(name: "Same"), b = try incomingFile(name: "Same"), c = try incomingFile(name: "Other")
        XCTAssertTrue(DataSetBytes.equal(a, b))
        XCTAssertFalse(DataSetBytes.equal(a, c))
        let bytes = try FileBytes.read(a)
        XCTAssertEqual(Array(bytes[128..<132]), Array("DICM".utf8))
        XCTAssertGreaterThan(try FileMetaInformation(path: a).dataSetOffset, 132, "past the group 0002 elements")
    }
}
