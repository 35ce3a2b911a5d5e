import Foundation
import Metadata
import SystemPackage
import TestSupport
import Testing

@Suite struct RedisServerTests {
    @Test func aKilledServerIsRestartedWithItsSavedData() throws {
        let server = RedisServer(directory: try Scratch.directory("redis-private"))
        try server.start()
        defer { try? server.stop() }
        let engine = try NamespaceEngine.open(.redis(server.address()))
        try engine.format(VolumeFormat(name: "private", storage: "file", bucket: "/tmp/volumed-unused-bucket/"))
        try engine.takeSnapshot(scratchFile: server.directory.appending("copy.rdb")).0.release()  // BGSAVE: what a restart reloads
        let pid = try #require(server.processID)
        kill(pid, SIGKILL)
        let deadline = Date().addingTimeInterval(20)
        var format: VolumeFormat?
        while format == nil, Date() < deadline {
            format = try? engine.loadFormat()
            if format == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        #expect(format?.name == "private", "the engine reconnects to the restarted server")
        #expect(server.restarts == 1)
        #expect(server.processID != pid)
    }

    @Test func stopSavesAndAStartLoadsTheRDBFile() throws {
        let directory = try Scratch.directory("redis-private")
        let server = RedisServer(directory: directory)
        try server.start()
        let engine = try NamespaceEngine.open(.redis(server.address()))
        try engine.format(VolumeFormat(name: "persisted", storage: "file", bucket: "/tmp/volumed-unused-bucket/"))
        _ = try engine.mknod(parent: .root, name: Array("kept".utf8), type: .regular, mode: 0o644, owner: .root, rdev: 0)
        try server.stop()
        #expect(server.processID == nil)
        #expect(FileManager.default.fileExists(atPath: server.rdbFile.string))
        #expect(throws: MetaError.self, "a stopped server is not restarted") { _ = try engine.getattr(.root) }

        let again = RedisServer(directory: directory)
        try again.start()
        defer { try? again.stop() }
        let reopened = try NamespaceEngine.open(.redis(again.address()))
        #expect(try reopened.lookup(parent: .root, name: Array("kept".utf8)).1.type == .regular)
    }

    @Test func socketPathsTooLongForUnixSocketsAreRefused() throws {
        let deep = try Scratch.directory(String(repeating: "x", count: 100))
        let error = #expect(throws: MetaError.self) { try RedisServer(directory: deep).start() }
        #expect(error?.errno == .fileNameTooLong)
    }

    @Test func aMissingExecutableSaysWhatToInstall() throws {
        let server = RedisServer(directory: try Scratch.directory("redis-private"), executable: "redis-server-that-does-not-exist")
        let error = #expect(throws: MetaError.self) { try server.start() }
        #expect(error?.detail.contains("redis-server") == true)
    }
}
