// Per-frame attributes of enhanced (multi-frame) images, read as whole columns from a table of the
// PerFrameFunctionalGroupsSequence items built once per file (CDCMTKFrameTable.h: a DCMTK path lookup
// per frame walks the item list from its head, which made the header scan quadratic in the frames).
internal import CDCMTK

final class FrameTable {
    enum State { case unbuilt, absent, built(FrameTable) }

    private let table: OpaquePointer
    let count: Int
    /// Columns read so far, by path: each frame's value as `DicomFile.string` gives it, nil when absent.
    private var columns: [[Tag]: [String?]] = [:]
    /// Shared-group and top-level values read so far, by path (the fallbacks of `DicomFile.frameDoubles`).
    private var shared: [[Tag]: [Double]?] = [:]

    init?(_ file: DicomFile) {
        guard let t = i2dcm_frames_open(file.handle) else { return nil }
        table = t
        count = Int(i2dcm_frames_count(t))
    }

    deinit { i2dcm_frames_free(table) }

    /// Every frame's value of `path` (sequences entered at their first item, then the attribute).
    func column(_ path: [Tag]) -> [String?] {
        if let c = columns[path] { return c }
        var flat: [UInt16] = []
        for t in path { flat += [t.group, t.element] }
        var blob: UnsafePointer<CChar>?
        var starts: UnsafePointer<Int64>?
        let n = Int(i2dcm_frames_column(table, flat, Int32(path.count), &blob, &starts))
        var out = [String?](repeating: nil, count: max(n, 0))
        if n > 0, let blob, let starts {
            for i in 0..<n where starts[i] >= 0 {
                out[i] = String(cString: blob + Int(starts[i])).trimmed(" \0")
            }
        }
        columns[path] = out
        return out
    }

    /// Frame `frame`'s value of `path` alone (the column when it was read already): for a lookup of
    /// one frame, which need not read that attribute of every frame.
    func value(_ frame: Int, _ path: [Tag]) -> String? {
        if let c = columns[path] { return c[frame] }
        var flat: [UInt16] = []
        for t in path { flat += [t.group, t.element] }
        var buf = [CChar](repeating: 0, count: 256)
        var n = Int(i2dcm_frames_value(table, Int32(frame), flat, Int32(path.count), &buf, buf.count))
        if n < 0 { return nil }
        if n >= buf.count {
            buf = [CChar](repeating: 0, count: n + 1)
            n = Int(i2dcm_frames_value(table, Int32(frame), flat, Int32(path.count), &buf, buf.count))
        }
        return String(cString: buf).trimmed(" \0")
    }

    func sharedValue(_ path: [Tag], _ read: () -> [Double]?) -> [Double]? {
        if let v = shared[path] { return v }
        let v = read()
        shared[path] = v
        return v
    }
}

public extension DicomFile {
    private var frameTable: FrameTable? {
        switch frameTableState {
        case .built(let t): return t
        case .absent: return nil
        case .unbuilt:
            let t = FrameTable(self)
            frameTableState = t.map { .built($0) } ?? .absent
            return t
        }
    }

    /// True when the data set has a PerFrameFunctionalGroupsSequence (an enhanced multi-frame image).
    var hasPerFrameGroups: Bool { frameTable != nil }

    /// The value of `path` in frame `frame`'s item of PerFrameFunctionalGroupsSequence (each sequence in
    /// `path` entered at its first item), as `string` would read
    /// `Tag.perFrameFunctionalGroupsSequence[frame] / path[0][0] / … / path.last!`; nil when absent.
    /// Linear over a whole scan: the frame items are indexed once per file and each path is read as a column.
    func perFrameString(_ frame: Int, _ path: [Tag]) -> String? {
        guard let t = frameTable, frame >= 0, frame < t.count else { return nil }
        return t.column(path)[frame]
    }

    /// `perFrameString` for a single lookup: reads only that frame's item (unless the column is read).
    func perFrameValue(_ frame: Int, _ path: [Tag]) -> String? {
        guard let t = frameTable, frame >= 0, frame < t.count else { return nil }
        return t.value(frame, path)
    }

    /// `perFrameString` as numbers, as `doubles` reads them.
    func perFrameDoubles(_ frame: Int, _ path: [Tag]) -> [Double]? {
        perFrameString(frame, path).flatMap(DicomFile.numbers)
    }

    /// A functional group attribute of frame `frame`: from its per-frame macro, else from the
    /// SharedFunctionalGroupsSequence macro, else the top-level attribute (the order i2 reads an
    /// enhanced file in, as DicomScan always has); for a file without per-frame groups, the top-level attribute.
    func frameDoubles(_ frame: Int, _ macro: Tag, _ tag: Tag) -> [Double]? {
        guard let t = frameTable else { return doubles(tag) }
        if frame >= 0, frame < t.count, let v = t.column([macro, tag])[frame].flatMap(DicomFile.numbers) { return v }
        return t.sharedValue([macro, tag]) {
            doubles(Tag.sharedFunctionalGroupsSequence[0] / macro[0] / tag) ?? doubles(tag)
        }
    }
}
