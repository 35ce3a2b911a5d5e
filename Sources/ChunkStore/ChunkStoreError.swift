import ObjectStorage
import SystemPackage

/// A data-path failure with the errno a file system call should return.
public struct ChunkStoreError: Error, CustomStringConvertible, Sendable {
    public let errno: Errno
    public let detail: String

    public init(_ errno: Errno, _ detail: String) {
        self.errno = errno
        self.detail = detail
    }

    init(_ error: ObjectStoreError) {
        self.init(.ioError, error.description)
    }

    public var description: String { "\(errno): \(detail)" }
}
