/// A directory entry of a version read from its index (`volume.ls`).
public struct BrowseEntry: Codable, Sendable, Equatable {
    public var name: String
    /// `file`, `directory`, `symlink`, `fifo`, `socket`, `char`, `block`.
    public var type: String
    public var size: UInt64
    public var mode: UInt16
    /// Seconds since the epoch.
    public var mtime: Int64

    public init(name: String, type: String, size: UInt64, mode: UInt16, mtime: Int64) {
        self.name = name
        self.type = type
        self.size = size
        self.mode = mode
        self.mtime = mtime
    }
}
