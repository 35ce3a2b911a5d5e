@testable import ChunkStore
import Foundation
import SystemBridge
import SystemPackage
import TestSupport
import Testing

/// Descriptors kept between reads: opened once, never closed under a reader, and let go of
/// a file that is deleted or pushed out, so that its space is freed.
@Suite struct OpenFilesTests {
    private func file(_ name: String, in directory: FilePath) throws -> FilePath {
        let path = directory.appending(name)
        try Data(name.utf8).write(to: URL(fileURLWithPath: path.string))
        return path
    }

    /// Whether this process still holds `descriptor` open on `path` after the file's deletion.
    private func holdsDeleted(_ descriptor: FileDescriptor, _ path: FilePath) -> Bool {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(descriptor.rawValue)")) == path.string + " (deleted)"
    }

    private func read(_ files: OpenFiles<String>, _ path: FilePath, opens: inout Int) -> (FileDescriptor, String)? {
        files.withDescriptor(path.string, open: {
            opens += 1
            return try? FileDescriptor.open(path, .readOnly)
        }) { descriptor in
            var buffer = [UInt8](repeating: 0, count: 16)
            let count = buffer.withUnsafeMutableBytes { (try? descriptor.read(fromAbsoluteOffset: 0, into: $0)) ?? 0 }
            return (descriptor, String(decoding: buffer.prefix(count), as: UTF8.self))
        }
    }

    @Test func aFileIsOpenedOnceForManyReads() throws {
        let path = try file("alpha", in: try Scratch.directory("open-files"))
        let files = OpenFiles<String>(capacity: 4)
        var opens = 0
        for _ in 0..<3 { #expect(read(files, path, opens: &opens)?.1 == "alpha") }
        #expect(opens == 1)
    }

    @Test func aForgottenFileIsClosedOnceItsReaderIsDone() throws {
        let path = try file("beta", in: try Scratch.directory("open-files"))
        let files = OpenFiles<String>(capacity: 4)
        var opens = 0
        let (descriptor, _) = try #require(read(files, path, opens: &opens))
        let stillReadable = files.withDescriptor(path.string, open: { nil }) { (held) -> Bool? in
            files.forget(path.string)
            try? FileSystem.unlink(path)
            var byte = [UInt8](repeating: 0, count: 1)
            return byte.withUnsafeMutableBytes { (try? held.read(fromAbsoluteOffset: 0, into: $0)) ?? 0 } == 1
        }
        #expect(stillReadable == true, "a reader's descriptor stays open while it reads")
        #expect(!holdsDeleted(descriptor, path), "the deleted file's descriptor is closed after its last reader")
        #expect(read(files, path, opens: &opens) == nil, "a forgotten file is opened again, and is gone")
    }

    @Test func pastItsCapacityTheOldestAreLetGo() throws {
        let directory = try Scratch.directory("open-files")
        let first = try file("gamma", in: directory)
        let second = try file("delta", in: directory)
        let files = OpenFiles<String>(capacity: 1)
        var opens = 0
        let (descriptor, _) = try #require(read(files, first, opens: &opens))
        #expect(read(files, second, opens: &opens)?.1 == "delta")
        try FileSystem.unlink(first)
        #expect(!holdsDeleted(descriptor, first), "the first file's descriptor was closed to make room")
        #expect(read(files, first, opens: &opens) == nil)
        #expect(opens == 3)
    }
}
