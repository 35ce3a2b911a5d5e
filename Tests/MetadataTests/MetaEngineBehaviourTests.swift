import Foundation
import Metadata
import StorageFormat
import SystemBridge
import SystemPackage
import TestSupport
import Testing

@Suite struct MetaEngineBehaviourTests {
    @Test(arguments: EngineKind.allConfigurations)
    func formatIsStoredOnceAndReadBack(kind: EngineKind) throws {
        let engine = try kind.make()
        #expect(errno { _ = try engine.loadFormat() } == .noSuchFileOrDirectory)
        let format = VolumeFormat(name: "myvol", storage: "file", bucket: "/srv/objs/")
        try engine.format(format)
        #expect(try engine.loadFormat() == format)
        #expect(errno { try engine.format(format) } == .fileExists)
        let root = try engine.getattr(.root)
        #expect(root.type == .directory && root.mode == 0o777 && root.nlink == 2 && root.parent == .root && root.length == 4096)
    }

    @Test(arguments: EngineKind.allConfigurations)
    func createLookupAndErrors(kind: EngineKind) throws {
        let engine = try kind.makeFormatted()
        let (dir, dirAttr) = try engine.mknod(parent: .root, name: [UInt8]("d"), type: .directory, mode: 0o755, owner: me, rdev: 0)
        #expect(dirAttr.nlink == 2 && dirAttr.uid == 1000 && dirAttr.mode == 0o755)
        #expect(try engine.getattr(.root).nlink == 3)
        let (file, fileAttr) = try engine.mknod(parent: dir, name: [UInt8]("f"), type: .regular, mode: 0o644, owner: me, rdev: 0)
        #expect(fileAttr.nlink == 1 && fileAttr.length == 0 && fileAttr.parent == dir)
        let (found, foundAttr) = try engine.lookup(parent: dir, name: [UInt8]("f"))
        #expect(found == file && foundAttr == fileAttr)
        let (_, fifo) = try engine.mknod(parent: dir, name: [UInt8]("p"), type: .fifo, mode: 0o600, owner: me, rdev: 0)
        #expect(fifo.type == .fifo)
        let (_, device) = try engine.mknod(parent: dir, name: [UInt8]("c"), type: .charDevice, mode: 0o600, owner: .root, rdev: 0x0103)
        #expect(device.rdev == 0x0103)

        #expect(errno { _ = try engine.mknod(parent: dir, name: [UInt8]("f"), type: .regular, mode: 0o644, owner: me, rdev: 0) } == .fileExists)
        #expect(errno { _ = try engine.mknod(parent: file, name: [UInt8]("x"), type: .regular, mode: 0o644, owner: me, rdev: 0) } == .notDirectory)
        #expect(errno { _ = try engine.mknod(parent: 999_999, name: [UInt8]("x"), type: .regular, mode: 0o644, owner: me, rdev: 0) } == .noSuchFileOrDirectory)
        #expect(errno { _ = try engine.lookup(parent: dir, name: [UInt8]("missing")) } == .noSuchFileOrDirectory)
        #expect(errno { _ = try engine.lookup(parent: file, name: [UInt8]("x")) } == .notDirectory)
        #expect(errno { _ = try engine.mknod(parent: .root, name: [UInt8](".trash"), type: .directory, mode: 0o755, owner: me, rdev: 0) } == .notPermitted)
        #expect(errno { _ = try engine.mknod(parent: dir, name: [UInt8]("a/b"), type: .regular, mode: 0o644, owner: me, rdev: 0) } == .invalidArgument)
        #expect(errno { _ = try engine.mknod(parent: dir, name: [], type: .regular, mode: 0o644, owner: me, rdev: 0) } == .invalidArgument)
        #expect(errno { _ = try engine.mknod(parent: dir, name: [UInt8](String(repeating: "n", count: 256)), type: .regular, mode: 0o644, owner: me, rdev: 0) } == .fileNameTooLong)
        #expect(errno { _ = try engine.mknod(parent: dir, name: [UInt8]("."), type: .regular, mode: 0o644, owner: me, rdev: 0) } == .fileExists)
        // A name with every byte but '/' and NUL is fine.
        let odd = [UInt8](1...255).filter { $0 != UInt8(ascii: "/") }
        _ = try engine.mknod(parent: dir, name: odd, type: .regular, mode: 0o644, owner: me, rdev: 0)
        #expect(try engine.lookup(parent: dir, name: odd).1.type == .regular)
    }

    @Test(arguments: EngineKind.allConfigurations)
    func setgidDirectoriesPassTheirGroupDown(kind: EngineKind) throws {
        let engine = try kind.makeFormatted()
        let (shared, _) = try engine.mknod(parent: .root, name: [UInt8]("shared"), type: .directory, mode: 0o2775, owner: Owner(uid: 0, gid: 50), rdev: 0)
        let (_, file) = try engine.mknod(parent: shared, name: [UInt8]("f"), type: .regular, mode: 0o644, owner: me, rdev: 0)
        #expect(file.gid == 50 && file.mode == 0o644)
        let (_, sub) = try engine.mknod(parent: shared, name: [UInt8]("sub"), type: .directory, mode: 0o755, owner: me, rdev: 0)
        #expect(sub.gid == 50 && sub.mode == 0o2755)
    }

    @Test(arguments: EngineKind.allConfigurations)
    func symlinksAndReadlink(kind: EngineKind) throws {
        let engine = try kind.makeFormatted()
        let (link, attr) = try engine.symlink(parent: .root, name: [UInt8]("l"), target: [UInt8]("../some/where"), owner: me)
        #expect(attr.type == .symlink && attr.length == 13 && attr.mode == 0o777)
        #expect(try engine.readlink(link) == [UInt8]("../some/where"))
        let (file, _) = try engine.mknod(parent: .root, name: [UInt8]("f"), type: .regular, mode: 0o644, owner: me, rdev: 0)
        #expect(errno { _ = try engine.readlink(file) } == .invalidArgument)
        #expect(errno { _ = try engine.symlink(parent: .root, name: [UInt8]("e"), target: [], owner: me) } == .invalidArgument)
    }

    @Test(arguments: EngineKind.allConfigurations)
    func hardLinksShareOneInode(kind: EngineKind) throws {
        let engine = try kind.makeFormatted()
        let (a, _) = try engine.mknod(parent: .root, name: [UInt8]("a"), type: .directory, mode: 0o755, owner: me, rdev: 0)
        let (b, _) = try engine.mknod(parent: .root, name: [UInt8]("b"), type: .directory, mode: 0o755, owner: me, rdev: 0)
        let (file, _) = try engine.mknod(parent: a, name: [UInt8]("f"), type: .regular, mode: 0o644, owner: me, rdev: 0)
        let linked = try engine.link(file, parent: b, name: [UInt8]("g"))
        #expect(linked.nlink == 2 && linked.parent == 0)
        #expect(try engine.lookup(parent: b, name: [UInt8]("g")).0 == file)
        #expect(errno { _ = try engine.link(a, parent: b, name: [UInt8]("dirlink")) } == .notPermitted)
        #expect(errno { _ = try engine.link(file, parent: b, name: [UInt8]("g")) } == .fileExists)
        try engine.unlink(parent: a, name: [UInt8]("f"))
        #expect(try engine.getattr(file).nlink == 1)
        try engine.unlink(parent: b, name: [UInt8]("g"))
        #expect(errno { _ = try engine.getattr(file) } == .noSuchFileOrDirectory)
        #expect(try engine.statfs().usedInodes == 2)
    }

    @Test(arguments: EngineKind.allConfigurations)
    func unlinkAndRmdirRules(kind: EngineKind) throws {
        let engine = try kind.makeFormatted()
        let (dir, _) = try engine.mknod(parent: .root, name: [UInt8]("d"), type: .directory, mode: 0o755, owner: me, rdev: 0)
        _ = try engine.mknod(parent: dir, name: [UInt8]("f"), type: .regular, mode: 0o644, owner: me, rdev: 0)
        #expect(errno { try engine.unlink(parent: .root, name: [UInt8]("d")) } == .isDirectory)
        #expect(errno { try engine.rmdir(parent: .root, name: [UInt8]("d")) } == .directoryNotEmpty)
        #expect(errno { try engine.rmdir(parent: dir, name: [UInt8]("f")) } == .notDirectory)
        #expect(errno { try engine.unlink(parent: dir, name: [UInt8]("missing")) } == .noSuchFileOrDirectory)
        #expect(errno { try engine.rmdir(parent: dir, name: [UInt8](".")) } == .invalidArgument)
        try engine.unlink(parent: dir, name: [UInt8]("f"))
        try engine.rmdir(parent: .root, name: [UInt8]("d"))
        #expect(try engine.getattr(.root).nlink == 2)
        #expect(try engine.statfs().usedInodes == 0)
    }

    @Test(arguments: EngineKind.allConfigurations)
    func renameCoversEveryCase(kind: EngineKind) throws {
        let engine = try kind.makeFormatted()
        func make(_ parent: Ino, _ name: String, _ type: NodeType) throws -> Ino {
            try engine.mknod(parent: parent, name: [UInt8](name), type: type, mode: 0o755, owner: me, rdev: 0).0
        }
        let a = try make(.root, "a", .directory)
        let b = try make(.root, "b", .directory)
        let file = try make(a, "file", .regular)
        let other = try make(b, "other", .regular)

        // Plain move across directories keeps the inode and updates its parent.
        try engine.rename(parent: a, name: [UInt8]("file"), newParent: b, newName: [UInt8]("moved"), flags: [])
        #expect(try engine.lookup(parent: b, name: [UInt8]("moved")).0 == file)
        #expect(try engine.getattr(file).parent == b)
        #expect(errno { _ = try engine.lookup(parent: a, name: [UInt8]("file")) } == .noSuchFileOrDirectory)

        // Over an existing file: the old target is gone.
        try engine.rename(parent: b, name: [UInt8]("moved"), newParent: b, newName: [UInt8]("other"), flags: [])
        #expect(try engine.lookup(parent: b, name: [UInt8]("other")).0 == file)
        #expect(errno { _ = try engine.getattr(other) } == .noSuchFileOrDirectory)

        // NOREPLACE and type mismatches.
        let sub = try make(a, "sub", .directory)
        _ = try make(sub, "inner", .regular)
        #expect(errno { try engine.rename(parent: b, name: [UInt8]("other"), newParent: a, newName: [UInt8]("sub"), flags: []) } == .isDirectory)
        let empty = try make(a, "empty", .directory)
        #expect(errno { try engine.rename(parent: a, name: [UInt8]("empty"), newParent: b, newName: [UInt8]("other"), flags: []) } == .notDirectory)
        #expect(errno { try engine.rename(parent: a, name: [UInt8]("empty"), newParent: a, newName: [UInt8]("sub"), flags: []) } == .directoryNotEmpty)
        #expect(errno { try engine.rename(parent: b, name: [UInt8]("other"), newParent: a, newName: [UInt8]("empty"), flags: [.noReplace]) } == .fileExists)
        #expect(errno { try engine.rename(parent: a, name: [UInt8]("missing"), newParent: a, newName: [UInt8]("x"), flags: []) } == .noSuchFileOrDirectory)

        // A directory cannot move into itself or below itself.
        #expect(errno { try engine.rename(parent: .root, name: [UInt8]("a"), newParent: sub, newName: [UInt8]("loop"), flags: []) } == .invalidArgument)
        #expect(errno { try engine.rename(parent: .root, name: [UInt8]("a"), newParent: a, newName: [UInt8]("loop"), flags: []) } == .invalidArgument)

        // A directory over an empty directory in another parent: link counts follow.
        let target = try make(b, "target", .directory)
        try engine.rename(parent: a, name: [UInt8]("empty"), newParent: b, newName: [UInt8]("target"), flags: [])
        #expect(errno { _ = try engine.getattr(target) } == .noSuchFileOrDirectory)
        #expect(try engine.getattr(empty).parent == b)
        #expect(try engine.getattr(a).nlink == 3)  // sub only
        #expect(try engine.getattr(b).nlink == 3)  // the moved directory replaced target

        // EXCHANGE swaps a file and a directory across parents.
        try engine.rename(parent: b, name: [UInt8]("other"), newParent: a, newName: [UInt8]("sub"), flags: [.exchange])
        #expect(try engine.lookup(parent: a, name: [UInt8]("sub")).0 == file)
        #expect(try engine.lookup(parent: b, name: [UInt8]("other")).0 == sub)
        #expect(try engine.getattr(sub).parent == b)
        #expect(try engine.getattr(a).nlink == 2)
        #expect(try engine.getattr(b).nlink == 4)
        #expect(errno { try engine.rename(parent: a, name: [UInt8]("sub"), newParent: a, newName: [UInt8]("nothing"), flags: [.exchange]) } == .noSuchFileOrDirectory)
        #expect(errno { try engine.rename(parent: a, name: [UInt8]("sub"), newParent: a, newName: [UInt8]("x"), flags: [.whiteout]) } == .invalidArgument)
    }

    @Test(arguments: EngineKind.allConfigurations)
    func readdirPagesByNameAndSurvivesInserts(kind: EngineKind) throws {
        let engine = try kind.makeFormatted()
        let names = (0..<50).map { String(format: "n%03d", $0 * 2) }
        for name in names.shuffled() { _ = try engine.mknod(parent: .root, name: [UInt8](name), type: .regular, mode: 0o644, owner: me, rdev: 0) }
        var seen: [String] = []
        var cursor: [UInt8]?
        var inserted = false
        while true {
            let page = try engine.readdir(.root, after: cursor, limit: 7, attributes: true)
            if page.isEmpty { break }
            #expect(page.allSatisfy { $0.attr?.type == .regular && $0.type == .regular })
            seen += page.map { String(decoding: $0.name, as: UTF8.self) }
            cursor = page.last!.name
            if !inserted {
                // Entries created mid-listing never duplicate or hide the ones that were there.
                for odd in [1, 51, 99] { _ = try engine.mknod(parent: .root, name: [UInt8](String(format: "n%03d", odd)), type: .regular, mode: 0o644, owner: me, rdev: 0) }
                inserted = true
            }
        }
        #expect(Set(names).isSubset(of: Set(seen)))
        #expect(seen.count == Set(seen).count)
        #expect(seen == seen.sorted())
        #expect(try engine.readdir(.root, after: nil, limit: 1000, attributes: false).count == 53)
        let (file, _) = try engine.lookup(parent: .root, name: [UInt8]("n000"))
        #expect(errno { _ = try engine.readdir(file, after: nil, limit: 10, attributes: false) } == .notDirectory)
    }

    @Test(arguments: EngineKind.allConfigurations)
    func extendedAttributes(kind: EngineKind) throws {
        let engine = try kind.makeFormatted()
        let (file, _) = try engine.mknod(parent: .root, name: [UInt8]("f"), type: .regular, mode: 0o644, owner: me, rdev: 0)
        #expect(errno { _ = try engine.getxattr(file, name: "user.a") } == .noData)
        try engine.setxattr(file, name: "user.a", value: [0, 1, 2, 255], flags: [])
        #expect(try engine.getxattr(file, name: "user.a") == [0, 1, 2, 255])
        #expect(errno { try engine.setxattr(file, name: "user.a", value: [1], flags: .create) } == .fileExists)
        #expect(errno { try engine.setxattr(file, name: "user.b", value: [1], flags: .replace) } == .noData)
        try engine.setxattr(file, name: "user.a", value: [9], flags: .replace)
        try engine.setxattr(file, name: "user.b", value: [], flags: .create)
        #expect(try engine.getxattr(file, name: "user.b") == [])
        #expect(try engine.listxattr(file) == ["user.a", "user.b"])
        try engine.removexattr(file, name: "user.a")
        #expect(errno { try engine.removexattr(file, name: "user.a") } == .noData)
        #expect(try engine.listxattr(file) == ["user.b"])
        #expect(errno { try engine.setxattr(file, name: "user.big", value: [UInt8](repeating: 1, count: 65537), flags: []) } == .argListTooLong)
        #expect(errno { _ = try engine.listxattr(424242) } == .noSuchFileOrDirectory)
    }

    @Test(arguments: EngineKind.allConfigurations)
    func setattrChangesModeOwnerAndTimes(kind: EngineKind) throws {
        let engine = try kind.makeFormatted()
        let (file, created) = try engine.mknod(parent: .root, name: [UInt8]("f"), type: .regular, mode: 0o644, owner: me, rdev: 0)
        let fixed = Timestamp(seconds: 1_234_567_890, nanoseconds: 123_456_789)
        let changed = try engine.setattr(file, AttrChanges(mode: 0o4711, uid: 7, gid: 8, atime: .set(fixed), mtime: .now))
        #expect(changed.mode == 0o4711 && changed.uid == 7 && changed.gid == 8)
        #expect(changed.atime == fixed, "nanoseconds survive the store's encoding")
        #expect(changed.mtime >= created.mtime && changed.ctime >= created.ctime)
        #expect(try engine.getattr(file) == changed)
        let omitted = try engine.setattr(file, AttrChanges(mode: 0o600))
        #expect(omitted.atime == fixed, "an omitted time is left alone")
        let (dir, _) = try engine.mknod(parent: .root, name: [UInt8]("d"), type: .directory, mode: 0o755, owner: me, rdev: 0)
        #expect(errno { _ = try engine.setattr(dir, AttrChanges(size: 0)) } == .isDirectory)
    }

    @Test(arguments: EngineKind.allConfigurations)
    func clearingSetIDKeepsAnUnexecutableSetGroupIDAndDirectories(kind: EngineKind) throws {
        let engine = try kind.makeFormatted()
        let (file, _) = try engine.mknod(parent: .root, name: [UInt8]("f"), type: .regular, mode: 0o6775, owner: me, rdev: 0)
        #expect(try engine.setattr(file, AttrChanges(size: 1, clearsSetID: true)).mode == 0o775)
        _ = try engine.setattr(file, AttrChanges(mode: 0o6765))
        #expect(try engine.setattr(file, AttrChanges(uid: 7, clearsSetID: true)).mode == 0o2765, "set-group-ID without group execute marks locking")
        #expect(try engine.setattr(file, AttrChanges(mode: 0o4755)).mode == 0o4755, "without the flag nothing is cleared")
        let (dir, _) = try engine.mknod(parent: .root, name: [UInt8]("d"), type: .directory, mode: 0o2775, owner: me, rdev: 0)
        #expect(try engine.setattr(dir, AttrChanges(uid: 7, clearsSetID: true)).mode == 0o2775)
        // A FIFO or device node loses them on a change of owner like a regular file (pjdfstest chown/00.t).
        for (name, type) in [("p", NodeType.fifo), ("c", .charDevice), ("b", .blockDevice), ("s", .socket)] {
            let (node, _) = try engine.mknod(parent: .root, name: [UInt8](name), type: type, mode: 0o6555, owner: me, rdev: 0)
            #expect(try engine.setattr(node, AttrChanges(gid: 7, clearsSetID: true)).mode == 0o555, "\(type)")
        }
    }

    /// gc learns a version's slices from here: every record's slice, of every file, in any
    /// chunk, shared slices once, holes never; a deleted file's slices are gone.
    @Test(arguments: EngineKind.allConfigurations)
    func referencedSlicesAreEveryRecordsSliceAndNoHole(kind: EngineKind) throws {
        let engine = try kind.makeFormatted()
        var expected: Set<SliceID> = []
        for name in ["a", "b", "gone"] {
            let (file, _) = try engine.mknod(parent: .root, name: Array(name.utf8), type: .regular, mode: 0o644, owner: me, rdev: 0)
            for index in [0, 3, 1000] as [UInt32] {
                let id = try engine.newSliceID()
                try engine.appendSlice(file, index: index, record: SliceRecord(pos: 0, id: id, size: 100, off: 0, len: 100), mtime: .now())
                if name != "gone" { expected.insert(id) }
            }
            _ = try engine.setattr(file, AttrChanges(size: (1001 << 26) + 50))
        }
        let (clone, _) = try engine.mknod(parent: .root, name: [UInt8]("clone"), type: .regular, mode: 0o644, owner: me, rdev: 0)
        let shared = try #require(expected.first)
        try engine.appendReferences(clone, index: 0, records: [SliceRecord(pos: 0, id: shared, size: 100, off: 0, len: 100)], mtime: .now())
        try engine.unlink(parent: .root, name: [UInt8]("gone"))
        var found: [SliceID] = []
        try engine.forEachReferencedSlice { found.append($0) }
        #expect(Set(found) == expected)
        #expect(found.count == expected.count + 1, "the clone's record counts once more")
    }

    @Test(arguments: EngineKind.allConfigurations)
    func slicesGrowFilesAndTruncateWritesHoleRecords(kind: EngineKind) throws {
        let engine = try kind.makeFormatted()
        let (file, _) = try engine.mknod(parent: .root, name: [UInt8]("f"), type: .regular, mode: 0o644, owner: me, rdev: 0)
        let first = try engine.newSliceID()
        let second = try engine.newSliceID()
        #expect(second.rawValue == first.rawValue + 1)
        try engine.appendSlice(file, index: 0, record: SliceRecord(pos: 0, id: first, size: 0x600000, off: 0, len: 0x600000), mtime: .now())
        try engine.appendSlice(file, index: 0, record: SliceRecord(pos: 0x2DC6C0, id: second, size: 16, off: 0, len: 16), mtime: .now())
        #expect(try engine.getattr(file).length == 0x600000)
        #expect(try engine.readChunk(file, index: 0) == [
            SliceRecord(pos: 0, id: first, size: 0x600000, off: 0, len: 0x600000), SliceRecord(pos: 0x2DC6C0, id: second, size: 16, off: 0, len: 16),
        ])
        #expect(try engine.statfs().availableSpace > 0)

        // The format sheet's example: truncate to 64 MiB + 100 from empty.
        let (grown, _) = try engine.mknod(parent: .root, name: [UInt8]("g"), type: .regular, mode: 0o644, owner: me, rdev: 0)
        _ = try engine.setattr(grown, AttrChanges(size: (64 << 20) + 100))
        #expect(try engine.readChunk(grown, index: 0) == [.hole(pos: 0, len: 64 << 20)])
        #expect(try engine.readChunk(grown, index: 1) == [.hole(pos: 0, len: 100)])
        // Shrinking writes a hole over the cut so a later grow reads zeros.
        _ = try engine.setattr(file, AttrChanges(size: 1000))
        #expect(try engine.readChunk(file, index: 0).last == .hole(pos: 1000, len: 0x600000 - 1000))
        #expect(try engine.getattr(file).length == 1000)
        #expect(try engine.readChunk(file, index: 7) == [])
        let (dir, _) = try engine.mknod(parent: .root, name: [UInt8]("d"), type: .directory, mode: 0o755, owner: me, rdev: 0)
        #expect(errno { try engine.appendSlice(dir, index: 0, record: .hole(pos: 0, len: 1), mtime: .now()) } == .invalidArgument)
        #expect(errno { try engine.appendSlice(file, index: 0, record: SliceRecord(pos: 64 << 20, id: 9, size: 1, off: 0, len: 1), mtime: .now()) } == .invalidArgument)
    }

    /// Every step here would visit each of a file's 2^31 chunk indexes if a length, not what
    /// the file holds, decided the work (it wedged the Redis engine for hours).
    @Test(arguments: EngineKind.allConfigurations)
    func hostileLengthsCostWhatTheFileHolds(kind: EngineKind) throws {
        let engine = try kind.makeFormatted()
        let used = try engine.statfs().totalSpace - engine.statfs().availableSpace
        let (file, _) = try engine.mknod(parent: .root, name: [UInt8]("f"), type: .regular, mode: 0o644, owner: me, rdev: 0)
        let chunk = ChunkGeometry.chunkSize
        let last = UInt32(ChunkGeometry.maxFileLength / chunk - 1)
        try engine.appendSlice(file, index: 0, record: SliceRecord(pos: 0, id: try engine.newSliceID(), size: 4096, off: 0, len: 4096), mtime: .now())

        _ = try engine.setattr(file, AttrChanges(size: 1 << 50))
        #expect(try engine.getattr(file).length == 1 << 50)
        #expect(try engine.readChunk(file, index: 1) == [] && engine.readChunk(file, index: (1 << 24) - 1) == [])
        // A sparse write at the very end of the address space, then past it.
        try engine.appendSlice(file, index: last, record: SliceRecord(pos: UInt32(chunk) - 4096, id: try engine.newSliceID(), size: 4096, off: 0, len: 4096), mtime: .now())
        #expect(try engine.getattr(file).length == ChunkGeometry.maxFileLength)
        #expect(errno { try engine.appendSlice(file, index: last + 1, record: .hole(pos: 0, len: 1), mtime: .now()) } == .fileTooLarge)
        #expect(errno { _ = try engine.setattr(file, AttrChanges(size: ChunkGeometry.maxFileLength + 1)) } == .fileTooLarge)
        #expect(errno { _ = try engine.setattr(file, AttrChanges(size: UInt64(Int64.max))) } == .fileTooLarge)
        #expect(errno { try engine.zero(file, 0..<ChunkGeometry.maxFileLength + 1, keepSize: true, mtime: .now()) } == .fileTooLarge)
        #expect(try engine.getattr(file).length == ChunkGeometry.maxFileLength, "a refused change changes nothing")

        // Zeroing the whole file touches the two chunks that exist and no other.
        try engine.zero(file, 0..<ChunkGeometry.maxFileLength, keepSize: true, mtime: .now())
        #expect(try engine.readChunk(file, index: 0).last == .hole(pos: 0, len: UInt32(chunk)))
        #expect(try engine.readChunk(file, index: last).last == .hole(pos: 0, len: UInt32(chunk)))
        #expect(try engine.readChunk(file, index: last - 1) == [])
        _ = try engine.setattr(file, AttrChanges(size: (1 << 40) + 4096))
        #expect(try engine.readChunk(file, index: last) == [], "a shrink deletes the chunks wholly past the end")
        #expect(try engine.readChunk(file, index: 1 << 14) == [.hole(pos: 4096, len: UInt32(chunk) - 4096)])
        #expect(try engine.readChunk(file, index: 0).count == 3, "chunks before the end stay")

        try engine.unlink(parent: .root, name: [UInt8]("f"))
        #expect(errno { _ = try engine.readChunk(file, index: last) } == .noSuchFileOrDirectory, "every chunk goes with the file")
        #expect(errno { _ = try engine.readChunk(file, index: 0) } == .noSuchFileOrDirectory)
        #expect(try engine.statfs().totalSpace - engine.statfs().availableSpace == used)
    }

    @Test(arguments: EngineKind.allConfigurations)
    func spaceAndInodeAccountingIsExact(kind: EngineKind) throws {
        let engine = try kind.makeFormatted()
        let (dir, _) = try engine.mknod(parent: .root, name: [UInt8]("d"), type: .directory, mode: 0o755, owner: me, rdev: 0)
        let (file, _) = try engine.mknod(parent: dir, name: [UInt8]("f"), type: .regular, mode: 0o644, owner: me, rdev: 0)
        _ = try engine.symlink(parent: dir, name: [UInt8]("l"), target: [UInt8]("f"), owner: me)
        try engine.appendSlice(file, index: 0, record: SliceRecord(pos: 0, id: try engine.newSliceID(), size: 5000, off: 0, len: 5000), mtime: .now())
        var statistics = try engine.statfs()
        #expect(statistics.usedInodes == 3)
        #expect(statistics.totalSpace - statistics.availableSpace == 4096 + 8192 + 4096)
        try engine.unlink(parent: dir, name: [UInt8]("f"))
        statistics = try engine.statfs()
        #expect(statistics.usedInodes == 2)
        #expect(statistics.totalSpace - statistics.availableSpace == 8192)
    }

    @Test(arguments: EngineKind.allConfigurations)
    func openFilesOutliveTheirLastName(kind: EngineKind) throws {
        let engine = try kind.makeFormatted()
        let (file, _) = try engine.mknod(parent: .root, name: [UInt8]("f"), type: .regular, mode: 0o644, owner: me, rdev: 0)
        try engine.appendSlice(file, index: 0, record: SliceRecord(pos: 0, id: try engine.newSliceID(), size: 10, off: 0, len: 10), mtime: .now())
        try engine.open(file)
        try engine.open(file)
        try engine.unlink(parent: .root, name: [UInt8]("f"))
        #expect(try engine.getattr(file).nlink == 0)
        #expect(try engine.readChunk(file, index: 0).count == 1, "data stays readable while open")
        try engine.close(file)
        #expect(try engine.getattr(file).nlink == 0)
        try engine.close(file)
        #expect(errno { _ = try engine.getattr(file) } == .noSuchFileOrDirectory)
        #expect(try engine.statfs().usedInodes == 0)
    }

    @Test(arguments: EngineKind.allConfigurations)
    func sliceDomainsConfineIds(kind: EngineKind) throws {
        let engine = try kind.makeFormatted()
        #expect(errno { try engine.useSliceDomain(0) } == .invalidArgument)
        try engine.useSliceDomain(12345)
        var ids: [SliceID] = []
        for _ in 0..<5000 { ids.append(try engine.newSliceID()) }
        let domain = (UInt64(12345) << 32)..<(UInt64(12346) << 32)
        #expect(ids.allSatisfy { domain.contains($0.rawValue) && $0.domain == 12345 })
        #expect(Set(ids).count == ids.count)
    }

    /// A migrated index's counter is pointed at the migration's fresh domain even when that
    /// domain is below the one the counter was in: another client allocating from the
    /// counter must not take ids the earlier writer may still use.
    @Test(arguments: EngineKind.allCases)
    func theSliceCounterIsPointedAtAFreshDomainBelowItsOwn(kind: EngineKind) throws {
        let url = try kind.freshURL()
        let writer = try NamespaceEngine.open(try MetaLocation(url: url))
        try writer.format(VolumeFormat(name: "testvol", storage: "file", bucket: "/tmp/volumed-unused-bucket/"))
        try writer.useSliceDomain(900)
        _ = try writer.newSliceID()
        try writer.pointSliceCounter(atDomain: 7)
        let client = try NamespaceEngine.open(try MetaLocation(url: url))
        #expect(try client.newSliceID().domain == 7, "a counter-allocating client writes in the claimed domain")
    }

    @Test(arguments: EngineKind.allConfigurations)
    func parallelCreatesKeepCountsExact(kind: EngineKind) throws {
        let engine = try kind.makeFormatted()
        let (dir, _) = try engine.mknod(parent: .root, name: [UInt8]("d"), type: .directory, mode: 0o755, owner: me, rdev: 0)
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for index in 0..<250 {
                do {
                    let type: NodeType = index % 10 == 0 ? .directory : .regular
                    _ = try engine.mknod(parent: dir, name: [UInt8]("w\(worker)-\(index)"), type: type, mode: 0o644, owner: me, rdev: 0)
                } catch {
                    failures.add("\(worker)/\(index): \(error)")
                }
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all.prefix(5))")
        #expect(try engine.readdir(dir, after: nil, limit: 5000, attributes: false).count == 1000)
        #expect(try engine.getattr(dir).nlink == 2 + 100)
        #expect(try engine.statfs().usedInodes == 1001)
    }

    @Test(arguments: EngineKind.allConfigurations)
    func referencesAndCompactionSwapsKeepRecordsInOrder(kind: EngineKind) throws {
        let engine = try kind.makeFormatted()
        let (a, _) = try engine.mknod(parent: .root, name: [UInt8]("a"), type: .regular, mode: 0o644, owner: me, rdev: 0)
        let (b, _) = try engine.mknod(parent: .root, name: [UInt8]("b"), type: .regular, mode: 0o644, owner: me, rdev: 0)
        let first = SliceRecord(pos: 0, id: try engine.newSliceID(), size: 100, off: 0, len: 100)
        let second = SliceRecord(pos: 50, id: try engine.newSliceID(), size: 100, off: 0, len: 100)
        try engine.appendSlice(a, index: 0, record: first, mtime: .now())
        try engine.appendSlice(a, index: 0, record: second, mtime: .now())
        try engine.appendReferences(b, index: 2, records: [SliceRecord(pos: 10, id: first.id, size: 100, off: 20, len: 30)], mtime: .now())
        #expect(try engine.getattr(b).length == 2 * (64 << 20) + 40)
        let merged = SliceRecord(pos: 0, id: try engine.newSliceID(), size: 150, off: 0, len: 150)
        #expect(try engine.replaceRecords(a, index: 0, replaced: [second], with: merged) == false, "the chunk does not start with that record")
        #expect(try engine.replaceRecords(a, index: 0, replaced: [first, second], with: merged))
        #expect(try engine.readChunk(a, index: 0) == [merged])
        #expect(try engine.readChunk(b, index: 2) == [SliceRecord(pos: 10, id: first.id, size: 100, off: 20, len: 30)])
        try engine.unlink(parent: .root, name: [UInt8]("a"))
        #expect(try engine.readChunk(b, index: 2).first?.id == first.id)
    }

    /// A snapshot stays as it was taken while it is held, however much is written after it
    /// (enough here for SQLite to checkpoint many times); one taken while another is held is
    /// a copy, and stays as it was taken too.
    @Test(arguments: EngineKind.allConfigurations)
    func heldSnapshotsStayAsTheyWereTaken(kind: EngineKind) throws {
        let url = try kind.freshURL()
        let engine = try NamespaceEngine.open(try MetaLocation(url: url), persistWithin: kind == .groupedSQLite ? NamespaceEngine.mountPersistWindow : nil)
        try engine.format(VolumeFormat(name: "testvol", storage: "file", bucket: "/tmp/volumed-unused-bucket/"))
        _ = try engine.mknod(parent: .root, name: [UInt8]("before"), type: .regular, mode: 0o644, owner: me, rdev: 0)
        let directory = try Scratch.directory("snapshot")
        let (first, _) = try engine.takeSnapshot(scratchFile: directory.appending("first"))
        defer { first.release() }
        let firstSize = first.size
        for index in 0..<3000 {
            _ = try engine.mknod(parent: .root, name: [UInt8]("after-\(index)-" + String(repeating: "x", count: 100)), type: .regular, mode: 0o644, owner: me, rdev: 0)
        }
        let (second, _) = try engine.takeSnapshot(scratchFile: directory.appending("second"))
        defer { second.release() }
        #expect(second.file != first.file, "a second snapshot while the first is held is a copy")
        _ = try engine.mknod(parent: .root, name: [UInt8]("later"), type: .regular, mode: 0o644, owner: me, rdev: 0)

        #expect(first.size == firstSize)
        #expect(try names(inCopyOf: first, url: url, in: directory.appending("first-copy")) == ["before"])
        #expect(try names(inCopyOf: second, url: url, in: directory.appending("second-copy")).count == 3001)
        first.release()
        second.release()
        #expect(!FileManager.default.fileExists(atPath: directory.appending("second").string), "a released copy is removed")
    }

    /// The root's entries in a standalone copy of `snapshot` (for Redis, loaded by a server of
    /// its own: the RDB holds every database of the shared test server; ours keeps its number).
    private func names(inCopyOf snapshot: IndexSnapshot, url: String, in directory: FilePath) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory.string, withIntermediateDirectories: true)
        let copy = directory.appending("dump.rdb")
        try FileSystem.copyFile(snapshot.file, to: copy)
        #expect(try FileSystem.status(copy)?.size == snapshot.size)
        let reopened: NamespaceEngine
        var server: RedisServer?
        switch try MetaLocation(url: url) {
        case .sqlite:
            reopened = try NamespaceEngine.open(.sqlite(copy))
        case .redis(let address):
            let started = RedisServer(directory: directory, databases: 4096)
            try started.start()
            server = started
            reopened = try NamespaceEngine.open(.redis(started.address(database: address.database)))
        }
        defer { try? server?.stop() }
        #expect(try reopened.loadFormat().name == "testvol")
        return try reopened.readdir(.root, after: nil, limit: 10_000, attributes: false).map { String(decoding: $0.name, as: UTF8.self) }
    }
}
