import Foundation
import Testing
import TestSupport
import VolumeClient
import VolumeModel

/// Stopping and crashing the daemon: working copies survive, committed versions are never
/// touched, and the user decides what happens to what was left behind.
@Suite(.serialized) struct RestartTests {
    private func isMounted(_ path: String) -> Bool {
        ((try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? "").split(separator: "\n").contains { $0.split(separator: " ").dropFirst().first == Substring(path) }
    }

    @Test func sigtermDrainsPendingWritebackAndExitsCleanly() async throws {
        let daemon = try DaemonFixture(s3Bucket: true)
        defer { daemon.close() }
        let path = daemon.mountPath()
        let volume = try await daemon.client.new()
        _ = try await daemon.client.mount(RPCParams.Mount(volume: volume, mountPath: path, options: MountOptions(uploadDelay: "1h")))
        let committed = try await daemon.client.commit(RPCParams.Commit(mountPath: path, message: "before"))
        let payload = Data((0..<(24 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 40503 >> 7) })
        try payload.write(to: URL(fileURLWithPath: "\(path)/pending.bin"))
        #expect(try await daemon.client.status(of: path).stagedBlocks > 0, "an hour's upload delay keeps blocks staged")

        #expect(try daemon.stop() == 0, "SIGTERM exits 0:\n\(daemon.log)")
        #expect(!isMounted(path))
        #expect(daemon.log.contains("kept the working copy"))
        let chunks = try TestStores.s3(prefix: "").listAll(prefix: "\(volume.chunkPrefix)/chunks/")
        #expect(chunks.reduce(0) { $0 + $1.size } >= Int64(payload.count), "the staged blocks were drained before exit")

        try daemon.start()
        let stale = try await daemon.client.mounts()
        #expect(stale.map(\.state) == [.stale] && stale.first?.mountPath == path)
        #expect(try daemon.volumectl(["status"]).stdout.contains("stale"))
        do {
            _ = try await daemon.client.commit(RPCParams.Commit(mountPath: path))
            Issue.record("a left-behind mount is not served until recovered")
        } catch {
            #expect(error.code == .notMounted && error.message.contains("recover"))
        }
        let recover = try daemon.volumectl(["recover", path])
        #expect(recover.status == 0, "\(recover.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(path)/pending.bin")) == payload, "the working copy continues")
        let after = try await daemon.client.finalize(RPCParams.Commit(mountPath: path, message: "after"))
        #expect(after.parentProducedBy?.locator == committed.producedBy?.locator)
        #expect(try await daemon.client.read(after, path: "/pending.bin") == payload)
        #expect(try daemon.stop() == 0)
    }

    @Test func killNineLeavesStaleMountsToRecoverOrAbandon() async throws {
        let daemon = try DaemonFixture(s3Bucket: true)
        defer { daemon.close() }
        let kept = daemon.mountPath("kept")
        let dropped = daemon.mountPath("dropped")
        var committed: [String: VolumeDescriptor] = [:]
        for path in [kept, dropped] {
            let volume = try await daemon.client.new()
            _ = try await daemon.client.mount(RPCParams.Mount(volume: volume, mountPath: path))
            try write("committed", to: "\(path)/state.txt")
            committed[path] = try await daemon.client.commit(RPCParams.Commit(mountPath: path))
            try write("after the commit", to: "\(path)/state.txt")
            try write("new file", to: "\(path)/new.txt")
        }
        try daemon.kill()
        #expect(isMounted(kept), "a killed daemon leaves its FUSE mounts behind")

        try daemon.start()
        let status = try await daemon.client.mounts()
        #expect(status.map(\.state) == [.stale, .stale] && Set(status.map(\.mountPath)) == [kept, dropped])

        let recovered = try await daemon.client.recover(kept)
        #expect(recovered.state == .mounted)
        #expect(try String(contentsOfFile: "\(kept)/state.txt", encoding: .utf8) == "after the commit")
        #expect(try String(contentsOfFile: "\(kept)/new.txt", encoding: .utf8) == "new file")
        let next = try await daemon.client.finalize(RPCParams.Commit(mountPath: kept))
        #expect(next.parentProducedBy?.locator == committed[kept]?.producedBy?.locator)
        #expect(try await daemon.client.read(next, path: "/state.txt") == Data("after the commit".utf8))

        let abandon = try daemon.volumectl(["recover", dropped, "--abandon"])
        #expect(abandon.status == 0, "\(abandon.stderr)")
        #expect(!isMounted(dropped))
        #expect(try await daemon.client.mounts().isEmpty)
        let version = try #require(committed[dropped])
        #expect(try await daemon.client.read(version, path: "/state.txt") == Data("committed".utf8), "abandoning never touches a version")
        #expect(try daemon.stop() == 0)
    }

    /// `unmount --keep` leaves the working copy as a stale mount, uncommitted changes
    /// included, without stopping the daemon; `recover` continues it.
    @Test func unmountKeepLeavesTheWorkingCopyForRecover() async throws {
        let daemon = try DaemonFixture()
        defer { daemon.close() }
        let path = daemon.mountPath()
        _ = try await daemon.client.mount(RPCParams.Mount(volume: try await daemon.client.new(), mountPath: path))
        try write("not committed", to: "\(path)/draft.txt")
        do {
            _ = try await daemon.client.unmount(RPCParams.MountPath(mountPath: path, abandon: true, keep: true))
            Issue.record("abandon and keep together must be refused")
        } catch {
            #expect(error.code == .invalidParams)
        }
        let kept = try daemon.volumectl(["unmount", path, "--keep"])
        #expect(kept.status == 0 && kept.stderr.contains("working copy kept"), "\(kept.output)")
        #expect(!isMounted(path))
        let stale = try await daemon.client.mounts()
        #expect(stale.map(\.state) == [.stale] && stale.first?.mountPath == path)
        let recovered = try await daemon.client.recover(path)
        #expect(recovered.state == .mounted)
        #expect(try String(contentsOfFile: "\(path)/draft.txt", encoding: .utf8) == "not committed")
        let version = try await daemon.client.finalize(RPCParams.Commit(mountPath: path))
        #expect(try await daemon.client.read(version, path: "/draft.txt") == Data("not committed".utf8))
    }

    /// A mount left behind with blocks not yet uploaded says so in `status`, and recovering
    /// it uploads them.
    @Test func aStaleMountShowsTheBlocksItHasStaged() async throws {
        let daemon = try DaemonFixture(s3Bucket: true)
        defer { daemon.close() }
        let path = daemon.mountPath()
        _ = try await daemon.client.mount(RPCParams.Mount(volume: try await daemon.client.new(), mountPath: path, options: MountOptions(uploadDelay: "1h")))
        let payload = Data((0..<(10 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 11) })
        try payload.write(to: URL(fileURLWithPath: "\(path)/staged.bin"))
        let live = try await daemon.client.status(of: path)
        #expect(live.stagedBlocks >= 3 && live.stagedBytes >= Int64(payload.count))
        try daemon.kill()

        try daemon.start()
        let stale = try await daemon.client.status(of: path)
        #expect(stale.state == .stale)
        #expect(stale.stagedBlocks == live.stagedBlocks && stale.stagedBytes == live.stagedBytes, "\(stale)")
        _ = try await daemon.client.recover(path)
        let version = try await daemon.client.finalize(RPCParams.Commit(mountPath: path))
        #expect(try await daemon.client.read(version, path: "/staged.bin") == payload)
        #expect(try daemon.stop() == 0)
    }

    /// A killed daemon's private redis-servers get SIGTERM from the kernel (they are tied to
    /// its life), save and exit; the restarted daemon recovers the mount from what they saved.
    @Test func aKilledDaemonTakesItsRedisServersAlongAndRecoverContinuesTheirData() async throws {
        let daemon = try DaemonFixture()
        defer { daemon.close() }
        let path = daemon.mountPath()
        let volume = try await daemon.client.new(RPCParams.New(metadataStoreType: .redis))
        _ = try await daemon.client.mount(RPCParams.Mount(volume: volume, mountPath: path))
        try write("written before the crash", to: "\(path)/state.txt")
        #expect(redisServers(under: daemon.root.string).count == 1, "the mount runs one private redis-server")

        try daemon.kill()
        let deadline = Date().addingTimeInterval(20)
        while !redisServers(under: daemon.root.string).isEmpty, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(redisServers(under: daemon.root.string).isEmpty, "no redis-server outlives its daemon")

        try daemon.start()
        #expect(try await daemon.client.mounts().map(\.state) == [.stale])
        #expect(try await daemon.client.recover(path).state == .mounted)
        #expect(try String(contentsOfFile: "\(path)/state.txt", encoding: .utf8) == "written before the crash")
        let version = try await daemon.client.finalize(RPCParams.Commit(mountPath: path))
        #expect(try await daemon.client.read(version, path: "/state.txt") == Data("written before the crash".utf8))
        #expect(redisServers(under: daemon.root.string).isEmpty, "finalize stops the server")
        #expect(try daemon.stop() == 0)
    }

    /// Process ids of the redis-servers working in a directory under `root` (`--dir` is their cwd).
    private func redisServers(under root: String) -> [String] {
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return processes.filter { pid in
            guard pid.allSatisfy(\.isNumber),
                let name = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8), name.hasPrefix("redis-server"),
                let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")
            else { return false }
            return cwd.hasPrefix(root)
        }
    }
}

/// What systemd hears on `$NOTIFY_SOCKET` (Type=notify): ready once serving, the number of
/// left-behind mounts, and stopping on SIGTERM.
@Suite struct SystemdNotificationTests {
    @Test func readyStatusAndStoppingReachTheNotifySocket() throws {
        let directory = try Scratch.directory("notify")
        let socketPath = directory.appending("notify.sock").string
        let received = directory.appending("received.txt").string
        let listener = Process()
        listener.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        listener.arguments = [
            "python3", "-c",
            """
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.bind(sys.argv[1])
            s.settimeout(120)
            open(sys.argv[2] + ".ready", "w").close()
            with open(sys.argv[2], "a", buffering=1) as out:
                while True:
                    message = s.recv(4096).decode()
                    out.write(message + "\\n--\\n")
                    if "STOPPING=1" in message:
                        break
            """,
            socketPath, received,
        ]
        listener.standardOutput = FileHandle.nullDevice
        listener.standardError = FileHandle.nullDevice
        try listener.run()
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: received + ".ready"), Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }

        let daemon = try DaemonFixture(extraEnvironment: ["NOTIFY_SOCKET": socketPath])
        defer { daemon.close() }
        #expect(try daemon.stop() == 0)
        listener.waitUntilExit()
        let messages = try String(contentsOfFile: received, encoding: .utf8)
        #expect(messages.contains("READY=1") && messages.contains("STATUS=serving; 0 left-behind mount(s)"), "\(messages)")
        #expect(messages.contains("MAINPID="))
        #expect(messages.contains("STOPPING=1"), "\(messages)")
        let ready = messages.range(of: "READY=1")?.lowerBound
        let stopping = messages.range(of: "STOPPING=1")?.lowerBound
        #expect(ready != nil && stopping != nil && ready! < stopping!, "ready before stopping")
    }
}
