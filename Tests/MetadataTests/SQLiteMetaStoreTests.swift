import Foundation
import StorageFormat
import SystemPackage
import TestSupport
import Testing

@testable import Metadata

/// The store keeps the nodes and chunk records it read and wrote, to spare a SELECT per
/// request; what it keeps must never show a change SQLite rolled back.
@Suite struct SQLiteMetaStoreTests {
    private func formattedStore(grouped: Bool, at path: FilePath? = nil) throws -> any MetaStore {
        let path = try path ?? Scratch.directory("sqlite-store").appending("meta.db")
        let engine = try NamespaceEngine.open(.sqlite(path), persistWithin: grouped ? .seconds(3600) : nil)
        try engine.format(VolumeFormat(name: "testvol", storage: "file", bucket: "/tmp/volumed-unused-bucket/"))
        return engine.store
    }

    private func file(_ length: UInt64 = 0) -> Attr {
        Attr(type: .regular, mode: 0o644, uid: 1, gid: 1, time: .now(), nlink: 1, length: length, parent: .root)
    }

    /// What another connection, which sees committed writes only, finds of `inodes`.
    private func committed(_ inodes: [Ino], at path: FilePath) throws -> [Ino] {
        let outsider = try NamespaceEngine.open(.sqlite(path)).store
        return try inodes.filter { inode in try outsider.read { (tx) throws(MetaError) in try tx.node(inode) } != nil }
    }

    @Test func aWriteCheckedFirstThatFailsBeforeChangingAnythingLeavesTheGroup() throws {
        let path = try Scratch.directory("checked-first").appending("meta.db")
        let store = try formattedStore(grouped: true, at: path)
        try store.write { (tx) throws(MetaError) in try tx.insertNode(100, file()) }
        #expect(throws: MetaError(.noSuchFileOrDirectory)) {
            try store.writeCheckedFirst { (tx) throws(MetaError) in _ = try tx.requireNode(4242) }
        }
        try store.writeCheckedFirst { (tx) throws(MetaError) in try tx.insertNode(101, file()) }
        try store.persist()
        #expect(try committed([100, 101], at: path) == [100, 101])
    }

    @Test func aWriteCheckedFirstThatFailsAfterAChangeEndsTheGroupWithNothingHalfDone() throws {
        let path = try Scratch.directory("checked-first").appending("meta.db")
        let store = try formattedStore(grouped: true, at: path)
        try store.write { (tx) throws(MetaError) in try tx.insertNode(100, file()) }
        #expect(throws: MetaError.self) {
            try store.writeCheckedFirst { (tx) throws(MetaError) in
                try tx.insertNode(102, file())
                throw MetaError(.ioError, "failing on purpose after a change")
            }
        }
        #expect(throws: MetaError.self, "the group's acknowledged write is lost: later writes say so") {
            try store.write { (tx) throws(MetaError) in try tx.insertNode(103, file()) }
        }
        #expect(throws: MetaError.self) { try store.snapshot(scratchFile: path.removingLastComponent().appending("copy.db")) }
        #expect(try store.read { (tx) throws(MetaError) in try tx.node(102) } == nil)
        try store.persist()
        #expect(try committed([100, 102, 103], at: path).isEmpty)
    }

    @Test(arguments: [false, true]) func aFailedWriteLeavesNoChangedNodeBehind(grouped: Bool) throws {
        let store = try formattedStore(grouped: grouped)
        let root = try #require(try store.read { (tx) throws(MetaError) in try tx.node(.root) })
        let newborn: Ino = 4242
        #expect(throws: MetaError.self) {
            try store.write { (tx) throws(MetaError) in
                var changed = root
                changed.mode = 0o700
                changed.nlink += 1
                try tx.updateNode(.root, changed)
                try tx.insertNode(newborn, file())
                #expect(try tx.node(.root) == changed, "a write sees its own changes")
                throw MetaError(.ioError, "failing on purpose")
            }
        }
        #expect(try store.read { (tx) throws(MetaError) in try tx.node(.root) } == root)
        #expect(try store.read { (tx) throws(MetaError) in try tx.node(newborn) } == nil)
    }

    @Test func aNodeReadsBackAsWrittenWithTheColumnsItWasBornWith() throws {
        let store = try formattedStore(grouped: true)
        var attr = file(10)
        attr.accessACL = 7
        try store.write { (tx) throws(MetaError) in try tx.insertNode(99, attr) }
        var changed = attr
        changed.length = 20
        changed.accessACL = 8  // not a column an update writes
        try store.write { (tx) throws(MetaError) in try tx.updateNode(99, changed) }
        var expected = changed
        expected.accessACL = 7
        #expect(try store.read { (tx) throws(MetaError) in try tx.node(99) } == expected)
        try store.write { (tx) throws(MetaError) in try tx.deleteNode(99, type: .regular, chunks: []) }
        #expect(try store.read { (tx) throws(MetaError) in try tx.node(99) } == nil)
    }

    private func slice(_ id: SliceID, at pos: UInt32) -> SliceRecord { SliceRecord(pos: pos, id: id, size: 4096, off: 0, len: 4096) }

    private func chunk(_ store: any MetaStore, _ inode: Ino, _ index: UInt32) throws -> [UInt8]? {
        try store.read { (tx) throws(MetaError) in try tx.chunk(inode, index: index) }
    }

    @Test(arguments: [false, true]) func chunkRecordsReadBackAsAppendedReplacedAndDeleted(grouped: Bool) throws {
        let path = try Scratch.directory("chunk-records").appending("meta.db")
        let store = try formattedStore(grouped: grouped, at: path)
        try store.write { (tx) throws(MetaError) in try tx.insertNode(99, file()) }
        #expect(try chunk(store, 99, 0) == nil)
        try store.write { (tx) throws(MetaError) in try tx.appendRecords(99, index: 0, [slice(1, at: 0)]) }
        #expect(try chunk(store, 99, 0) == slice(1, at: 0).encoded)
        try store.write { (tx) throws(MetaError) in try tx.appendRecords(99, index: 0, [slice(2, at: 4096), slice(3, at: 8192)]) }
        #expect(try chunk(store, 99, 0) == [slice(1, at: 0), slice(2, at: 4096), slice(3, at: 8192)].flatMap(\.encoded))
        try store.write { (tx) throws(MetaError) in try tx.setRecords(99, index: 0, slice(4, at: 0).encoded) }
        #expect(try chunk(store, 99, 0) == slice(4, at: 0).encoded)
        try store.write { (tx) throws(MetaError) in try tx.setRecords(99, index: 1, slice(5, at: 0).encoded) }
        #expect(try chunk(store, 99, 1) == nil, "replacing a chunk that has no row writes nothing")
        try store.persist()
        let outsider = try NamespaceEngine.open(.sqlite(path)).store
        #expect(try chunk(outsider, 99, 0) == slice(4, at: 0).encoded, "what it keeps is what the database holds")
        try store.write { (tx) throws(MetaError) in try tx.deleteNode(99, type: .regular, chunks: []) }
        #expect(try chunk(store, 99, 0) == nil)
    }

    @Test(arguments: [false, true]) func aFailedWriteLeavesNoAppendedRecordsBehind(grouped: Bool) throws {
        let store = try formattedStore(grouped: grouped)
        try store.write { (tx) throws(MetaError) in
            try tx.insertNode(99, file())
            try tx.appendRecords(99, index: 0, [slice(1, at: 0)])
        }
        #expect(throws: MetaError.self) {
            try store.write { (tx) throws(MetaError) in
                try tx.appendRecords(99, index: 0, [slice(2, at: 4096)])
                try tx.appendRecords(99, index: 3, [slice(3, at: 0)])
                throw MetaError(.ioError, "failing on purpose")
            }
        }
        #expect(try chunk(store, 99, 0) == slice(1, at: 0).encoded)
        #expect(try chunk(store, 99, 3) == nil)
    }
}
