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
}
