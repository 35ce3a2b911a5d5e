/// A failed SQLite call with the library's result code and message.
public struct SQLiteError: Error, CustomStringConvertible, Sendable, Equatable {
    public let code: Int32
    public let message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "SQLite error \(code): \(message)" }

    /// SQLITE_CONSTRAINT and its extended codes: a unique or primary-key violation.
    public var isConstraintViolation: Bool { code & 0xff == 19 }
}

/// An error type that can carry an SQLite failure, so transactions keep the caller's error type.
public protocol SQLiteFailure: Error {
    init(sqlite: SQLiteError)
}

extension SQLiteError: SQLiteFailure {
    public init(sqlite: SQLiteError) { self = sqlite }
}
