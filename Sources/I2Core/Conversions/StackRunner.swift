// Runs a conversion's stacks side by side without letting memory grow with them: jobs start in order
// on one thread per core, except that a job whose volume exceeds `bound` runs alone (a 300-slice CT or
// an enhanced file's 320 MiB volume keeps the peak at one volume, as when run one by one).
import Foundation
import I2Model

enum StackRunner {
    /// Volumes above this many bytes convert alone.
    static let bound = 64 << 20

    /// The decoded size of a stack's volume (what DicomToVolume allocates).
    static func bytes(_ stack: SliceStack) -> Int {
        let f = stack.first
        let voxel = max(1, f.bitsAllocated / 8) * max(1, f.samplesPerPixel)
        return f.rows * f.columns * stack.slices.count * voxel
    }

    /// Runs `job(i)` for i in 0..<count and returns the results in order; nil for jobs not started
    /// because `stop` was set.
    static func run<T>(_ count: Int, cost: (Int) -> Int, stop: StopToken, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                       _ job: (Int) -> T) -> [T?] {
        var results = [T?](repeating: nil, count: count)
        let cond = NSCondition()
        var next = 0, running = 0, aloneRunning = false
        results.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            DispatchQueue.concurrentPerform(iterations: max(1, min(threads, count))) { _ in
                cond.lock()
                while true {
                    if next >= count || stop.isStopped { break }
                    let alone = cost(next) > bound
                    if aloneRunning || (alone && running > 0) { cond.wait(); continue }
                    let i = next
                    next += 1
                    running += 1
                    if alone { aloneRunning = true }
                    cond.unlock()
                    let r = job(i)
                    (base + i).pointee = r   // each slot written once, by the thread that ran it
                    cond.lock()
                    running -= 1
                    if alone { aloneRunning = false }
                    cond.broadcast()
                }
                cond.unlock()
            }
        }
        return results
    }
}
