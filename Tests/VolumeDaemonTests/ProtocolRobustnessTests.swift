import Foundation
import Testing
import TestSupport
import VolumeClient
import VolumeModel

/// Requests no well-behaved client sends get a JSON-RPC error or a clean close; the
/// daemon keeps serving everyone else.
@Suite(.serialized) struct ProtocolRobustnessTests {
    @Test func malformedRequestsGetErrorsAndTheConnectionStaysUsable() throws {
        let daemon = try DaemonFixture()
        defer { daemon.close() }
        let connection = try RawConnection(daemon.socket)
        let cases: [(String, Int, String)] = [
            ("{not json", -32700, "parse_error"),
            ("[1, 2]", -32700, "parse_error"),
            (#"{"id": 1, "method": "daemon.status"}"#, -32600, "invalid_request"),
            (#"{"jsonrpc": "2.0", "id": 2}"#, -32600, "invalid_request"),
            (#"{"jsonrpc": "2.0", "id": 3, "method": "volume.explode"}"#, -32601, "method_not_found"),
            (#"{"jsonrpc": "2.0", "id": 4, "method": "volume.commit"}"#, -32602, "invalid_params"),
            (#"{"jsonrpc": "2.0", "id": 5, "method": "volume.commit", "params": {"mount_path": 7}}"#, -32602, "invalid_params"),
            (#"{"jsonrpc": "2.0", "id": 6, "method": "volume.new", "params": {"name": "UPPER"}}"#, -32602, "invalid_params"),
            (#"{"jsonrpc": "2.0", "id": 7, "method": "volume.new", "params": {"metadata_store_type": "mysql"}}"#, -32602, "invalid_params"),
            (#"{"jsonrpc": "2.0", "id": 8, "method": "volume.mount", "params": {"volume": {}, "mount_path": "/x"}}"#, -32602, "invalid_params"),
        ]
        for (request, code, name) in cases {
            let response = try connection.call(request)
            #expect(response.errorCode?.0 == code && response.errorCode?.1 == name, "\(request) → \(response)")
            #expect(!response.errorMessage.isEmpty)
        }
        let typed = try connection.call(#"{"jsonrpc": "2.0", "id": 9, "method": "volume.commit", "params": {"mount_path": 7}}"#)
        #expect(typed.errorMessage.contains("mount_path should be a string"), "the field at fault is named: \(typed.errorMessage)")
        let answered = try connection.call(#"{"jsonrpc": "2.0", "id": "after", "method": "daemon.status"}"#)
        #expect(answered["id"] as? String == "after" && answered["result"] != nil)

        // A notification (no id) is performed but not answered: the next line answers id 10.
        try connection.send(#"{"jsonrpc": "2.0", "method": "daemon.status"}"# + "\n")
        let next = try connection.call(#"{"jsonrpc": "2.0", "id": 10, "method": "mount.list"}"#)
        #expect(next["id"] as? Int == 10)
    }

    @Test func anOversizedLineIsRefusedAndClosed() throws {
        let daemon = try DaemonFixture()
        defer { daemon.close() }
        let connection = try RawConnection(daemon.socket)
        let chunk = String(repeating: "x", count: 1 << 16)
        do {
            for _ in 0..<40 { try connection.send(chunk) }
        } catch {
            // The daemon may close before everything is sent; the answer is still readable.
        }
        let response = try #require(try connection.receive())
        #expect(response.errorCode?.1 == "invalid_request" && response.errorMessage.contains("longer than"))
        #expect(try connection.receive() == nil, "then the connection closes")
        #expect((try daemon.client.callBlocking(.daemonStatus, RPCParams.None()) as DaemonStatus).pid == daemon.pid)
    }

    @Test func halfClosedAndVanishingClientsAreHandled() throws {
        let daemon = try DaemonFixture()
        defer { daemon.close() }
        let halfClosed = try RawConnection(daemon.socket)
        try halfClosed.send(#"{"jsonrpc": "2.0", "id": 1, "method": "daemon.status"}"# + "\n")
        halfClosed.finishWriting()
        let response = try #require(try halfClosed.receive())
        #expect(response["result"] != nil, "a request before the half-close is still answered")
        #expect(try halfClosed.receive() == nil)

        let partial = try RawConnection(daemon.socket)
        try partial.send(#"{"jsonrpc": "2.0", "id": 1, "meth"#)
        partial.close()
        for _ in 0..<20 {
            let gone = try RawConnection(daemon.socket)
            try gone.send(#"{"jsonrpc": "2.0", "id": 1, "method": "mount.list"}"# + "\n")
            gone.close()
        }
        #expect((try daemon.client.callBlocking(.daemonStatus, RPCParams.None()) as DaemonStatus).pid == daemon.pid)
    }

    /// The commit goes on when its client disconnects after the first progress line.
    @Test func aClientDisconnectingMidCommitDoesNotBreakTheCommit() async throws {
        let daemon = try DaemonFixture(s3Bucket: true)
        defer { daemon.close() }
        let path = daemon.mountPath()
        let volume = try await daemon.client.new()
        _ = try await daemon.client.mount(RPCParams.Mount(volume: volume, mountPath: path, options: MountOptions(uploadDelay: "1h")))
        let payload = Data((0..<(48 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) })
        try payload.write(to: URL(fileURLWithPath: "\(path)/big.bin"))
        #expect(try await daemon.client.status(of: path).stagedBlocks > 0, "blocks wait for the commit's drain")

        let connection = try RawConnection(daemon.socket)
        try connection.send(#"{"jsonrpc": "2.0", "id": 1, "method": "volume.commit", "params": {"mount_path": "\#(path)", "progress": true}}"# + "\n")
        let first = try #require(try connection.receive())
        #expect(first["method"] as? String == "progress")
        connection.close()

        let deadline = Date().addingTimeInterval(120)
        var version: String?
        while version == nil, Date() < deadline {
            version = try await daemon.client.status(of: path).lastVersion
            if version == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let locator = try #require(version, "the commit completed without its client")
        let committed = try await daemon.client.load(locator: locator)
        #expect(try await daemon.client.read(committed, path: "/big.bin") == payload)
        _ = try await daemon.client.unmount(RPCParams.MountPath(mountPath: path))
        #expect(try daemon.stop() == 0)
    }
}
