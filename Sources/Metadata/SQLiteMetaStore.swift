import Foundation
import SQLite
import StorageFormat
import SystemBridge
import SystemPackage

/// The default store: one SQLite database per volume in the exact juicefs 1.4 schema.
///
/// WAL with `synchronous=NORMAL` keeps commits cheap and the file consistent after a crash;
/// durability is owed at `commit`, through `snapshot`. The page cache is 16 MiB: the file's
/// pages are in the kernel's page cache anyway, so a larger one would mostly hold a second
/// copy of a large index in the daemon's memory. A write runs its `SQLiteTransaction` inside
/// `BEGIN IMMEDIATE`, where every statement sees the ones before it.
///
/// A store that groups writes (a mount's live store) runs each write in a savepoint of one
/// open transaction and commits the group on `persist` or after `groupLimit` writes: a
/// COMMIT costs more than the small write it ends, and a mount makes thousands a second.
/// A failed write rolls back alone. Other connections see a group once it is persisted.
/// The group holds back the statistics rows every change touches (`StatisticsDelta`) and
/// writes each once before its COMMIT: three upserts per small file otherwise.
final class SQLiteMetaStore: MetaStore {
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
    /// Rows as this connection last read or wrote them.
    var kept = SQLiteKeptRows()
    /// Whether a snapshot of the live file is held (a reader in it).
    private let heldSnapshots = SnapshotHold()

    init(path: FilePath, groupWrites: Bool = false) throws(MetaError) {
        groupsWrites = groupWrites
        do {
            db = try SQLiteConnection(path: path.string)
            try db.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY")
        } catch {
            throw MetaError(sqlite: error)
        }
    }

    /// Reads a committed database in place, page by page from `source`: no journal, no
    /// writes, a page cache of its own so that hot pages are not fetched again.
    init(readingFrom source: any ByteSource, shownAs name: String) throws(MetaError) {
        groupsWrites = false
        do {
            db = try SQLiteConnection(readingFrom: source, shownAs: name)
            try db.execute("PRAGMA query_only=1; PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY")
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
            for (inode, attr) in nodes { try SQLiteTransaction(store: self).insertNode(inode, attr) }
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
        guard groupsWrites else { return try forgettingOnFailure { () throws(MetaError) -> Result in try db.transaction { () throws(MetaError) -> Result in try body(SQLiteTransaction(store: self)) } } }
        if let lostGroup { throw lostGroup }
        if !db.inTransaction { try sql { () throws(SQLiteError) in try db.run("BEGIN IMMEDIATE") } }
        if undoingAlone { try sql { () throws(SQLiteError) in try db.run("SAVEPOINT grouped_write") } }
        writeStatistics = StatisticsDelta()
        defer { writeStatistics = nil }
        let changesBefore = db.totalChanges
        let result: Result
        do {
            result = try body(SQLiteTransaction(store: self))
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
        kept.forgetAll()
    }

    func read<Result>(_ body: (any MetaTransaction) throws(MetaError) -> Result) throws(MetaError) -> Result {
        try body(SQLiteTransaction(store: self))
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

    /// The live file, checkpointed whole and held by a reader (see `IndexSnapshot`). While an
    /// earlier snapshot is still held its reader keeps the checkpoint from finishing, so this
    /// one is a copy made with the online backup API instead.
    func snapshot(scratchFile: FilePath) throws(MetaError) -> IndexSnapshot {
        if let lostGroup { throw lostGroup }
        try persist()
        if heldSnapshots.tryTake() {
            do {
                if let held = try holdLiveFile() { return held }
            } catch {
                heldSnapshots.give()
                throw error
            }
            heldSnapshots.give()
        }
        try sql { () throws(SQLiteError) in try db.backup(to: scratchFile.string) }
        return try IndexSnapshot(file: scratchFile) { try? FileSystem.removeTree(scratchFile) }
    }

    /// Checkpoints the live file whole and opens the reader that holds it; `nil` when a
    /// reader of another connection kept the checkpoint from finishing.
    private func holdLiveFile() throws(MetaError) -> IndexSnapshot? {
        let reader = try sql { () throws(SQLiteError) -> SQLiteConnection? in
            guard try db.checkpointCompletely() else { return nil }
            let reader = try SQLiteConnection(path: db.path, readOnly: true)
            try reader.execute("BEGIN; SELECT count(*) FROM sqlite_master")
            return reader
        }
        guard let reader else { return nil }
        let held = heldSnapshots
        return try IndexSnapshot(file: FilePath(db.path)) {
            try? reader.run("COMMIT")
            held.give()
        }
    }

    // MARK: - Counters, statistics, sessions

    /// Counters and directory statistics a grouped write changes are held back until the
    /// group is persisted (see `StatisticsDelta`); other writes update their rows at once.
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

    /// A deleted directory's held-back statistics go with it.
    func forgetStatistics(ofDirectory inode: Ino) {
        if writeStatistics != nil { writeStatistics!.deleteDirectory(inode) } else { heldStatistics.forgetDirectory(inode) }
    }

    // MARK: - SQL helpers

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

/// One slot, taken by a held snapshot and given back when it is released (on any thread).
private final class SnapshotHold: @unchecked Sendable {
    private let lock = NSLock()
    private var taken = false

    func tryTake() -> Bool {
        lock.withLock {
            defer { taken = true }
            return !taken
        }
    }

    func give() { lock.withLock { taken = false } }
}
