import Foundation
import Metadata
import ObjectStorage
import StorageFormat
import SystemPackage
import TestSupport
import Testing

/// The stock juicefs 1.4 client against stores our engine wrote, and our engine against
/// stores juicefs wrote.
@Suite(.serialized) struct JuiceFSInteropTests {
    /// A volume written through our engine, with its blocks in a `file` bucket.
    struct WrittenVolume {
        let directory: FilePath
        let metaURL: String
        let engine: NamespaceEngine
        let store: FileObjectStore
        let name = "interop"
        var contents: [String: Data] = [:]

        init(kind: EngineKind) throws {
            directory = try Scratch.directory("interop")
            let bucket = directory.appending("bucket")
            store = try FileObjectStore(root: bucket)
            metaURL = try kind.freshURL()
            engine = try NamespaceEngine.open(try MetaLocation(url: metaURL))
            try engine.format(VolumeFormat(name: name, storage: "file", bucket: bucket.string + "/"))
        }

        /// Writes `data` at `offset` as one new slice per chunk touched, blocks and all.
        mutating func write(_ inode: Ino, path: String, at offset: UInt64, _ data: Data) throws {
            var written = 0
            while written < data.count {
                let position = offset + UInt64(written)
                let index = UInt32(position / ChunkGeometry.chunkSize)
                let pos = UInt32(position % ChunkGeometry.chunkSize)
                let length = min(data.count - written, Int(ChunkGeometry.chunkSize) - Int(pos))
                let id = try engine.newSliceID()
                let slice = data.subdata(in: (data.startIndex + written)..<(data.startIndex + written + length))
                for (block, start) in stride(from: 0, to: length, by: 4 << 20).enumerated() {
                    let bytes = slice.subdata(in: (slice.startIndex + start)..<(slice.startIndex + min(length, start + (4 << 20))))
                    try store.put("\(name)/chunks/\(id.rawValue / 1_000_000)/\(id.rawValue / 1000)/\(id)_\(block)_\(bytes.count)", data: bytes)
                }
                try engine.appendSlice(inode, index: index, record: SliceRecord(pos: pos, id: id, size: UInt32(length), off: 0, len: UInt32(length)), mtime: .now())
                written += length
            }
            var content = contents[path] ?? Data()
            let end = Int(offset) + data.count
            if content.count < end { content.append(Data(count: end - content.count)) }
            content.replaceSubrange(Int(offset)..<end, with: data)
            contents[path] = content
        }

        mutating func create(_ parent: Ino, _ name: String, path: String) throws -> Ino {
            let (inode, _) = try engine.mknod(parent: parent, name: Array(name.utf8), type: .regular, mode: 0o644, owner: Owner(uid: 1000, gid: 1000), rdev: 0)
            contents[path] = Data()
            return inode
        }
    }

    static func populate(_ kind: EngineKind) throws -> WrittenVolume {
        var volume = try WrittenVolume(kind: kind)
        let engine = volume.engine
        let owner = Owner(uid: 1000, gid: 1000)
        let hello = try volume.create(.root, "hello.txt", path: "hello.txt")
        try volume.write(hello, path: "hello.txt", at: 0, Data("hello world\n".utf8))
        try engine.setxattr(hello, name: "user.color", value: Array("blue".utf8), flags: [])
        let (docs, _) = try engine.mknod(parent: .root, name: Array("docs".utf8), type: .directory, mode: 0o755, owner: owner, rdev: 0)
        let big = try volume.create(docs, "big.bin", path: "docs/big.bin")
        try volume.write(big, path: "docs/big.bin", at: 0, Data((0..<(10 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 13) }))
        let over = try volume.create(docs, "over.bin", path: "docs/over.bin")
        try volume.write(over, path: "docs/over.bin", at: 0, Data(repeating: 0x61, count: 6 << 20))
        try volume.write(over, path: "docs/over.bin", at: 3_000_000, Data(repeating: 0x62, count: 16))
        _ = try engine.link(hello, parent: docs, name: Array("hard".utf8))
        volume.contents["docs/hard"] = volume.contents["hello.txt"]
        _ = try engine.symlink(parent: .root, name: Array("link".utf8), target: Array("hello.txt".utf8), owner: owner)
        let sparse = try volume.create(.root, "sparse.bin", path: "sparse.bin")
        _ = try engine.setattr(sparse, AttrChanges(size: 70 << 20))
        volume.contents["sparse.bin"] = Data(count: 70 << 20)
        try volume.write(sparse, path: "sparse.bin", at: (64 << 20) + 100, Data("tail".utf8))
        _ = try volume.create(docs, "empty", path: "docs/empty")
        _ = try engine.mknod(parent: docs, name: Array("pipe".utf8), type: .fifo, mode: 0o600, owner: owner, rdev: 0)
        let gone = try volume.create(.root, "gone", path: "gone")
        try volume.write(gone, path: "gone", at: 0, Data("deleted".utf8))
        try engine.unlink(parent: .root, name: Array("gone".utf8))
        volume.contents["gone"] = nil
        try engine.useSliceDomain(7)
        let domain = try volume.create(docs, "domain.bin", path: "docs/domain.bin")
        try volume.write(domain, path: "docs/domain.bin", at: 0, Data(repeating: 0x7a, count: 5 << 20))
        return volume
    }

    @Test(arguments: EngineKind.allCases) func juicefsFsckAcceptsWhatWeWrote(kind: EngineKind) throws {
        let volume = try Self.populate(kind)
        let plain = try Command.run(["juicefs", "fsck", volume.metaURL])
        #expect(plain.succeeded, "\(plain.output)")
        #expect(!plain.output.contains("can't find"))
        let deep = try Command.run(["juicefs", "fsck", volume.metaURL, "--path", "/", "--recursive", "--sync-dir-stat"])
        #expect(deep.succeeded, "\(deep.output)")
        #expect(!deep.output.contains("broken") && !deep.output.contains("missing"), "\(deep.output)")
    }

    @Test(arguments: EngineKind.allCases) func juicefsDumpShowsTheTreeWeWrote(kind: EngineKind) throws {
        let volume = try Self.populate(kind)
        let dumpPath = volume.directory.appending("dump.json").string
        try Command.check(["juicefs", "dump", volume.metaURL, dumpPath])
        let dump = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dumpPath))) as! [String: Any]
        let root = (dump["FSTree"] as! [String: Any])["entries"] as! [String: Any]
        #expect(Set(root.keys) == ["hello.txt", "docs", "link", "sparse.bin"])
        let docs = (root["docs"] as! [String: Any])["entries"] as! [String: Any]
        #expect(Set(docs.keys) == ["big.bin", "over.bin", "hard", "empty", "pipe", "domain.bin"])
        let hard = (docs["hard"] as! [String: Any])["attr"] as! [String: Any]
        #expect(hard["nlink"] as? Int == 2)
        let over = (docs["over.bin"] as! [String: Any])["chunks"] as! [[String: Any]]
        let slices = over[0]["slices"] as! [[String: Any]]
        #expect(slices.count == 2 && slices[1]["pos"] as? Int == 3_000_000 && slices[1]["len"] as? Int == 16)
        #expect((root["link"] as! [String: Any])["symlink"] as? String == "hello.txt")
        let xattrs = (root["hello.txt"] as! [String: Any])["xattrs"] as! [[String: Any]]
        #expect(xattrs.first?["name"] as? String == "user.color" && xattrs.first?["value"] as? String == "blue")
        let counters = dump["Counters"] as! [String: Any]
        #expect(counters["usedInodes"] as? Int == 9)
    }

    @Test(arguments: EngineKind.allCases) func juicefsMountReadsEveryFileWeWrote(kind: EngineKind) throws {
        let volume = try Self.populate(kind)
        let mount = try JuiceFSMount(metaURL: volume.metaURL, logDirectory: volume.directory, options: ["--read-only", "--enable-xattr"])
        let mountpoint = mount.mountpoint
        for (path, expected) in volume.contents {
            let actual = FileManager.default.contents(atPath: mountpoint.appending(path).string)
            #expect(actual == expected, "\(path) reads back differently through juicefs")
        }
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: mountpoint.appending("link").string) == "hello.txt")
        let xattr = try Command.check(["getfattr", "--only-values", "-n", "user.color", mountpoint.appending("hello.txt").string]).stdout
        #expect(xattr == "blue")
        try mount.unmount()
    }

    @Test(arguments: EngineKind.allCases) func ourEngineReadsWhatJuicefsWrote(kind: EngineKind) throws {
        let directory = try Scratch.directory("jfs-written")
        let metaURL = try kind.freshURL()
        try Command.check(["juicefs", "format", "--no-update", metaURL, "jvol", "--storage", "file", "--bucket", directory.appending("bucket").string + "/"])
        let mount = try JuiceFSMount(metaURL: metaURL, logDirectory: directory, options: ["--enable-xattr"])
        do {
            let root = mount.mountpoint.string
            try FileManager.default.createDirectory(atPath: "\(root)/dir/sub", withIntermediateDirectories: true)
            try Data("small\n".utf8).write(to: URL(fileURLWithPath: "\(root)/dir/small.txt"))
            try Data(repeating: 0x41, count: 6 << 20).write(to: URL(fileURLWithPath: "\(root)/dir/six.bin"))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(root)/dir/six.bin"))
            try handle.seek(toOffset: 3_000_000)
            handle.write(Data(repeating: 0x42, count: 16))
            try handle.close()
            try FileManager.default.createSymbolicLink(atPath: "\(root)/dir/link", withDestinationPath: "small.txt")
            try FileManager.default.linkItem(atPath: "\(root)/dir/small.txt", toPath: "\(root)/dir/sub/hard")
            try Command.check(["setfattr", "-n", "user.k", "-v", "value", "\(root)/dir/small.txt"])
            try Command.check(["truncate", "-s", "70M", "\(root)/sparse"])
            try Data("trashed".utf8).write(to: URL(fileURLWithPath: "\(root)/binned"))
            try FileManager.default.removeItem(atPath: "\(root)/binned")  // into juicefs's trash
        }
        try mount.unmount()
        let dumpPath = directory.appending("dump.json").string
        try Command.check(["juicefs", "dump", metaURL, dumpPath])
        let dump = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dumpPath))) as! [String: Any]

        let engine = try NamespaceEngine.open(try MetaLocation(url: metaURL))
        let format = try engine.loadFormat()
        #expect(format.name == "jvol" && format.trashDays == 1 && format.blockSize == 4096)
        var compared = 0
        try compare(engine, .root, dump["FSTree"] as! [String: Any], compared: &compared)
        #expect(compared == 7, "dir, sub, small.txt, six.bin, link, sub/hard and sparse")
        var trashCompared = 0
        try compare(engine, .trash, dump["Trash"] as! [String: Any], compared: &trashCompared)
        #expect(trashCompared == 2, "the hour directory, whose inode is beyond 2^53, and the binned file")
    }

    /// Walks the dump's tree and our engine's view of it together.
    private func compare(_ engine: NamespaceEngine, _ inode: Ino, _ entry: [String: Any], compared: inout Int) throws {
        let dumped = entry["attr"] as! [String: Any]
        let attr = try engine.getattr(inode)
        #expect(Ino(UInt64(dumped["inode"] as! Int)) == inode)
        #expect(attr.type.dumpName == dumped["type"] as? String)
        #expect(Int(attr.mode) == dumped["mode"] as? Int)
        #expect(Int(attr.nlink) == dumped["nlink"] as? Int)
        #expect(Int(attr.uid) == dumped["uid"] as? Int && Int(attr.gid) == dumped["gid"] as? Int)
        #expect(Int(attr.mtime.seconds) == dumped["mtime"] as? Int && Int(attr.mtime.nanoseconds) == (dumped["mtimensec"] as? Int ?? 0))
        if attr.type == .regular { #expect(Int(attr.length) == dumped["length"] as? Int) }
        if let target = entry["symlink"] as? String { #expect(String(decoding: try engine.readlink(inode), as: UTF8.self) == target) }
        for xattr in entry["xattrs"] as? [[String: Any]] ?? [] {
            #expect(String(decoding: try engine.getxattr(inode, name: xattr["name"] as! String), as: UTF8.self) == xattr["value"] as? String)
        }
        for chunk in entry["chunks"] as? [[String: Any]] ?? [] {
            let expected = (chunk["slices"] as! [[String: Any]]).map { slice in
                SliceRecord(
                    pos: UInt32(slice["pos"] as? Int ?? 0), id: SliceID(UInt64(slice["id"] as! Int)), size: UInt32(slice["size"] as! Int),
                    off: UInt32(slice["off"] as? Int ?? 0), len: UInt32(slice["len"] as! Int))
            }
            #expect(try engine.readChunk(inode, index: UInt32(chunk["index"] as! Int)) == expected)
        }
        if inode != .root, inode != .trash { compared += 1 }
        for (name, child) in entry["entries"] as? [String: Any] ?? [:] {
            let (childInode, _) = try engine.lookup(parent: inode, name: Array(name.utf8))
            try compare(engine, childInode, child as! [String: Any], compared: &compared)
        }
    }
}
