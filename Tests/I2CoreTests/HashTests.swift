// The one hash (Hash.swift) and what depends on it: UIDs, watch keys. Its values are our own, so the
// tests assert properties, not recorded outputs: determinism, no collisions over large families of
// near-identical inputs, every input bit reaching about half the output bits, equal seeds giving
// equal UIDs and a changed label map changing them; and the move of watch state from the keys of
// i2 0.1 (FNV-1a over the command) to this hash's.
import Foundation
import XCTest
@testable import I2Core
import I2DICOM
import I2TestSupport

final class HashTests: XCTestCase {
    func testDigestIsSixteenDeterministicBytes() {
        XCTAssertEqual(Hash.digest([]).count, 16)
        XCTAssertEqual(Hash.hex("abc"), Hash.hex("abc"))
        XCTAssertEqual(Hash.hex("abc").count, 32)
        XCTAssertNotEqual(Hash.hex(""), Hash.hex([0]), "the length counts")
    }

    /// The digest is what i2 has always computed: UIDs seeded from it must not change between versions,
    /// or a rerun after an upgrade adds a second SEG to the PACS instead of replacing the first. The
    /// values come from an independent Python implementation of the algorithm in Hash.swift's header.
    func testDigestMatchesAnIndependentImplementation() {
        XCTAssertEqual(Hash.hex([]), "11d21a5a830afe0eeda5e9acf13b8a9e")
        XCTAssertEqual(Hash.hex("abc"), "3ff41e8df7ea9da66c413138d9b2da3d")
        XCTAssertEqual(Hash.hex(Array(0..<100)), "659c918a6d4c34745ff21feea1cb7604")
    }

    func testNoCollisionsAmongNearIdenticalInputs() {
        var seen = Set<[UInt8]>()
        var n = 0
        func add(_ bytes: [UInt8]) { seen.insert(Hash.digest(bytes)); n += 1 }
        for i in 0..<65536 { add([UInt8(i & 0xFF), UInt8(i >> 8)]) }          // every 2-byte input
        for len in [0, 1] + Array(3..<600) { add([UInt8](repeating: 0, count: len)) }   // zeros of every other length
        for i in 0..<50_000 { add(Array("i2/nifti2seg/series/\(i)".utf8)) }     // seeds that differ in a few digits
        XCTAssertEqual(seen.count, n)
    }

    func testEveryInputBitReachesAboutHalfTheOutputBits() {
        var rng = SystemRandomNumberGenerator()
        var flipped = 0, trials = 0
        for length in [1, 7, 8, 9, 64, 100] {
            for _ in 0..<20 {
                let input = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let base = Hash.digest(input)
                for bit in 0..<(length * 8) {
                    var x = input
                    x[bit / 8] ^= 1 << (bit % 8)
                    let d = Hash.digest(x)
                    let changed = zip(base, d).reduce(0) { $0 + ($1.0 ^ $1.1).nonzeroBitCount }
                    XCTAssertGreaterThan(changed, 20, "bit \(bit) of \(length) bytes changed only \(changed) output bits")
                    flipped += changed; trials += 1
                }
            }
        }
        let mean = Double(flipped) / Double(trials)
        XCTAssertEqual(mean, 64, accuracy: 2, "mean output bits flipped per input bit")
    }

    func testDerivedUIDs() {
        let u = UID.derived(from: "i2/nifti2seg/series/hello")
        XCTAssertTrue(u.hasPrefix("2.25.") && UID.isValid(u), u)
        XCTAssertEqual(u, UID.derived(from: "i2/nifti2seg/series/hello"))
        XCTAssertNotEqual(u, UID.derived(from: "i2/nifti2seg/series/hellp"))
    }

    func testDefaultSeedSEGUIDsFollowTheLabelMapsContent() throws {
        let dir = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func uids(_ labels: String, _ out: String) throws -> [String?] {
            var o = Nifti2SegOptions(inputs: [labels], reference: TestSupport.fixture("dcmqi/ct-3slice"), output: dir + "/" + out)
            o.meta = TestSupport.fixture("dcmqi/json/seg-example.json")
            XCTAssertEqual(try NiftiToSeg.write(o, warn: { _ in }), .written([dir + "/" + out]))
            let f = try DicomFile(path: dir + "/" + out)
            return [f.string(.seriesInstanceUID), f.string(.sopInstanceUID)]
        }
        let liver = TestSupport.fixture("dcmqi/liver_seg.nrrd")
        let first = try uids(liver, "a.dcm")
        XCTAssertEqual(try uids(liver, "b.dcm"), first, "the same inputs give the same UIDs")
        // One voxel more: another content, other UIDs.
        var v = try VolumeIO.read(path: liver)
        let i = try XCTUnwrap(v.data.firstIndex(of: 0))
        v.data[i] = 1
        _ = try VolumeIO.write(v, to: dir + "/changed.nrrd")
        let changed = try uids(dir + "/changed.nrrd", "c.dcm")
        XCTAssertNotEqual(changed[0], first[0])
        XCTAssertNotEqual(changed[1], first[1])
    }

    func testWatchStateOfTheOldKeyIsAdopted() throws {
        let dir = TestSupport.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // i2 0.1 named state by FNV-1a 64 of the command: "85944171f73967e8" for "foobar" (published vector).
        var old = SeriesState(directory: dir, command: "foobar")
        old.key = "85944171f73967e8"
        old.log = WatchKey.logPath(dir, old.key)
        old.status = .done
        try old.save(WatchKey.statePath(dir, old.key))
        try Data("old log\n".utf8).write(to: URL(fileURLWithPath: old.log))
        var other = SeriesState(directory: dir, command: "something else")
        other.key = "0123456789abcdef"
        try other.save(WatchKey.statePath(dir, other.key))

        let key = WatchKey.of("foobar")
        XCTAssertNotEqual(key, old.key)
        let adopted = try XCTUnwrap(try WatchKey.adopt(dir, command: "foobar", key: key))
        XCTAssertEqual(adopted.status, .done)
        XCTAssertEqual(adopted.key, key)
        XCTAssertEqual(try SeriesState.load(WatchKey.statePath(dir, key))?.status, .done)
        XCTAssertFalse(FileManager.default.fileExists(atPath: WatchKey.statePath(dir, old.key)))
        XCTAssertEqual(try String(contentsOfFile: WatchKey.logPath(dir, key), encoding: .utf8), "old log\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: WatchKey.statePath(dir, other.key)), "another command's state stays")
        XCTAssertNil(try WatchKey.adopt(dir, command: "never run", key: WatchKey.of("never run")))
    }
}
