import Foundation
import SystemPackage
import Testing
import TestSupport
import VolumeModel

/// Every method's real request and response, checked against `proto/volumed.schema.json`
/// by `scripts/check_protocol.py` (Python's jsonschema, a validator we did not write).
@Suite struct ProtocolSchemaTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let schemaPath = repository.appendingPathComponent("proto/volumed.schema.json").path

    @Test func theSchemaNamesEveryMethodAndErrorCode() throws {
        let schema = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.schemaPath))) as? [String: Any])
        let methods = try #require(schema["methods"] as? [String: Any])
        #expect(Set(methods.keys) == Set(RPCMethod.allCases.map(\.rawValue)))
        let codes = try #require(schema["error_codes"] as? [String: Int])
        #expect(codes == Dictionary(uniqueKeysWithValues: VolumeErrorCode.allCases.map { ($0.name, $0.rawValue) }))
    }

    @Test func everyMethodsRealExchangeMatchesTheSchema() throws {
        let daemon = try DaemonFixture()
        defer { daemon.close() }
        let transcript = Transcript(daemon)
        let path = daemon.mountPath("schema")
        let actor: [String: Any] = ["run_name": "r1", "project": "p", "domain": "development", "org": "o", "output_name": "out"]

        try transcript.call("daemon.status")
        let volume = try transcript.result("volume.new", ["name": "schema-vol", "metadata_store_type": "sqlite"])
        try transcript.call(
            "volume.mount",
            ["volume": volume, "mount_path": path, "options": ["upload_delay": "1h", "attr_cache": 1, "max_uploads": 8], "actor": actor, "progress": true])
        try write("schema", to: "\(path)/dir/file.txt")
        try transcript.call("mount.status", ["mount_path": path])
        try transcript.call("mount.list")
        let version = try transcript.result("volume.commit", ["mount_path": path, "message": "v1", "actor": actor, "progress": true])
        let locator = try #require((version["produced_by"] as? [String: Any])?["locator"] as? String)
        try transcript.call("volume.fork", ["mount_path": path, "name": "schema-branch", "as": "rw", "progress": true])
        try transcript.call("volume.fork", ["volume": version, "name": "schema-sibling", "as": "ro"])
        try transcript.call("volume.load", ["locator": locator])
        try transcript.call("volume.lineage", ["volume": version])
        try transcript.call("volume.versions", ["volume": version])
        try transcript.call("volume.versions", ["bucket": try #require(version["bucket"] as? String), "name": "schema-vol"])
        try transcript.call("volume.delete", ["volumes": [try transcript.result("volume.fork", ["volume": version, "name": "schema-doomed", "as": "ro"])]])
        try transcript.call("volume.ls", ["volume": version, "path": "/dir"])
        try transcript.call("volume.cat", ["volume": version, "path": "/dir/file.txt"])
        try transcript.call("volume.migrate", ["volume": version, "to": "redis", "actor": actor, "progress": true])
        let export = daemon.root.appending("export.db")
        let output = try FileDescriptor.open(export, .writeOnly, options: [.create, .truncate], permissions: .ownerReadWrite)
        defer { try? output.close() }
        try transcript.call("volume.export_metadata", ["volume": version, "format": "sqlite", "progress": true], passing: output)
        try transcript.call("volume.export_metadata", ["volume": version, "format": "dump"])
        try write("schema 2", to: "\(path)/dir/file.txt")
        try transcript.call("volume.finalize", ["mount_path": path, "message": "v2", "progress": true])

        let scrap = daemon.mountPath("scrap")
        try transcript.call("volume.mount", ["volume": try transcript.result("volume.new"), "mount_path": scrap])
        try write("scrap", to: "\(scrap)/x")
        try transcript.call("volume.unmount", ["mount_path": scrap, "abandon": true])
        let bucket = try #require(version["bucket"] as? String)
        try transcript.call("bucket.gc", ["bucket": bucket, "dry_run": true, "grace": "0s", "progress": true])
        try transcript.call("bucket.gc", ["bucket": bucket, "keep_last": 1])

        let left = daemon.mountPath("left")
        try transcript.call("volume.mount", ["volume": try transcript.result("volume.new"), "mount_path": left])
        try write("left", to: "\(left)/x")
        #expect(try daemon.stop() == 0)
        try daemon.start()
        try transcript.call("mount.list")
        try transcript.call("mount.recover", ["mount_path": left])
        try transcript.call("volume.unmount", ["mount_path": left, "abandon": true])

        try transcript.call("volume.explode", malformed: true)
        try transcript.call("volume.commit", ["mount_path": 3], malformed: true)
        try transcript.call("volume.commit", ["mount_path": path])
        try transcript.call("mount.status", ["mount_path": "/etc"])

        let check = try Command.run(["python3", Self.repository.appendingPathComponent("scripts/check_protocol.py").path, Self.schemaPath, transcript.file.path])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.stdout.contains("\(RPCMethod.allCases.count) of \(RPCMethod.allCases.count) methods exercised"), "\(check.output)")
        #expect(transcript.sawProgress, "progress notifications are part of the transcript")
    }
}

/// Sends raw requests and records each with every line the daemon sent back.
final class Transcript {
    let file: URL
    private let daemon: DaemonFixture
    private var nextID = 1
    private(set) var sawProgress = false

    init(_ daemon: DaemonFixture) {
        self.daemon = daemon
        file = URL(fileURLWithPath: daemon.root.appending("transcript.jsonl").string)
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
    }

    @discardableResult
    func call(_ method: String, _ params: [String: Any]? = nil, passing descriptor: FileDescriptor? = nil, malformed: Bool = false) throws -> [String: Any] {
        var request: [String: Any] = ["jsonrpc": "2.0", "id": nextID, "method": method]
        nextID += 1
        if let params { request["params"] = params }
        let connection = try RawConnection(daemon.socket)
        try connection.send(String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self) + "\n", passing: descriptor)
        var replies: [[String: Any]] = []
        while let reply = try connection.receive() {
            replies.append(reply)
            if reply["method"] as? String == "progress" {
                sawProgress = true
            } else {
                break
            }
        }
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        handle.seekToEndOfFile()
        handle.write(try JSONSerialization.data(withJSONObject: ["request": request, "replies": replies, "malformed": malformed]))
        handle.write(Data("\n".utf8))
        return try #require(replies.last)
    }

    /// The result of a call that must succeed.
    func result(_ method: String, _ params: [String: Any]? = nil) throws -> [String: Any] {
        let reply = try call(method, params)
        return try #require(reply["result"] as? [String: Any], "\(method) failed: \(reply)")
    }
}
