import CSQLite

/// One SQLite connection with a cache of prepared statements.
///
/// Not thread-safe: the owner serialises access (the metadata engine holds a lock around
/// every transaction), which is what SQLite's single-writer model wants anyway.
public final class SQLiteConnection {
    private let handle: OpaquePointer
    private var statements: [String: SQLiteStatement] = [:]
    public let path: String

    /// The `SQLiteSourceVFS` token of a connection that reads a byte source.
    private let sourceToken: UInt64?

    /// Opens (creating if needed) the database at `path`.
    public convenience init(path: String, readOnly: Bool = false) throws(SQLiteError) {
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        try self.init(opening: path, flags: flags, shownAs: path, sourceToken: nil)
    }

    /// Opens a read-only connection to a database held by `source`, whose pages SQLite
    /// reads as its queries need them (see `SQLiteSourceVFS`).
    public convenience init(readingFrom source: any ByteSource, shownAs name: String) throws(SQLiteError) {
        let (uri, token) = try SQLiteSourceVFS.attach(source)
        do {
            try self.init(opening: uri, flags: SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, shownAs: name, sourceToken: token)
        } catch {
            SQLiteSourceVFS.detach(token)
            throw error
        }
    }

    private init(opening name: String, flags: Int32, shownAs path: String, sourceToken: UInt64?) throws(SQLiteError) {
        _ = Self.configured
        var handle: OpaquePointer?
        let result = sqlite3_open_v2(name, &handle, flags, nil)
        guard result == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(handle)
            throw SQLiteError(code: result, message: "\(message) (\(path))")
        }
        self.handle = handle
        self.path = path
        self.sourceToken = sourceToken
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, 5000)
    }

    /// Process-wide settings, which SQLite takes only before its first connection opens.
    private static let configured: Bool = csqlite_disable_memory_statistics() == SQLITE_OK

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
        if let sourceToken { SQLiteSourceVFS.detach(sourceToken) }
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws(SQLiteError) {
        var error: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(handle, sql, nil, nil, &error)
        if result != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? lastMessage
            sqlite3_free(error)
            throw SQLiteError(code: result, message: message)
        }
    }

    /// Runs one statement without parameters through the statement cache: transaction
    /// control runs around every write, and `execute` parses its text each time.
    public func run(_ sql: String) throws(SQLiteError) {
        try statement(sql).run()
    }

    /// A prepared statement for `sql`, reused across calls; it comes back reset and unbound.
    public func statement(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        var prepared: OpaquePointer?
        let result = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, nil)
        guard result == SQLITE_OK, let prepared else { throw SQLiteError(code: result, message: "\(lastMessage) in: \(sql)") }
        let statement = SQLiteStatement(handle: prepared, connection: self)
        statements[sql] = statement
        return statement
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`, rolling back when it throws. Failures
    /// of BEGIN or COMMIT themselves (a busy or broken database) arrive as the body's error type.
    public func transaction<Result, Failure: SQLiteFailure>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        do {
            try run("BEGIN IMMEDIATE")
        } catch {
            throw Failure(sqlite: error)
        }
        let result: Result
        do {
            result = try body()
        } catch {
            try? run("ROLLBACK")
            throw error
        }
        do {
            try run("COMMIT")
        } catch {
            try? run("ROLLBACK")
            throw Failure(sqlite: error)
        }
        return result
    }

    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// Rows inserted, updated or deleted since the connection opened.
    public var totalChanges: Int64 { sqlite3_total_changes64(handle) }

    /// Whether a transaction is open; SQLite ends one by itself when a statement fails with
    /// SQLITE_FULL, SQLITE_IOERR or SQLITE_NOMEM, and a caller keeping one open must notice.
    public var inTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Copies the whole database into a new file at `destination` with the online backup
    /// API: a consistent snapshot even while this connection keeps writing afterwards.
    public func backup(to destination: String) throws(SQLiteError) {
        let target = try SQLiteConnection(path: destination)
        guard let backup = sqlite3_backup_init(target.handle, "main", handle, "main") else {
            throw SQLiteError(code: sqlite3_errcode(target.handle), message: target.lastMessage)
        }
        let step = sqlite3_backup_step(backup, -1)
        let finish = sqlite3_backup_finish(backup)
        guard step == SQLITE_DONE, finish == SQLITE_OK else {
            throw SQLiteError(code: step == SQLITE_DONE ? finish : step, message: target.lastMessage)
        }
    }

    /// Copies every frame of the WAL into the database file and empties the WAL, so that the
    /// file alone holds the database as it stands; false when another connection's open read
    /// kept part of the log out of the file.
    public func checkpointCompletely() throws(SQLiteError) -> Bool {
        // A cached statement left on a row holds a read of its own, which the checkpoint waits for.
        for statement in statements.values { statement.reset() }
        var logged: Int32 = 0
        var copied: Int32 = 0
        let result = sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_TRUNCATE, &logged, &copied)
        if result == SQLITE_BUSY { return false }
        guard result == SQLITE_OK else { throw SQLiteError(code: result, message: lastMessage) }
        return logged == copied
    }

    var lastMessage: String { String(cString: sqlite3_errmsg(handle)) }
}
