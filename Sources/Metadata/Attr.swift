import StorageFormat

/// The attributes of one inode, as every engine stores them.
public struct Attr: Sendable, Hashable {
    public var flags: UInt8 = 0
    public var type: NodeType
    /// Permission bits only (`& 0o7777`), no type bits.
    public var mode: UInt16
    public var uid: UInt32
    public var gid: UInt32
    public var atime: Timestamp
    public var mtime: Timestamp
    public var ctime: Timestamp
    public var nlink: UInt32
    public var length: UInt64
    public var rdev: UInt32 = 0
    /// The parent directory; 0 once the inode has had more than one name.
    public var parent: Ino
    public var accessACL: UInt32 = 0
    public var defaultACL: UInt32 = 0
    public var tier: UInt8 = 0

    public init(
        type: NodeType, mode: UInt16, uid: UInt32, gid: UInt32, time: Timestamp, nlink: UInt32, length: UInt64, parent: Ino,
        rdev: UInt32 = 0
    ) {
        self.type = type
        self.mode = mode & 0o7777
        self.uid = uid
        self.gid = gid
        self.atime = time
        self.mtime = time
        self.ctime = time
        self.nlink = nlink
        self.length = length
        self.parent = parent
        self.rdev = rdev
    }

    /// `st_mode`: type bits and permission bits.
    public var statMode: UInt32 { type.modeBits | UInt32(mode) }

    /// The permission bits once set-user-ID is cleared, and set-group-ID with it when the
    /// group may execute (set-group-ID without group execute marks mandatory locking instead).
    public var modeClearingSetID: UInt16 {
        mode & 0o010 != 0 ? mode & ~0o6000 : mode & ~0o4000
    }

    /// Whether a write or truncation by a caller without CAP_FSETID changes the mode.
    public var losesSetIDOnWrite: Bool { type == .regular && modeClearingSetID != mode }

    /// What this node contributes to `usedSpace` and its parent's `used_space`.
    public var accountedSpace: Int64 { type == .regular ? ChunkGeometry.align4K(length) : 4096 }

    /// What this node contributes to its parent's `data_length`.
    public var accountedLength: Int64 { type == .regular ? Int64(length) : 0 }
}
