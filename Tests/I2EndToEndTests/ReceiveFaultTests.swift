// i2 receive under load and faults: 8 parallel senders, kill -9 mid-transfer then resend, unwritable
// target and --min-free (0xA700), allow-list, hostile PatientIDs, garbage/idle connections,
// --max-associations with hand-made associations held open.
import Foundation
import XCTest
import I2TestSupport

final class ReceiveFaultTests: E2ECase {
    func dcmFiles(_ root: String) -> [String] {
        RX.files(root).filter { $0.hasSuffix(".dcm") && !$0.hasPrefix(".") }.map { root + "/" + $0 }
    }

    /// Every stored file's data set is byte for byte one of the originals (same transfer syntax).
    func assertStoredAreOriginals(_ root: String, _ index: [String: String], file: StaticString = #filePath, line: UInt = #line) throws {
        for stored in dcmFiles(root) {
            let sop = ((stored as NSString).lastPathComponent as NSString).deletingPathExtension
            guard let original = index[sop] else { XCTFail("\(stored): unknown SOP Instance UID", file: file, line: line); continue }
            XCTAssertEqual(try RX.dataSetBytes(stored), try RX.dataSetBytes(original), "\(stored) vs \(original)", file: file, line: line)
        }
    }

    func testEightParallelSendersOfHundredInstances() throws {
        let dirs = try (1...8).map { n -> String in
            let d = try mkdir("series\(n)")
            try RX.makeSeries(d, slices: 100, size: 64, seed: 100 + n)
            return d
        }
        let r = try startReceiver(path("root"))
        let storescu = try TestSupport.tool("storescu", package: "dcmtk")
        let senders = try dirs.map {
            try background(storescu, ["-v", "-xi", "-aec", "I2", "127.0.0.1", String(r.port), "+sd", $0], environment: ["TCP_NODELAY": "1"])
        }
        for s in senders {
            XCTAssertEqual(s.waitForExit(timeout: 180), 0, s.stderr.suffix(2000).description)
            XCTAssertEqual(RX.parseAnswers(s.stderr).filter { $0.answer == "Success" }.count, 100)
        }
        XCTAssertTrue(r.waitForPaths(800, timeout: 10), "\(r.paths.count) paths; \(r.process.stderr.suffix(2000))")
        XCTAssertEqual(Set(r.paths).count, 800)
        XCTAssertEqual(dcmFiles(path("root")).count, 800)
        XCTAssertEqual(RX.leftovers(path("root")), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("root/.i2-incoming")), [])
        try assertStoredAreOriginals(path("root"), try RX.sopIndex(dirs))
        XCTAssertEqual(r.process.stop(), 0)
    }

    func testKill9MidTransferLosesNothingAcknowledgedAndResendCompletes() throws {
        let src = try mkdir("series")
        try RX.makeSeries(src, slices: 300, size: 512, seed: 7)
        let index = try RX.sopIndex([src])
        let sopOf = Dictionary(uniqueKeysWithValues: index.map { ($0.value, $0.key) })
        let root = path("root")
        let r = try startReceiver(root)
        let sender = try background(try TestSupport.tool("storescu", package: "dcmtk"),
                                    ["-v", "-xi", "-aec", "I2", "127.0.0.1", String(r.port), "+sd", src], environment: ["TCP_NODELAY": "1"])
        XCTAssertTrue(r.waitForPaths(20, timeout: 120), r.process.stderr)
        kill(r.process.pid, SIGKILL)
        XCTAssertNotNil(r.process.waitForExit(timeout: 10))
        let printed = r.paths
        XCTAssertNotNil(sender.waitForExit(timeout: 60))
        let acknowledged = RX.parseAnswers(sender.stderr).filter { $0.answer == "Success" }.map(\.file)
        XCTAssertLessThan(printed.count, 300, "the kill came after the whole transfer: nothing was interrupted")
        XCTAssertNotEqual(sender.status, 0, "storescu should see the association break")

        // Nothing partial is visible; everything printed or acknowledged is there and complete.
        let dcmdump = try TestSupport.tool("dcmdump", package: "dcmtk")
        let visible = RX.files(root).filter { !$0.hasPrefix(".i2-incoming/") && !RX.isHeartbeat($0) }
        XCTAssertTrue(visible.allSatisfy { $0.hasSuffix(".dcm") && !$0.split(separator: "/").contains { $0.hasPrefix(".") } }, "\(visible)")
        for f in dcmFiles(root) { XCTAssertEqual(try TestSupport.run(dcmdump, ["-q", f]).status, 0, f) }
        try assertStoredAreOriginals(root, index)
        let storedSOPs = Set(dcmFiles(root).map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension })
        for p in printed { XCTAssertTrue(FileManager.default.fileExists(atPath: p), "printed but missing: \(p)") }
        for f in acknowledged { XCTAssertTrue(storedSOPs.contains(sopOf[f] ?? "?"), "acknowledged but missing: \(f)") }

        // A temporary of a dead receiver (ours, plus a planted one) is removed at the next start.
        let incoming = root + "/.i2-incoming"
        _ = FileManager.default.createFile(atPath: incoming + "/.i2-\(r.process.pid)-999999.part", contents: Data("stale".utf8))
        let again = try startReceiver(root)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: incoming), [], "stale temporaries left")
        let resend = try RX.storescu(again.port, [src], ["-xi", "+sd"])
        XCTAssertEqual(resend.succeeded.count, 300, resend.output.suffix(2000).description)
        XCTAssertEqual(dcmFiles(root).count, 300, "a resend after the crash must neither lose nor duplicate")
        try assertStoredAreOriginals(root, index)
        XCTAssertEqual(RX.leftovers(root), [])
        XCTAssertEqual(again.process.stop(), 0)
    }

    /// The patient directory cannot be created (a regular file is in the way): that instance gets
    /// 0xA700, another patient's is stored, and whatever was acknowledged is on disk.
    func testUnwritableTargetAnswersOutOfResources() throws {
        let root = try mkdir("root")
        _ = FileManager.default.createFile(atPath: root + "/99000", contents: Data("in the way".utf8))
        let r = try startReceiver(root)
        let other = TestSupport.fixture("pydicom-ct2/17106")
        let run = try RX.storescu(r.port, [E2E.ctSlice, other], ["-nh"], debug: true)
        XCTAssertEqual(run.answers.map(\.answer), ["0xa700", "0x0000"], run.output.suffix(3000).description)
        XCTAssertTrue(run.output.contains("Refused: Out of resources"), "storescu should report the failure")
        XCTAssertEqual(dcmFiles(root).count, 1)
        try RX.assertSameDataSet(dcmFiles(root).first ?? "?", other)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/.i2-incoming"), [])
        XCTAssertEqual(try String(contentsOfFile: root + "/99000", encoding: .utf8), "in the way")
    }

    func testMinFreeAboveAvailableAnswersOutOfResources() throws {
        let r = try startReceiver(path("root"), ["--min-free", "1000000T"])
        let run = try RX.storescu(r.port, [E2E.ctSlice, TestSupport.fixture("pydicom-ct2/17106")], ["-nh"], debug: true)
        XCTAssertEqual(run.answers.map(\.answer), ["0xa700", "0xa700"], run.output.suffix(3000).description)
        XCTAssertEqual(dcmFiles(path("root")), [])
        XCTAssertEqual(RX.leftovers(path("root")), [])
    }

    func testAllowListRejectsOtherCallers() throws {
        let r = try startReceiver(path("root"), ["--allow", "SOMEONE"])
        let denied = try RX.storescu(r.port, [E2E.ctSlice])
        XCTAssertNotEqual(denied.status, 0)
        XCTAssertTrue(denied.output.contains("Calling AE Title Not Recognized"), denied.output)
        XCTAssertEqual(dcmFiles(path("root")), [])
        XCTAssertEqual(try RX.storescu(r.port, [E2E.ctSlice], calling: "SOMEONE").succeeded.count, 1)
        let wrongCalled = try RX.storescu(r.port, [E2E.ctSlice], called: "i2", calling: "SOMEONE")
        XCTAssertTrue(wrongCalled.output.contains("Called AE Title Not Recognized"), wrongCalled.output)
    }

    /// PatientIDs that look like paths are stored inside ROOT, one directory level, nothing outside.
    func testHostilePatientIDsStayInsideRoot() throws {
        let inputs = try mkdir("inputs"), root = try mkdir("work/root")
        let ids = ["../../etc", "..", ".", "/", "a/../../b", "..\\..\\x", ""]
        let dcmodify = try TestSupport.tool("dcmodify", package: "dcmtk")
        var files: [String] = []
        for (n, id) in ids.enumerated() {
            let f = inputs + "/\(n).dcm"
            try FileManager.default.copyItem(atPath: E2E.ctSlice, toPath: f)
            XCTAssertEqual(try TestSupport.run(dcmodify, ["-nb", "-m", "(0010,0020)=\(id)", f]).status, 0)
            files.append(f)
        }
        let outsideBefore = try E2E.list(path("work")), tmpEtc = NSTemporaryDirectory() + "etc"
        let etcExisted = FileManager.default.fileExists(atPath: tmpEtc)
        let r = try startReceiver(root)
        let run = try RX.storescu(r.port, files, ["-nh"])
        XCTAssertEqual(run.succeeded.count, ids.count, run.output)
        XCTAssertTrue(r.waitForPaths(ids.count, timeout: 10))
        for p in r.paths {
            let rel = String(p.dropFirst(root.count + 1))
            XCTAssertTrue(p.hasPrefix(root + "/"), p)
            XCTAssertEqual(rel.split(separator: "/", omittingEmptySubsequences: false).count, 4, p)
            let patient = rel.split(separator: "/").first.map(String.init) ?? ""
            XCTAssertFalse(patient.hasPrefix(".") || patient.isEmpty, "patient directory '\(patient)'")
            XCTAssertEqual((p as NSString).standardizingPath, p)
        }
        XCTAssertEqual(dcmFiles(root).count, ids.count, "\(RX.files(root))")
        XCTAssertEqual(try E2E.list(path("work")), outsideBefore)
        XCTAssertEqual(RX.files(path("work")).filter { !$0.hasPrefix("root/") }, [])
        if !etcExisted { XCTAssertFalse(FileManager.default.fileExists(atPath: tmpEtc)) }
    }

    /// Garbage, a fake association header, half a header and a silent connection: none of them delays
    /// the next real association.
    func testGarbageAndIdleConnectionsDoNotBlockOthers() throws {
        let r = try startReceiver(path("root"), ["--drain", "1"])   // the held sockets must not slow the teardown
        var held: [Int32] = []
        defer { held.forEach { close($0) } }
        let noise = (0..<1000).map { _ in UInt8.random(in: 0...255) }
        let garbage: [[UInt8]] = [[0x7f] + noise.dropFirst(), [0x01, 0, 0, 0, 0x03, 0xe2] + noise.dropFirst(6)]
        for bytes in garbage {
            let fd = try RawPeer.connect(r.port)
            RawPeer.send(fd, bytes)
            close(fd)
        }
        let partial: [[UInt8]] = [[], [0x01, 0x00, 0x00], [0x01, 0, 0, 0x10, 0, 0] + noise.prefix(100)]
        for bytes in partial {
            let fd = try RawPeer.connect(r.port)
            RawPeer.send(fd, bytes)
            held.append(fd)
        }
        let start = Date()
        let run = try RX.storescu(r.port, [E2E.ctSlice])
        XCTAssertEqual(run.succeeded.count, 1, run.output)
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.0)
        XCTAssertNil(r.process.status, "receiver died: \(r.process.stderr)")
    }

    /// Part of an A-ASSOCIATE-RQ, then the peer closes: the connection is dropped at once (not when the
    /// ACSE timeout expires), so a SIGTERM right after is not held up by the drain.
    func testHalfSentRequestThenCloseIsDroppedAtOnce() throws {
        let r = try startReceiver(path("root"))
        let fd = try RawPeer.connect(r.port)
        RawPeer.send(fd, [0x01, 0, 0, 0, 0x03, 0xe8] + [UInt8](repeating: 0x41, count: 100))   // says 1000 bytes, sends 100
        close(fd)
        let dropped = r.process.wait(timeout: 3) { _, err, _ in err.contains { $0.contains("dropped") } }
        XCTAssertTrue(dropped, "closed connection not noticed within 3 s: \(r.process.stderr)")
        let start = Date()
        XCTAssertEqual(r.process.stop(SIGTERM, grace: 5), 0)
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.0, "SIGTERM waited for a connection the peer had closed")
    }

    /// SIGTERM while an association is open but idle (nothing in flight, e.g. a PACS keeping it open
    /// after its last C-STORE): exit 0 promptly, not after the whole --drain period.
    func testSIGTERMWithAnIdleAssociationOpenExitsPromptly() throws {
        let r = try startReceiver(path("root"), ["--drain", "5"])
        let fd = try RawPeer.connect(r.port)
        defer { close(fd) }
        RawPeer.send(fd, RawPeer.associateRQ(called: "I2", calling: "IDLE"))
        XCTAssertEqual(RawPeer.answerType(fd), 0x02, r.process.stderr)
        let start = Date()
        XCTAssertEqual(r.process.stop(SIGTERM, grace: 10), 0)
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.0, "SIGTERM waited for an idle association: \(r.process.stderr)")
    }

    /// With --max-associations 8 and eight associations held open, a ninth is rejected as transient;
    /// once one is closed, the next is accepted.
    func testMaxAssociationsRejectsTheNinthTransiently() throws {
        let r = try startReceiver(path("root"), ["--max-associations", "8"])
        var held: [Int32] = []
        defer { held.forEach { close($0) } }
        for n in 0..<8 {
            let fd = try RawPeer.connect(r.port)
            held.append(fd)
            RawPeer.send(fd, RawPeer.associateRQ(called: "I2", calling: "HOLD\(n)"))
            XCTAssertEqual(RawPeer.answerType(fd), 0x02, "association \(n) not accepted: \(r.process.stderr)")
        }
        let echoscu = try TestSupport.tool("echoscu", package: "dcmtk")
        let ninth = try TestSupport.run(echoscu, ["-aec", "I2", "127.0.0.1", String(r.port)])
        XCTAssertNotEqual(ninth.status, 0)
        XCTAssertTrue(ninth.stderr.contains("Rejected Transient"), ninth.stderr)
        close(held.removeLast())
        let deadline = Date().addingTimeInterval(2)
        var ok = false
        while !ok && Date() < deadline {
            ok = try TestSupport.run(echoscu, ["-aec", "I2", "127.0.0.1", String(r.port)]).status == 0
            if !ok { Thread.sleep(forTimeInterval: 0.05) }
        }
        XCTAssertTrue(ok, "a slot did not free up after an association closed")
    }

    /// TCP connections that never sent an A-ASSOCIATE-RQ are not associations: they must not use up
    /// --max-associations (else a few idle sockets lock every sender out for the ACSE timeout).
    func testIdleSocketsDoNotCountAsAssociations() throws {
        let r = try startReceiver(path("root"), ["--max-associations", "2"])
        let idle = try (0..<2).map { _ in try RawPeer.connect(r.port) }
        defer { idle.forEach { close($0) } }
        Thread.sleep(forTimeInterval: 0.3)
        let echo = try TestSupport.run(try TestSupport.tool("echoscu", package: "dcmtk"), ["-aec", "I2", "127.0.0.1", String(r.port)])
        XCTAssertEqual(echo.status, 0, "two idle sockets locked out a real association: \(echo.stderr)")
    }
}

/// Plain TCP on 127.0.0.1: raw bytes and a hand-made A-ASSOCIATE-RQ (verification, implicit VR LE).
enum RawPeer {
    static func connect(_ port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = UInt16(port).bigEndian
        let rc = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { close(fd); throw RX.Failure("connect to port \(port): errno \(errno)") }
        return fd
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    static func associateRQ(called: String, calling: String) -> [UInt8] {
        func item(_ type: UInt8, _ body: [UInt8]) -> [UInt8] { [type, 0, UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body }
        func ae(_ s: String) -> [UInt8] { Array((Array(s.utf8) + [UInt8](repeating: 0x20, count: 16)).prefix(16)) }
        var v: [UInt8] = [0, 1, 0, 0] + ae(called) + ae(calling) + [UInt8](repeating: 0, count: 32)
        v += item(0x10, Array("1.2.840.10008.3.1.1.1".utf8))
        v += item(0x20, [1, 0, 0, 0] + item(0x30, Array("1.2.840.10008.1.1".utf8)) + item(0x40, Array("1.2.840.10008.1.2".utf8)))
        v += item(0x50, item(0x51, [0, 0, 0x40, 0]) + item(0x52, Array("1.2.826.0.1.3680043.9.9999".utf8)))
        let n = v.count
        return [0x01, 0, UInt8(n >> 24 & 0xff), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + v
    }

    /// First byte of the answer PDU (2 = A-ASSOCIATE-AC, 3 = RJ), nil on timeout or close.
    static func answerType(_ fd: Int32, timeoutMs: Int32 = 5000) -> UInt8? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, timeoutMs) == 1 else { return nil }
        var b: UInt8 = 0
        return recv(fd, &b, 1, Int32(MSG_PEEK)) == 1 ? b : nil
    }
}
