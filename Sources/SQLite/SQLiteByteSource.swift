import Foundation

/// The bytes of a database that is not a local file (a committed index in object storage),
/// read by SQLite through `SQLiteSourceVFS` one page at a time. The bytes never change
/// while a connection reads them, which is what lets SQLite skip locks and journals.
public protocol SQLiteByteSource: AnyObject, Sendable {
    /// The database's length in bytes.
    var size: Int64 { get }
    /// Exactly `count` bytes at `offset`, or fewer only where the database ends.
    func bytes(at offset: Int64, count: Int) throws -> Data
}
