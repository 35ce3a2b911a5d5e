import Foundation
import SystemPackage
import Testing
import TestSupport
import VolumeDaemon
import VolumeModel

@Suite struct DaemonConfigurationTests {
    @Test func everyKeyIsOptionalWithDefaultsThatWork() throws {
        let configuration = try DaemonConfiguration.parse(Data("{}".utf8))
        #expect(configuration == DaemonConfiguration())
        #expect(configuration.socket == "/run/volumed/volumed.sock" && configuration.stateDir == "/var/lib/volumed")
        #expect(configuration.metadataStoreType == .sqlite && configuration.maxUploads == 50 && configuration.defaultBucket == nil)
    }

    @Test func theExampleConfigurationParsesWithEveryKey() throws {
        let example = ProtocolSchemaTests.repository.appendingPathComponent("config.example.json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: example)) as? [String: Any])
        #expect(Set(object.keys) == DaemonConfiguration.keys, "config.example.json shows every key")
        let configuration = try DaemonConfiguration.load(from: FilePath(example.path))
        #expect(configuration.socketGroup == "volumed" && configuration.mountRoot == "/mnt/volumes")
    }

    @Test(arguments: [
        (#"{"sockett": "/x"}"#, "unknown key sockett"),
        (#"{"a": 1, "b": 2}"#, "unknown keys a, b"),
        (#"{"socket": "relative.sock"}"#, "socket must be an absolute path"),
        (#"{"state_dir": "/var/../etc"}"#, "state_dir must be an absolute path without '..'"),
        (#"{"cache_size_mb": 0}"#, "cache_size_mb must be a positive number of MiB"),
        (#"{"index_cache_mb": -1}"#, "index_cache_mb must be a positive number of MiB"),
        (#"{"default_bucket": "ftp://x"}"#, "default_bucket must be a bucket URI"),
        (#"{"metadata_store_type": "mysql"}"#, "metadata_store_type must be sqlite or redis"),
        (#"{"max_uploads": 0}"#, "max_uploads must be between 1 and 1024"),
        (#"{"allowed_uids": ["root"]}"#, "allowed_uids must be a list of numeric ids"),
        (#"{"allowed_buckets": ["file://relative"]}"#, "allowed_buckets must be a list of bucket URI prefixes (invalid bucket URI"),
        (#"{"allowed_buckets": "s3://one"}"#, "allowed_buckets must be a list of bucket URI prefixes"),
        (#"{"allowed_redis": ["redis://:secret@10.0.0.5:6379"]}"#, "allowed_redis must be a list of redis://host:port servers"),
        (#"{"allowed_redis": ["redis://10.0.0.5:6379/3"]}"#, "allowed_redis must be a list of redis://host:port servers"),
        (#"{"max_connections": 0}"#, "max_connections must be between 1 and 65536"),
        (#"{"max_uploads_total": 0}"#, "max_uploads_total must be between 1 and 65536"),
        (#"{"metrics_listen": "localhost:9567"}"#, "metrics_listen must be an IPv4 address and a port"),
        (#"{"max_upload_mib_per_second": "fast"}"#, "max_upload_mib_per_second must be between 1 and 1048576"),
        (#"{"max_connections_per_user": 70000}"#, "max_connections_per_user must be between 1 and 65536"),
        (#"{"allowed_gids": [-1]}"#, "allowed_gids must be a list of numeric ids"),
        (#"{"log_level": "loud"}"#, "log_level must be debug, info, warning, error"),
        (#"{"socket_group": 5}"#, "socket_group must be a group name or null"),
        ("[1]", "is not a JSON object"),
    ])
    func invalidConfigurationIsRefusedByName(_ text: String, _ message: String) {
        do {
            _ = try DaemonConfiguration.parse(Data(text.utf8), source: "test.json")
            Issue.record("\(text) must be refused")
        } catch {
            #expect(error.code == .invalidParams && error.message.contains(message), "\(text): \(error.message)")
        }
    }

    @Test func volumedRefusesABadConfigurationAndASecondInstance() throws {
        let directory = try Scratch.directory("config")
        let config = directory.appending("bad.json")
        try Data(#"{"mount_rot": "/mnt"}"#.utf8).write(to: URL(fileURLWithPath: config.string))
        let bad = try Command.run([BuiltProduct.path("volumed"), "--config", config.string])
        #expect(bad.status == 2 && bad.stderr.contains("unknown key mount_rot"), "\(bad.output)")
        let badFlag = try Command.run([BuiltProduct.path("volumed"), "--socket", "relative"])
        #expect(badFlag.status == 2 && badFlag.stderr.contains("socket must be an absolute path"), "\(badFlag.output)")

        let daemon = try DaemonFixture()
        defer { daemon.close() }
        let second = try Command.run([BuiltProduct.path("volumed"), "--config", daemon.configPath.string])
        #expect(second.status == 1 && second.stderr.contains("another volumed already answers"), "\(second.output)")
        #expect(FileManager.default.fileExists(atPath: daemon.socket.string), "the running daemon keeps its socket")
    }
}
