// Large read-only inputs held outside Swift arrays: a file's pages mapped (the page cache's own, so a
// 157 MB label map is neither copied nor zero-filled first, and is counted once), or anonymous memory
// that a decompressor fills while another thread faults its pages in ahead of it (a fresh array faults
// page by page on the writer's thread: a third of reading a 300 MB .nii.gz). Unmapped with the last reference.
#if canImport(Glibc)
import Glibc
#endif
import Dispatch

public final class MappedBytes: @unchecked Sendable {
    /// The whole mapping (read-only for a file).
    public let bytes: UnsafeMutableRawBufferPointer

    private init(_ p: UnsafeMutableRawPointer, _ count: Int) { bytes = UnsafeMutableRawBufferPointer(start: p, count: count) }

    /// `path` mapped read-only, every page populated; nil when it cannot be opened or mapped, or is empty:
    /// the caller reads the file instead.
    public convenience init?(file path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 else { return nil }
        let count = Int(st.st_size)
        guard let p = mmap(nil, count, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0), p != MAP_FAILED else { return nil }
        self.init(p, count)
    }

    /// `count` bytes of fresh (zero) memory, whose pages a background thread populates from the start
    /// while the caller writes from the start; nil when it cannot be mapped.
    public convenience init?(anonymous count: Int) {
        guard count > 0, let p = mmap(nil, count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              p != MAP_FAILED else { return nil }
        self.init(p, count)
        let chunk = 8 << 20
        DispatchQueue.global().async { [self] in
            // MADV_POPULATE_WRITE (Linux 5.14): where it is refused the writer faults as usual.
            var at = 0
            while at < count {
                if madvise(bytes.baseAddress! + at, min(chunk, count - at), 23) != 0 { return }
                at += chunk
            }
        }
    }

    deinit { munmap(bytes.baseAddress, bytes.count) }
}
