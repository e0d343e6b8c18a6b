// A sorted SliceStack → one Volume: decode every frame straight into its place in the voxel buffer,
// then the values as dcm2niix gives them: bits above BitsStored cleared (unsigned) or sign-extended
// (signed), the stored integers kept with the rescale as the volume's slope/intercept (Scaling), RGB as
// 3 interleaved uint8 components.
import Dispatch
import I2DICOM
import I2Model

public enum DicomToVolume {
    static func read(_ stack: SliceStack, geometry g: StackGeometry) throws -> Volume {
        let f = stack.first
        let stored: VoxelType = storedType(f)
        let components = f.samplesPerPixel == 3 ? 3 : 1
        for s in stack.slices where s.rows != f.rows || s.columns != f.columns {
            throw I2Error(.badInput, path: s.label, "image size \(s.columns)x\(s.rows) differs from \(f.columns)x\(f.rows) in \(f.label): mixed image sizes in one series")
        }
        for s in stack.slices where storedType(s) != stored || s.samplesPerPixel != f.samplesPerPixel || s.bitsStored != f.bitsStored {
            throw I2Error(.badInput, path: s.label, "pixel type differs from the rest of the series")
        }
        let sliceBytes = f.rows * f.columns * stored.byteCount * components
        var size = [f.columns, f.rows, stack.sliceCount]
        if stack.volumes > 1 { size.append(stack.volumes) }
        var volume = Volume(size: size, spacing: g.spacing, origin: g.origin, direction: g.direction, voxelType: stored,
                            data: try .allocated(size.reduce(1, *) * stored.byteCount * components, for: f.label))
        volume.components = components

        // Files hold one or more frames; decode each file once, in parallel.
        var byFile: [String: [(index: Int, frame: Int)]] = [:]
        for (i, s) in stack.slices.enumerated() { byFile[s.path, default: []].append((i, s.frame)) }
        let files = Array(byFile.keys)
        // Per-file failures and each slice's stored range (taken while the slice is still in cache:
        // scaling needs it), written from the worker threads.
        let failures = UnsafeMutableBufferPointer<I2Error?>.allocate(capacity: files.count)
        failures.initialize(repeating: nil)
        defer { failures.deallocate() }
        volume.data.withUnsafeMutableBytes { buf in
            let base = buf.baseAddress!
            DispatchQueue.concurrentPerform(iterations: files.count) { fi in
                let entries = byFile[files[fi]]!
                do {
                    let first = stack.slices[entries[0].index]
                    var planar = first.planarConfiguration
                    // Native pixels: read this stack's frames in place by offset (one pread each).
                    let parts = entries.map { e in
                        (offset: e.frame * sliceBytes, buffer: UnsafeMutableRawBufferPointer(start: base + e.index * sliceBytes, count: sliceBytes))
                    }
                    if let tile = first.mosaic {
                        // Mosaic tiles (Mosaic.swift): decode the file's image once, copy each tile into its slot.
                        try Mosaic.read(files[fi], transferSyntax: first.transferSyntax, pixelOffset: first.pixelOffset,
                                        slots: entries.map { ($0.index, stack.slices[$0.index].mosaic ?? tile) }, into: base,
                                        tileRows: f.rows, tileColumns: f.columns, bytesPerVoxel: stored.byteCount)
                    } else if !NativePixels.applies(to: first.transferSyntax)
                        || !NativePixels.read(path: files[fi], length: first.frameCount * sliceBytes, parts: parts, at: first.pixelOffset) {
                        planar = try decode(files[fi], frames: first.frameCount, entries: entries, into: base, sliceBytes: sliceBytes,
                                            colour: components == 3)
                    }
                    if components == 3 && planar == 1 {
                        for e in entries { interleave(base + e.index * sliceBytes, pixels: f.rows * f.columns) }
                    }
                } catch let e as I2Error {
                    failures[fi] = e.at(files[fi])
                } catch {
                    failures[fi] = I2Error(.badInput, path: files[fi], "\(error)")
                }
            }
        }
        // One undecodable file refuses its whole series (a volume with a hole would be a silent wrong
        // answer); the error names the file (the first by path: the same on every run), how many others
        // failed, and the series.
        let failed = failures.compactMap { $0 }.sorted { ($0.path ?? "") < ($1.path ?? "") }
        if var e = failed.first {
            if failed.count > 1 { e.detail += " (and \(failed.count - 1) more of the series' \(files.count) files)" }
            e.detail += "; series \(stack.name) is not converted"
            throw e
        }
        if components == 3 { return volume }   // RGB: no masking or scaling (dcm2niix writes RGB24 as stored)
        if f.bitsStored < f.bitsAllocated {
            // PS3.5 8.1.1: only BitsStored bits carry the value. Signed values are sign-extended; unsigned
            // ones lose the bits above (overlays, noise): dcm2niix masks 12-bit data (nii_mask12bit).
            if f.signed { signExtend(&volume, bits: f.bitsStored) } else { mask(&volume, bits: f.bitsStored) }
        }
        // dcm2niix's headerDcm2Nii: 16-bit unsigned data with BitsStored < 16 is written as int16 (the
        // same values, 0...32767, in NIfTI's more widely read type).
        if volume.voxelType == .uint16 && f.bitsStored < 16 { volume.voxelType = .int16 }
        let scales = stack.slices.map(Scaling.scale(of:))
        // RescaleSlope 'inf' (or 1e300, infinite as float) is the file's fault: say so naming it, not the output.
        if let k = scales.indices.first(where: { !scales[$0].slope.isFinite || !scales[$0].intercept.isFinite }) {
            throw I2Error(.badInput, path: stack.slices[k].label,
                          "RescaleSlope/RescaleIntercept \(stack.slices[k].slope)/\(stack.slices[k].intercept) is not finite (as float); series \(stack.name) is not converted")
        }
        Scaling.apply(to: &volume, scales: scales, sliceVoxels: f.rows * f.columns)
        return volume
    }

    /// The stack read a few slices at a time, in order: `body(first slice, slab)`, the slab a volume of
    /// those slices with their values (slope and intercept) as `read` gives them. For passes over the
    /// source beside a label map (overlay, measurements), whose memory must not grow with the series.
    static func forEachSlab(_ stack: SliceStack, geometry: StackGeometry, slices per: Int = 16,
                            _ body: (Int, Volume) throws -> Void) throws {
        let cursor = SlabCursor(stack, geometry: geometry, slices: per)
        for start in stride(from: 0, to: stack.sliceCount, by: per) {
            try body(start, try cursor.slab(holding: start).volume)
        }
    }

    /// The slab of `per` slices that holds a given slice, read when first asked for and kept until a
    /// slice outside it is: slice-by-slice consumers (the overlay's writer) read each slab once.
    final class SlabCursor {
        let stack: SliceStack, geometry: StackGeometry, per: Int
        private var current: (start: Int, volume: Volume)?

        init(_ stack: SliceStack, geometry: StackGeometry, slices per: Int = 16) {
            // A compressed multi-frame file decodes whole whatever part is asked for: read it once.
            let whole = stack.first.frameCount > 1 && !NativePixels.applies(to: stack.first.transferSyntax)
            (self.stack, self.geometry, self.per) = (stack, geometry, whole ? stack.sliceCount : max(1, per))
        }

        /// The slab holding slice `k`: its first slice and its volume.
        func slab(holding k: Int) throws -> (start: Int, volume: Volume) {
            if let c = current, k >= c.start, k < c.start + c.volume.size[2] { return c }
            current = nil   // the old slab's memory goes before the new one is read
            let start = k / per * per
            var slab = stack
            slab.slices = Array(stack.slices[start..<min(start + per, stack.sliceCount)])
            slab.volumes = 1
            current = (start, try read(slab, geometry: geometry))
            return current!
        }
    }

    /// Decodes one file through DCMTK (compressed, big endian, multi-frame) into the slots of its frames.
    /// Returns the PlanarConfiguration of the decoded pixels (a codec may change it); colour must decode
    /// to RGB (DCMTK's JPEG codecs turn YBR into RGB), else the file is refused.
    @discardableResult
    static func decode(_ path: String, frames: Int, entries: [(index: Int, frame: Int)], into base: UnsafeMutableRawPointer,
                       sliceBytes: Int, colour: Bool = false) throws -> Int {
        let file = try DicomFile(path: path)
        func decoded() throws -> Int {
            guard colour else { return 0 }
            let model = file.string(.photometricInterpretation) ?? ""
            guard model == "RGB" else {
                throw I2Error(.badInput, path: path, "colour model '\(model)' after decoding is not RGB: not supported")
            }
            return file.int(.planarConfiguration) ?? 0
        }
        if frames == 1 {
            try file.readPixels(into: UnsafeMutableRawBufferPointer(start: base + entries[0].index * sliceBytes, count: sliceBytes))
            return try decoded()
        }
        var all = try [UInt8].allocated(sliceBytes * frames, for: path)
        try all.withUnsafeMutableBytes { try file.readPixels(into: $0) }
        all.withUnsafeBytes { src in
            for e in entries {
                (base + e.index * sliceBytes).copyMemory(from: src.baseAddress! + e.frame * sliceBytes, byteCount: sliceBytes)
            }
        }
        return try decoded()
    }

    /// One RGB slice from planes (RRR…GGG…BBB…, PlanarConfiguration 1) to RGBRGB… in place, as
    /// dcm2niix's nii_planar2rgb (NIfTI's RGB24 is interleaved).
    static func interleave(_ slice: UnsafeMutableRawPointer, pixels n: Int) {
        let p = slice.assumingMemoryBound(to: UInt8.self)
        let planes = [UInt8](UnsafeBufferPointer(start: p, count: 3 * n))
        for i in 0..<n {
            p[3 * i] = planes[i]; p[3 * i + 1] = planes[n + i]; p[3 * i + 2] = planes[2 * n + i]
        }
    }

    /// Clears the bits above `bits` in unsigned values (in chunks on every core).
    static func mask(_ v: inout Volume, bits: Int) {
        let count = v.voxelCount
        let chunk = 1 << 20, chunks = (count + chunk - 1) / chunk
        v.data.withUnsafeMutableBytes { raw in
            func run<T: FixedWidthInteger>(_: T.Type) {
                let m = T(truncatingIfNeeded: (1 << bits) - 1)
                let p = raw.bindMemory(to: T.self)
                DispatchQueue.concurrentPerform(iterations: chunks) { c in
                    for i in (c * chunk)..<min(count, (c + 1) * chunk) { p[i] &= m }
                }
            }
            switch v.voxelType {
            case .uint8: run(UInt8.self)
            case .uint16: run(UInt16.self)
            case .uint32: run(UInt32.self)
            default: break
            }
        }
    }

    static func storedType(_ s: SliceHeader) -> VoxelType {
        if s.samplesPerPixel == 3 { return .uint8 }
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
