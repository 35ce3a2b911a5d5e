import Foundation
import SQLite
import TestSupport
import Testing

@Suite struct SQLiteConnectionTests {
    private func open() throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: try Scratch.directory("sqlite").appending("db").string)
        try connection.execute("CREATE TABLE kv(k BLOB PRIMARY KEY, v INTEGER)")
        return connection
    }

    private func count(_ connection: SQLiteConnection) throws -> Int64 {
        let statement = try connection.statement("SELECT count(*) FROM kv")
        _ = try statement.step()
        return statement.int64(0)
    }

    @Test func cachedStatementsComeBackResetAndUnbound() throws {
        let connection = try open()
        for key in 0..<3 {
            try connection.statement("INSERT INTO kv VALUES (?, ?)").bind(.blob([UInt8(key)]), .integer(Int64(key))).run()
        }
        let query = try connection.statement("SELECT v FROM kv WHERE k = ?")
        #expect(try query.bind(.blob([2])).step())
        #expect(query.int64(0) == 2)
        let again = try connection.statement("SELECT v FROM kv WHERE k = ?")
        #expect(again === query)
        #expect(try again.step() == false, "an unbound key matches nothing")
    }

    @Test func blobsKeepEmbeddedNULsAndTextReadsAsBytes() throws {
        let connection = try open()
        try connection.statement("INSERT INTO kv VALUES (?, 1)").bind(.blob([0x61, 0, 0x62])).run()
        try connection.statement("INSERT INTO kv VALUES (?, 2)").bind(.text("é")).run()
        let query = try connection.statement("SELECT k FROM kv ORDER BY v")
        #expect(try query.step())
        #expect(query.bytes(0) == [0x61, 0, 0x62])
        #expect(try query.step())
        #expect(query.bytes(0) == Array("é".utf8))
    }

    @Test func aThrowingTransactionRollsBack() throws {
        let connection = try open()
        struct Abort: SQLiteFailure {
            init(sqlite: SQLiteError) {}
            init() {}
        }
        #expect(throws: Abort.self) {
            try connection.transaction { () throws(Abort) in
                do throws(SQLiteError) {
                    try connection.statement("INSERT INTO kv VALUES (x'01', 1)").run()
                } catch {
                    throw Abort(sqlite: error)
                }
                throw Abort()
            }
        }
        #expect(try count(connection) == 0)
        try connection.transaction { () throws(SQLiteError) in
            try connection.statement("INSERT INTO kv VALUES (x'01', 1)").run()
        }
        #expect(try count(connection) == 1)
    }

    @Test func inTransactionFollowsBeginAndCommit() throws {
        let connection = try open()
        #expect(!connection.inTransaction)
        try connection.execute("BEGIN IMMEDIATE")
        #expect(connection.inTransaction)
        try connection.execute("SAVEPOINT inner; RELEASE inner")
        #expect(connection.inTransaction, "releasing a savepoint keeps the outer transaction")
        try connection.execute("COMMIT")
        #expect(!connection.inTransaction)
    }

    @Test func constraintViolationsAreRecognised() throws {
        let connection = try open()
        try connection.statement("INSERT INTO kv VALUES (x'01', 1)").run()
        let error = #expect(throws: SQLiteError.self) {
            try connection.statement("INSERT INTO kv VALUES (x'01', 2)").run()
        }
        #expect(error?.isConstraintViolation == true)
    }

    @Test func backupIsASnapshotUnaffectedByLaterWrites() throws {
        let connection = try open()
        try connection.statement("INSERT INTO kv VALUES (x'01', 1)").run()
        let copyPath = try Scratch.directory("sqlite-backup").appending("copy.db").string
        try connection.backup(to: copyPath)
        try connection.statement("INSERT INTO kv VALUES (x'02', 2)").run()
        let copy = try SQLiteConnection(path: copyPath, readOnly: true)
        #expect(try count(copy) == 1)
        #expect(try count(connection) == 2)
    }

    @Test func openingAMissingDirectoryNamesThePath() throws {
        let error = #expect(throws: SQLiteError.self) {
            _ = try SQLiteConnection(path: "/nonexistent-volumed/dir/db")
        }
        #expect(error?.message.contains("/nonexistent-volumed/dir/db") == true)
    }
}
