import ChunkStore
import Foundation
import Metadata
import ObjectStorage
import StorageFormat
import SystemPackage
import TestSupport
import Testing

@testable import VFS

@Suite struct VolumeFileSystemTests {
    private let me = VolumeFileSystem.Caller(uid: 1000, gid: 1000)

    private func makeFileSystem(readOnly: Bool = false) throws -> VolumeFileSystem {
        let directory = try Scratch.directory("vfs")
        let engine = try NamespaceEngine.open(.sqlite(directory.appending("meta.db")))
        try engine.format(VolumeFormat(name: "vfs", storage: "file", bucket: directory.appending("bucket").string + "/"))
        let chunks = ChunkStore(
            configuration: ChunkStoreConfiguration(chunkPrefix: "vfs"), catalog: EngineCatalog(engine),
            store: try FileObjectStore(root: directory.appending("bucket")), cache: try CacheDirectory(directory: directory.appending("cache")))
        return VolumeFileSystem(engine: engine, chunks: chunks, readOnly: readOnly)
    }

    @Test func aProcessSeesItsOwnWritesBeforeAnyFlush() throws {
        let fs = try makeFileSystem()
        let (inode, _, handle) = try fs.create(parent: .root, name: Array("f".utf8), mode: 0o666, caller: me, append: false)
        #expect(try fs.write(handle, at: 0, Data("hello world".utf8)) == 11)
        #expect(try fs.getattr(inode).length == 11, "getattr counts bytes not yet committed")
        #expect(try fs.read(handle, at: 6, count: 100) == Data("world".utf8))
        #expect(try fs.getattr(inode).mode == 0o644, "the caller's umask applies")
        try fs.release(handle)
    }

    @Test func aListingShowsTheLengthOfWritesNotYetCommitted() throws {
        let fs = try makeFileSystem()
        let (_, _, writing) = try fs.create(parent: .root, name: Array("growing".utf8), mode: 0o644, caller: me, append: false)
        let (_, _, done) = try fs.create(parent: .root, name: Array("done".utf8), mode: 0o644, caller: me, append: false)
        _ = try fs.write(done, at: 0, Data("abc".utf8))
        try fs.release(done)
        _ = try fs.write(writing, at: 0, Data(count: 5000))
        let listing = try fs.opendir(.root)
        let lengths = Dictionary(uniqueKeysWithValues: try fs.readdir(listing, offset: 0).map { (String(decoding: $0.name, as: UTF8.self), $0.attr?.length) })
        fs.releasedir(listing)
        // The kernel takes a readdirplus entry's attributes over what it cached: a stale
        // length would shrink a file that is being written.
        #expect(lengths["growing"] == 5000)
        #expect(lengths["done"] == 3)
        try fs.release(writing)
    }

    @Test func appendAndTruncateOnOpen() throws {
        let fs = try makeFileSystem()
        let (inode, _, first) = try fs.create(parent: .root, name: Array("log".utf8), mode: 0o644, caller: me, append: false)
        _ = try fs.write(first, at: 0, Data("one\n".utf8))
        try fs.release(first)
        let appending = try fs.open(inode, write: true, truncate: false, append: true)
        _ = try fs.write(appending, at: 0, Data("two\n".utf8))
        #expect(try fs.read(appending, at: 0, count: 100) == Data("one\ntwo\n".utf8))
        try fs.release(appending)
        let truncating = try fs.open(inode, write: true, truncate: true, append: false)
        #expect(try fs.getattr(inode).length == 0)
        try fs.release(truncating)
    }

    @Test func writesAndTruncationsMarkedByTheKernelClearSetIDBits() throws {
        let fs = try makeFileSystem()
        let (inode, _, handle) = try fs.create(parent: .root, name: Array("tool".utf8), mode: 0o6775, caller: VolumeFileSystem.Caller(uid: 0, gid: 0, umask: 0), append: false)
        _ = try fs.write(handle, at: 0, Data("a".utf8))
        #expect(try fs.getattr(inode).mode == 0o6775, "an unmarked write (CAP_FSETID) keeps them")
        #expect(try fs.clearSetIDForWrite(handle))
        #expect(try fs.getattr(inode).mode == 0o775)
        #expect(try !fs.clearSetIDForWrite(handle), "nothing left to clear")
        try fs.release(handle)
        _ = try fs.setattr(inode, AttrChanges(mode: 0o4755))
        try fs.release(try fs.open(inode, write: true, truncate: true, append: false))
        #expect(try fs.getattr(inode).mode == 0o4755)
        try fs.release(try fs.open(inode, write: true, truncate: true, append: false, clearingSetID: true))
        #expect(try fs.getattr(inode).mode == 0o755, "even when the file was already empty")
    }

    @Test func anUnlinkedOpenFileKeepsItsDataUntilRelease() throws {
        let fs = try makeFileSystem()
        let (inode, _, handle) = try fs.create(parent: .root, name: Array("tmp".utf8), mode: 0o600, caller: me, append: false)
        _ = try fs.write(handle, at: 0, Data("still here".utf8))
        try fs.flush(handle)
        try fs.unlink(parent: .root, name: Array("tmp".utf8))
        #expect(try fs.read(handle, at: 0, count: 100) == Data("still here".utf8))
        #expect(try fs.getattr(inode).nlink == 0)
        try fs.release(handle)
        #expect(throws: Errno.noSuchFileOrDirectory) { _ = try fs.getattr(inode) }
    }

    @Test func directoryOffsetsStayStableWhileEntriesAreAdded() throws {
        let fs = try makeFileSystem()
        for index in 0..<5 { _ = try fs.mknod(parent: .root, name: Array("f\(index)".utf8), type: .regular, mode: 0o644, rdev: 0, caller: me) }
        let handle = try fs.opendir(.root)
        let first = try fs.readdir(handle, offset: 0).prefix(4).map(\.name)
        _ = try fs.mknod(parent: .root, name: Array("a-new".utf8), type: .regular, mode: 0o644, rdev: 0, caller: me)
        let rest = try fs.readdir(handle, offset: 4).map(\.name)
        #expect((first + rest).map { String(decoding: $0, as: UTF8.self) } == [".", "..", "f0", "f1", "f2", "f3", "f4"])
        fs.releasedir(handle)
    }

    @Test func aDirectoryRemovedWhileListedEndsItsListing() throws {
        let fs = try makeFileSystem()
        let (directory, _) = try fs.mknod(parent: .root, name: Array("d".utf8), type: .directory, mode: 0o755, rdev: 0, caller: me)
        let pageSize = fs.engine.listingPageSize
        let names = (0..<pageSize + 10).map { Array("f\($0)".utf8) }
        for name in names { _ = try fs.mknod(parent: directory, name: name, type: .regular, mode: 0o644, rdev: 0, caller: me) }
        let handle = try fs.opendir(directory)
        let firstPage = try fs.readdir(handle, offset: 0)
        #expect(firstPage.count == 2 + pageSize)
        for name in names { try fs.unlink(parent: directory, name: name) }
        try fs.rmdir(parent: .root, name: Array("d".utf8))
        #expect(try fs.readdir(handle, offset: firstPage.count).isEmpty, "the end of the listing, not an error")
        fs.releasedir(handle)
    }

    @Test func aclsAndSELinuxLabelsAreUnsupportedWhileOtherAttributesWork() throws {
        let fs = try makeFileSystem()
        let (inode, _) = try fs.mknod(parent: .root, name: Array("f".utf8), type: .regular, mode: 0o644, rdev: 0, caller: me)
        for name in ["system.posix_acl_access", "system.posix_acl_default", "security.selinux"] {
            #expect(throws: Errno.notSupported) { _ = try fs.getxattr(inode, name: name) }
            #expect(throws: Errno.notSupported) { try fs.setxattr(inode, name: name, value: [2], flags: []) }
            #expect(throws: Errno.notSupported) { try fs.removexattr(inode, name: name) }
        }
        try fs.setxattr(inode, name: "user.k", value: [1], flags: [])
        #expect(try fs.getxattr(inode, name: "user.k") == [1])
        #expect(try fs.listxattr(inode) == ["user.k"])
    }

    @Test func whatThisMountCreatesHasNoExtendedAttributesUntilOneIsSet() throws {
        let fs = try makeFileSystem()
        let (file, _, handle) = try fs.create(parent: .root, name: Array("f".utf8), mode: 0o644, caller: me, append: false)
        let (link, _) = try fs.symlink(parent: .root, name: Array("l".utf8), target: Array("f".utf8), caller: me)
        let (directory, _) = try fs.mknod(parent: .root, name: Array("d".utf8), type: .directory, mode: 0o755, rdev: 0, caller: me)
        for inode in [file, link, directory] {
            #expect(throws: Errno.noData) { _ = try fs.getxattr(inode, name: "security.capability") }
            #expect(throws: Errno.invalidArgument, "a bad name is refused as the store refuses it") { _ = try fs.getxattr(inode, name: "") }
            try fs.setxattr(inode, name: "security.capability", value: [1, 2], flags: [])
            #expect(try fs.getxattr(inode, name: "security.capability") == [1, 2])
            try fs.removexattr(inode, name: "security.capability")
            #expect(throws: Errno.noData) { _ = try fs.getxattr(inode, name: "security.capability") }
        }
        try fs.release(handle)
    }

    @Test func readOnlyRefusesMutationsAndCanBeSwitchedOn() throws {
        let fs = try makeFileSystem()
        let (inode, _) = try fs.mknod(parent: .root, name: Array("f".utf8), type: .regular, mode: 0o644, rdev: 0, caller: me)
        fs.readOnly = true
        #expect(throws: Errno.readOnlyFileSystem) { _ = try fs.mknod(parent: .root, name: Array("g".utf8), type: .regular, mode: 0o644, rdev: 0, caller: me) }
        #expect(throws: Errno.readOnlyFileSystem) { _ = try fs.open(inode, write: true, truncate: false, append: false) }
        #expect(throws: Errno.readOnlyFileSystem) { try fs.setxattr(inode, name: "user.k", value: [1], flags: []) }
        let reading = try fs.open(inode, write: false, truncate: false, append: false)
        #expect(try fs.read(reading, at: 0, count: 10).isEmpty)
        try fs.release(reading)
    }

    @Test func copyRangeSharesSlicesInsteadOfCopyingBytes() throws {
        let fs = try makeFileSystem()
        let data = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) })
        let (source, _, input) = try fs.create(parent: .root, name: Array("source".utf8), mode: 0o644, caller: me, append: false)
        _ = try fs.write(input, at: 0, data)
        let (copy, _, output) = try fs.create(parent: .root, name: Array("copy".utf8), mode: 0o644, caller: me, append: false)
        #expect(try fs.copyRange(from: input, at: 1000, to: output, at: (64 << 20) - 500_000, length: 10_000_000) == 2_999_000)
        let expected = Data(count: (64 << 20) - 500_000) + data.dropFirst(1000)
        #expect(try fs.getattr(copy).length == UInt64(expected.count))
        #expect(try fs.read(output, at: (64 << 20) - 600_000, count: 1_000_000) == expected.subdata(in: ((64 << 20) - 600_000)..<((64 << 20) + 400_000)))
        let sourceSlices = Set(try fs.engine.readChunk(source, index: 0).map(\.id))
        let copiedSlices = Set(try (fs.engine.readChunk(copy, index: 0) + fs.engine.readChunk(copy, index: 1)).map(\.id))
        #expect(copiedSlices == sourceSlices, "the copy points into the source's slices")
        try fs.release(input)
        try fs.unlink(parent: .root, name: Array("source".utf8))
        #expect(try fs.read(output, at: (64 << 20) - 500_000, count: 2_999_000) == data.dropFirst(1000), "the copy's references keep the data")
        try fs.release(output)
    }

    /// A write, fallocate or copy at the far end of the address space costs what it holds:
    /// past `ChunkGeometry.maxFileLength` it is EFBIG, never a trap or a walk over the length.
    @Test func hostileOffsetsAreRefusedOrCheap() throws {
        let fs = try makeFileSystem()
        let end = ChunkGeometry.maxFileLength
        let (inode, _, handle) = try fs.create(parent: .root, name: Array("f".utf8), mode: 0o644, caller: me, append: false)
        #expect(try fs.write(handle, at: end - 5, Data("tail!".utf8)) == 5)
        #expect(throws: Errno.fileTooLarge) { _ = try fs.write(handle, at: end - 4, Data("tail!".utf8)) }
        #expect(throws: Errno.fileTooLarge) { _ = try fs.write(handle, at: UInt64(Int64.max), Data("x".utf8)) }
        try fs.flush(handle)
        #expect(try fs.getattr(inode).length == end)
        #expect(try fs.read(handle, at: end - 5, count: 100) == Data("tail!".utf8))
        #expect(try fs.read(handle, at: end / 2, count: 3) == Data(count: 3))

        #expect(throws: Errno.fileTooLarge) { try fs.fallocate(handle, mode: 0, offset: end, length: 1) }
        #expect(throws: Errno.fileTooLarge) { try fs.fallocate(handle, mode: 0x03, offset: 1, length: UInt64(Int64.max)) }
        try fs.fallocate(handle, mode: 0x03, offset: 0, length: end)
        #expect(try fs.read(handle, at: end - 5, count: 100) == Data(count: 5), "a punched hole reads as zeros")

        let (_, _, copy) = try fs.create(parent: .root, name: Array("g".utf8), mode: 0o644, caller: me, append: false)
        #expect(try fs.copyRange(from: handle, at: 0, to: copy, at: 0, length: end) == VolumeFileSystem.copyLimit)
        #expect(throws: Errno.fileTooLarge) { _ = try fs.copyRange(from: handle, at: 0, to: copy, at: end - 1, length: 2) }
        try fs.release(copy)
        try fs.release(handle)
        try fs.unlink(parent: .root, name: Array("f".utf8))
        #expect(throws: Errno.noSuchFileOrDirectory) { _ = try fs.getattr(inode) }
    }

    @Test func fallocateRejectsModesItCannotHonour() throws {
        let fs = try makeFileSystem()
        let (_, _, handle) = try fs.create(parent: .root, name: Array("f".utf8), mode: 0o644, caller: me, append: false)
        #expect(throws: Errno.notSupported) { try fs.fallocate(handle, mode: 0x02, offset: 0, length: 10) }
        #expect(throws: Errno.notSupported) { try fs.fallocate(handle, mode: 0x08, offset: 0, length: 10) }
        try fs.release(handle)
    }
}
