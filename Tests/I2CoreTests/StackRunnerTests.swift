// StackRunner: results in job order whatever the finishing order, never more jobs at once than
// threads, a job over the memory bound alone, and no job started once the stop token is set.
import Foundation
import XCTest
@testable import I2Core

final class StackRunnerTests: XCTestCase {
    /// Counts jobs running at once, and the most seen (with a big job among them).
    final class Overlap: @unchecked Sendable {
        let lock = NSLock()
        var running = 0, most = 0, bigWithOthers = 0
        func enter(big: Bool) {
            lock.lock(); running += 1; most = max(most, running); lock.unlock()
        }
        func check(big: Bool) {
            lock.lock(); if big && running > 1 { bigWithOthers += 1 }; lock.unlock()
        }
        func leave() { lock.lock(); running -= 1; lock.unlock() }
    }

    func testResultsComeInJobOrderAndSmallJobsOverlap() {
        let overlap = Overlap()
        let results = StackRunner.run(40, cost: { _ in 1 }, stop: StopToken(), threads: 2) { i -> Int in
            overlap.enter(big: false)
            usleep(useconds_t((40 - i) * 200))   // later jobs finish sooner
            overlap.leave()
            return i * i
        }
        XCTAssertEqual(results.map { $0! }, (0..<40).map { $0 * $0 })
        XCTAssertEqual(overlap.most, 2, "two threads: two jobs at a time")
    }

    func testAJobOverTheMemoryBoundRunsAlone() {
        let overlap = Overlap()
        let big: Set<Int> = [3, 4, 10, 17]
        let results = StackRunner.run(20, cost: { big.contains($0) ? StackRunner.bound + 1 : 1 }, stop: StopToken(), threads: 2) { i -> Int in
            overlap.enter(big: big.contains(i))
            for _ in 0..<5 { overlap.check(big: big.contains(i)); usleep(300) }
            overlap.leave()
            return i
        }
        XCTAssertEqual(results.compactMap { $0 }, Array(0..<20))
        XCTAssertEqual(overlap.bigWithOthers, 0, "a job over the bound ran beside another")
    }

    func testNoJobStartsAfterStop() {
        let stop = StopToken()
        let results = StackRunner.run(50, cost: { _ in 1 }, stop: stop, threads: 2) { i -> Int in
            if i == 5 { stop.stop() }
            usleep(500)
            return i
        }
        let ran = results.compactMap { $0 }
        XCTAssertTrue(ran.contains(5))
        XCTAssertLessThanOrEqual(ran.count, 7, "jobs started after the stop: \(ran)")
        XCTAssertNil(results[49])
    }
}
