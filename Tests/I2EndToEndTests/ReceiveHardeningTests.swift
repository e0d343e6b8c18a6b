// i2 receive against hostile peers (issue 11, items 5 and 8-11), each input generated here by
// Tests/Tools/hostile_peer.py: a C-STORE nested 6,000 sequences deep and a restart with such a file
// acknowledged in the store; A-ASSOCIATE-RQ then reset (fd leak); the fd limit (busy loop); idle,
// dripping and malformed peers holding slots; blank AE titles, a context without transfer syntax and
// a 65,000-byte abstract syntax; a full disk (0xA700, not an abort).
import Foundation
import XCTest
import I2TestSupport

final class ReceiveHardeningTests: E2ECase {
    var peer: String { E2E.tools + "/hostile_peer.py" }

    func hostile(_ args: [String]) throws -> String {
        let r = try TestSupport.run(try E2E.python(), [peer] + args)
        guard r.status == 0 else { throw RX.Failure("hostile_peer.py \(args.joined(separator: " ")): \(r.stderr)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A background hostile peer, stopped by PID when the test ends.
    func hostileInBackground(_ args: [String]) throws -> RXProcess { try background(try E2E.python(), [peer] + args) }

    func openDescriptors(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    /// User plus system CPU time of `pid`, in clock ticks.
    func cpuTicks(_ pid: Int32) -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.range(of: ")", options: .backwards) else { return -1 }
        let fields = stat[close.upperBound...].split(separator: " ")   // fields 3... of proc(5)
        return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }

    func assertAlive(_ r: RXReceiver, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertNil(r.process.status, "receiver died: \(r.process.stderr)", file: file, line: line)
        let run = try RX.storescu(r.port, [E2E.ctSlice])
        XCTAssertEqual(run.succeeded.count, 1, "a legitimate sender after the hostile one: \(run.output)", file: file, line: line)
    }

    // MARK: item 5, nesting depth

    /// A data set nested 6,000 sequences deep used to crash the node (SIGSEGV in DCMTK's parser) after it
    /// was made durable; now it is refused (0xC000) before DCMTK parses it, and the node stays up.
    func testDeeplyNestedCStoreIsRefusedAndTheNodeStaysUp() throws {
        let r = try startReceiver(path("root"))
        let deep = path("deep.dcm")
        _ = try hostile(["deep", "6000", deep])
        XCTAssertEqual(try hostile(["cstore", String(r.port), deep]), "0xc000", r.process.stderr)
        XCTAssertTrue(r.process.stderr.contains("nested more than"), r.process.stderr)
        try assertAlive(r)
        XCTAssertEqual(RX.files(path("root")).filter { $0.contains(".i2-incoming/") }, [])
    }

    /// Such a file acknowledged before a crash (a `.done`), and one whose recovery crashed the previous
    /// start (a `.recovering`): every start comes up, moves both to ROOT/.i2-quarantine unchanged and
    /// says so; neither is deleted nor parsed again.
    func testRestartWithADeeplyNestedDoneFileQuarantinesIt() throws {
        let root = path("root"), incoming = root + "/.i2-incoming"
        try FileManager.default.createDirectory(atPath: incoming, withIntermediateDirectories: true)
        let deep = path("deep.dcm")
        _ = try hostile(["deep", "6000", deep])
        try FileManager.default.copyItem(atPath: deep, toPath: incoming + "/.i2-99999999-1.done")
        try FileManager.default.copyItem(atPath: E2E.ctSlice, toPath: incoming + "/.i2-99999999-2.recovering")
        for start in 0..<3 {
            let r = try RXReceiver(root: root)
            defer { r.process.stop() }
            if start == 0 {
                XCTAssertTrue(r.process.stderr.contains("quarantined \(root)/.i2-quarantine/99999999-1.dcm"), r.process.stderr)
                XCTAssertTrue(r.process.stderr.contains("quarantined \(root)/.i2-quarantine/99999999-2.dcm"), r.process.stderr)
            }
            try assertAlive(r)
            XCTAssertEqual(r.process.stop(), 0, r.process.stderr)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: root + "/.i2-quarantine/99999999-1.dcm")),
                       try Data(contentsOf: URL(fileURLWithPath: deep)))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: root + "/.i2-quarantine/99999999-2.dcm")),
                       try Data(contentsOf: URL(fileURLWithPath: E2E.ctSlice)))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: incoming), [])
    }

    // MARK: item 8, descriptors

    /// 200 x (A-ASSOCIATE-RQ, then a TCP reset) used to leak one descriptor each (200 → 198 left open).
    func testRequestThenResetLeaksNoDescriptor() throws {
        let r = try startReceiver(path("root"))
        let before = openDescriptors(r.process.pid)
        _ = try hostile(["rqreset", String(r.port), "200"])
        var after = openDescriptors(r.process.pid)
        let deadline = Date().addingTimeInterval(10)
        while after > before && Date() < deadline { Thread.sleep(forTimeInterval: 0.1); after = openDescriptors(r.process.pid) }
        XCTAssertEqual(after, before, "descriptors left open after 200 reset connections")
        try assertAlive(r)
    }

    /// At the open-file limit, accept fails at once and poll wakes at once: the node used to spin at
    /// 95% CPU serving nobody. Now it says so on stderr and backs off.
    func testAtTheDescriptorLimitItSaysSoAndDoesNotSpin() throws {
        let port = RX.freePort()
        let root = path("root")
        let proc = try background("/usr/bin/prlimit", ["--nofile=24", TestSupport.i2Path, "receive", "--bind", "127.0.0.1",
                                                        "--port", String(port), root])
        XCTAssertTrue(proc.wait(timeout: 20) { _, err, _ in err.contains { $0.contains("listening as") } }, proc.stderr)
        var held: [Int32] = []
        defer { held.forEach { close($0) } }
        for _ in 0..<40 { held.append(try RawPeer.connect(port)) }
        XCTAssertTrue(proc.wait(timeout: 5) { _, err, _ in err.contains { $0.contains("cannot accept connections") } }, proc.stderr)
        let t0 = cpuTicks(proc.pid)
        Thread.sleep(forTimeInterval: 2)
        let used = cpuTicks(proc.pid) - t0
        XCTAssertLessThan(used, 40, "\(used) CPU ticks in 2 s at the descriptor limit (a busy loop uses ~200)")
        XCTAssertNil(proc.status, proc.stderr)
    }

    // MARK: item 9, slots

    /// 20 idle associations from one host take at most --max-per-peer (8) slots: another host's sender
    /// gets through at once, even with eviction off.
    func testOneHostCannotTakeEverySlot() throws {
        let r = try startReceiver(path("root"), ["--evict-idle", "0"])
        let holder = try hostileInBackground(["hold", String(r.port), "20", "127.0.0.2", "60"])
        XCTAssertTrue(holder.wait(timeout: 20) { out, _, _ in out.count >= 20 }, holder.stderr)
        XCTAssertEqual(holder.stdout.filter { $0.hasSuffix(" 2") }.count, 8, holder.stdout.joined(separator: "\n"))
        XCTAssertEqual(holder.stdout.filter { $0.hasSuffix(" 3") }.count, 12, "the rest rejected (A-ASSOCIATE-RJ)")
        try assertAlive(r)
    }

    /// Every slot held by idle associations from several hosts: a newcomer is rejected at first, then,
    /// once they have been idle --evict-idle seconds, the longest-idle one is aborted for it.
    func testIdleAssociationsHoldingEverySlotAreEvictedForANewSender() throws {
        let r = try startReceiver(path("root"), ["--max-associations", "4", "--evict-idle", "1"])
        let a = try hostileInBackground(["hold", String(r.port), "2", "127.0.0.2", "60"])
        let b = try hostileInBackground(["hold", String(r.port), "2", "127.0.0.3", "60"])
        XCTAssertTrue(a.wait(timeout: 20) { out, _, _ in out.count >= 2 } && b.wait(timeout: 20) { out, _, _ in out.count >= 2 })
        XCTAssertEqual((a.stdout + b.stdout).filter { $0.hasSuffix(" 2") }.count, 4)
        let echoscu = try TestSupport.tool("echoscu", package: "dcmtk")
        let early = try TestSupport.run(echoscu, ["-aec", "I2", "127.0.0.1", String(r.port)])
        XCTAssertTrue(early.status != 0 && early.stderr.contains("Rejected Transient"), "all 4 slots were held: \(early.stderr)")
        Thread.sleep(forTimeInterval: 1.2)
        try assertAlive(r)
        XCTAssertTrue(r.process.stderr.contains("evicted the association from"), r.process.stderr)
    }

    /// An association dripping one byte per 100 ms used to be kept forever; --pdu-timeout drops it.
    func testDrippingPeerIsDropped() throws {
        let r = try startReceiver(path("root"), ["--pdu-timeout", "2"])
        let start = Date()
        let out = try hostile(["drip", String(r.port), "127.0.0.2"])
        XCTAssertTrue(out.contains("associated") && out.contains("dropped after"), out)
        XCTAssertLessThan(Date().timeIntervalSince(start), 10, out)
        // Dropped by the PDU-progress check, or by DCMTK's read timeout inside a message, whichever fires first.
        XCTAssertTrue(r.process.stderr.contains("no complete PDU for 2 s") || r.process.stderr.contains("network read timeout"), r.process.stderr)
        try assertAlive(r)
    }

    /// After a malformed PDU the slot used to stay taken ~30 s (DCMTK's abort waiting for the peer).
    func testMalformedPDUFreesTheSlotAtOnce() throws {
        let r = try startReceiver(path("root"), ["--max-associations", "1", "--evict-idle", "0"])
        let fd = try RawPeer.connect(r.port)
        defer { close(fd) }
        RawPeer.send(fd, RawPeer.associateRQ(called: "I2", calling: "BROKEN"))
        XCTAssertEqual(RawPeer.answerType(fd), 0x02, r.process.stderr)
        var ac = [UInt8](repeating: 0, count: 4096)
        _ = recv(fd, &ac, ac.count, 0)
        RawPeer.send(fd, [0x04, 0, 0, 0, 0, 8, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef])   // a P-DATA of garbage
        let start = Date()
        let echoscu = try TestSupport.tool("echoscu", package: "dcmtk")
        var ok = false
        while !ok && Date().timeIntervalSince(start) < 5 {
            ok = try TestSupport.run(echoscu, ["-aec", "I2", "127.0.0.1", String(r.port)]).status == 0
            if !ok { Thread.sleep(forTimeInterval: 0.1) }
        }
        XCTAssertTrue(ok, "the slot of an association with a malformed PDU was not freed within 5 s: \(r.process.stderr)")
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.0)
    }

    // MARK: item 10, malformed association requests

    /// A blank or all-space calling AE title, a presentation context without a transfer syntax and a
    /// 65,000-byte abstract syntax used to get no answer at all (connection and thread held ≥ 100 s):
    /// each gets an A-ASSOCIATE-RJ (PDU type 3) at once.
    func testMalformedAssociationRequestsAreRejectedAtOnce() throws {
        let r = try startReceiver(path("root"))
        let lines = try hostile(["bad", String(r.port)]).split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        XCTAssertEqual(lines.map { $0[0] }, ["blank-calling", "space-calling", "no-transfer-syntax", "huge-abstract"])
        for l in lines {
            XCTAssertEqual(l[1], "3", "\(l[0]): answered with \(l[1]) (3 = A-ASSOCIATE-RJ)")
            XCTAssertLessThan(Double(l[2]) ?? 99, 2.0, "\(l[0]) answered after \(l[2]) s")
        }
        try assertAlive(r)
    }

    // MARK: item 11, full disk

    /// A disk that fills up mid-series: every C-STORE is answered (success or 0xA700, out of resources,
    /// as the README promises), never with an abort; what was answered with success is stored intact.
    /// Needs a small tmpfs (root); skipped where it cannot be mounted.
    func testFullDiskAnswersOutOfResourcesNotAnAbort() throws {
        let mount = try mkdir("small")
        let m = try TestSupport.run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mount])
        guard m.status == 0 else { throw XCTSkip("cannot mount a tmpfs here: \(m.stderr)") }
        defer { _ = try? TestSupport.run("/bin/umount", ["-l", mount]) }
        let series = path("series")
        try RX.makeSeries(series, slices: 20, size: 256, seed: 11)
        let files = try FileManager.default.contentsOfDirectory(atPath: series).sorted().map { series + "/" + $0 }
        let r = try startReceiver(mount + "/root")
        let run = try RX.storescu(r.port, files, ["--no-halt"], debug: true)
        XCTAssertEqual(run.answers.count, files.count, "every file answered: \(run.output.suffix(3000))")
        XCTAssertFalse(run.output.contains("Abort"), run.output.suffix(3000).description)
        let refused = run.answers.filter { $0.answer.lowercased() == "0xa700" }
        XCTAssertGreaterThan(refused.count, 0, "the disk never filled up: \(run.answers)")
        XCTAssertEqual(run.succeeded.count + refused.count, files.count, "\(run.answers)")
        let stored = RX.files(mount + "/root").filter { $0.hasSuffix(".dcm") && !$0.hasPrefix(".") }
        XCTAssertEqual(stored.count, run.succeeded.count)
        XCTAssertTrue(r.process.stderr.contains("No space left on device"), r.process.stderr)
    }
}
