import CLinux
import Foundation
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

    /// Writes all of `bytes` at `offset`, their whole pages straight to the device
    /// (O_DIRECT) when the memory and the offset are page-aligned, the rest through the page
    /// cache. For bytes nobody reads back soon (a fetched block on its way into the disk
    /// cache, already in memory): they skip the copy into fresh page-cache pages, which cost
    /// the daemon more CPU than any other step of a cold read. A file system or device that
    /// refuses the direct write gets all of it through the page cache instead. Returns the
    /// bytes that went straight to the device.
    @discardableResult
    public func writeAll(_ bytes: Data, toAbsoluteOffset offset: Int64, bypassingPageCache: Bool) throws(Errno) -> Int {
        do {
            return try bytes.withUnsafeBytes { raw in
                var written = 0
                let page = 4096
                if bypassingPageCache, let base = raw.baseAddress, Int(bitPattern: base) % page == 0, offset % Int64(page) == 0,
                    raw.count >= page, clinux_set_direct(rawValue, 1) == 0
                {
                    let whole = raw.count - raw.count % page
                    if (try? writeAll(toAbsoluteOffset: offset, UnsafeRawBufferPointer(rebasing: raw[..<whole]))) != nil { written = whole }
                    _ = clinux_set_direct(rawValue, 0)
                }
                _ = try writeAll(toAbsoluteOffset: offset + Int64(written), UnsafeRawBufferPointer(rebasing: raw[written...]))
                return written
            }
        } catch {
            throw (error as? Errno) ?? .ioError
        }
    }
}
