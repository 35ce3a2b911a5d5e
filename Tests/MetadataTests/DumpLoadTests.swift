import Foundation
import StorageFormat
import SystemPackage
import TestSupport
import Testing
@testable import Metadata

/// Dump and load between the engines, judged by the stock `juicefs dump`.
@Suite(.serialized) struct DumpLoadTests {
    private func json(_ path: FilePath) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path.string))) as! [String: Any]
    }

    private func juicefsDump(_ metaURL: String, into directory: FilePath, _ name: String) throws -> [String: Any] {
        let path = directory.appending(name)
        try Command.check(["juicefs", "dump", metaURL, path.string])
        return try json(path)
    }

    /// The dump without what legitimately differs between stores: the session counter.
    private func comparable(_ dump: [String: Any]) -> NSDictionary {
        var dump = dump
        var counters = dump["Counters"] as? [String: Any] ?? [:]
        counters["nextSession"] = nil
        dump["Counters"] = counters
        return dump as NSDictionary
    }

    /// The interop tree plus a 200 MB file described by slice records alone.
    private func populatedSQLiteVolume() throws -> JuiceFSInteropTests.WrittenVolume {
        let volume = try JuiceFSInteropTests.populate(.sqlite)
        let engine = volume.engine
        let (large, _) = try engine.mknod(parent: .root, name: Array("large.bin".utf8), type: .regular, mode: 0o600, owner: me, rdev: 0)
        for offset in stride(from: UInt64(0), to: 200 << 20, by: 4 << 20) {
            let record = SliceRecord(pos: UInt32(offset % ChunkGeometry.chunkSize), id: try engine.newSliceID(), size: 4 << 20, off: 0, len: 4 << 20)
            try engine.appendSlice(large, index: UInt32(offset / ChunkGeometry.chunkSize), record: record, mtime: .now())
        }
        try engine.setxattr(large, name: "user.odd name%\"\\", value: [0, 0xff, 0x20, 0x41], flags: [])
        return volume
    }

    @Test func sqliteToRedisToSQLiteKeepsTheJuicefsDumpIdentical() throws {
        let volume = try populatedSQLiteVolume()
        let directory = volume.directory
        let original = try juicefsDump(volume.metaURL, into: directory, "a.json")

        let ours = directory.appending("ours-a.json")
        try volume.engine.dump(to: ours)
        #expect((try json(ours)["FSTree"] as! NSDictionary) == (original["FSTree"] as! NSDictionary), "our dump's tree is juicefs's")

        let redisURL = try EngineKind.redis.freshURL()
        let redis = try NamespaceEngine.open(try MetaLocation(url: redisURL))
        var reported = 0
        try redis.load(from: ours) { reported = $0 }
        #expect(reported > 0, "load reports progress")
        let viaRedis = try juicefsDump(redisURL, into: directory, "b.json")
        #expect(comparable(viaRedis) == comparable(original))

        let oursFromRedis = directory.appending("ours-b.json")
        try redis.dump(to: oursFromRedis)
        let sqliteURL = try EngineKind.sqlite.freshURL()
        let sqlite = try NamespaceEngine.open(try MetaLocation(url: sqliteURL))
        try sqlite.load(from: oursFromRedis)
        let back = try juicefsDump(sqliteURL, into: directory, "c.json")
        #expect(comparable(back) == comparable(original))

        // The loaded stores are volumes juicefs accepts, slice references and all.
        let check = try Command.run(["juicefs", "fsck", sqliteURL, "--path", "/docs", "--recursive", "--sync-dir-stat"])
        #expect(check.succeeded, "\(check.output)")
        #expect(try sqlite.readChunk(try sqlite.lookup(parent: .root, name: Array("large.bin".utf8)).0, index: 3).count == 2)
    }

    @Test func juicefsLoadAcceptsOurDump() throws {
        let volume = try JuiceFSInteropTests.populate(.redis)
        let ours = volume.directory.appending("ours.json")
        try volume.engine.dump(to: ours)
        let target = try EngineKind.sqlite.freshURL()
        try Command.check(["juicefs", "load", target, ours.string])
        let loaded = try juicefsDump(target, into: volume.directory, "loaded.json")
        let original = try juicefsDump(volume.metaURL, into: volume.directory, "original.json")
        #expect((loaded["FSTree"] as! NSDictionary) == (original["FSTree"] as! NSDictionary))
    }

    @Test(arguments: EngineKind.allCases)
    func loadRefusesAStoreThatHoldsData(kind: EngineKind) throws {
        let volume = try JuiceFSInteropTests.populate(.sqlite)
        let dump = volume.directory.appending("dump.json")
        try volume.engine.dump(to: dump)
        let target = try kind.makeFormatted()
        let error = #expect(throws: MetaError.self) { try (target as! NamespaceEngine).load(from: dump) }
        #expect(error?.errno == .fileExists)
    }

    @Test(arguments: EngineKind.allCases)
    func malformedDumpsAreRejectedAndLeaveTheStoreUnformatted(kind: EngineKind) throws {
        let directory = try Scratch.directory("bad-dump")
        let cases = [
            "not json", #"{"FSTree":{}}"#, #"{"Setting":{"Name":"x"},"FSTree":{"attr":{"inode":1,"type":"directory"}}}"#,
            #"{"Setting":{"Name":"v","UUID":"u","Storage":"file","Bucket":"/b/","BlockSize":4096,"TrashDays":0,"EnableACL":false},"FSTree":{"attr":{"inode":1,"type":"directory"},"entries":{"a%2Fb":{"attr":{"inode":2,"type":"regular"}}}}}"#,
            #"{"Setting":{"Name":"v","UUID":"u","Storage":"file","Bucket":"/b/","BlockSize":4096,"TrashDays":0,"EnableACL":false},"FSTree":{"attr":{"inode":1,"type":"directory"},"entries":{"f":{"attr":{"inode":2,"type":"regular"}}"#,
            #"{"Setting":{"Name":"v","UUID":"u","Storage":"file","Bucket":"/b/","BlockSize":4096,"TrashDays":0,"EnableACL":false},"FSTree":{"entries":{},"attr":{"inode":1,"type":"directory"}}}"#,
        ]
        for (index, text) in cases.enumerated() {
            let path = directory.appending("bad-\(index).json")
            try Data(text.utf8).write(to: URL(fileURLWithPath: path.string))
            let engine = try NamespaceEngine.open(try MetaLocation(url: try kind.freshURL()))
            let error = #expect(throws: MetaError.self, "case \(index)") { try engine.load(from: path) }
            #expect(error?.errno == .invalidArgument, "case \(index): \(String(describing: error))")
            #expect(throws: MetaError.self, "case \(index) left no setting behind") { _ = try engine.loadFormat() }
        }
    }

    @Test func escapingMatchesJuicefsRules() {
        #expect(DumpEscaping.escape(Array("plain-ü-名.txt".utf8)) == "plain-ü-名.txt")
        #expect(DumpEscaping.escape(Array("a b%c\"d\\e\n".utf8)) == "a%20b%25c%22d%5Ce%0A")
        #expect(DumpEscaping.escape([0x61, 0xff, 0xc3]) == "a%FF%C3", "invalid UTF-8 bytes are escaped one by one")
        #expect(DumpEscaping.escape([0xed, 0xa0, 0x80]) == "%ED%A0%80", "surrogates are not valid UTF-8")
        #expect(DumpEscaping.jsonString("a\"b\\c\u{1}") == #""a\"b\\c\u0001""#)
        for bytes: [UInt8] in [[0x61, 0xff, 0xc3], Array("a b%c\"d\\e\n".utf8), [0xf0, 0x9f, 0x98, 0x80, 0x25, 0x34, 0x31]] {
            #expect(DumpEscaping.unescape(DumpEscaping.escape(bytes)) == bytes)
        }
    }
}
