import StorageFormat
import SystemPackage

/// A failed metadata operation: the errno a filesystem caller returns, plus a detail for logs.
public struct MetaError: Error, CustomStringConvertible, Sendable, Equatable {
    public let errno: Errno
    public let detail: String

    public init(_ errno: Errno, _ detail: String = "") {
        self.errno = errno
        self.detail = detail
    }

    public var description: String { detail.isEmpty ? "\(errno)" : "\(errno): \(detail)" }

    public static func == (lhs: MetaError, rhs: MetaError) -> Bool { lhs.errno == rhs.errno }

    /// A directory entry whose inode has no node: the store is inconsistent.
    static func missingNode(of entry: DirectoryEntry, in directory: Ino) -> MetaError {
        MetaError(.ioError, "entry \(DumpEscaping.escape(entry.name)) of \(directory) names missing inode \(entry.inode)")
    }
}
