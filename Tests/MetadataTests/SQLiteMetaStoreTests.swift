import Foundation
import TestSupport
import Testing
import VolumeModel

@testable import Metadata

/// The store keeps the nodes it read and wrote, to spare a SELECT per request; what it keeps
/// must never show a change SQLite rolled back.
@Suite struct SQLiteMetaStoreTests {
    private func formattedStore(grouped: Bool) throws -> any MetaStore {
        let path = try Scratch.directory("node-memory").appending("meta.db")
        let engine = try NamespaceEngine.open(.sqlite(path), persistWithin: grouped ? .seconds(3600) : nil)
        try engine.format(VolumeFormat(name: "testvol", storage: "file", bucket: "/tmp/volumed-unused-bucket/"))
        return engine.store
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
                try tx.insertNode(newborn, Attr(type: .regular, mode: 0o644, uid: 1, gid: 1, time: .now(), nlink: 1, length: 0, parent: .root))
                #expect(try tx.node(.root) == changed, "a write sees its own changes")
                throw MetaError(.ioError, "failing on purpose")
            }
        }
        #expect(try store.read { (tx) throws(MetaError) in try tx.node(.root) } == root)
        #expect(try store.read { (tx) throws(MetaError) in try tx.node(newborn) } == nil)
    }

    @Test func aNodeReadsBackAsWrittenWithTheColumnsItWasBornWith() throws {
        let store = try formattedStore(grouped: true)
        var attr = Attr(type: .regular, mode: 0o644, uid: 1, gid: 2, time: .now(), nlink: 1, length: 10, parent: .root)
        attr.accessACL = 7
        try store.write { (tx) throws(MetaError) in try tx.insertNode(99, attr) }
        var changed = attr
        changed.length = 20
        changed.accessACL = 8  // not a column an update writes
        try store.write { (tx) throws(MetaError) in try tx.updateNode(99, changed) }
        var expected = changed
        expected.accessACL = 7
        #expect(try store.read { (tx) throws(MetaError) in try tx.node(99) } == expected)
        try store.write { (tx) throws(MetaError) in try tx.deleteNode(99, type: .regular) }
        #expect(try store.read { (tx) throws(MetaError) in try tx.node(99) } == nil)
    }
}
