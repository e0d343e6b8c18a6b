// A sorted SliceStack → one Volume: decode every frame straight into its place in the voxel buffer,
// then apply RescaleSlope/Intercept, keeping the stored integer type (or int16) when that is lossless
// after scaling and using float32 otherwise.
import Dispatch
import I2DICOM
import I2Model

public enum DicomToVolume {
    static func read(_ stack: SliceStack, geometry g: StackGeometry) throws -> Volume {
        let f = stack.first
        let stored: VoxelType = storedType(f)
        for s in stack.slices where s.rows != f.rows || s.columns != f.columns {
            throw I2Error(.badInput, path: s.label, "image size \(s.columns)x\(s.rows) differs from \(f.columns)x\(f.rows) in \(f.label): mixed image sizes in one series")
        }
        for s in stack.slices where storedType(s) != stored {
            throw I2Error(.badInput, path: s.label, "pixel type differs from the rest of the series")
        }
        let sliceBytes = f.rows * f.columns * stored.byteCount
        var size = [f.columns, f.rows, stack.sliceCount]
        if stack.volumes > 1 { size.append(stack.volumes) }
        var volume = Volume(size: size, spacing: g.spacing, origin: g.origin, direction: g.direction, voxelType: stored,
                            data: .uninitialized(size.reduce(1, *) * stored.byteCount))

        // Files hold one or more frames; decode each file once, in parallel.
        var byFile: [String: [(index: Int, frame: Int)]] = [:]
        for (i, s) in stack.slices.enumerated() { byFile[s.path, default: []].append((i, s.frame)) }
        let files = Array(byFile.keys)
        // Per-file failures and each slice's stored range (taken while the slice is still in cache:
        // scaling needs it), written from the worker threads.
        let failures = UnsafeMutableBufferPointer<I2Error?>.allocate(capacity: files.count)
        failures.initialize(repeating: nil)
        let ranges = UnsafeMutableBufferPointer<(Double, Double)>.allocate(capacity: stack.slices.count)
        ranges.initialize(repeating: (0, 0))
        defer { failures.deallocate(); ranges.deallocate() }
        volume.data.withUnsafeMutableBytes { buf in
            let base = buf.baseAddress!
            DispatchQueue.concurrentPerform(iterations: files.count) { fi in
                let entries = byFile[files[fi]]!
                do {
                    let first = stack.slices[entries[0].index]
                    // Native pixels: read this stack's frames in place by offset (one pread each).
                    let parts = entries.map { e in
                        (offset: e.frame * sliceBytes, buffer: UnsafeMutableRawBufferPointer(start: base + e.index * sliceBytes, count: sliceBytes))
                    }
                    if !NativePixels.applies(to: first.transferSyntax)
                        || !NativePixels.read(path: files[fi], length: first.frameCount * sliceBytes, parts: parts) {
                        try decode(files[fi], frames: first.frameCount, entries: entries, into: base, sliceBytes: sliceBytes)
                    }
                    for e in entries {
                        ranges[e.index] = Scaling.range(UnsafeRawBufferPointer(start: base + e.index * sliceBytes, count: sliceBytes), stored)
                    }
                } catch let e as I2Error {
                    failures[fi] = e.at(files[fi])
                } catch {
                    failures[fi] = I2Error(.badInput, path: files[fi], "\(error)")
                }
            }
        }
        if let e = failures.compactMap({ $0 }).first { throw e }
        let extend = f.signed && f.bitsStored < f.bitsAllocated
        if extend { signExtend(&volume, bits: f.bitsStored) }
        Scaling.apply(to: &volume, slopes: stack.slices.map(\.slope), intercepts: stack.slices.map(\.intercept),
                      sliceVoxels: f.rows * f.columns, ranges: extend ? nil : Array(ranges))
        return volume
    }

    /// Decodes one file through DCMTK (compressed, big endian, multi-frame) into the slots of its frames.
    static func decode(_ path: String, frames: Int, entries: [(index: Int, frame: Int)], into base: UnsafeMutableRawPointer,
                       sliceBytes: Int) throws {
        let file = try DicomFile(path: path)
        if frames == 1 {
            try file.readPixels(into: UnsafeMutableRawBufferPointer(start: base + entries[0].index * sliceBytes, count: sliceBytes))
            return
        }
        var all = [UInt8].uninitialized(sliceBytes * frames)
        try all.withUnsafeMutableBytes { try file.readPixels(into: $0) }
        all.withUnsafeBytes { src in
            for e in entries {
                (base + e.index * sliceBytes).copyMemory(from: src.baseAddress! + e.frame * sliceBytes, byteCount: sliceBytes)
            }
        }
    }

    static func storedType(_ s: SliceHeader) -> VoxelType {
        switch (s.bitsAllocated, s.signed) {
        case (8, false): return .uint8
        case (8, true): return .int8
        case (16, false): return .uint16
        case (16, true): return .int16
        case (32, false): return .uint32
        default: return .int32
        }
    }

    /// Stored values narrower than their container carry the sign in bit (bitsStored-1).
    static func signExtend(_ v: inout Volume, bits: Int) {
        let shift = v.voxelType.byteCount * 8 - bits
        v.data.withUnsafeMutableBytes { raw in
            switch v.voxelType {
            case .int8: let p = raw.bindMemory(to: Int8.self); for i in p.indices { p[i] = (p[i] << shift) >> shift }
            case .int16: let p = raw.bindMemory(to: Int16.self); for i in p.indices { p[i] = (p[i] << shift) >> shift }
            case .int32: let p = raw.bindMemory(to: Int32.self); for i in p.indices { p[i] = (p[i] << shift) >> shift }
            default: break
            }
        }
    }
}
