import Foundation

/// The bytes of a committed index that is not a local file (it lives in object storage),
/// read a part at a time: a SQLite database by SQLite through `SQLiteSourceVFS`, page by
/// page, and a Redis RDB by the metadata layer's reader, record by record. The bytes never
/// change while they are read, which is what lets SQLite skip locks and journals.
public protocol ByteSource: AnyObject, Sendable {
    /// The index's length in bytes.
    var size: Int64 { get }
    /// Exactly `count` bytes at `offset`, or fewer only where the index ends.
    func bytes(at offset: Int64, count: Int) throws -> Data
}
