import Foundation
import Redis
import TestSupport
import Testing
import VolumeModel

@testable import Volumes

/// A writable Redis mount whose namespace lives in a team's Redis (over TCP, a database of
/// the test services' redis-server, or a private one with a password) instead of a private
/// redis-server: it loads the index there, commits consistent snapshots of it, survives a
/// keep-and-recover, and empties the database when its working copy ends.
@Suite(.serialized) struct ExternalRedisTests {
    private func keyCount(_ host: String, _ port: Int, _ database: Int, password: String? = nil) throws -> Int64 {
        try RedisConnection(address: .tcp(host: host, port: port), database: database, password: password).command("DBSIZE").integer ?? -1
    }

    @Test func aMountHostsItsNamespaceInAnExternalDatabaseAndGivesItBack() throws {
        let (host, port, database) = try RedisTestDatabase.take()
        let url = "redis://\(host):\(port)/\(database)"
        let fixture = try VolumeFixture(allowedRedis: ["redis://\(host):\(port)"])
        let setup = try fixture.mount(try fixture.newVolume(.redis))
        try VolumeFixture.write("from the index", to: "a", in: setup)
        let first = try setup.finalize(message: "private")

        let live = try fixture.service.mount(
            try fixture.service.fork(first), at: try Scratch.directory("mnt"), options: MountOptions(metadataURL: url))
        #expect(try keyCount(host, port, database) > 0, "the index was loaded into the external database")
        #expect(!FileManager.default.fileExists(atPath: live.directory.appending("meta/redis.sock").string), "no private redis-server")
        try VolumeFixture.write("written", to: "b", in: live)
        let second = try live.commit(message: "external")
        #expect(try fixture.files(of: second) == ["a": "from the index", "b": "written"])

        let elsewhere = try Scratch.directory("mnt")
        expectVolumeError(.notEmpty, "a second mount on a database in use") {
            _ = try fixture.service.mount(try fixture.service.fork(first), at: elsewhere, options: MountOptions(metadataURL: url))
        }
        #expect(try keyCount(host, port, database) > 0, "the refused mount left the database alone")

        // Kept and recovered: the working copy is still in the external database.
        try VolumeFixture.write("kept", to: "c", in: live)
        let path = live.mountpoint
        try live.suspend()
        let recovered = try #require(try fixture.service.recover(mountPath: path, abandon: false))
        #expect(try String(contentsOfFile: path.appending("c").string, encoding: .utf8) == "kept")
        let last = try recovered.finalize(message: "after recovery")
        #expect(try keyCount(host, port, database) == 0, "finalize empties the database")
        #expect(try fixture.files(of: last) == ["a": "from the index", "b": "written", "c": "kept"])
    }

    @Test func everyRefusalComesBeforeAnythingIsTouched() throws {
        let (host, port, database) = try RedisTestDatabase.take()
        let fixture = try VolumeFixture(allowedRedis: ["redis://\(host):\(port)"])
        let redis = try fixture.newVolume(.redis)
        let cases: [(VolumeErrorCode, String, VolumeDescriptor, MountOptions)] = [
            (.permissionDenied, "a server outside allowed_redis", redis, MountOptions(metadataURL: "redis://\(host):\(port + 1)/\(database)")),
            (.invalidParams, "credentials in the URL", redis, MountOptions(metadataURL: "redis://:secret@\(host):\(port)/\(database)")),
            (.invalidParams, "a query", redis, MountOptions(metadataURL: "redis://\(host):\(port)/\(database)?tls=1")),
            (.invalidParams, "another scheme", redis, MountOptions(metadataURL: "unix:///tmp/redis.sock")),
            (.invalidParams, "a SQLite volume", try fixture.newVolume(.sqlite), MountOptions(metadataURL: "redis://\(host):\(port)/\(database)")),
            (.invalidParams, "a read-only mount", redis, MountOptions(readOnly: true, metadataURL: "redis://\(host):\(port)/\(database)")),
        ]
        for (code, what, volume, options) in cases {
            let path = try Scratch.directory("mnt")
            let refused = expectVolumeError(code, what) { _ = try fixture.service.mount(volume, at: path, options: options) }
            #expect(refused?.data["field"] == "metadata_url", "\(what)")
        }
        #expect(try keyCount(host, port, database) == 0)
    }

    @Test func thePasswordComesFromTheDaemonsEnvironment() throws {
        let server = try PrivateRedis(password: "s3cret-\(UUID().uuidString.prefix(6))")
        defer { server.stop() }
        let allowed = ["redis://127.0.0.1:\(server.port)"]
        let url = "redis://127.0.0.1:\(server.port)/2"
        let wrong = try VolumeFixture(allowedRedis: allowed, extraEnvironment: [ExternalRedis.passwordVariable: "wrong"])
        let failed = expectVolumeError(.metadataError, "a wrong password") {
            _ = try wrong.service.mount(try wrong.newVolume(.redis), at: try Scratch.directory("mnt"), options: MountOptions(metadataURL: url))
        }
        #expect(failed?.message.contains(server.password) == false, "the password never reaches a message")

        let fixture = try VolumeFixture(allowedRedis: allowed, extraEnvironment: [ExternalRedis.passwordVariable: server.password])
        let live = try fixture.service.mount(try fixture.newVolume(.redis), at: try Scratch.directory("mnt"), options: MountOptions(metadataURL: url))
        try VolumeFixture.write("fresh", to: "f", in: live)
        let version = try live.finalize(message: "formatted in the external database")
        #expect(try keyCount("127.0.0.1", server.port, 2, password: server.password) == 0)
        #expect(try fixture.files(of: version) == ["f": "fresh"])
    }
    @Test func aTLSServerIsVerifiedAgainstTheConfiguredCA() throws {
        let server = try PrivateRedis(password: "tls-\(UUID().uuidString.prefix(6))", tls: true)
        defer { server.stop() }
        let allowed = ["rediss://127.0.0.1:\(server.port)"]
        let url = "rediss://127.0.0.1:\(server.port)/1"
        let untrusting = try VolumeFixture(allowedRedis: allowed, extraEnvironment: [ExternalRedis.passwordVariable: server.password])
        let refused = expectVolumeError(.metadataError, "a server whose certificate no trusted CA signed") {
            _ = try untrusting.service.mount(try untrusting.newVolume(.redis), at: try Scratch.directory("mnt"), options: MountOptions(metadataURL: url))
        }
        #expect(refused?.message.contains("certificate") == true, "\(refused?.message ?? "")")
        expectVolumeError(.permissionDenied, "the same server without TLS is another entry of allowed_redis") {
            _ = try untrusting.service.mount(
                try untrusting.newVolume(.redis), at: try Scratch.directory("mnt"), options: MountOptions(metadataURL: "redis://127.0.0.1:\(server.port)/1"))
        }

        let fixture = try VolumeFixture(
            allowedRedis: allowed, extraEnvironment: [ExternalRedis.passwordVariable: server.password, ExternalRedis.caFileVariable: server.caFile!])
        let live = try fixture.service.mount(try fixture.newVolume(.redis), at: try Scratch.directory("mnt"), options: MountOptions(metadataURL: url))
        try VolumeFixture.write("over tls", to: "f", in: live)
        let version = try live.finalize(message: "through a TLS Redis")
        #expect(try fixture.files(of: version) == ["f": "over tls"])
        let keys = try RedisConnection(address: .tls(host: "127.0.0.1", port: server.port, caFile: server.caFile), database: 1, password: server.password)
        #expect(try keys.command("DBSIZE").integer == 0)
    }
}

/// A redis-server of the test's own on a free TCP port, with `requirepass`; with `tls`, it
/// speaks only TLS, with a certificate for 127.0.0.1 signed by a CA made for the test
/// (`caFile`).
private final class PrivateRedis {
    let password: String
    let port: Int
    let caFile: String?
    private let process: Process

    init(password: String, tls: Bool = false) throws {
        self.password = password
        let directory = try Scratch.directory("redis")
        var tlsArguments: [String] = []
        if tls {
            let files = directory.string
            try Command.check(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(files)/ca.key", "-out", "\(files)/ca.pem", "-days", "1", "-subj", "/CN=volumed test CA"])
            try Command.check(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(files)/server.key", "-out", "\(files)/server.csr", "-subj", "/CN=127.0.0.1"])
            try Data("subjectAltName=IP:127.0.0.1\n".utf8).write(to: URL(fileURLWithPath: "\(files)/ext.cnf"))
            try Command.check([
                "openssl", "x509", "-req", "-in", "\(files)/server.csr", "-CA", "\(files)/ca.pem", "-CAkey", "\(files)/ca.key", "-CAcreateserial",
                "-out", "\(files)/server.pem", "-days", "1", "-extfile", "\(files)/ext.cnf",
            ])
            tlsArguments = [
                "--tls-cert-file", "\(files)/server.pem", "--tls-key-file", "\(files)/server.key", "--tls-ca-cert-file", "\(files)/ca.pem",
                "--tls-auth-clients", "no",
            ]
            caFile = "\(files)/ca.pem"
        } else {
            caFile = nil
        }
        for _ in 0..<20 {
            let port = Int.random(in: 20000..<60000)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
            process.arguments =
                (tls ? ["--port", "0", "--tls-port", "\(port)"] : ["--port", "\(port)"])
                + ["--bind", "127.0.0.1", "--requirepass", password, "--save", "", "--dir", directory.string] + tlsArguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let address: RedisConnection.Address = tls ? .tls(host: "127.0.0.1", port: port, caFile: caFile) : .tcp(host: "127.0.0.1", port: port)
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning, Date() < deadline {
                if (try? RedisConnection(address: address, password: password).command("PING")) != nil {
                    self.port = port
                    self.process = process
                    return
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        throw DaemonFixture.Failure("could not start a redis-server on a free port")
    }

    /// SIGKILL: a redis-server may ignore SIGTERM while it tries a final save.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

