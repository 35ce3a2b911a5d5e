import ObjectStorage
import SystemPackage

/// A data-path failure with the errno a file system call should return: what every call of
/// the chunk store throws, whatever layer below failed.
public struct ChunkStoreError: Error, CustomStringConvertible, Sendable {
    public let errno: Errno
    public let detail: String

    public init(_ errno: Errno, _ detail: String) {
        self.errno = errno
        self.detail = detail
    }

    /// The object store failed (after its retries): an I/O error for the caller.
    init(_ error: ObjectStoreError) {
        self.init(.ioError, error.description)
    }

    public var description: String { "\(errno): \(detail)" }
}
