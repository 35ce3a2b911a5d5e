import CLinux
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

extension FileDescriptor {
    /// Flushes the file's data and metadata to stable storage (fsync(2)), the step that
    /// makes a following rename durable.
    public func sync() throws(Errno) {
        if Glibc.fsync(rawValue) != 0 { throw Errno(rawValue: errno) }
    }

    /// Starts writing the file's dirty pages back without waiting (sync_file_range(2)), so
    /// that a later `sync` finds most of them on disk already. A machine with plenty of RAM
    /// otherwise holds gigabytes dirty until that `sync` writes them all at once.
    public func startWriteback() {
        _ = clinux_start_writeback(rawValue)
    }

    /// Asks the kernel to read the whole file into the page cache in the background
    /// (posix_fadvise(2) WILLNEED), so that reads of it soon after do not wait for the disk.
    public func adviseWillNeed() {
        _ = posix_fadvise(rawValue, 0, 0, POSIX_FADV_WILLNEED)
    }
}
