import Foundation
@testable import Metadata
import StorageFormat
import SystemBridge
import SystemPackage
import TestSupport
import Testing

/// A committed Redis namespace read in place from its key-ordered RDB answers every read as
/// the server it was saved from does, refuses every write, and turns a damaged file into
/// EIO rather than wrong metadata or a wedge.
@Suite struct RDBMetaStoreTests {
    /// A namespace with every shape juicefs keeps in Redis: small directories (listpack
    /// hashes) and a large one with long names (a hash table of LZF-compressed strings),
    /// names Redis stores as integers, a file of thousands of slice records over sparse
    /// chunks (a quicklist of several nodes), a symlink, a hard link, large and small xattrs.
    private func populated() throws -> any MetaEngine {
        let engine = try EngineKind.redis.makeFormatted()
        let (small, _) = try engine.mknod(parent: .root, name: [UInt8]("small"), type: .directory, mode: 0o755, owner: me, rdev: 0)
        for name in ["a", "123", "-5", "007", "4294967296"] {
            _ = try engine.mknod(parent: small, name: [UInt8](name), type: .regular, mode: 0o644, owner: me, rdev: 0)
        }
        let (big, _) = try engine.mknod(parent: .root, name: [UInt8]("big"), type: .directory, mode: 0o755, owner: me, rdev: 0)
        for index in 0..<300 {
            _ = try engine.mknod(parent: big, name: [UInt8]("name-\(index)-" + String(repeating: "a", count: 40)), type: .regular, mode: 0o600, owner: me, rdev: 0)
        }
        let (file, _) = try engine.mknod(parent: .root, name: [UInt8]("chunks"), type: .regular, mode: 0o644, owner: me, rdev: 0)
        for index in [0, 5, 70] as [UInt32] {
            for position in 0..<(index == 0 ? 3000 : 3) as Range<UInt32> {
                let id = try engine.newSliceID()
                try engine.appendSlice(file, index: index, record: SliceRecord(pos: position * 16, id: id, size: 16, off: 0, len: 16), mtime: .now())
            }
        }
        _ = try engine.symlink(parent: .root, name: [UInt8]("link"), target: [UInt8]("small/a"), owner: me)
        _ = try engine.link(file, parent: small, name: [UInt8]("hard"))
        try engine.setxattr(file, name: "user.small", value: [0, 1, 2, 255], flags: [])
        try engine.setxattr(file, name: "user.large", value: [UInt8](repeating: 7, count: 10_000), flags: [])
        return engine
    }

    /// The engine over a key-ordered snapshot of `engine`, its pieces cut every `pieceSize`
    /// bytes (small, so that many pieces continue a record and carry no fence).
    private func inPlace(_ engine: any MetaEngine, pieceSize: Int64) throws -> (NamespaceEngine, IndexSnapshot) {
        let (snapshot, _) = try engine.takeSnapshot(scratchFile: try Scratch.directory("rdb").appending("snapshot.rdb"))
        let starts = Array(stride(from: Int64(0), to: snapshot.size, by: Int(pieceSize)))
        let fences = try #require(try snapshot.keyFences(pieceStarts: starts))
        #expect(fences.contains(nil), "a piece that only continues a record has no fence")
        return (try NamespaceEngine.open(readingRDBFrom: try MappedFile(snapshot.file), fences: fences, shownAs: "snapshot.rdb"), snapshot)
    }

    @Test func everyReadMatchesTheServerItWasSavedFrom() throws {
        let live = try populated()
        let (reader, snapshot) = try inPlace(live, pieceSize: 1024)
        defer { snapshot.release() }
        #expect(try reader.loadFormat() == live.loadFormat())
        #expect(try reader.statfs() == live.statfs())
        var directories: [Ino] = [.root]
        var visited = 0
        while let directory = directories.popLast() {
            let expected = try live.readdir(directory, after: nil, limit: 10_000, attributes: true)
            #expect(try reader.readdir(directory, after: nil, limit: 10_000, attributes: true) == expected)
            #expect(try reader.readdir(directory, after: expected.first?.name, limit: 2, attributes: false).map(\.name) == expected.dropFirst().prefix(2).map(\.name))
            for entry in expected {
                visited += 1
                let (inode, attr) = try reader.lookup(parent: directory, name: entry.name)
                #expect(inode == entry.inode && attr == entry.attr)
                #expect(try reader.getattr(entry.inode) == live.getattr(entry.inode))
                #expect(try reader.listxattr(entry.inode).sorted() == live.listxattr(entry.inode).sorted())
                for name in try live.listxattr(entry.inode) { #expect(try reader.getxattr(entry.inode, name: name) == live.getxattr(entry.inode, name: name)) }
                switch entry.type {
                case .directory: directories.append(entry.inode)
                case .symlink: #expect(try reader.readlink(entry.inode) == live.readlink(entry.inode))
                default:
                    for index in [0, 1, 5, 70, 71] as [UInt32] { #expect(try reader.readChunk(entry.inode, index: index) == live.readChunk(entry.inode, index: index)) }
                }
            }
        }
        #expect(visited == 4 + 6 + 300)
        #expect(errno { _ = try reader.lookup(parent: .root, name: [UInt8]("absent")) } == .noSuchFileOrDirectory)
        #expect(errno { _ = try reader.getattr(424242) } == .noSuchFileOrDirectory)
        var slices: [SliceID] = []
        var expectedSlices: [SliceID] = []
        try reader.forEachReferencedSlice { slices.append($0) }
        try live.forEachReferencedSlice { expectedSlices.append($0) }
        #expect(slices.sorted() == expectedSlices.sorted() && slices.count == 3006)
    }

    @Test func everyWriteIsRefused() throws {
        let (reader, snapshot) = try inPlace(try populated(), pieceSize: 4096)
        defer { snapshot.release() }
        #expect(errno { _ = try reader.mknod(parent: .root, name: [UInt8]("new"), type: .regular, mode: 0o644, owner: me, rdev: 0) } == .readOnlyFileSystem)
        #expect(errno { try reader.unlink(parent: .root, name: [UInt8]("link")) } == .readOnlyFileSystem)
        #expect(errno { _ = try reader.newSliceID() } == .readOnlyFileSystem)
        #expect(try reader.lookup(parent: .root, name: [UInt8]("link")).1.type == .symlink)
    }

    /// The records come in key order, the snapshot holds the engine's database alone (the
    /// test server is shared), and a server loads it back key for key.
    @Test func theSnapshotIsInKeyOrderAndLoadsBack() throws {
        let live = try populated()
        let (snapshot, _) = try live.takeSnapshot(scratchFile: try Scratch.directory("rdb").appending("snapshot.rdb"))
        defer { snapshot.release() }
        var reader = try RDBReader(try MappedFile(snapshot.file), name: "snapshot")
        var keys: [[UInt8]] = []
        var databases: Set<Int> = []
        var types: Set<UInt8> = []
        while let record = try reader.next() {
            keys.append(record.key)
            databases.insert(record.database)
            types.insert(record.type)
        }
        #expect(keys.count > 300 && databases.count == 1)
        let shapes = [RDBReader.ValueType.string, RDBReader.ValueType.hash, RDBReader.ValueType.hashListpack, RDBReader.ValueType.listQuicklist2]
        #expect(types.isSuperset(of: shapes), "the namespace holds strings, hash tables, listpack hashes and quicklists: \(types.sorted())")
        #expect(zip(keys, keys.dropFirst()).allSatisfy { $0.lexicographicallyPrecedes($1) })

        let directory = try Scratch.directory("rdb-load")
        try FileSystem.copyFile(snapshot.file, to: directory.appending("dump.rdb"))
        let server = RedisServer(directory: directory, databases: 4096)
        try server.start()
        defer { try? server.stop() }
        let loaded = try NamespaceEngine.open(.redis(server.address(database: databases.first!)))
        #expect(try loaded.readdir(.root, after: nil, limit: 100, attributes: true) == live.readdir(.root, after: nil, limit: 100, attributes: true))
        #expect(try loaded.statfs() == live.statfs())
    }

    /// A file cut short, or a length that claims more than the file holds, is EIO at the
    /// call that reads it, having read no more than the file.
    @Test func aDamagedFileIsAnIOErrorNotAWedge() throws {
        let live = try populated()
        let (snapshot, _) = try live.takeSnapshot(scratchFile: try Scratch.directory("rdb").appending("snapshot.rdb"))
        defer { snapshot.release() }
        let whole = try Data(contentsOf: URL(fileURLWithPath: snapshot.file.string))
        let starts = Array(stride(from: Int64(0), to: Int64(whole.count), by: 1024))
        let fences = try #require(try snapshot.keyFences(pieceStarts: starts))

        let cut = try Scratch.directory("rdb-cut").appending("cut.rdb")
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: cut.string))
        let reader = try NamespaceEngine.open(readingRDBFrom: try MappedFile(cut), fences: fences, shownAs: "cut.rdb")
        let failures = try live.readdir(.root, after: nil, limit: 100, attributes: false).filter { entry in
            errno { _ = try reader.readdir(entry.inode, after: nil, limit: 10_000, attributes: true) } == .ioError
                || errno { _ = try reader.getattr(entry.inode) } == .ioError
        }
        #expect(!failures.isEmpty, "half a file answers nothing wrongly and fails somewhere")

        // A string whose length says 4 GiB, in a file of a few bytes.
        let claimed: [UInt8] = Array("REDIS0010".utf8) + [0xFE, 0x00, 0x00, 0x01, UInt8(ascii: "k"), 0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        let hostile = try Scratch.directory("rdb-hostile").appending("hostile.rdb")
        try Data(claimed).write(to: URL(fileURLWithPath: hostile.string))
        var walker = try RDBReader(try MappedFile(hostile), name: "hostile")
        #expect(errno { _ = try walker.next() } == .ioError)
        #expect(errno { try RDBSorter.sort(hostile, database: 0, into: hostile.removingLastComponent().appending("sorted")) } == .ioError)
    }

    /// A format other than Redis 7.0–7.2's is refused by name (a snapshot then copies it whole).
    @Test func anRDBOfAnotherFormatVersionIsRefusedByName() throws {
        let file = try Scratch.directory("rdb-version").appending("new.rdb")
        try Data(Array("REDIS0012".utf8) + [0xFF]).write(to: URL(fileURLWithPath: file.string))
        #expect(errno { _ = try RDBReader(try MappedFile(file), name: "new.rdb") } == .notSupported)
        try Data(Array("REDIS0009".utf8) + [0xFF]).write(to: URL(fileURLWithPath: file.string))
        #expect(errno { try RDBSorter.sort(file, database: 0, into: file.removingLastComponent().appending("sorted")) } == .notSupported, "ziplists: copied, not sorted")
        try Data(Array("NOTREDIS0".utf8)).write(to: URL(fileURLWithPath: file.string))
        #expect(errno { _ = try RDBReader(try MappedFile(file), name: "new.rdb") } == .ioError)
    }
}
