/// An open file's or directory's handle, as the kernel hands it back with each request
/// (`fuse_file_info.fh`): a type of its own so that an inode cannot stand in for it.
public struct FileHandleID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public var description: String { String(rawValue) }

    /// The handle after this one (handles are handed out in order).
    var next: FileHandleID { FileHandleID(rawValue: rawValue + 1) }
}
