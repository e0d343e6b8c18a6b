// Runs a conversion's stacks side by side without letting memory grow with them: jobs start on one
// thread per core, the costliest first (a JPEG 2000 image that decodes for 25 ms started last would run
// alone at the end while the other core idles), except that a job whose volume exceeds `bound` runs
// alone (a 300-slice CT or an enhanced file's 320 MiB volume keeps the peak at one volume, as when run
// one by one). Results come back in job order whatever the start order.
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

    /// An estimate of the time a stack takes to convert, for the start order: its decoded bytes, weighted
    /// by how slowly its transfer syntax decodes (measured on one 384x384 16-bit image, relative to a
    /// native one: JPEG 2000 ~60x, JPEG-LS ~20x, JPEG lossless ~8x, RLE ~2x).
    static func work(_ stack: SliceStack) -> Int {
        let weight: Int
        switch stack.first.transferSyntax {
        case "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.92", "1.2.840.10008.1.2.4.93": weight = 60
        case "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81": weight = 20
        case let ts where ts.hasPrefix("1.2.840.10008.1.2.4."): weight = 8
        case "1.2.840.10008.1.2.5": weight = 2
        default: weight = 1
        }
        return bytes(stack) * weight
    }

    /// Runs `job(i)` for i in 0..<count, starting them in `order` (a permutation of the indices; default
    /// 0, 1, ...), and returns the results in index order; nil for jobs not started because `stop` was set.
    static func run<T>(_ count: Int, cost: (Int) -> Int, order: [Int]? = nil, stop: StopToken,
                       threads: Int = Processors.active, _ job: (Int) -> T) -> [T?] {
        let order = order ?? Array(0..<count)
        precondition(order.count == count, "the start order is a permutation of the jobs")
        var results = [T?](repeating: nil, count: count)
        let cond = NSCondition()
        var next = 0, running = 0, aloneRunning = false
        results.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            DispatchQueue.concurrentPerform(iterations: max(1, min(threads, count))) { _ in
                cond.lock()
                while true {
                    if next >= count || stop.isStopped { break }
                    let i = order[next]
                    let alone = cost(i) > bound
                    if aloneRunning || (alone && running > 0) { cond.wait(); continue }
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
