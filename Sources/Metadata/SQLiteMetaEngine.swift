import Foundation
import SQLite
import SystemPackage

/// The default engine: one SQLite database per volume in the exact juicefs 1.4 schema.
///
/// One connection, serialised by a lock: the live store has a single writer by design,
/// and SQLite wants one anyway. WAL with `synchronous=NORMAL` keeps commits cheap and the
/// file consistent after a crash; durability is owed at `commit`, through `snapshot`.
public final class SQLiteMetaEngine: MetaEngine, @unchecked Sendable {
    let db: SQLiteConnection
    let lock = NSLock()
    private var inodeRange = IDRange()
    private var slices = SliceAllocator()
    var openCounts: [Ino: Int] = [:]
    var sessionID: Int64?
    var capacity: UInt64 = 0
    var inodeLimit: UInt64 = 0

    public init(path: FilePath) throws(MetaError) {
        do {
            db = try SQLiteConnection(path: path.string)
            try db.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY")
        } catch {
            throw MetaError(sqlite: error)
        }
    }

    // MARK: - Format

    public func format(_ format: VolumeFormat) throws(MetaError) {
        try format.checkSupported()
        try locked { () throws(MetaError) in
            if try first("SELECT 1 FROM sqlite_master WHERE type='table' AND name='jfs_setting'", [], { _ in true }) != nil,
                try first("SELECT 1 FROM jfs_setting WHERE name='format'", [], { _ in true }) != nil
            {
                throw MetaError(.fileExists, "the store at \(db.path) is already formatted")
            }
            try db.transaction { () throws(MetaError) in
                try sql { () throws(SQLiteError) in try db.execute(SQLiteSchema.ddl) }
                try run("INSERT INTO jfs_setting(name,value) VALUES('format',?)", [.text(format.encoded())])
                let now = Timestamp.now()
                try insertNode(.root, Attr(type: .directory, mode: 0o777, uid: 0, gid: 0, time: now, nlink: 2, length: 4096, parent: .root))
                if format.trashDays > 0 {
                    try insertNode(.trash, Attr(type: .directory, mode: 0o555, uid: 0, gid: 0, time: now, nlink: 2, length: 4096, parent: .root))
                }
                for (name, value) in [("nextInode", 2), ("nextChunk", 1), ("nextSession", 0), ("usedSpace", 0), ("totalInodes", 0), ("nextCleanupSlices", 0)] {
                    try run("INSERT INTO jfs_counter(name,value) VALUES(?,?)", [.text(name), .integer(Int64(value))])
                }
            }
            capacity = format.capacity ?? 0
            inodeLimit = format.inodes ?? 0
        }
    }

    public func loadFormat() throws(MetaError) -> VolumeFormat {
        try locked { () throws(MetaError) -> VolumeFormat in
            guard try first("SELECT 1 FROM sqlite_master WHERE type='table' AND name='jfs_setting'", [], { _ in true }) != nil,
                let json = try first("SELECT value FROM jfs_setting WHERE name='format'", [], { $0.text(0) })
            else {
                throw MetaError(.noSuchFileOrDirectory, "the store at \(db.path) is not formatted")
            }
            let format = try VolumeFormat.decode(json)
            try format.checkSupported()
            capacity = format.capacity ?? 0
            inodeLimit = format.inodes ?? 0
            return format
        }
    }

    // MARK: - Attributes

    public func lookup(parent: Ino, name: [UInt8]) throws(MetaError) -> (Ino, Attr) {
        try NameRules.validate(name)
        return try locked { () throws(MetaError) -> (Ino, Attr) in
            let found = try first(
                "SELECT n.\(SQLiteSchema.nodeColumns.replacingOccurrences(of: ",", with: ",n.")) FROM jfs_edge e JOIN jfs_node n ON n.inode=e.inode WHERE e.parent=? AND e.name=?",
                [.inode(parent), .blob(name)], Self.readNode)
            if let found { return found }
            _ = try requireDirectory(parent)
            throw MetaError(.noSuchFileOrDirectory)
        }
    }

    public func getattr(_ inode: Ino) throws(MetaError) -> Attr {
        try locked { () throws(MetaError) -> Attr in try requireNode(inode) }
    }

    public func setattr(_ inode: Ino, _ changes: AttrChanges) throws(MetaError) -> Attr {
        try write { () throws(MetaError) -> Attr in
            var attr = try requireNode(inode)
            let now = Timestamp.now()
            if let mode = changes.mode { attr.mode = mode & 0o7777 }
            if let uid = changes.uid { attr.uid = uid }
            if let gid = changes.gid { attr.gid = gid }
            if let size = changes.size {
                guard attr.type == .regular else {
                    throw MetaError(attr.type == .directory ? .isDirectory : .invalidArgument, "only regular files have a settable size")
                }
                try truncate(inode, &attr, to: size)
                attr.mtime = now
            }
            switch changes.atime {
            case .now: attr.atime = now
            case .set(let time): attr.atime = time
            case nil: break
            }
            switch changes.mtime {
            case .now: attr.mtime = now
            case .set(let time): attr.mtime = time
            case nil: break
            }
            attr.ctime = now
            try updateNode(inode, attr)
            return attr
        }
    }

    public func statfs() throws(MetaError) -> FilesystemStatistics {
        try locked { () throws(MetaError) -> FilesystemStatistics in
            let used = UInt64(max(0, try counter("usedSpace")))
            let inodes = UInt64(max(0, try counter("totalInodes")))
            let total = capacity > 0 ? capacity : 1 << 50
            let inodeTotal = inodeLimit > 0 ? inodeLimit : 10_000_000_000
            return FilesystemStatistics(
                totalSpace: max(total, used), availableSpace: total > used ? total - used : 0, usedInodes: inodes,
                availableInodes: inodeTotal > inodes ? inodeTotal - inodes : 0)
        }
    }

    public func snapshot(to path: FilePath) throws(MetaError) {
        try locked { () throws(MetaError) in
            try sql { () throws(SQLiteError) in try db.backup(to: path.string) }
        }
    }

    // MARK: - Id allocation

    /// A new inode number, from a batch reserved in its own transaction so that a rolled-back
    /// operation never leaves `nextInode` behind an id in use. Call with the lock held.
    func allocateInode() throws(MetaError) -> Ino {
        if let inode = inodeRange.take() { return inode }
        let end = try db.transaction { () throws(MetaError) -> UInt64 in
            try addCounter("nextInode", Int64(ChunkGeometry.inodeBatch))
            return UInt64(try counter("nextInode"))
        }
        inodeRange.reset(max(2, end - ChunkGeometry.inodeBatch)..<end)
        return inodeRange.take()!
    }

    public func newSliceID() throws(MetaError) -> UInt64 {
        try locked { () throws(MetaError) -> UInt64 in
            if let id = slices.range.take() { return id }
            if let batch = slices.nextDomainBatch() {
                // Keep juicefs's invariant that nextChunk exceeds every id in use.
                try db.transaction { () throws(MetaError) in
                    try run("UPDATE jfs_counter SET value=max(value,?) WHERE name='nextChunk'", [.integer(Int64(batch.upperBound))])
                }
                slices.range.reset(batch)
            } else {
                let end = try db.transaction { () throws(MetaError) -> UInt64 in
                    try addCounter("nextChunk", Int64(ChunkGeometry.sliceBatch))
                    return UInt64(try counter("nextChunk"))
                }
                slices.range.reset(max(1, end - ChunkGeometry.sliceBatch)..<end)
            }
            return slices.range.take()!
        }
    }

    public func useSliceDomain(_ domain: UInt32) throws(MetaError) {
        guard domain >= 1, domain < 1 << 31 else { throw MetaError(.invalidArgument, "slice domains are 1 ≤ n < 2^31") }
        locked { slices.enter(domain: domain) }
    }

    // MARK: - Locking and SQL helpers

    func locked<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// One write transaction under the lock.
    func write<Result>(_ body: () throws(MetaError) -> Result) throws(MetaError) -> Result {
        try locked { () throws(MetaError) -> Result in try db.transaction(body) }
    }

    func sql<Result>(_ body: () throws(SQLiteError) -> Result) throws(MetaError) -> Result {
        do {
            return try body()
        } catch {
            throw MetaError(sqlite: error)
        }
    }

    func run(_ text: String, _ values: [SQLiteValue]) throws(MetaError) {
        try sql { () throws(SQLiteError) in try db.statement(text).bind(values).run() }
    }

    func first<Row>(_ text: String, _ values: [SQLiteValue], _ read: (SQLiteStatement) -> Row) throws(MetaError) -> Row? {
        try sql { () throws(SQLiteError) -> Row? in
            let statement = try db.statement(text).bind(values)
            return try statement.step() ? read(statement) : nil
        }
    }

    func all<Row>(_ text: String, _ values: [SQLiteValue], _ read: (SQLiteStatement) -> Row) throws(MetaError) -> [Row] {
        try sql { () throws(SQLiteError) -> [Row] in
            let statement = try db.statement(text).bind(values)
            var rows: [Row] = []
            while try statement.step() { rows.append(read(statement)) }
            return rows
        }
    }

    // MARK: - Rows

    static func readNode(_ row: SQLiteStatement) -> (Ino, Attr) {
        let type = NodeType(rawValue: UInt8(truncatingIfNeeded: row.int64(1))) ?? .regular
        var attr = Attr(
            type: type, mode: UInt16(truncatingIfNeeded: row.int64(3)), uid: UInt32(truncatingIfNeeded: row.int64(4)),
            gid: UInt32(truncatingIfNeeded: row.int64(5)), time: Timestamp(seconds: 0, nanoseconds: 0),
            nlink: UInt32(truncatingIfNeeded: row.int64(12)), length: UInt64(bitPattern: row.int64(13)),
            parent: UInt64(bitPattern: row.int64(15)), rdev: UInt32(truncatingIfNeeded: row.int64(14)))
        attr.flags = UInt8(truncatingIfNeeded: row.int64(2))
        attr.atime = Timestamp(sqlMicroseconds: row.int64(6), remainder: row.int64(9))
        attr.mtime = Timestamp(sqlMicroseconds: row.int64(7), remainder: row.int64(10))
        attr.ctime = Timestamp(sqlMicroseconds: row.int64(8), remainder: row.int64(11))
        attr.accessACL = UInt32(truncatingIfNeeded: row.int64(16))
        attr.defaultACL = UInt32(truncatingIfNeeded: row.int64(17))
        attr.tier = UInt8(truncatingIfNeeded: row.int64(18))
        return (UInt64(bitPattern: row.int64(0)), attr)
    }

    func node(_ inode: Ino) throws(MetaError) -> Attr? {
        try first("SELECT \(SQLiteSchema.nodeColumns) FROM jfs_node WHERE inode=?", [.inode(inode)], Self.readNode)?.1
    }

    func requireNode(_ inode: Ino) throws(MetaError) -> Attr {
        guard let attr = try node(inode) else { throw MetaError(.noSuchFileOrDirectory, "no inode \(inode)") }
        return attr
    }

    func requireDirectory(_ inode: Ino) throws(MetaError) -> Attr {
        let attr = try requireNode(inode)
        guard attr.type == .directory else { throw MetaError(.notDirectory) }
        return attr
    }

    func insertNode(_ inode: Ino, _ attr: Attr) throws(MetaError) {
        try run(
            "INSERT INTO jfs_node(\(SQLiteSchema.nodeColumns)) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [.inode(inode), .integer(Int64(attr.type.rawValue))] + Self.mutableColumns(attr) + [
                .integer(Int64(attr.accessACL)), .integer(Int64(attr.defaultACL)), .integer(Int64(attr.tier)),
            ])
    }

    func updateNode(_ inode: Ino, _ attr: Attr) throws(MetaError) {
        try run(
            "UPDATE jfs_node SET flags=?,mode=?,uid=?,gid=?,atime=?,mtime=?,ctime=?,atimensec=?,mtimensec=?,ctimensec=?,nlink=?,length=?,rdev=?,parent=? WHERE inode=?",
            Self.mutableColumns(attr) + [.inode(inode)])
    }

    private static func mutableColumns(_ attr: Attr) -> [SQLiteValue] {
        [
            .integer(Int64(attr.flags)), .integer(Int64(attr.mode)), .integer(Int64(attr.uid)), .integer(Int64(attr.gid)),
            .integer(attr.atime.sqlMicroseconds), .integer(attr.mtime.sqlMicroseconds), .integer(attr.ctime.sqlMicroseconds),
            .integer(attr.atime.sqlRemainder), .integer(attr.mtime.sqlRemainder), .integer(attr.ctime.sqlRemainder),
            .integer(Int64(attr.nlink)), .integer(Int64(bitPattern: attr.length)), .integer(Int64(attr.rdev)), .inode(attr.parent),
        ]
    }

    func counter(_ name: String) throws(MetaError) -> Int64 {
        try first("SELECT value FROM jfs_counter WHERE name=?", [.text(name)], { $0.int64(0) }) ?? 0
    }

    func addCounter(_ name: String, _ delta: Int64) throws(MetaError) {
        try run(
            "INSERT INTO jfs_counter(name,value) VALUES(?,?) ON CONFLICT(name) DO UPDATE SET value=value+excluded.value",
            [.text(name), .integer(delta)])
    }

    /// Adds to a directory's statistics over its direct children.
    func addDirStat(_ inode: Ino, length: Int64, space: Int64, inodes: Int64) throws(MetaError) {
        try run(
            """
            INSERT INTO jfs_dir_stats(inode,data_length,used_space,used_inodes) VALUES(?,?,?,?) ON CONFLICT(inode) DO UPDATE SET \
            data_length=data_length+excluded.data_length, used_space=used_space+excluded.used_space, used_inodes=used_inodes+excluded.used_inodes
            """,
            [.inode(inode), .integer(length), .integer(space), .integer(inodes)])
    }

    /// Every directory holding a name of `inode`, once per name.
    func parents(of inode: Ino, attr: Attr) throws(MetaError) -> [Ino] {
        if attr.parent != 0 { return [attr.parent] }
        return try all("SELECT parent FROM jfs_edge WHERE inode=?", [.inode(inode)]) { UInt64(bitPattern: $0.int64(0)) }
    }
}

extension SQLiteValue {
    static func inode(_ inode: Ino) -> SQLiteValue { .integer(Int64(bitPattern: inode)) }
}

extension MetaError: SQLiteFailure {
    public init(sqlite: SQLiteError) {
        let errno: Errno = switch sqlite.code & 0xff {
        case 13: .noSpace  // SQLITE_FULL
        case 5, 6: .resourceTemporarilyUnavailable  // SQLITE_BUSY, SQLITE_LOCKED
        case 8: .readOnlyFileSystem  // SQLITE_READONLY
        default: .ioError
        }
        self.init(errno, sqlite.description)
    }
}
