import CSQLite

/// A prepared statement: bind parameters (1-based), step through rows, read columns (0-based).
public final class SQLiteStatement {
    private let handle: OpaquePointer
    private unowned let connection: SQLiteConnection

    init(handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit { sqlite3_finalize(handle) }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    @discardableResult
    public func bind(_ values: SQLiteValue...) -> SQLiteStatement {
        bind(values)
    }

    @discardableResult
    public func bind(_ values: [SQLiteValue]) -> SQLiteStatement {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .integer(let number): sqlite3_bind_int64(handle, index, number)
            case .text(let text): sqlite3_bind_text(handle, index, text, -1, csqlite_transient())
            case .blob(let bytes):
                bytes.withUnsafeBytes { raw in
                    // A zero-length blob must still be a BLOB, not NULL: pass a non-null pointer.
                    _ = sqlite3_bind_blob(handle, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(raw.count), csqlite_transient())
                }
            case .null: sqlite3_bind_null(handle, index)
            }
        }
        return self
    }

    /// Advances to the next row; `false` when the statement is done.
    public func step() throws(SQLiteError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code:
            let error = SQLiteError(code: code, message: connection.lastMessage)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Runs a statement that returns no rows.
    public func run() throws(SQLiteError) {
        while try step() {}
    }

    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    /// The column's raw bytes whatever its storage class (TEXT values with NULs included).
    public func bytes(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    public func text(_ column: Int32) -> String {
        String(decoding: bytes(column), as: UTF8.self)
    }
}

public enum SQLiteValue: Sendable {
    case integer(Int64)
    case text(String)
    case blob([UInt8])
    case null
}
