// Condition.swift: the kinds every CDCMTK status becomes, with the path (or peer) it concerns.
import Foundation
import XCTest
@testable import I2DICOM
import I2Model

final class ConditionTests: XCTestCase {
    func assertFails(_ body: @autoclosure () throws -> Any, _ kind: I2Error.Kind, path: String, _ words: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            guard let e = e as? I2Error else { return XCTFail("not an I2Error: \(e)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
            XCTAssertEqual(e.path, path, "\(e)", file: file, line: line)
            XCTAssertTrue(e.detail.contains(words), "\(e.detail) should say \(words)", file: file, line: line)
            XCTAssertTrue(e.description.hasPrefix(path + ": "), e.description, file: file, line: line)
        }
    }

    func testNotDICOMFile() throws {
        let scratch = Scratch()
        let text = try scratch.write("notes.dcm", Array("hello, not DICOM at all\n".utf8))
        assertFails(try DicomFile(path: text), .notDICOM, path: text, "not a DICOM file")
        assertFails(try DicomProbe(path: text), .notDICOM, path: text, "not a DICOM file")
    }

    func testTruncatedFile() throws {
        let scratch = Scratch()
        let cut = try scratch.truncated(Fixture.ctSlice, to: 100_000, as: "cut.dcm")
        assertFails(try DicomFile(path: cut), .badInput, path: cut, "cannot read DICOM")
        // The probe reads the meta header only: a cut file still plans; sending it fails as unreadable.
        XCTAssertEqual(try DicomProbe(path: cut).sopClassUID, "1.2.840.10008.5.1.4.1.1.2")
        XCTAssertThrowsError(try FileToSend(path: cut, inMemory: true)) { e in
            let e = e as? I2Error
            XCTAssertEqual(e?.cause, .unreadable)
            XCTAssertEqual(e?.kind, .badInput)
            XCTAssertEqual(e?.path, cut)
        }
    }

    func testMissingFile() throws {
        let scratch = Scratch()
        let absent = scratch.path("absent.dcm")
        assertFails(try DicomFile(path: absent), .notFound, path: absent, "No such file")
        assertFails(try DicomProbe(path: absent), .notFound, path: absent, "No such file")
        assertFails(try FileMetaInformation(path: absent), .notFound, path: absent, "No such file")
    }

    func testUnwritableTargetIsStorageNamingTheTarget() throws {
        let scratch = Scratch()
        let f = DicomFile(newAt: scratch.path("a.dcm"))
        try f.set(.sopClassUID, "1.2.840.10008.5.1.4.1.1.7")
        let target = scratch.path("no/such/dir/a.dcm")
        assertFails(try f.save(to: target), .storage, path: target, "cannot write DICOM")
    }

    func testEveryStatusHasOneKind() {
        XCTAssertNil(Condition.kind(0))
        XCTAssertNil(Condition.kind(7), "a count is success")
        XCTAssertEqual(Condition.kind(-1), .badInput)
        XCTAssertEqual(Condition.kind(-2), .notDICOM)
        XCTAssertEqual(Condition.kind(-3), .notFound)
        XCTAssertEqual(Condition.kind(-4), .storage)
        XCTAssertEqual(Condition.kind(-5), .internal)
        XCTAssertEqual(Condition.kind(-99), .badInput)
    }

    func testNetworkOutcomesBecomeCausesWithTheirKind() {
        let causes: [(Int32, I2Error.NetworkCause, I2Error.Kind)] = [
            (1, .unresolved, .unreachable), (2, .unreachable, .unreachable), (3, .timeout, .unreachable),
            (4, .rejected, .rejected), (5, .aborted, .unreachable), (6, .noContext, .rejected), (7, .unreadable, .badInput),
        ]
        for (outcome, cause, kind) in causes {
            let e = Condition.networkError(outcome, "why", peer: "AE@host:104")
            XCTAssertEqual(e.cause, cause)
            XCTAssertEqual(e.kind, kind)
            XCTAssertEqual(e.peer, "AE@host:104")
            XCTAssertEqual(e.description, "AE@host:104: why")
        }
        let r = I2Error.Rejection(result: 1, source: 1, reason: 7)
        XCTAssertEqual(Condition.networkError(4, "rejected", peer: nil, rejection: { r }).rejection, r)
        XCTAssertNil(Condition.networkError(5, "aborted", peer: nil, rejection: { r }).rejection, "only a rejection carries one")
    }

    func testNothingListeningIsUnreachableNamingThePeer() throws {
        // Port 1 on localhost: refused at once (no DICOM peer runs there).
        var p = AssociationParameters(calledAE: "NOBODY", host: "127.0.0.1", port: 1)
        p.connectTimeout = 2
        XCTAssertThrowsError(try Association(p, contexts: [PresentationContext(SOPClass.verification, [TransferSyntaxUID.implicitLittle])])) { e in
            let e = e as? I2Error
            XCTAssertEqual(e?.cause, .unreachable)
            XCTAssertEqual(e?.kind, .unreachable)
            XCTAssertEqual(e?.peer, "NOBODY@127.0.0.1:1")
        }
    }
}
