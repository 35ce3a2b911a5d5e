import Foundation
import SQLite
import TestSupport
import Testing

/// A database read through `SQLiteSourceVFS` from bytes in memory: queries see the pages
/// the source answers, only those pages are asked for, a failing source is an error and
/// nothing can be written.
@Suite struct SQLiteSourceVFSTests {
    /// A database of `rows` rows, in WAL mode as a mount's store is, as bytes.
    private func database(rows: Int) throws -> Data {
        let path = try Scratch.directory("sqlite-source").appending("db").string
        let connection = try SQLiteConnection(path: path)
        try connection.execute("PRAGMA journal_mode=WAL; CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT); BEGIN")
        for key in 0..<rows { try connection.statement("INSERT INTO kv VALUES (?, ?)").bind(.integer(Int64(key)), .text("value \(key)")).run() }
        try connection.execute("COMMIT")
        let copy = path + ".copy"
        try connection.backup(to: copy)
        return try Data(contentsOf: URL(fileURLWithPath: copy))
    }

    private final class Source: ByteSource, @unchecked Sendable {
        let data: Data
        let lock = NSLock()
        var failing = false
        var pagesRead = Set<Int64>()

        init(_ data: Data) { self.data = data }

        var size: Int64 { Int64(data.count) }

        func bytes(at offset: Int64, count: Int) throws -> Data {
            try lock.withLock {
                if failing { throw CocoaError(.fileReadUnknown) }
                pagesRead.insert(offset / 4096)
                let start = Int(min(offset, size))
                return data.subdata(in: start..<min(start + count, data.count))
            }
        }
    }

    @Test func queriesReadOnlyThePagesTheyNeed() throws {
        let source = Source(try database(rows: 50_000))
        let connection = try SQLiteConnection(readingFrom: source, shownAs: "memory")
        let query = try connection.statement("SELECT v FROM kv WHERE k = ?")
        #expect(try query.bind(.integer(31_337)).step())
        #expect(query.text(0) == "value 31337")
        let pages = source.lock.withLock { source.pagesRead.count }
        #expect(pages <= 8, "a point lookup read \(pages) of \(source.data.count / 4096) pages")
        let count = try connection.statement("SELECT count(*) FROM kv")
        #expect(try count.step() && count.int64(0) == 50_000)
    }

    @Test func aFailingSourceIsAnErrorAndWritesAreRefused() throws {
        let source = Source(try database(rows: 10_000))
        let connection = try SQLiteConnection(readingFrom: source, shownAs: "memory")
        #expect(throws: SQLiteError.self, "a write") { try connection.execute("INSERT INTO kv VALUES (-1, 'no')") }
        source.lock.withLock { source.failing = true }
        let error = #expect(throws: SQLiteError.self, "a read of pages the source cannot give") {
            let query = try connection.statement("SELECT v FROM kv WHERE k = ?")
            _ = try query.bind(.integer(9_999)).step()
        }
        #expect(((error?.code ?? 0) & 0xff) == 10, "SQLITE_IOERR: \(String(describing: error))")
    }
}
