// A file's bytes mapped read-only: the pages are the page cache's own, so a large input (a 157 MB label
// map) is neither copied nor zero-filled first, and is counted once. Unmapped when the last reference goes.
#if canImport(Glibc)
import Glibc
#endif

public final class MappedFile: @unchecked Sendable {
    /// The whole file.
    public let bytes: UnsafeRawBufferPointer

    /// Maps `path` (all pages populated up front); nil when it cannot be opened or mapped, or is empty:
    /// the caller reads the file instead.
    public init?(path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 else { return nil }
        let count = Int(st.st_size)
        guard let p = mmap(nil, count, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0), p != MAP_FAILED else { return nil }
        bytes = UnsafeRawBufferPointer(start: p, count: count)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count) }
}
