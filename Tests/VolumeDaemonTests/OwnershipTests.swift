import Foundation
import SystemPackage
import Testing
import TestSupport
import VolumeClient
import VolumeModel

/// A caller acts only on what is its own: mounts are managed by their makers, browsing a
/// version checks modes as a mount would, and requests name only allowed buckets.
@Suite(.serialized) struct OwnershipTests {
    /// A daemon that uid 65534 (nobody) may call: allowed by uid, the socket open to it.
    private func daemonForNobody(_ settings: [String: Any] = [:]) throws -> DaemonFixture {
        let daemon = try DaemonFixture(settings: settings.merging(["allowed_uids": [65534]]) { $1 })
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: daemon.socket.string)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: daemon.root.string)
        return daemon
    }

    /// Sends `requests` on one connection as uid 65534 (gid 65534, supplementary `groups`)
    /// through Python's stdlib and returns the responses, in order.
    private func callAsNobody(_ socket: FilePath, groups: [UInt32] = [], _ requests: [(method: String, params: Any)]) throws -> [[String: Any]] {
        let lines = try requests.enumerated().map { index, request in
            String(
                decoding: try JSONSerialization.data(withJSONObject: ["jsonrpc": "2.0", "id": index + 1, "method": request.method, "params": request.params]),
                as: UTF8.self)
        }
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX)
            s.connect(sys.argv[1])
            replies = s.makefile()
            for line in sys.stdin:
                s.sendall(line.encode())
                print(replies.readline(), end="", flush=True)
            """
        let identity = ["--reuid=65534", "--regid=65534"] + (groups.isEmpty ? ["--clear-groups"] : ["--groups=\(groups.map(String.init).joined(separator: ","))"])
        let result = try Command.run(
            ["setpriv"] + identity + ["/usr/bin/python3", "-c", script, socket.string], input: Data((lines.joined(separator: "\n") + "\n").utf8))
        let replies = result.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        try #require(replies.count == requests.count, "one reply per request: \(result.output)")
        return replies
    }

    private func json(_ value: some Encodable) throws -> Any {
        try JSONSerialization.jsonObject(with: try JSONEncoder().encode(value))
    }

    private func errorName(_ reply: [String: Any]) -> String? {
        ((reply["error"] as? [String: Any])?["data"] as? [String: Any])?["name"] as? String
    }

    @Test func onlyTheOwnerRootAndTheDaemonsUserManageAMount() async throws {
        let daemon = try daemonForNobody()
        defer { daemon.close() }
        let rootsPath = daemon.mountPath()
        let rootsVolume = try await daemon.client.new()
        let rootsMount = try await daemon.client.mount(RPCParams.Mount(volume: rootsVolume, mountPath: rootsPath))
        #expect(rootsMount.ownerUID == 0)
        try write("root's", to: "\(rootsPath)/f")

        let refused = try callAsNobody(
            daemon.socket,
            [
                ("volume.commit", ["mount_path": rootsPath]), ("volume.finalize", ["mount_path": rootsPath]),
                ("volume.fork", ["mount_path": rootsPath]), ("volume.unmount", ["mount_path": rootsPath]),
                ("volume.unmount", ["mount_path": rootsPath, "abandon": true]), ("mount.list", [:] as [String: Any]),
            ])
        for reply in refused.prefix(5) {
            #expect(errorName(reply) == "permission_denied", "\(reply)")
            #expect(((reply["error"] as? [String: Any])?["message"] as? String)?.contains("belongs to uid 0") == true, "\(reply)")
        }
        let listed = try #require(refused[5]["result"] as? [[String: Any]], "\(refused[5])")
        #expect(listed.contains { $0["mount_path"] as? String == rootsPath && $0["owner_uid"] as? Int == 0 }, "others' mounts are listed with their owner")
        #expect(try await daemon.client.mounts().first?.state == .mounted, "the refused calls left root's mount alone")

        // nobody's own mount: nobody manages it, and so does root.
        let nobodysPath = daemon.mountPath()
        let own = try callAsNobody(
            daemon.socket,
            [
                ("volume.mount", ["volume": try json(try await daemon.client.new()), "mount_path": nobodysPath]),
                ("volume.commit", ["mount_path": nobodysPath, "message": "nobody's"]),
            ])
        #expect((own[0]["result"] as? [String: Any])?["owner_uid"] as? Int == 65534, "\(own[0])")
        #expect((own[1]["result"] as? [String: Any])?["message"] as? String == "nobody's", "\(own[1])")
        _ = try await daemon.client.commit(RPCParams.Commit(mountPath: nobodysPath, message: "root's too"))
        let unmounted = try callAsNobody(daemon.socket, [("volume.unmount", ["mount_path": nobodysPath])])
        #expect((unmounted[0]["result"] as? [String: Any])?["state"] as? String == "unmounted", "\(unmounted[0])")
        _ = try await daemon.client.finalize(RPCParams.Commit(mountPath: rootsPath))
    }

    @Test func whatReachesPastOnesOwnFilesIsForAdministrators() async throws {
        let daemon = try daemonForNobody(["allowed_buckets": ["s3://volumed-test"]])
        defer { daemon.close() }
        let volume = try json(try await daemon.client.new())
        let refused = try callAsNobody(
            daemon.socket,
            [
                ("volume.mount", ["volume": volume, "mount_path": daemon.mountPath(), "options": ["cache_dir": "/etc/volumed-cache"]]),
                ("volume.export_metadata", ["volume": volume]),
                ("volume.new", ["bucket": "s3://volumed-test", "endpoint": "http://127.0.0.1:1"]),
                ("volume.delete", ["volumes": [volume]]),
            ])
        for reply in refused { #expect(errorName(reply) == "permission_denied", "\(reply)") }
        #expect(!FileManager.default.fileExists(atPath: "/etc/volumed-cache"))
        #expect(((refused[2]["error"] as? [String: Any])?["message"] as? String)?.contains("allowed_endpoints") == true)
    }

    /// A path that holds a mount left behind takes no new mount until that one is recovered
    /// or abandoned, and recovering never detaches a mount being served.
    @Test func aLeftBehindMountKeepsItsPath() async throws {
        let daemon = try DaemonFixture()
        defer { daemon.close() }
        let path = daemon.mountPath()
        _ = try await daemon.client.mount(RPCParams.Mount(volume: try await daemon.client.new(), mountPath: path))
        try write("kept", to: "\(path)/f")
        _ = try await daemon.client.unmount(RPCParams.MountPath(mountPath: path, keep: true))
        do {
            _ = try await daemon.client.mount(RPCParams.Mount(volume: try await daemon.client.new(), mountPath: path))
            Issue.record("a mount over a left-behind one must be refused")
        } catch {
            #expect(error.code == .alreadyMounted && error.message.contains("left behind"), "\(error)")
        }
        _ = try await daemon.client.recover(path)
        #expect(try String(contentsOfFile: "\(path)/f", encoding: .utf8) == "kept")
        _ = try await daemon.client.finalize(RPCParams.Commit(mountPath: path))
    }

    @Test func aLeftBehindMountIsRecoveredOnlyByItsOwner() async throws {
        let daemon = try daemonForNobody()
        defer { daemon.close() }
        let path = daemon.mountPath()
        _ = try await daemon.client.mount(RPCParams.Mount(volume: try await daemon.client.new(), mountPath: path))
        try write("kept", to: "\(path)/f")
        try daemon.kill()
        try daemon.start()
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: daemon.socket.string)
        let refused = try callAsNobody(
            daemon.socket, [("mount.recover", ["mount_path": path]), ("mount.recover", ["mount_path": path, "abandon": true])])
        for reply in refused { #expect(errorName(reply) == "permission_denied", "\(reply)") }
        let recovered: MountStatus = try await daemon.client.call(.mountRecover, RPCParams.MountPath(mountPath: path))
        #expect(recovered.state == .mounted && recovered.ownerUID == 0)
        #expect(try String(contentsOfFile: "\(path)/f", encoding: .utf8) == "kept")
        _ = try await daemon.client.finalize(RPCParams.Commit(mountPath: path))
    }

    @Test func browsingAVersionChecksModesAsAMountWould() async throws {
        let daemon = try daemonForNobody()
        defer { daemon.close() }
        let path = daemon.mountPath()
        _ = try await daemon.client.mount(RPCParams.Mount(volume: try await daemon.client.new(), mountPath: path))
        for (name, mode, group) in [("public", 0o644, 0), ("secret", 0o600, 0), ("team", 0o640, 1234)] {
            try write(name, to: "\(path)/\(name)")
            try FileManager.default.setAttributes([.posixPermissions: mode, .groupOwnerAccountID: group], ofItemAtPath: "\(path)/\(name)")
        }
        try FileManager.default.createDirectory(atPath: "\(path)/private", withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        try write("inside", to: "\(path)/private/open")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: "\(path)/private/open")
        let committed = try await daemon.client.finalize(RPCParams.Commit(mountPath: path))
        let version = try json(committed)

        func browse(_ method: String, _ file: String, groups: [UInt32] = []) throws -> [String: Any] {
            try callAsNobody(daemon.socket, groups: groups, [(method, ["volume": version, "path": file])])[0]
        }
        #expect((try browse("volume.cat", "/public")["result"] as? [String: Any])?["content_base64"] as? String == Data("public".utf8).base64EncodedString())
        #expect((try browse("volume.ls", "/")["result"] as? [[String: Any]])?.count == 4)
        for (method, file) in [("volume.cat", "/secret"), ("volume.cat", "/team"), ("volume.ls", "/private"), ("volume.cat", "/private/open")] {
            let reply = try browse(method, file)
            #expect(errorName(reply) == "permission_denied", "\(method) \(file): \(reply)")
        }
        let member = try browse("volume.cat", "/team", groups: [1234])
        #expect(member["result"] != nil, "a supplementary group's member reads a group-readable file: \(member)")
        #expect(try await daemon.client.read(committed, path: "/secret") == Data("secret".utf8), "root reads anything")
    }

    @Test func bucketsOutsideTheAllowListAreRefusedBeforeAnythingIsCreated() async throws {
        let outside = try Scratch.directory("outside-bucket")
        let target = outside.appending("bucket")
        let daemon = try DaemonFixture()
        defer { daemon.close() }
        do {
            _ = try await daemon.client.new(RPCParams.New(bucket: "file://\(target)"))
            Issue.record("a bucket outside allowed_buckets must be refused")
        } catch {
            #expect(error.code == .permissionDenied && error.message.contains("allowed_buckets"), "\(error)")
        }
        var smuggled = try await daemon.client.new()
        smuggled.bucket = "file://\(target)"
        for attempt in ["mount", "load"] {
            do {
                if attempt == "mount" {
                    _ = try await daemon.client.mount(RPCParams.Mount(volume: smuggled, mountPath: daemon.mountPath()))
                } else {
                    _ = try await daemon.client.load(locator: "file://\(target)/versions/20261207T000000Z-0a1b2c3d4e5f/volume.json")
                }
                Issue.record("\(attempt) of a bucket outside allowed_buckets must be refused")
            } catch {
                #expect(error.code == .permissionDenied, "\(attempt): \(error)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: target.string), "nothing was created in a refused bucket")
        #expect(try await daemon.client.mounts().isEmpty)

        let allowing = try DaemonFixture(settings: ["allowed_buckets": ["file://\(outside)"]])
        defer { allowing.close() }
        let path = allowing.mountPath()
        let volume = try await allowing.client.new(RPCParams.New(bucket: "file://\(target)"))
        _ = try await allowing.client.mount(RPCParams.Mount(volume: volume, mountPath: path))
        try write("allowed", to: "\(path)/f")
        _ = try await allowing.client.finalize(RPCParams.Commit(mountPath: path))
        #expect(FileManager.default.fileExists(atPath: target.appending("versions").string))
    }

    /// A connection the daemon serves; the fixture's own probe of the socket may hold a place
    /// for a moment after it closes.
    private func admitted(to socket: FilePath) throws -> RawConnection {
        for _ in 0..<50 {
            let connection = try RawConnection(socket)
            if (try? connection.call(#"{"jsonrpc": "2.0", "id": 1, "method": "daemon.status"}"#))?["result"] != nil { return connection }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw RawConnection.RawConnectionClosed()
    }

    @Test func connectionsPastTheCapsGetBusy() throws {
        let daemon = try DaemonFixture(settings: ["max_connections_per_user": 2])
        defer { daemon.close() }
        let held = [try admitted(to: daemon.socket), try admitted(to: daemon.socket)]
        let third = try RawConnection(daemon.socket)
        let refused = try #require(try third.receive())
        #expect(refused.errorCode?.1 == "busy" && refused.errorMessage.contains("max_connections_per_user"), "\(refused)")
        held[0].close()
        _ = try admitted(to: daemon.socket)  // a closed connection frees its place

        let small = try DaemonFixture(settings: ["max_connections": 1])
        defer { small.close() }
        try withExtendedLifetime(try admitted(to: small.socket)) {
            let another = try #require(try RawConnection(small.socket).receive())
            #expect(another.errorCode?.1 == "busy" && another.errorMessage.contains("max_connections"), "\(another)")
        }
    }
}
