import SQLite
import StorageFormat

/// One transaction of the SQLite store: the juicefs tables' rows a `NamespaceEngine`
/// operation reads and writes, as statements on the store's connection. Inside the store's
/// transaction (or write group) every statement sees the ones before it; the store's
/// memory of nodes and chunks answers what it kept, and counters and statistics go through
/// the store, which holds them back until its group is persisted.
struct SQLiteTransaction: MetaTransaction {
    let store: SQLiteMetaStore

    // MARK: - Nodes

    func node(_ inode: Ino) throws(MetaError) -> Attr? {
        if let kept = store.kept.node(inode) { return kept }
        guard let attr = try store.first(Self.selectNode, [.inode(inode)], Self.readNode) else { return nil }
        store.kept.keep(inode, attr)
        return attr
    }

    // Built once: a statement's text is its key in the connection's cache, and one built on
    // every call costs an allocation and a byte-by-byte comparison there.
    private static let selectNode = "SELECT \(SQLiteSchema.nodeColumns) FROM jfs_node WHERE inode=?"
    private static let insertNode = "INSERT INTO jfs_node(\(SQLiteSchema.nodeColumns)) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"

    func insertNode(_ inode: Ino, _ attr: Attr) throws(MetaError) {
        try store.run(
            Self.insertNode,
            [.inode(inode), .integer(Int64(attr.type.rawValue))] + Self.mutableColumns(attr) + [
                .integer(Int64(attr.accessACL)), .integer(Int64(attr.defaultACL)), .integer(Int64(attr.tier)),
            ])
        store.kept.keep(inode, attr)
    }

    func updateNode(_ inode: Ino, _ attr: Attr) throws(MetaError) {
        try store.run(
            "UPDATE jfs_node SET flags=?,mode=?,uid=?,gid=?,atime=?,mtime=?,ctime=?,atimensec=?,mtimensec=?,ctimensec=?,nlink=?,length=?,rdev=?,parent=? WHERE inode=?",
            Self.mutableColumns(attr) + [.inode(inode)])
        store.kept.update(inode, attr)
    }

    /// Each node type's deletions, built once (see `selectNode`).
    private static let deletions = Dictionary(uniqueKeysWithValues: NodeType.allCases.map { type in
        let own: [String] =
            switch type {
            case .regular: ["jfs_chunk"]
            case .directory: ["jfs_dir_stats"]
            case .symlink: ["jfs_symlink"]
            default: []
            }
        return (type, (["jfs_node", "jfs_xattr"] + own + ["jfs_sustained"]).map { "DELETE FROM \($0) WHERE inode=?" })
    })

    /// Only the tables a node of its type can have rows in: unlinking a small file is then
    /// four statements, not six.
    func deleteNode(_ inode: Ino, type: NodeType, chunks: [UInt32]) throws(MetaError) {
        store.kept.forget(inode)
        for statement in Self.deletions[type, default: []] { try store.run(statement, [.inode(inode)]) }
        if type == .directory { store.forgetStatistics(ofDirectory: inode) }
    }

    /// Columns as `SQLiteSchema.nodeColumns` lists them.
    static func readNode(_ row: SQLiteStatement) -> Attr {
        let type = NodeType(rawValue: UInt8(truncatingIfNeeded: row.int64(1))) ?? .regular
        var attr = Attr(
            type: type, mode: UInt16(truncatingIfNeeded: row.int64(3)), uid: UInt32(truncatingIfNeeded: row.int64(4)),
            gid: UInt32(truncatingIfNeeded: row.int64(5)), time: Timestamp(seconds: 0, nanoseconds: 0),
            nlink: UInt32(truncatingIfNeeded: row.int64(12)), length: UInt64(bitPattern: row.int64(13)),
            parent: Ino(UInt64(bitPattern: row.int64(15))), rdev: UInt32(truncatingIfNeeded: row.int64(14)))
        attr.flags = UInt8(truncatingIfNeeded: row.int64(2))
        attr.atime = Timestamp(sqlMicroseconds: row.int64(6), remainder: row.int64(9))
        attr.mtime = Timestamp(sqlMicroseconds: row.int64(7), remainder: row.int64(10))
        attr.ctime = Timestamp(sqlMicroseconds: row.int64(8), remainder: row.int64(11))
        attr.accessACL = UInt32(truncatingIfNeeded: row.int64(16))
        attr.defaultACL = UInt32(truncatingIfNeeded: row.int64(17))
        attr.tier = UInt8(truncatingIfNeeded: row.int64(18))
        return attr
    }

    private static func mutableColumns(_ attr: Attr) -> [SQLiteValue] {
        [
            .integer(Int64(attr.flags)), .integer(Int64(attr.mode)), .integer(Int64(attr.uid)), .integer(Int64(attr.gid)),
            .integer(attr.atime.sqlMicroseconds), .integer(attr.mtime.sqlMicroseconds), .integer(attr.ctime.sqlMicroseconds),
            .integer(attr.atime.sqlRemainder), .integer(attr.mtime.sqlRemainder), .integer(attr.ctime.sqlRemainder),
            .integer(Int64(attr.nlink)), .integer(Int64(bitPattern: attr.length)), .integer(Int64(attr.rdev)), .inode(attr.parent),
        ]
    }

    // MARK: - Edges

    func edge(_ parent: Ino, _ name: [UInt8]) throws(MetaError) -> (Ino, NodeType)? {
        try store.first("SELECT inode, type FROM jfs_edge WHERE parent=? AND name=?", [.inode(parent), .blob(name)]) { row in
            (Ino(UInt64(bitPattern: row.int64(0))), NodeType(rawValue: UInt8(truncatingIfNeeded: row.int64(1))) ?? .regular)
        }
    }

    func putEdge(_ parent: Ino, _ name: [UInt8], _ inode: Ino, _ type: NodeType) throws(MetaError) {
        try store.run(
            "INSERT INTO jfs_edge(parent,name,inode,type) VALUES(?,?,?,?) ON CONFLICT(parent,name) DO UPDATE SET inode=excluded.inode, type=excluded.type",
            [.inode(parent), .blob(name), .inode(inode), .integer(Int64(type.rawValue))])
    }

    func deleteEdge(_ parent: Ino, _ name: [UInt8]) throws(MetaError) {
        try store.run("DELETE FROM jfs_edge WHERE parent=? AND name=?", [.inode(parent), .blob(name)])
    }

    func hasChildren(_ inode: Ino) throws(MetaError) -> Bool {
        try store.first("SELECT 1 FROM jfs_edge WHERE parent=? LIMIT 1", [.inode(inode)], { _ in true }) ?? false
    }

    func entries(_ inode: Ino, after: [UInt8]?, limit: Int) throws(MetaError) -> [DirectoryEntry] {
        try store.all(
            "SELECT name, inode, type FROM jfs_edge WHERE parent=? AND name>? ORDER BY name LIMIT ?",
            [.inode(inode), .blob(after ?? []), .integer(Int64(limit))]
        ) { row in Self.readEntry(row, from: 0, attr: nil) }
    }

    /// One join along the edge index: a page of a large directory costs one statement, not
    /// one per entry. A node the join misses (an inconsistent store) reads as inode 0.
    func entriesWithAttributes(_ inode: Ino, after: [UInt8]?, limit: Int) throws(MetaError) -> [DirectoryEntry] {
        try store.all(
            "SELECT \(Self.joinedNodeColumns),e.name,e.inode,e.type FROM jfs_edge e LEFT JOIN jfs_node n ON n.inode=e.inode WHERE e.parent=? AND e.name>? ORDER BY e.name LIMIT ?",
            [.inode(inode), .blob(after ?? []), .integer(Int64(limit))]
        ) { row in Self.readEntry(row, from: Self.nodeColumnCount, attr: row.int64(0) == 0 ? nil : Self.readNode(row)) }
        .map { (entry) throws(MetaError) in
            guard entry.attr != nil else { throw MetaError.missingNode(of: entry, in: inode) }
            return entry
        }
    }

    private static let joinedNodeColumns = SQLiteSchema.nodeColumns.split(separator: ",").map { "n.\($0)" }.joined(separator: ",")
    private static let nodeColumnCount = Int32(SQLiteSchema.nodeColumns.split(separator: ",").count)

    /// An edge's `name, inode, type` columns, starting at column `first`.
    private static func readEntry(_ row: SQLiteStatement, from first: Int32, attr: Attr?) -> DirectoryEntry {
        DirectoryEntry(
            name: row.bytes(first), inode: Ino(UInt64(bitPattern: row.int64(first + 1))),
            type: NodeType(rawValue: UInt8(truncatingIfNeeded: row.int64(first + 2))) ?? .regular, attr: attr)
    }

    func linkParents(of inode: Ino) throws(MetaError) -> [Ino] {
        try store.all("SELECT parent FROM jfs_edge WHERE inode=?", [.inode(inode)]) { Ino(UInt64(bitPattern: $0.int64(0))) }
    }

    /// SQL finds a hard link's parents through the edge index; there is no count to keep.
    func addLinkParent(_ inode: Ino, parent: Ino, delta: Int64) throws(MetaError) {}

    // MARK: - Symlinks and xattrs

    func symlinkTarget(_ inode: Ino) throws(MetaError) -> [UInt8]? {
        try store.first("SELECT target FROM jfs_symlink WHERE inode=?", [.inode(inode)], { $0.bytes(0) })
    }

    func insertSymlink(_ inode: Ino, target: [UInt8]) throws(MetaError) {
        try store.run("INSERT INTO jfs_symlink(inode,target) VALUES(?,?)", [.inode(inode), .blob(target)])
    }

    func xattr(_ inode: Ino, name: String) throws(MetaError) -> [UInt8]? {
        try store.first("SELECT value FROM jfs_xattr WHERE inode=? AND name=?", [.inode(inode), .text(name)], { $0.bytes(0) })
    }

    func putXattr(_ inode: Ino, name: String, value: [UInt8]) throws(MetaError) {
        try store.run(
            "INSERT INTO jfs_xattr(inode,name,value) VALUES(?,?,?) ON CONFLICT(inode,name) DO UPDATE SET value=excluded.value",
            [.inode(inode), .text(name), .blob(value)])
    }

    func deleteXattr(_ inode: Ino, name: String) throws(MetaError) {
        try store.run("DELETE FROM jfs_xattr WHERE inode=? AND name=?", [.inode(inode), .text(name)])
    }

    func xattrNames(_ inode: Ino) throws(MetaError) -> [String] {
        try store.all("SELECT name FROM jfs_xattr WHERE inode=?", [.inode(inode)]) { $0.text(0) }
    }

    // MARK: - Chunks and slices

    func chunk(_ inode: Ino, index: UInt32) throws(MetaError) -> [UInt8]? {
        if let kept = store.kept.chunk(inode, index) { return kept }
        guard let records = try store.first(Self.selectChunk, [.inode(inode), .integer(Int64(index))], { $0.bytes(0) }) else { return nil }
        store.kept.keep(records, inode, index)
        return records
    }

    private static let selectChunk = "SELECT slices FROM jfs_chunk WHERE inode=? AND indx=?"
    private static let appendChunk =
        "INSERT INTO jfs_chunk(inode,indx,slices) VALUES(?,?,?) ON CONFLICT(inode,indx) DO UPDATE SET slices=CAST(slices||excluded.slices AS BLOB) RETURNING slices"

    /// Appends to the chunk row, creating it when missing; the value stays a BLOB. The row
    /// comes back whole, so the records are kept without reading them.
    func appendRecords(_ inode: Ino, index: UInt32, _ records: [SliceRecord]) throws(MetaError) {
        let row = try store.sql { () throws(SQLiteError) -> [UInt8]? in
            let statement = try store.db.statement(Self.appendChunk).bind([.inode(inode), .integer(Int64(index)), .blob(records.flatMap(\.encoded))])
            guard try statement.step() else { return nil }
            let row = statement.bytes(0)
            try statement.run()  // to its end, leaving no write pending
            return row
        }
        if let row { store.kept.keep(row, inode, index) } else { store.kept.forgetChunks(of: inode) }
    }

    func setRecords(_ inode: Ino, index: UInt32, _ records: [UInt8]) throws(MetaError) {
        try store.run("UPDATE jfs_chunk SET slices=? WHERE inode=? AND indx=?", [.blob(records), .inode(inode), .integer(Int64(index))])
        if store.db.changes > 0 { store.kept.keep(records, inode, index) }
    }

    func deleteChunk(_ inode: Ino, index: UInt32) throws(MetaError) {
        try store.run("DELETE FROM jfs_chunk WHERE inode=? AND indx=?", [.inode(inode), .integer(Int64(index))])
        store.kept.forgetChunk(inode, index)
    }

    func chunkIndexes(_ inode: Ino, in range: Range<UInt32>) throws(MetaError) -> [UInt32] {
        try store.all(
            "SELECT indx FROM jfs_chunk WHERE inode=? AND indx>=? AND indx<? ORDER BY indx",
            [.inode(inode), .integer(Int64(range.lowerBound)), .integer(Int64(range.upperBound))]
        ) {
            UInt32(truncatingIfNeeded: $0.int64(0))
        }
    }

    func chunks(of inode: Ino) throws(MetaError) -> [(index: UInt32, records: [UInt8])] {
        try store.all("SELECT indx, slices FROM jfs_chunk WHERE inode=? ORDER BY indx", [.inode(inode)]) {
            (UInt32(truncatingIfNeeded: $0.int64(0)), $0.bytes(1))
        }
    }

    /// Pages by id, ten thousand rows at a time, so a million chunks are never held at once.
    func forEachChunk(_ body: ([UInt8]) throws(MetaError) -> Void) throws(MetaError) {
        var after: Int64 = 0
        while true {
            let page = try store.all("SELECT id, slices FROM jfs_chunk WHERE id>? ORDER BY id LIMIT 10000", [.integer(after)]) { ($0.int64(0), $0.bytes(1)) }
            for (_, records) in page { try body(records) }
            guard page.count == 10000, let last = page.last else { return }
            after = last.0
        }
    }

    func referenceNewSlice(_ id: SliceID, size: UInt32) throws(MetaError) {
        try store.run(
            "INSERT INTO jfs_chunk_ref(chunkid,size,refs) VALUES(?,?,1) ON CONFLICT(chunkid) DO UPDATE SET refs=refs+1",
            [.slice(id), .integer(Int64(size))])
    }

    func addSliceReference(_ id: SliceID, size: UInt32) throws(MetaError) {
        try referenceNewSlice(id, size: size)
    }

    func setSliceReferences(_ id: SliceID, size: UInt32, refs: Int) throws(MetaError) {
        try store.run(
            "INSERT INTO jfs_chunk_ref(chunkid,size,refs) VALUES(?,?,?) ON CONFLICT(chunkid) DO UPDATE SET refs=excluded.refs",
            [.slice(id), .integer(Int64(size)), .integer(Int64(refs))])
    }

    /// A slice with one reference (most) loses its row in one statement.
    func dereferenceSlice(_ id: SliceID, size: UInt32) throws(MetaError) {
        try store.run("DELETE FROM jfs_chunk_ref WHERE chunkid=? AND refs<=1", [.slice(id)])
        if store.db.changes == 0 { try store.run("UPDATE jfs_chunk_ref SET refs=refs-1 WHERE chunkid=?", [.slice(id)]) }
    }

    // MARK: - Counters, statistics, sessions

    func addCounter(_ name: String, _ delta: Int64) throws(MetaError) { try store.addCounter(name, delta) }

    func addDirStat(_ inode: Ino, length: Int64, space: Int64, inodes: Int64) throws(MetaError) {
        try store.addDirStat(inode, length: length, space: space, inodes: inodes)
    }

    func sustain(_ inode: Ino, session: Int64) throws(MetaError) {
        try store.run("INSERT OR IGNORE INTO jfs_sustained(sid,inode) VALUES(?,?)", [.integer(session), .inode(inode)])
    }
}
