// Every exit status every subcommand documents, provoked for real and checked against the generated
// table (`i2 --generate readme-exit-status`, the README's and man pages' source): a status the table
// lists with no scenario here, a scenario the table does not list, or a different status all fail.
import Foundation
import XCTest
import I2TestSupport

final class ExitStatusTests: E2ECase {
    struct Scenario {
        var command: String
        var code: String                 // as the table shows it ("128+N" for a signal)
        var expect: Int32
        var run: (ExitStatusTests) throws -> Int32
    }

    static let ct = TestSupport.fixture("dcmqi/ct-3slice")
    static let seg = TestSupport.fixture("highdicom/seg_image_ct_binary.dcm")
    static let liverTool = TestSupport.fixture("tools/liver.json")
    static let liverLabels = TestSupport.fixture("dcmqi/liver_seg.nrrd")
    static let liverMeta = TestSupport.fixture("dcmqi/json/seg-example.json")

    /// The last run's stderr, shown when its status is not the expected one.
    var lastStderr = ""

    func status(_ args: [String]) throws -> Int32 {
        let r = try TestSupport.i2(args)
        lastStderr = r.stderr
        return r.status
    }

    /// Starts i2 in the background, waits until `ready` holds, sends `sig`, returns the exit status.
    func interrupted(_ args: [String], sig: Int32, ready: (RXProcess) -> Bool) throws -> Int32 {
        let p = try background(TestSupport.i2Path, args)
        let deadline = Date().addingTimeInterval(30)
        while !ready(p) {
            guard p.status == nil, Date() < deadline else { lastStderr = p.stderr; XCTFail("i2 \(args) never got ready: \(p.stderr)"); return -1 }
            usleep(20_000)
        }
        kill(p.pid, sig)
        let status = p.waitForExit(timeout: 30) ?? -1
        lastStderr = p.stderr + (p.killedBySignal ? " [killed by signal \(status)]" : "")
        return status
    }

    /// A FIFO input: i2 blocks reading it; ready once i2 holds its read end (a non-blocking writer can open).
    func blockingInput(_ name: String) -> (path: String, ready: () -> Bool) {
        let fifo = path(name)
        mkfifo(fifo, 0o600)
        var writer: Int32 = -1
        addTeardownBlock { if writer >= 0 { close(writer) } }
        return (fifo, {
            if writer < 0 { writer = open(fifo, O_WRONLY | O_NONBLOCK) }
            return writer >= 0
        })
    }

    func receiver(_ options: [String] = []) throws -> RXReceiver { try startReceiver(try mkdir("rx-\(UUID().uuidString)"), options) }

    static let scenarios: [Scenario] = {
        var s: [Scenario] = []
        func add(_ c: String, _ code: String, _ expect: Int32, _ run: @escaping (ExitStatusTests) throws -> Int32) {
            s.append(Scenario(command: c, code: code, expect: expect, run: run))
        }
        for c in ["receive", "watch", "process", "convert", "send", "seg2nifti", "nifti2seg", "query", "retrieve", "status"] {
            add(c, "2", 2) { t in try t.status([c, "--no-such-flag"]) }
        }
        // convert
        add("convert", "0", 0) { t in try t.status(["convert", ct, t.path("ct.nii")]) }
        add("convert", "1", 1) { t in
            let input = try t.mkdir("in")
            try E2E.copy(ct, input + "/ct")
            try Data([0x44, 0x49, 0x43, 0x4D]).write(to: URL(fileURLWithPath: input + "/broken.nii"))
            return try t.status(["convert", input + "/broken.nii", input + "/ct", t.path("out") + "/"])
        }
        add("convert", "128+N", 130) { t in
            let fifo = t.blockingInput("in.nii")
            return try t.interrupted(["convert", fifo.path, t.path("out.nrrd")], sig: SIGINT) { _ in fifo.ready() }
        }
        // seg2nifti
        add("seg2nifti", "0", 0) { t in try t.status(["seg2nifti", seg, t.path("labels.nii.gz")]) }
        add("seg2nifti", "1", 1) { t in try t.status(["seg2nifti", ct + "/01.dcm", t.path("labels.nii.gz")]) }
        add("seg2nifti", "128+N", 143) { t in
            let fifo = t.blockingInput("seg.dcm")
            return try t.interrupted(["seg2nifti", fifo.path, t.path("l.nii")], sig: SIGTERM) { _ in fifo.ready() }
        }
        // nifti2seg
        add("nifti2seg", "0", 0) { t in try t.status(["nifti2seg", "--ref", ct, "--meta", liverMeta, liverLabels, "-o", t.path("s.dcm")]) }
        add("nifti2seg", "1", 1) { t in
            try t.status(["nifti2seg", "--ref", TestSupport.fixture("dcmqi/23x38x3/image"), "--meta", liverMeta, liverLabels, "-o", t.path("s.dcm")])
        }
        add("nifti2seg", "5", 5) { t in
            let image = t.path("img.nii.gz"), zero = t.path("zero.nii.gz")
            try E2E.i2(["convert", ct, image, "--no-sidecar"])
            _ = try E2E.pyCode("import sys, nibabel as nib, numpy as np; im = nib.load(sys.argv[1]); nib.save(nib.Nifti1Image(np.zeros(im.shape[:3], np.uint8), im.affine), sys.argv[2])", [image, zero])
            return try t.status(["nifti2seg", "--ref", ct, "--meta", liverMeta, zero, "-o", t.path("s.dcm")])
        }
        add("nifti2seg", "128+N", 130) { t in
            let fifo = t.blockingInput("labels.nii")
            return try t.interrupted(["nifti2seg", "--ref", ct, "--meta", liverMeta, fifo.path, "-o", t.path("s.dcm")], sig: SIGINT) { _ in fifo.ready() }
        }
        // process
        add("process", "0", 0) { t in try t.status(["process", "--tool", "threshold", ct, "-o", t.path("out")]) }
        add("process", "1", 1) { t in
            let crash = t.path("CRASH")
            try E2E.copy(ct, crash)
            return try t.status(["process", "--tool", liverTool, "--param", "labels=" + liverLabels, crash, "-o", t.path("out")])
        }
        add("process", "128+N", 143) { t in
            let out = t.path("out")
            return try t.interrupted(["process", "--tool", liverTool, "--param", "delay=60", "--param", "labels=" + liverLabels, ct, "-o", out],
                                     sig: SIGTERM) { _ in
                let work = out + "/.i2-work"
                let dirs = (try? FileManager.default.contentsOfDirectory(atPath: work)) ?? []
                return dirs.contains { ((try? String(contentsOfFile: work + "/" + $0 + "/tool.log", encoding: .utf8)) ?? "").contains("sleep") }
            }
        }
        // watch
        add("watch", "0", 0) { t in try t.status(["watch", "--once", try t.mkdir("empty")]) }
        add("watch", "1", 1) { t in
            let root = try t.mkdir("root")
            try FileManager.default.createDirectory(atPath: root + "/P/ST", withIntermediateDirectories: true)
            try E2E.copy(ct, root + "/P/ST/SE")
            return try t.status(["watch", "--once", "--quiet", "0", "--retries", "0", "--exec", "exit 3", root])
        }
        // status: a root with nothing failed (0), with a failed series (1)
        add("status", "0", 0) { t in try t.status(["status", try t.mkdir("empty")]) }
        add("status", "1", 1) { t in
            let root = try t.mkdir("root")
            try FileManager.default.createDirectory(atPath: root + "/P/ST", withIntermediateDirectories: true)
            try E2E.copy(ct, root + "/P/ST/SE")
            _ = try t.status(["watch", "--once", "--quiet", "0", "--retries", "0", "--exec", "exit 3", root])
            return try t.status(["status", root])
        }
        // receive
        add("receive", "0", 0) { t in
            let r = try t.receiver()
            return r.process.stop(SIGTERM) ?? -1
        }
        add("receive", "1", 1) { t in
            let r = try t.receiver()
            return try t.status(["receive", "--bind", "127.0.0.1", "--port", String(r.port), try t.mkdir("second")])
        }
        // send
        add("send", "0", 0) { t in
            let r = try t.receiver()
            return try t.status(["send", "--to", "I2@127.0.0.1:\(r.port)", ct])
        }
        add("send", "1", 1) { t in
            let r = try t.receiver()
            let input = try t.mkdir("send-in")
            try E2E.copy(ct + "/01.dcm", input + "/01.dcm")
            try Data(repeating: 0, count: 200).write(to: URL(fileURLWithPath: input + "/02.dcm"))   // DICM-less junk is skipped;
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: ct + "/02.dcm")))
            bytes.removeLast(bytes.count / 2)                                                       // a truncated file fails
            try Data(bytes).write(to: URL(fileURLWithPath: input + "/03.dcm"))
            return try t.status(["send", "--to", "I2@127.0.0.1:\(r.port)", input])
        }
        add("send", "3", 3) { t in try t.status(["send", "--echo", "--retries", "0", "--to", "X@127.0.0.1:\(RX.freePort())"]) }
        add("send", "3", 3) { t in try t.status(["send", "--retries", "0", "--to", "X@127.0.0.1:\(RX.freePort())", ct]) }
        add("send", "4", 4) { t in
            let r = try t.receiver()
            return try t.status(["send", "--echo", "--to", "i2@127.0.0.1:\(r.port)"])   // AE titles are case-sensitive
        }
        add("send", "4", 4) { t in
            let r = try t.receiver()
            return try t.status(["send", "--to", "i2@127.0.0.1:\(r.port)", ct])
        }
        add("send", "128+N", 143) { t in
            try t.interrupted(["send", "--retries", "5", "--retry-delay", "60", "--to", "X@127.0.0.1:\(RX.freePort())", ct],
                              sig: SIGTERM) { p in p.stderr.contains("retry 1 of 5") }
        }
        // query: Orthanc answers C-FIND to the modalities it knows; i2 receive (storage only) refuses the
        // query model; a silent peer holds us in the ACSE wait until the signal.
        add("query", "0", 0) { t in
            let orthanc = try OrthancPeer(modalities: ["i2": (aet: "I2", host: "127.0.0.1", port: 11112)])
            defer { orthanc.stop() }
            return try t.status(["query", "--from", orthanc.address, "--patient-id", "NOBODY"])
        }
        add("query", "3", 3) { t in try t.status(["query", "--connect-timeout", "2", "--from", "X@127.0.0.1:\(RX.freePort())"]) }
        add("query", "4", 4) { t in
            let r = try t.receiver()
            return try t.status(["query", "--from", "I2@127.0.0.1:\(r.port)"])
        }
        add("query", "128+N", 130) { t in
            let silent = try SilentPeer()
            defer { silent.stop() }
            let started = Date()
            return try t.interrupted(["query", "--acse-timeout", "60", "--from", "X@127.0.0.1:\(silent.port)"], sig: SIGINT) { _ in
                Date().timeIntervalSince(started) > 0.5
            }
        }
        // retrieve: Orthanc moves the CT to i2 receive (a modality it knows), or has nothing for a UID.
        func orthancMoving(to r: RXReceiver) throws -> (OrthancPeer, String) {
            let orthanc = try OrthancPeer(modalities: ["i2": (aet: "I2", host: "127.0.0.1", port: r.port)])
            for f in try E2E.list(ct) { try orthanc.upload(ct + "/" + f) }
            return (orthanc, "1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1")   // the fixture CT's StudyInstanceUID
        }
        add("retrieve", "0", 0) { t in
            let (orthanc, study) = try orthancMoving(to: try t.receiver())
            defer { orthanc.stop() }
            return try t.status(["retrieve", "--from", orthanc.address, "--move-to", "I2", study])
        }
        add("retrieve", "1", 1) { t in
            let (orthanc, _) = try orthancMoving(to: try t.receiver())
            defer { orthanc.stop() }
            return try t.status(["retrieve", "--from", orthanc.address, "--move-to", "I2", "1.2.3.999"])
        }
        add("retrieve", "3", 3) { t in try t.status(["retrieve", "--connect-timeout", "2", "--from", "X@127.0.0.1:\(RX.freePort())", "--move-to", "I2", "1.2.3"]) }
        add("retrieve", "4", 4) { t in
            let r = try t.receiver()
            return try t.status(["retrieve", "--from", "i2@127.0.0.1:\(r.port)", "--move-to", "I2", "1.2.3"])   // AE titles are case-sensitive
        }
        add("retrieve", "128+N", 130) { t in
            let silent = try SilentPeer()
            defer { silent.stop() }
            let started = Date()
            return try t.interrupted(["retrieve", "--acse-timeout", "60", "--from", "X@127.0.0.1:\(silent.port)", "--move-to", "I2", "1.2.3"], sig: SIGINT) { _ in
                Date().timeIntervalSince(started) > 0.5
            }
        }
        return s
    }()

    /// (command, code) pairs of the generated table.
    func documented() throws -> Set<String> {
        let help = try TestSupport.i2(["--help"]).stdout
        var subs: [String] = [], on = false
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("Subcommands:") { on = true; continue }
            if on && line.trimmingCharacters(in: .whitespaces).isEmpty { break }
            if on, let w = line.split(separator: " ").first { subs.append(String(w)) }
        }
        XCTAssertFalse(subs.isEmpty, "no subcommands in i2 --help")
        var pairs = Set<String>()
        for row in try TestSupport.i2(["--generate", "readme-exit-status"]).stdout.split(separator: "\n").dropFirst(2) {
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 3 else { XCTFail("bad table row: \(row)"); continue }
            let who = cells[2] == "every subcommand" ? subs : cells[2].components(separatedBy: ", ")
            for c in who { pairs.insert(c + " " + cells[0]) }
        }
        return pairs
    }

    func testEveryDocumentedStatusOfEverySubcommand() throws {
        let table = try documented()
        let covered = Set(Self.scenarios.map { $0.command + " " + $0.code })
        for missing in table.subtracting(covered).sorted() { XCTFail("documented but not provoked here: \(missing)") }
        for extra in covered.subtracting(table).sorted() { XCTFail("provoked here but not in the generated table: \(extra)") }
        let top = dir
        for (i, s) in Self.scenarios.enumerated() {
            dir = top + "/scenario-\(i)"   // each scenario in its own directory: no output from another
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let got = try s.run(self)
            XCTAssertEqual(got, s.expect, "i2 \(s.command): expected exit status \(s.expect) (table: \(s.code)); stderr: \(lastStderr)")
        }
    }
}
