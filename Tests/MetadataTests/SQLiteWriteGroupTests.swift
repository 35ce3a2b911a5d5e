import Foundation
import Metadata
import SQLite
import StorageFormat
import SystemPackage
import TestSupport
import Testing

/// A mount's live SQLite store groups its writes: the engine sees each at once, another
/// connection (or a restart after a crash) once the group is persisted, which `persist`
/// (fsync), a snapshot, dropping the engine and the persist window each do; closing a file
/// does not.
/// The window is an hour here but where it is the subject, so nothing else persists a group
/// behind a test's back.
@Suite struct SQLiteWriteGroupTests {
    private let path: FilePath
    private let engine: NamespaceEngine

    init() throws {
        path = try Scratch.directory("grouped").appending("meta.db")
        engine = try NamespaceEngine.open(.sqlite(path), persistWithin: .seconds(3600))
        try engine.format(VolumeFormat(name: "testvol", storage: "file", bucket: "/tmp/volumed-unused-bucket/"))
    }

    /// The names in the root as a second connection, which sees only committed writes, reads them.
    private func namesOnDisk() throws -> [String] {
        let outsider = try NamespaceEngine.open(.sqlite(path))
        return try outsider.readdir(.root, after: nil, limit: 1000, attributes: false).map { String(decoding: $0.name, as: UTF8.self) }
    }

    private func create(_ name: String, in engine: NamespaceEngine? = nil) throws -> Ino {
        try (engine ?? self.engine).mknod(parent: .root, name: [UInt8](name), type: .regular, mode: 0o644, owner: me, rdev: 0).0
    }

    @Test func writesAreGroupedUntilPersistedAndAFailedOneRollsBackAlone() throws {
        _ = try create("a")
        _ = try create("b")
        #expect(errno { _ = try create("a") } == .fileExists)
        try engine.rename(parent: .root, name: [UInt8]("b"), newParent: .root, newName: [UInt8]("c"), flags: [])
        #expect(try engine.readdir(.root, after: nil, limit: 100, attributes: false).map { String(decoding: $0.name, as: UTF8.self) } == ["a", "c"])
        #expect(try namesOnDisk().isEmpty, "the group is not committed yet")
        try engine.persist()
        #expect(try namesOnDisk() == ["a", "c"])
        #expect(try engine.statfs().usedInodes == 2, "the failed create left no trace in the counters")
    }

    /// The group writes the statistics rows (usedSpace, totalInodes, jfs_dir_stats) once,
    /// before its COMMIT: after the same changes, failed ones and a removed directory among
    /// them, they match a store that writes them at once, and statfs counts them meanwhile.
    @Test func heldStatisticsReachTheirRowsAsIfWrittenAtOnce() throws {
        let directPath = try Scratch.directory("direct").appending("meta.db")
        let direct = try NamespaceEngine.open(.sqlite(directPath))
        try direct.format(VolumeFormat(name: "testvol", storage: "file", bucket: "/tmp/volumed-unused-bucket/"))
        for engine in [engine, direct] {
            let (docs, _) = try engine.mknod(parent: .root, name: [UInt8]("docs"), type: .directory, mode: 0o755, owner: me, rdev: 0)
            let (gone, _) = try engine.mknod(parent: .root, name: [UInt8]("gone"), type: .directory, mode: 0o755, owner: me, rdev: 0)
            for index in 0..<5 {
                let (file, _) = try engine.mknod(parent: docs, name: [UInt8]("f\(index)"), type: .regular, mode: 0o644, owner: me, rdev: 0)
                try engine.appendSlice(file, index: 0, record: SliceRecord(pos: 0, id: try engine.newSliceID(), size: 5000, off: 0, len: 5000), mtime: .now())
            }
            _ = try engine.mknod(parent: gone, name: [UInt8]("inside"), type: .regular, mode: 0o644, owner: me, rdev: 0)
            #expect(errno { _ = try engine.mknod(parent: docs, name: [UInt8]("f1"), type: .regular, mode: 0o644, owner: me, rdev: 0) } == .fileExists)
            #expect(errno { try engine.rmdir(parent: .root, name: [UInt8]("gone")) } == .directoryNotEmpty)
            try engine.unlink(parent: gone, name: [UInt8]("inside"))
            try engine.rmdir(parent: .root, name: [UInt8]("gone"))
            try engine.unlink(parent: docs, name: [UInt8]("f0"))
            try engine.rename(parent: docs, name: [UInt8]("f1"), newParent: .root, newName: [UInt8]("moved"), flags: [])
        }
        #expect(try engine.statfs() == direct.statfs(), "the held counters count before the group commits")
        try engine.persist()
        func rows(_ path: FilePath) throws -> [String] {
            let connection = try SQLiteConnection(path: path.string, readOnly: true)
            var rows: [String] = []
            for (query, columns) in [
                ("SELECT name, value FROM jfs_counter WHERE name IN ('usedSpace','totalInodes') ORDER BY name", 2),
                ("SELECT inode, data_length, used_space, used_inodes FROM jfs_dir_stats ORDER BY inode", 4),
            ] {
                let statement = try connection.statement(query)
                while try statement.step() { rows.append((0..<columns).map { statement.text(Int32($0)) }.joined(separator: " ")) }
            }
            return rows
        }
        let written = try rows(path)
        #expect(written == (try rows(directPath)))
        #expect(written.count == 4, "two counters, the root and docs, and no row for the removed directory: \(written)")
    }

    @Test func closingAFileLeavesTheGroupToTheWindow() throws {
        let file = try create("open")
        try engine.open(file)
        try engine.close(file)
        #expect(try namesOnDisk().isEmpty)
        try engine.open(file)
        try engine.unlink(parent: .root, name: [UInt8]("open"))
        try engine.close(file)
        #expect(throws: MetaError.self) { try engine.getattr(file) }
        #expect(try engine.statfs().usedInodes == 0, "the unlinked file went with its last close")
    }

    /// A listing with attributes joins entries to their nodes; an entry whose node is gone
    /// (a damaged store) fails the listing instead of vanishing from it.
    @Test func aListingNamesAnEntryWhoseNodeIsMissing() throws {
        for name in ["a", "b", "c"] { _ = try create(name) }
        let b = try engine.lookup(parent: .root, name: [UInt8]("b")).0
        try engine.persist()
        #expect(try engine.readdir(.root, after: nil, limit: 10, attributes: true).map { $0.attr?.type } == [.regular, .regular, .regular])
        let damaged = try NamespaceEngine.open(.sqlite(path))
        try SQLiteConnection(path: path.string).execute("DELETE FROM jfs_node WHERE inode=\(b)")
        #expect(try damaged.readdir(.root, after: nil, limit: 10, attributes: false).count == 3)
        let error = #expect(throws: MetaError.self) { try damaged.readdir(.root, after: nil, limit: 10, attributes: true) }
        #expect(error?.errno == .ioError && error?.detail.contains("missing inode \(b)") == true)
    }

    /// A slice shared by two files (copy_file_range) keeps its reference row until the
    /// last file holding it goes, as juicefs counts `jfs_chunk_ref.refs`.
    @Test func aSharedSliceLosesItsReferenceRowWithItsLastFile() throws {
        let original = try create("original")
        let copy = try create("copy")
        let id = try engine.newSliceID()
        let record = SliceRecord(pos: 0, id: id, size: 4096, off: 0, len: 4096)
        try engine.appendSlice(original, index: 0, record: record, mtime: .now())
        try engine.appendReferences(copy, index: 0, records: [record], mtime: .now())
        func references() throws -> Int64? {
            try engine.persist()
            let statement = try SQLiteConnection(path: path.string).statement("SELECT refs FROM jfs_chunk_ref WHERE chunkid=\(id)")
            return try statement.step() ? statement.int64(0) : nil
        }
        #expect(try references() == 2)
        try engine.unlink(parent: .root, name: [UInt8]("original"))
        #expect(try references() == 1)
        try engine.unlink(parent: .root, name: [UInt8]("copy"))
        #expect(try references() == nil)
    }

    @Test func aLongRunOfWritesCommitsAsItGoes() throws {
        for index in 0..<600 { _ = try create("f\(index)") }
        let committed = try namesOnDisk().count
        #expect(committed >= 512 && committed < 600, "groups of 256 committed, the last one still open (\(committed))")
    }

    @Test func aSnapshotHoldsEveryGroupedWrite() throws {
        for index in 0..<300 { _ = try create("f\(index)") }
        let copy = try Scratch.directory("grouped-snapshot").appending("index.db")
        try engine.snapshotCopy(at: copy)
        let reopened = try NamespaceEngine.open(.sqlite(copy))
        #expect(try reopened.readdir(.root, after: nil, limit: 1000, attributes: false).count == 300)
    }

    @Test func droppingTheEnginePersists() throws {
        var dropped: NamespaceEngine? = try NamespaceEngine.open(.sqlite(path), persistWithin: .seconds(3600))
        _ = try create("last", in: dropped)
        dropped = nil
        #expect(try namesOnDisk() == ["last"])
    }

    /// On a file system that fills up, writes, group commits or both fail; whatever failed,
    /// a snapshot that succeeds holds every write that was acknowledged.
    @Test func aFullDiskNeverLetsASnapshotMissAnAcknowledgedWrite() throws {
        let small = try Scratch.directory("full-disk")
        try Command.check(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small.string])
        defer { _ = try? Command.run(["umount", "-l", small.string]) }
        let filling = try NamespaceEngine.open(.sqlite(small.appending("meta.db")), persistWithin: .seconds(3600))
        try filling.format(VolumeFormat(name: "testvol", storage: "file", bucket: "/tmp/volumed-unused-bucket/"))
        var acknowledged: Set<String> = []
        var failures = 0
        for index in 0..<20_000 where failures < 20 {
            let name = "f\(index)-" + String(repeating: "x", count: 200)
            do {
                _ = try create(name, in: filling)
                acknowledged.insert(name)
                if index % 50 == 0 { try filling.persist() }
            } catch {
                failures += 1
            }
        }
        #expect(failures > 0, "a 1 MiB file system must fill up")
        let copy = try Scratch.directory("full-disk-snapshot").appending("index.db")
        do {
            try filling.snapshotCopy(at: copy)
        } catch {
            return
        }
        let reopened = try NamespaceEngine.open(.sqlite(copy))
        var found: Set<String> = []
        var after: [UInt8]?
        repeat {
            let page = try reopened.readdir(.root, after: after, limit: 4096, attributes: false)
            found.formUnion(page.map { String(decoding: $0.name, as: UTF8.self) })
            after = page.last?.name
        } while after != nil
        let missing = acknowledged.subtracting(found).count
        #expect(missing == 0, "acknowledged creates missing from the snapshot")
    }

    @Test func theWindowPersistsAGroupNobodyElseDoes() throws {
        let windowed = try NamespaceEngine.open(.sqlite(path), persistWithin: .milliseconds(50))
        _ = try create("idle", in: windowed)
        let deadline = Date().addingTimeInterval(10)
        while try namesOnDisk().isEmpty, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(try namesOnDisk() == ["idle"])
    }
}
