import Foundation
import SystemBridge
import SystemPackage
import TestSupport
import Testing

@Suite struct FileSystemTests {
    @Test func removeTreeDeletesBelowButNeverFollowsASymlink() throws {
        let root = try Scratch.directory("tree")
        let outside = try Scratch.directory("outside")
        try FileSystem.write(Data("keep".utf8), atomicallyTo: outside.appending("kept.txt"))
        try FileSystem.createDirectories(root.appending("a/b"))
        try FileSystem.write(Data("x".utf8), atomicallyTo: root.appending("a/b/file"))
        #expect(symlink(outside.string, root.appending("a/link").string) == 0)
        try FileSystem.removeTree(root)
        #expect(!FileSystem.exists(root))
        #expect(try FileSystem.contents(of: outside.appending("kept.txt")) == Data("keep".utf8), "what a symlink points at stays")
        try FileSystem.removeTree(root)  // a missing path is not an error
    }

    @Test func contentsWriteAndCopyRoundTrip() throws {
        let directory = try Scratch.directory("files")
        let path = directory.appending("data.bin")
        #expect(try FileSystem.contents(of: path) == nil)
        let payload = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try FileSystem.write(payload, atomicallyTo: path)
        #expect(try FileSystem.contents(of: path) == payload)
        try FileSystem.write(Data("short".utf8), atomicallyTo: path)
        #expect(try FileSystem.contents(of: path) == Data("short".utf8), "replaced whole")
        try FileSystem.copyFile(path, to: directory.appending("copy.bin"))
        #expect(try FileSystem.contents(of: directory.appending("copy.bin")) == Data("short".utf8))
        #expect(try FileSystem.freeSpace(directory) > 0)
        #expect(FileSystem.isExecutable(FilePath("/bin/sh")) && !FileSystem.isExecutable(path) && !FileSystem.isExecutable(directory))
    }

    @Test func readsAreExactExceptWhereTheFileEnds() throws {
        let path = try Scratch.directory("reads").appending("f")
        try FileSystem.write(Data("0123456789".utf8), atomicallyTo: path)
        let descriptor = try FileDescriptor.open(path, .readOnly)
        defer { try? descriptor.close() }
        #expect(try descriptor.read(count: 4, fromAbsoluteOffset: 3) == Data("3456".utf8))
        #expect(try descriptor.read(count: 100, fromAbsoluteOffset: 8) == Data("89".utf8))
        #expect(try descriptor.read(count: 5, fromAbsoluteOffset: 50).isEmpty)
    }
}
