import Foundation
import SystemPackage
import TestSupport
import Testing
import VolumeClient
import VolumeModel

/// The client library against a real daemon: what it sends, and how it hands back results,
/// progress and errors.
@Suite struct VolumeClientTests {
    @Test func anUnreachableDaemonIsAnErrorThatSaysWhereItLooked() async throws {
        let socket = FilePath("/nonexistent/volumed.sock")
        do {
            _ = try await VolumeClient(socket: socket).daemonStatus()
            Issue.record("a missing socket answered")
        } catch {
            #expect(error.message.contains("cannot reach volumed at \(socket)") && error.data["socket"] == socket.string, "\(error)")
        }
    }

    @Test func progressArrivesBeforeTheResultOnlyWhenAskedFor() async throws {
        let daemon = try DaemonFixture()
        defer { daemon.close() }
        let client = daemon.client
        let path = daemon.mountPath()
        let phases = Phases()
        _ = try await client.mount(RPCParams.Mount(volume: try await client.new(), mountPath: path), progress: phases.record)
        try Data("progress".utf8).write(to: URL(fileURLWithPath: "\(path)/f"))
        let version = try await client.commit(RPCParams.Commit(mountPath: path, message: "with progress"), progress: phases.record)
        #expect(version.message == "with progress" && version.isCommitted)
        #expect(phases.seen.contains("snapshot") && phases.seen.contains("upload_index"), "\(phases.seen)")
        let before = phases.seen.count
        try Data("quiet".utf8).write(to: URL(fileURLWithPath: "\(path)/f"))
        _ = try await client.finalize(RPCParams.Commit(mountPath: path, message: "quiet"))
        #expect(phases.seen.count == before, "no progress notifications without a callback")
        #expect(try daemon.stop() == 0)
    }

    /// The export lands in the file the client opened; without a descriptor the daemon
    /// refuses, and a failed export leaves no file behind.
    @Test func exportMetadataWritesIntoTheCallersFile() async throws {
        let daemon = try DaemonFixture()
        defer { daemon.close() }
        let client = daemon.client
        let path = daemon.mountPath()
        _ = try await client.mount(RPCParams.Mount(volume: try await client.new(), mountPath: path))
        try Data("exported".utf8).write(to: URL(fileURLWithPath: "\(path)/f"))
        let version = try await client.finalize(RPCParams.Commit(mountPath: path, message: "to export"))
        let directory = daemon.root.appending("exports")
        try FileManager.default.createDirectory(atPath: directory.string, withIntermediateDirectories: true)

        let database = directory.appending("meta.db")
        let phases = Phases()
        let export = try await client.exportMetadata(RPCParams.ExportMetadata(volume: version), to: database, progress: phases.record)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: database.string))
        #expect(export == MetadataExport(format: .sqlite, bytes: Int64(bytes.count)) && bytes.starts(with: Data("SQLite format 3\0".utf8)))
        #expect(phases.seen.contains("download_index"), "\(phases.seen)")
        let dump = directory.appending("meta.json")
        _ = try await client.exportMetadata(RPCParams.ExportMetadata(volume: version, format: .dump), to: dump)
        let tree = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dump.string))) as? [String: Any]
        #expect(tree?["FSTree"] != nil && tree?["Setting"] != nil)

        do {
            let _: MetadataExport = try await client.call(.volumeExportMetadata, RPCParams.ExportMetadata(volume: version))
            Issue.record("an export without a descriptor was accepted")
        } catch {
            #expect(error.code == .invalidParams && error.data["field"] == "descriptor", "\(error)")
        }
        let never = directory.appending("never.db")
        do {
            _ = try await client.exportMetadata(RPCParams.ExportMetadata(volume: try await client.new()), to: never)
            Issue.record("an export of a volume never committed was accepted")
        } catch {
            #expect(error.code == .notFound, "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: never.string), "a failed export leaves no file")
        #expect(try daemon.stop() == 0)
    }

    @Test func errorsKeepTheirCodeAndData() async throws {
        let daemon = try DaemonFixture()
        defer { daemon.close() }
        do {
            _ = try await daemon.client.mount(RPCParams.Mount(volume: try await daemon.client.new(), mountPath: "/outside/the/mount/root"))
            Issue.record("a mount outside mount_root was accepted")
        } catch {
            #expect(error.code == .permissionDenied, "\(error)")
            #expect(error.data["mount_path"] != nil || error.message.contains("mount_root"), "\(error)")
        }
        do {
            _ = try await daemon.client.status(of: daemon.mountPath("nothing-here"))
            Issue.record("status of nothing mounted answered")
        } catch {
            #expect(error.code == .notMounted && error.data["mount_path"] == daemon.mountPath("nothing-here"))
        }
        #expect(try daemon.stop() == 0)
    }
}

/// The phases a long call reported, in order.
final class Phases: @unchecked Sendable {
    private let lock = NSLock()
    private var phases: [String] = []

    var seen: [String] { lock.withLock { phases } }

    func record(_ progress: VolumeProgress) {
        lock.withLock { if phases.last != progress.phase { phases.append(progress.phase) } }
    }
}
