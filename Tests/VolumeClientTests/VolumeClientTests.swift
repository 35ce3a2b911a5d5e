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
