import Foundation
import SQLite
import StorageFormat
import SystemPackage

/// The default store: one SQLite database per volume in the exact juicefs 1.4 schema.
///
/// WAL with `synchronous=NORMAL` keeps commits cheap and the file consistent after a crash;
/// durability is owed at `commit`, through `snapshot`. The store is its own transaction:
/// inside `BEGIN IMMEDIATE` every statement sees the ones before it.
///
/// A store that groups writes (a mount's live store) runs each write in a savepoint of one
/// open transaction and commits the group on `persist` or after `groupLimit` writes: a
/// COMMIT costs more than the small write it ends, and a mount makes thousands a second.
/// A failed write rolls back alone. Other connections see a group once it is persisted.
/// The group holds back the statistics rows every change touches (`StatisticsDelta`) and
/// writes each once before its COMMIT: three upserts per small file otherwise.
final class SQLiteMetaStore: MetaStore, MetaTransaction {
    let db: SQLiteConnection
    private let groupsWrites: Bool
    /// Writes acknowledged in the open group (the connection's open transaction).
    private var groupedWrites = 0
    private static let groupLimit = 256
    /// Set when a group holding acknowledged writes was lost (its COMMIT failed, or SQLite
    /// rolled it back after a failed statement): every later write and snapshot fails rather
    /// than let a version be published without them.
    private var lostGroup: MetaError?
    /// Statistics of the open group's acknowledged writes, not yet in their rows.
    private var heldStatistics = StatisticsDelta()
    /// Statistics of the grouped write in progress, merged into `heldStatistics` when it
    /// succeeds; `nil` outside a grouped write.
    private var writeStatistics: StatisticsDelta?
    /// Nodes as this connection last read or wrote them. It is its database's only writer
    /// while open, so a node read or written once needs no SELECT until it changes; a failed
    /// write forgets them all, as SQLite rolled back changes they may hold.
    private var nodes: [Ino: Attr] = [:]
    private static let nodesKept = 8192
    /// Chunks' records kept the same way, by inode and index: every read request of a file
    /// asks for its chunk, and every sealed slice has its chunk read back for compaction.
    private var chunks: [Ino: [UInt32: [UInt8]]] = [:]
    private var chunkBytes = 0
    /// Bytes of records kept, each chunk counted with `chunkOverhead` for its entry.
    private static let chunkBytesKept = 4 << 20
    private static let chunkOverhead = 64

    init(path: FilePath, groupWrites: Bool = false) throws(MetaError) {
        groupsWrites = groupWrites
        do {
            db = try SQLiteConnection(path: path.string)
            try db.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY")
        } catch {
            throw MetaError(sqlite: error)
        }
    }

    var location: String { db.path }

    /// A page is a range of the edge index: about a millisecond of rows, so that a lister
    /// gets its first entries at once and the next page while it takes those in.
    var listingPageSize: Int { 1024 }

    func isEmpty() throws(MetaError) -> Bool {
        try first("SELECT 1 FROM sqlite_master WHERE type='table' AND name LIKE 'jfs_%'", [], { _ in true }) == nil
    }

    func create(format json: String, nodes: [(Ino, Attr)]) throws(MetaError) {
        if try formatJSON() != nil { throw MetaError(.fileExists, "the store at \(db.path) is already formatted") }
        try transaction { () throws(MetaError) in
            try createSchema()
            try run("INSERT INTO jfs_setting(name,value) VALUES('format',?)", [.text(json)])
            for (inode, attr) in nodes { try insertNode(inode, attr) }
            for (name, value) in [("nextInode", 2), ("nextChunk", 1), ("nextSession", 0), ("usedSpace", 0), ("totalInodes", 0), ("nextCleanupSlices", 0)] {
                try run("INSERT OR IGNORE INTO jfs_counter(name,value) VALUES(?,?)", [.text(name), .integer(Int64(value))])
            }
        }
    }

    private func hasSchema() throws(MetaError) -> Bool {
        try first("SELECT 1 FROM sqlite_master WHERE type='table' AND name='jfs_setting'", [], { _ in true }) != nil
    }

    func prepareForLoad() throws(MetaError) {
        try transaction { () throws(MetaError) in try createSchema() }
    }

    /// The juicefs tables, unless a loader already created them.
    private func createSchema() throws(MetaError) {
        guard try !hasSchema() else { return }
        try sql { () throws(SQLiteError) in try db.execute(SQLiteSchema.ddl) }
    }

    func setCounters(_ values: [String: Int64]) throws(MetaError) {
        try transaction { () throws(MetaError) in
            for (name, value) in values {
                try run("INSERT INTO jfs_counter(name,value) VALUES(?,?) ON CONFLICT(name) DO UPDATE SET value=excluded.value", [.text(name), .integer(value)])
            }
        }
    }

    func formatJSON() throws(MetaError) -> String? {
        guard try hasSchema() else { return nil }
        return try first("SELECT value FROM jfs_setting WHERE name='format'", [], { $0.text(0) })
    }

    deinit {
        try? persist()
    }

    func write<Result>(_ body: (any MetaTransaction) throws(MetaError) -> Result) throws(MetaError) -> Result {
        try write(undoingAlone: true, body)
    }

    /// Without the savepoint: SQLite copies every page a write changes inside one, which cost
    /// a small file's create or slice record about a third of its time. A write that fails
    /// after a change (which its checks-first promise leaves to SQLite failing) ends the group.
    func writeCheckedFirst<Result>(_ body: (any MetaTransaction) throws(MetaError) -> Result) throws(MetaError) -> Result {
        try write(undoingAlone: false, body)
    }

    /// `undoingAlone`: in a savepoint, which a failure rolls back without the rest of the group.
    private func write<Result>(undoingAlone: Bool, _ body: (any MetaTransaction) throws(MetaError) -> Result) throws(MetaError) -> Result {
        guard groupsWrites else { return try forgettingOnFailure { () throws(MetaError) -> Result in try db.transaction { () throws(MetaError) -> Result in try body(self) } } }
        if let lostGroup { throw lostGroup }
        if !db.inTransaction { try sql { () throws(SQLiteError) in try db.run("BEGIN IMMEDIATE") } }
        if undoingAlone { try sql { () throws(SQLiteError) in try db.run("SAVEPOINT grouped_write") } }
        writeStatistics = StatisticsDelta()
        defer { writeStatistics = nil }
        let changesBefore = db.totalChanges
        let result: Result
        do {
            result = try body(self)
            if undoingAlone { try sql { () throws(SQLiteError) in try db.run("RELEASE grouped_write") } }
            heldStatistics.merge(writeStatistics!)
        } catch {
            forgetKept()
            guard db.inTransaction else { throw endGroup(failedWith: error) }
            if undoingAlone {
                try? db.run("ROLLBACK TO grouped_write")
                try? db.run("RELEASE grouped_write")
            } else if db.totalChanges != changesBefore {
                try? db.run("ROLLBACK")
                throw endGroup(failedWith: error)
            }
            throw error
        }
        groupedWrites += 1
        if groupedWrites >= Self.groupLimit { try persist() }
        return result
    }

    var hasUnpersistedWrites: Bool { groupsWrites && db.inTransaction }

    func persist() throws(MetaError) {
        guard hasUnpersistedWrites else { return }
        do throws(MetaError) {
            try writeHeldStatistics()
            try sql { () throws(SQLiteError) in try db.run("COMMIT") }
        } catch {
            forgetKept()
            if db.inTransaction { try? db.run("ROLLBACK") }
            throw endGroup(failedWith: error)
        }
        groupedWrites = 0
    }

    private func writeHeldStatistics() throws(MetaError) {
        let held = heldStatistics
        heldStatistics = StatisticsDelta()
        for (name, delta) in held.counters { try upsertCounter(name, delta) }
        for (inode, sums) in held.directories { try upsertDirStat(inode, sums) }
    }

    /// The open group is gone (its COMMIT failed, or SQLite rolled it back after a failed
    /// statement). If it held acknowledged writes, from now on writes and snapshots fail
    /// with the returned error; an empty one only passes `cause` on.
    private func endGroup(failedWith cause: MetaError) -> MetaError {
        heldStatistics = StatisticsDelta()
        defer { groupedWrites = 0 }
        guard groupedWrites > 0 else { return cause }
        let lost = MetaError(.ioError, "metadata changes could not be saved in \(db.path) (\(cause)); mount the last committed version again")
        lostGroup = lost
        return lost
    }

    /// A transaction of its own, after the open group (if any) is committed.
    private func transaction<Result>(_ body: () throws(MetaError) -> Result) throws(MetaError) -> Result {
        try persist()
        return try forgettingOnFailure { () throws(MetaError) -> Result in try db.transaction(body) }
    }

    private func forgettingOnFailure<Result>(_ body: () throws(MetaError) -> Result) throws(MetaError) -> Result {
        do {
            return try body()
        } catch {
            forgetKept()
            throw error
        }
    }

    /// After a failed write: SQLite rolled back changes the kept nodes and chunks may hold.
    private func forgetKept() {
        nodes.removeAll()
        chunks.removeAll()
        chunkBytes = 0
    }

    func read<Result>(_ body: (any MetaTransaction) throws(MetaError) -> Result) throws(MetaError) -> Result {
        try body(self)
    }

    func reserve(_ counter: IDCounter, count: UInt64) throws(MetaError) -> Range<UInt64> {
        let end = try transaction { () throws(MetaError) -> UInt64 in
            try addCounter(counter.rawValue, Int64(count))
            return UInt64(try self.counter(counter.rawValue))
        }
        return max(counter.floor, end - count)..<end
    }

    func raiseNextChunk(to bound: UInt64) throws(MetaError) {
        try transaction { () throws(MetaError) in
            try run("UPDATE jfs_counter SET value=max(value,?) WHERE name='nextChunk'", [.integer(Int64(bound))])
        }
    }

    func counter(_ name: String) throws(MetaError) -> Int64 {
        let stored = try first("SELECT value FROM jfs_counter WHERE name=?", [.text(name)], { $0.int64(0) }) ?? 0
        return stored + (heldStatistics.counters[name] ?? 0) + (writeStatistics?.counters[name] ?? 0)
    }

    func registerSession() throws(MetaError) -> Int64 {
        try transaction { () throws(MetaError) -> Int64 in
            try addCounter("nextSession", 1)
            let id = try counter("nextSession")
            try run(
                "INSERT INTO jfs_session2(sid,expire,info) VALUES(?,?,?)",
                [.integer(id), .integer(Timestamp.now().seconds + 60), .blob(Array(#"{"Version":"volumed"}"#.utf8))])
            return id
        }
    }

    func snapshot(to path: FilePath) throws(MetaError) {
        if let lostGroup { throw lostGroup }
        try persist()
        try sql { () throws(SQLiteError) in try db.backup(to: path.string) }
    }

    // MARK: - Nodes

    func node(_ inode: Ino) throws(MetaError) -> Attr? {
        if let kept = nodes[inode] { return kept }
        guard let attr = try first(Self.selectNode, [.inode(inode)], Self.readNode) else { return nil }
        keep(inode, attr)
        return attr
    }

    private func keep(_ inode: Ino, _ attr: Attr) {
        if nodes.count >= Self.nodesKept { nodes.removeAll(keepingCapacity: true) }
        nodes[inode] = attr
    }

    // Built once: a statement's text is its key in the connection's cache, and one built on
    // every call costs an allocation and a byte-by-byte comparison there.
    private static let selectNode = "SELECT \(SQLiteSchema.nodeColumns) FROM jfs_node WHERE inode=?"
    private static let insertNode = "INSERT INTO jfs_node(\(SQLiteSchema.nodeColumns)) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"

    func insertNode(_ inode: Ino, _ attr: Attr) throws(MetaError) {
        try run(
            Self.insertNode,
            [.inode(inode), .integer(Int64(attr.type.rawValue))] + Self.mutableColumns(attr) + [
                .integer(Int64(attr.accessACL)), .integer(Int64(attr.defaultACL)), .integer(Int64(attr.tier)),
            ])
        keep(inode, attr)
    }

    func updateNode(_ inode: Ino, _ attr: Attr) throws(MetaError) {
        try run(
            "UPDATE jfs_node SET flags=?,mode=?,uid=?,gid=?,atime=?,mtime=?,ctime=?,atimensec=?,mtimensec=?,ctimensec=?,nlink=?,length=?,rdev=?,parent=? WHERE inode=?",
            Self.mutableColumns(attr) + [.inode(inode)])
        // The columns a node is born with stay as they were.
        guard let kept = nodes[inode] else { return }
        var updated = attr
        (updated.type, updated.accessACL, updated.defaultACL, updated.tier) = (kept.type, kept.accessACL, kept.defaultACL, kept.tier)
        nodes[inode] = updated
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
        nodes[inode] = nil
        forgetChunks(of: inode)
        for statement in Self.deletions[type, default: []] { try run(statement, [.inode(inode)]) }
        if type == .directory {
            if writeStatistics != nil { writeStatistics!.deleteDirectory(inode) } else { heldStatistics.forgetDirectory(inode) }
        }
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
        try first("SELECT inode, type FROM jfs_edge WHERE parent=? AND name=?", [.inode(parent), .blob(name)]) { row in
            (Ino(UInt64(bitPattern: row.int64(0))), NodeType(rawValue: UInt8(truncatingIfNeeded: row.int64(1))) ?? .regular)
        }
    }

    func putEdge(_ parent: Ino, _ name: [UInt8], _ inode: Ino, _ type: NodeType) throws(MetaError) {
        try run(
            "INSERT INTO jfs_edge(parent,name,inode,type) VALUES(?,?,?,?) ON CONFLICT(parent,name) DO UPDATE SET inode=excluded.inode, type=excluded.type",
            [.inode(parent), .blob(name), .inode(inode), .integer(Int64(type.rawValue))])
    }

    func deleteEdge(_ parent: Ino, _ name: [UInt8]) throws(MetaError) {
        try run("DELETE FROM jfs_edge WHERE parent=? AND name=?", [.inode(parent), .blob(name)])
    }

    func hasChildren(_ inode: Ino) throws(MetaError) -> Bool {
        try first("SELECT 1 FROM jfs_edge WHERE parent=? LIMIT 1", [.inode(inode)], { _ in true }) ?? false
    }

    func entries(_ inode: Ino, after: [UInt8]?, limit: Int) throws(MetaError) -> [DirectoryEntry] {
        try all(
            "SELECT name, inode, type FROM jfs_edge WHERE parent=? AND name>? ORDER BY name LIMIT ?",
            [.inode(inode), .blob(after ?? []), .integer(Int64(limit))]
        ) { row in Self.readEntry(row, from: 0, attr: nil) }
    }

    /// One join along the edge index: a page of a large directory costs one statement, not
    /// one per entry. A node the join misses (an inconsistent store) reads as inode 0.
    func entriesWithAttributes(_ inode: Ino, after: [UInt8]?, limit: Int) throws(MetaError) -> [DirectoryEntry] {
        try all(
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
        try all("SELECT parent FROM jfs_edge WHERE inode=?", [.inode(inode)]) { Ino(UInt64(bitPattern: $0.int64(0))) }
    }

    /// SQL finds a hard link's parents through the edge index; there is no count to keep.
    func addLinkParent(_ inode: Ino, parent: Ino, delta: Int64) throws(MetaError) {}

    // MARK: - Symlinks and xattrs

    func symlinkTarget(_ inode: Ino) throws(MetaError) -> [UInt8]? {
        try first("SELECT target FROM jfs_symlink WHERE inode=?", [.inode(inode)], { $0.bytes(0) })
    }

    func insertSymlink(_ inode: Ino, target: [UInt8]) throws(MetaError) {
        try run("INSERT INTO jfs_symlink(inode,target) VALUES(?,?)", [.inode(inode), .blob(target)])
    }

    func xattr(_ inode: Ino, name: String) throws(MetaError) -> [UInt8]? {
        try first("SELECT value FROM jfs_xattr WHERE inode=? AND name=?", [.inode(inode), .text(name)], { $0.bytes(0) })
    }

    func putXattr(_ inode: Ino, name: String, value: [UInt8]) throws(MetaError) {
        try run(
            "INSERT INTO jfs_xattr(inode,name,value) VALUES(?,?,?) ON CONFLICT(inode,name) DO UPDATE SET value=excluded.value",
            [.inode(inode), .text(name), .blob(value)])
    }

    func deleteXattr(_ inode: Ino, name: String) throws(MetaError) {
        try run("DELETE FROM jfs_xattr WHERE inode=? AND name=?", [.inode(inode), .text(name)])
    }

    func xattrNames(_ inode: Ino) throws(MetaError) -> [String] {
        try all("SELECT name FROM jfs_xattr WHERE inode=?", [.inode(inode)]) { $0.text(0) }
    }

    // MARK: - Chunks and slices

    func chunk(_ inode: Ino, index: UInt32) throws(MetaError) -> [UInt8]? {
        if let kept = chunks[inode]?[index] { return kept }
        guard let records = try first(Self.selectChunk, [.inode(inode), .integer(Int64(index))], { $0.bytes(0) }) else { return nil }
        keep(records, inode, index)
        return records
    }

    private static let selectChunk = "SELECT slices FROM jfs_chunk WHERE inode=? AND indx=?"
    private static let appendChunk =
        "INSERT INTO jfs_chunk(inode,indx,slices) VALUES(?,?,?) ON CONFLICT(inode,indx) DO UPDATE SET slices=CAST(slices||excluded.slices AS BLOB) RETURNING slices"

    /// Appends to the chunk row, creating it when missing; the value stays a BLOB. The row
    /// comes back whole, so the records are kept without reading them.
    func appendRecords(_ inode: Ino, index: UInt32, _ records: [SliceRecord]) throws(MetaError) {
        let row = try sql { () throws(SQLiteError) -> [UInt8]? in
            let statement = try db.statement(Self.appendChunk).bind([.inode(inode), .integer(Int64(index)), .blob(records.flatMap(\.encoded))])
            guard try statement.step() else { return nil }
            let row = statement.bytes(0)
            try statement.run()  // to its end, leaving no write pending
            return row
        }
        if let row { keep(row, inode, index) } else { forgetChunks(of: inode) }
    }

    func setRecords(_ inode: Ino, index: UInt32, _ records: [UInt8]) throws(MetaError) {
        try run("UPDATE jfs_chunk SET slices=? WHERE inode=? AND indx=?", [.blob(records), .inode(inode), .integer(Int64(index))])
        if db.changes > 0 { keep(records, inode, index) }
    }

    func deleteChunk(_ inode: Ino, index: UInt32) throws(MetaError) {
        try run("DELETE FROM jfs_chunk WHERE inode=? AND indx=?", [.inode(inode), .integer(Int64(index))])
        if let gone = chunks[inode]?.removeValue(forKey: index) { chunkBytes -= gone.count + Self.chunkOverhead }
    }

    private func keep(_ records: [UInt8], _ inode: Ino, _ index: UInt32) {
        let replaced = chunks[inode]?[index].map { $0.count + Self.chunkOverhead } ?? 0
        let added = records.count + Self.chunkOverhead
        if chunkBytes - replaced + added > Self.chunkBytesKept {
            chunks.removeAll(keepingCapacity: true)
            chunkBytes = 0
        } else {
            chunkBytes -= replaced
        }
        chunks[inode, default: [:]][index] = records
        chunkBytes += added
    }

    private func forgetChunks(of inode: Ino) {
        guard let gone = chunks.removeValue(forKey: inode) else { return }
        chunkBytes -= gone.values.reduce(0) { $0 + $1.count + Self.chunkOverhead }
    }

    func chunkIndexes(_ inode: Ino, in range: Range<UInt32>) throws(MetaError) -> [UInt32] {
        try all(
            "SELECT indx FROM jfs_chunk WHERE inode=? AND indx>=? AND indx<? ORDER BY indx",
            [.inode(inode), .integer(Int64(range.lowerBound)), .integer(Int64(range.upperBound))]
        ) {
            UInt32(truncatingIfNeeded: $0.int64(0))
        }
    }

    func chunks(of inode: Ino) throws(MetaError) -> [(index: UInt32, records: [UInt8])] {
        try all("SELECT indx, slices FROM jfs_chunk WHERE inode=? ORDER BY indx", [.inode(inode)]) {
            (UInt32(truncatingIfNeeded: $0.int64(0)), $0.bytes(1))
        }
    }

    func referenceNewSlice(_ id: SliceID, size: UInt32) throws(MetaError) {
        try run(
            "INSERT INTO jfs_chunk_ref(chunkid,size,refs) VALUES(?,?,1) ON CONFLICT(chunkid) DO UPDATE SET refs=refs+1",
            [.slice(id), .integer(Int64(size))])
    }

    func addSliceReference(_ id: SliceID, size: UInt32) throws(MetaError) {
        try referenceNewSlice(id, size: size)
    }

    func setSliceReferences(_ id: SliceID, size: UInt32, refs: Int) throws(MetaError) {
        try run(
            "INSERT INTO jfs_chunk_ref(chunkid,size,refs) VALUES(?,?,?) ON CONFLICT(chunkid) DO UPDATE SET refs=excluded.refs",
            [.slice(id), .integer(Int64(size)), .integer(Int64(refs))])
    }

    /// A slice with one reference (most) loses its row in one statement.
    func dereferenceSlice(_ id: SliceID, size: UInt32) throws(MetaError) {
        try run("DELETE FROM jfs_chunk_ref WHERE chunkid=? AND refs<=1", [.slice(id)])
        if db.changes == 0 { try run("UPDATE jfs_chunk_ref SET refs=refs-1 WHERE chunkid=?", [.slice(id)]) }
    }

    // MARK: - Counters, statistics, sessions

    func addCounter(_ name: String, _ delta: Int64) throws(MetaError) {
        guard writeStatistics != nil, StatisticsDelta.heldCounters.contains(name) else { return try upsertCounter(name, delta) }
        writeStatistics!.add(counter: name, delta)
    }

    func addDirStat(_ inode: Ino, length: Int64, space: Int64, inodes: Int64) throws(MetaError) {
        let sums = StatisticsDelta.Directory(length: length, space: space, inodes: inodes)
        guard writeStatistics != nil else { return try upsertDirStat(inode, sums) }
        writeStatistics!.add(directory: inode, sums)
    }

    private func upsertCounter(_ name: String, _ delta: Int64) throws(MetaError) {
        try run(
            "INSERT INTO jfs_counter(name,value) VALUES(?,?) ON CONFLICT(name) DO UPDATE SET value=value+excluded.value",
            [.text(name), .integer(delta)])
    }

    private func upsertDirStat(_ inode: Ino, _ sums: StatisticsDelta.Directory) throws(MetaError) {
        try run(
            """
            INSERT INTO jfs_dir_stats(inode,data_length,used_space,used_inodes) VALUES(?,?,?,?) ON CONFLICT(inode) DO UPDATE SET \
            data_length=data_length+excluded.data_length, used_space=used_space+excluded.used_space, used_inodes=used_inodes+excluded.used_inodes
            """,
            [.inode(inode), .integer(sums.length), .integer(sums.space), .integer(sums.inodes)])
    }

    func sustain(_ inode: Ino, session: Int64) throws(MetaError) {
        try run("INSERT OR IGNORE INTO jfs_sustained(sid,inode) VALUES(?,?)", [.integer(session), .inode(inode)])
    }

    // MARK: - SQL helpers

    private func sql<Result>(_ body: () throws(SQLiteError) -> Result) throws(MetaError) -> Result {
        do {
            return try body()
        } catch {
            throw MetaError(sqlite: error)
        }
    }

    private func run(_ text: String, _ values: [SQLiteValue]) throws(MetaError) {
        try sql { () throws(SQLiteError) in try db.statement(text).bind(values).run() }
    }

    private func first<Row>(_ text: String, _ values: [SQLiteValue], _ read: (SQLiteStatement) -> Row) throws(MetaError) -> Row? {
        try sql { () throws(SQLiteError) -> Row? in
            let statement = try db.statement(text).bind(values)
            return try statement.step() ? read(statement) : nil
        }
    }

    private func all<Row>(_ text: String, _ values: [SQLiteValue], _ read: (SQLiteStatement) -> Row) throws(MetaError) -> [Row] {
        try sql { () throws(SQLiteError) -> [Row] in
            let statement = try db.statement(text).bind(values)
            var rows: [Row] = []
            while try statement.step() { rows.append(read(statement)) }
            return rows
        }
    }
}

extension SQLiteValue {
    static func inode(_ inode: Ino) -> SQLiteValue { .integer(Int64(bitPattern: inode.rawValue)) }
    /// A slice id as SQLite keeps it: the same bits, signed.
    static func slice(_ id: SliceID) -> SQLiteValue { .integer(Int64(bitPattern: id.rawValue)) }
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
