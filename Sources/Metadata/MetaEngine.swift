import StorageFormat
import SystemPackage

/// The namespace of one volume: inodes, directory entries, chunk slice records,
/// xattrs and counters, in JuiceFS 1.x format.
///
/// Every mutating call is one transaction (possibly grouped with others until `persist`).
/// Failures carry POSIX errnos so the VFS can hand them to the kernel unchanged.
/// Implementations are safe to call from many threads.
public protocol MetaEngine: AnyObject, Sendable {
    /// Writes a fresh volume (setting, root, counters) into an empty store.
    func format(_ format: VolumeFormat) throws(MetaError)
    func loadFormat() throws(MetaError) -> VolumeFormat

    func lookup(parent: Ino, name: [UInt8]) throws(MetaError) -> (Ino, Attr)
    func getattr(_ inode: Ino) throws(MetaError) -> Attr
    /// Changes mode, owner, times and, through truncate records, size.
    func setattr(_ inode: Ino, _ changes: AttrChanges) throws(MetaError) -> Attr

    /// Creates a regular file, directory, FIFO, socket or device node.
    func mknod(parent: Ino, name: [UInt8], type: NodeType, mode: UInt16, owner: Owner, rdev: UInt32) throws(MetaError) -> (Ino, Attr)
    func symlink(parent: Ino, name: [UInt8], target: [UInt8], owner: Owner) throws(MetaError) -> (Ino, Attr)
    func readlink(_ inode: Ino) throws(MetaError) -> [UInt8]
    func link(_ inode: Ino, parent: Ino, name: [UInt8]) throws(MetaError) -> Attr
    /// Removes a name; the inode goes with its last name unless it is open (see `open`).
    func unlink(parent: Ino, name: [UInt8]) throws(MetaError)
    func rmdir(parent: Ino, name: [UInt8]) throws(MetaError)
    func rename(parent: Ino, name: [UInt8], newParent: Ino, newName: [UInt8], flags: RenameFlags) throws(MetaError)

    /// Entries whose names sort after `after` (byte order), at most `limit` of them. Name
    /// cursors stay valid while the directory changes.
    func readdir(_ inode: Ino, after: [UInt8]?, limit: Int, attributes: Bool) throws(MetaError) -> [DirectoryEntry]
    /// The `limit` a lister should page with: what one `readdir` call reads anyway.
    var listingPageSize: Int { get }

    func getxattr(_ inode: Ino, name: String) throws(MetaError) -> [UInt8]
    func setxattr(_ inode: Ino, name: String, value: [UInt8], flags: XattrFlags) throws(MetaError)
    func listxattr(_ inode: Ino) throws(MetaError) -> [String]
    func removexattr(_ inode: Ino, name: String) throws(MetaError)

    func statfs() throws(MetaError) -> FilesystemStatistics

    /// A chunk's records in stored (append) order.
    func readChunk(_ inode: Ino, index: UInt32) throws(MetaError) -> [SliceRecord]
    /// Every slice a chunk record of the namespace points at (holes excluded), once per
    /// record: the slices whose blocks a garbage collector must keep for this namespace.
    func forEachReferencedSlice(_ body: (SliceID) throws(MetaError) -> Void) throws(MetaError)
    /// Records a written slice: appends it to the chunk, references the slice, and grows
    /// the file to cover it.
    func appendSlice(_ inode: Ino, index: UInt32, record: SliceRecord, mtime: Timestamp) throws(MetaError)
    /// Appends records that point into existing slices (copy_file_range): each slice gains
    /// a reference and the file grows to cover the records; no data moves.
    func appendReferences(_ inode: Ino, index: UInt32, records: [SliceRecord], mtime: Timestamp) throws(MetaError)
    /// Makes `range` of a regular file read as zeros (fallocate's punch-hole and zero-range),
    /// growing the file to cover it unless `keepSize`; EFBIG past `ChunkGeometry.maxFileLength`.
    /// Costs what the file holds in the range, not the range's length.
    func zero(_ inode: Ino, _ range: Range<UInt64>, keepSize: Bool, mtime: Timestamp) throws(MetaError)
    /// Compaction's swap: if the chunk still starts with `replaced`, those records become
    /// `replacement` (records appended since stay after it) and the old slices lose a
    /// reference; `false` when the chunk changed.
    func replaceRecords(_ inode: Ino, index: UInt32, replaced: [SliceRecord], with replacement: SliceRecord) throws(MetaError) -> Bool
    /// A fresh slice id, never handed out before by this store.
    func newSliceID() throws(MetaError) -> SliceID
    /// Moves slice allocation into `[n·2^32, (n+1)·2^32)`, a range this writer claimed in the bucket.
    func useSliceDomain(_ domain: UInt32) throws(MetaError)

    /// Marks an inode open: unlinking its last name keeps it until the matching `close`.
    func open(_ inode: Ino) throws(MetaError)
    func close(_ inode: Ino) throws(MetaError)

    /// Makes every change so far survive a crash of this process (an engine may group
    /// writes; fsync(2) and unmount call this).
    func persist() throws(MetaError)

    /// Grows with every change to the namespace: equal counts mean nothing changed between them.
    var changeCount: UInt64 { get }

    /// The whole store at this instant, held unchanged while writes continue (a copy, if the
    /// store must make one, goes to `scratchFile`), with what it holds and the change count it
    /// reflects, read at the same instant (a commit publishes these beside the index).
    func takeSnapshot(scratchFile: FilePath) throws(MetaError) -> (IndexSnapshot, SnapshotSummary)

    /// Writes the whole namespace as `juicefs dump` JSON; `progress` gets entries written.
    func dump(to path: FilePath, progress: (Int) -> Void) throws(MetaError)
    /// Streams a `juicefs dump` into this empty store; `progress` gets entries read.
    func load(from path: FilePath, progress: @escaping (Int) -> Void) throws(MetaError)
    /// Points the stored slice counter at the start of a claimed domain, so that a client
    /// allocating from the counter (a stock juicefs mount of this store) writes only there.
    func pointSliceCounter(atDomain domain: UInt32) throws(MetaError)
}

/// Who creates a node.
public struct Owner: Sendable, Hashable {
    public var uid: UInt32
    public var gid: UInt32

    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }

    public static let root = Owner(uid: 0, gid: 0)
}

/// The fields a setattr changes; `nil` leaves a field alone (UTIME_OMIT for times).
public struct AttrChanges: Sendable {
    public enum TimeChange: Sendable {
        case now
        case set(Timestamp)
    }

    public var mode: UInt16?
    public var uid: UInt32?
    public var gid: UInt32?
    public var size: UInt64?
    public var atime: TimeChange?
    public var mtime: TimeChange?
    /// Clears the set-user-ID bit of anything but a directory, and its set-group-ID bit when
    /// the group may execute it: what a write or truncation by a caller without CAP_FSETID,
    /// or any change of owner, does on Linux (FUSE_HANDLE_KILLPRIV_V2 leaves this to the
    /// file system; a FIFO or device node loses its bits on chown as a regular file does).
    public var clearsSetID: Bool

    public init(
        mode: UInt16? = nil, uid: UInt32? = nil, gid: UInt32? = nil, size: UInt64? = nil, atime: TimeChange? = nil,
        mtime: TimeChange? = nil, clearsSetID: Bool = false
    ) {
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.atime = atime
        self.mtime = mtime
        self.clearsSetID = clearsSetID
    }
}

public struct RenameFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let noReplace = RenameFlags(rawValue: 1)
    public static let exchange = RenameFlags(rawValue: 2)
    public static let whiteout = RenameFlags(rawValue: 4)
}

public struct XattrFlags: OptionSet, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Fail with EEXIST when the attribute exists.
    public static let create = XattrFlags(rawValue: 1)
    /// Fail with ENODATA when the attribute does not exist.
    public static let replace = XattrFlags(rawValue: 2)
}

public struct DirectoryEntry: Sendable, Hashable {
    public let name: [UInt8]
    public let inode: Ino
    public let type: NodeType
    /// Present when asked for (readdirplus).
    public let attr: Attr?

    public init(name: [UInt8], inode: Ino, type: NodeType, attr: Attr?) {
        self.name = name
        self.inode = inode
        self.type = type
        self.attr = attr
    }
}

public struct FilesystemStatistics: Sendable, Equatable {
    public let totalSpace: UInt64
    public let availableSpace: UInt64
    public let usedInodes: UInt64
    public let availableInodes: UInt64
}
