import Foundation
import SystemBridge
import SystemPackage
import TestSupport
import Testing

/// Descriptors passed with bytes (SCM_RIGHTS): the receiver gets its own open copy, with the
/// bytes it came with.
@Suite struct UnixSocketTests {
    @Test func aDescriptorTravelsWithTheBytesAndStaysUsable() throws {
        let directory = try Scratch.directory("unix-socket")
        let listener = try UnixListener(path: directory.appending("s.sock"), mode: .ownerReadWrite, group: nil)
        defer { listener.close() }
        let client = try UnixSocket.connect(to: listener.path)
        let server = try listener.accept()
        let file = directory.appending("passed")
        let output = try FileDescriptor.open(file, .writeOnly, options: [.create, .truncate], permissions: .ownerReadWrite)
        try client.write(Array("with a file\n".utf8), passing: output)
        try output.close()
        try client.write(Array("without\n".utf8))

        var bytes: [UInt8] = []
        var descriptors: [FileDescriptor] = []
        while bytes.count < 20 {
            let received = try server.receive()
            bytes += received.bytes
            descriptors += received.descriptors
        }
        #expect(String(decoding: bytes, as: UTF8.self) == "with a file\nwithout\n")
        #expect(descriptors.count == 1)
        let passed = try #require(descriptors.first)
        #expect(FileSystem.isEmptyWritableFile(passed))
        try passed.writeAll(Array("written by the receiver".utf8))
        try passed.close()
        #expect(try FileSystem.contents(of: file) == Data("written by the receiver".utf8))
        client.close()
        server.close()
    }
}
