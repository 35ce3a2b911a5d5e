import Foundation
import SystemPackage
import Testing
import TestSupport
import VolumeClient
import VolumeModel

/// Who may call, where mounts may go, and what never leaves the daemon.
@Suite(.serialized) struct SecurityTests {
    /// Asks `daemon.status` as uid/gid 65534 (nobody/nogroup) with Python's stdlib.
    private func callAsNobody(_ socket: FilePath) throws -> Command.Result {
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX)
            s.connect(sys.argv[1])
            s.sendall(b'{"jsonrpc": "2.0", "id": 1, "method": "daemon.status"}\\n')
            print(s.makefile().readline(), end="")
            """
        return try Command.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script, socket.string])
    }

    @Test func aUserNotAllowedIsRefusedEvenWhenTheSocketIsOpen() throws {
        let daemon = try DaemonFixture()
        defer { daemon.close() }
        let mode = try FileManager.default.attributesOfItem(atPath: daemon.socket.string)[.posixPermissions] as? Int
        #expect(mode == 0o600, "without a socket group only the daemon's user may connect")
        // Loosen the file mode as a careless admin might: SO_PEERCRED still refuses.
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: daemon.socket.string)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: daemon.root.string)
        let refused = try callAsNobody(daemon.socket)
        #expect(refused.stdout.contains("permission_denied") && refused.stdout.contains("uid 65534"), "\(refused.output)")
        #expect(daemon.log.contains("refused a connection from uid 65534"))
    }

    @Test func allowedUsersAndTheSocketGroupGetIn() throws {
        let byUID = try DaemonFixture(settings: ["allowed_uids": [65534]])
        defer { byUID.close() }
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: byUID.socket.string)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: byUID.root.string)
        let admitted = try callAsNobody(byUID.socket)
        #expect(admitted.stdout.contains("\"result\""), "\(admitted.output)")

        let byGroup = try DaemonFixture(settings: ["socket_group": "nogroup"])
        defer { byGroup.close() }
        let attributes = try FileManager.default.attributesOfItem(atPath: byGroup.socket.string)
        #expect(attributes[.posixPermissions] as? Int == 0o660)
        #expect((attributes[.groupOwnerAccountID] as? NSNumber)?.intValue == 65534)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: byGroup.root.string)
        let member = try callAsNobody(byGroup.socket)
        #expect(member.stdout.contains("\"result\""), "members of the socket group are admitted: \(member.output)")
    }

    @Test func mountPathsStayUnderTheMountRoot() async throws {
        let daemon = try DaemonFixture()
        defer { daemon.close() }
        let volume = try await daemon.client.new()
        let outside = try Scratch.directory("outside")
        let link = daemon.mountRoot.appending("escape")
        try FileManager.default.createSymbolicLink(atPath: link.string, withDestinationPath: outside.string)
        for (path, code) in [
            (outside.string, VolumeErrorCode.permissionDenied), ("\(link.string)/inside", .permissionDenied),
            (daemon.mountRoot.string, .permissionDenied), ("\(daemon.mountRoot.string)/../x", .invalidParams), ("relative/path", .invalidParams),
        ] {
            do {
                _ = try await daemon.client.mount(RPCParams.Mount(volume: volume, mountPath: path))
                Issue.record("mounting at \(path) must fail")
            } catch {
                #expect(error.code == code, "\(path): \(error)")
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.string).isEmpty)
    }

    @Test func credentialsNeverLeaveTheDaemon() async throws {
        let daemon = try DaemonFixture(s3Bucket: true)
        defer { daemon.close() }
        let secret = try ServiceEnvironment.value("VOLUMED_TEST_S3_SECRET_KEY")
        let path = daemon.mountPath()
        let volume = try await daemon.client.new()
        _ = try await daemon.client.mount(RPCParams.Mount(volume: volume, mountPath: path))
        try write("x", to: "\(path)/x")
        let version = try await daemon.client.finalize(RPCParams.Commit(mountPath: path))
        do {
            _ = try await daemon.client.new(RPCParams.New(bucket: "s3://bucket", endpoint: "http://user:\(secret)@127.0.0.1:1"))
            Issue.record("an endpoint with credentials must be refused")
        } catch {
            #expect(error.code == .invalidParams && !error.message.contains(secret))
        }
        let status = try daemon.volumectl(["status", "--json"])
        let descriptor = String(decoding: try JSONEncoder().encode(version), as: UTF8.self)
        for (what, text) in [("status", status.output), ("descriptor", descriptor), ("log", daemon.log)] {
            #expect(!text.contains(secret), "the secret key appears in the \(what)")
        }
        #expect(daemon.log.contains("volume.finalize ok"), "the log is written (so the check above means something)")
    }
}
