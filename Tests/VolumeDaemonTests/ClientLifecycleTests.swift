import Foundation
import Testing
import TestSupport
import VolumeClient
import VolumeModel

/// The whole lifecycle through `VolumeClient` against a real `volumed` on the S3 server.
@Suite(.serialized) struct ClientLifecycleTests {
    @Test(arguments: [MetadataStoreType.sqlite, .redis])
    func lifecycle(_ type: MetadataStoreType) async throws {
        let daemon = try DaemonFixture(s3Bucket: true)
        defer { daemon.close() }
        let client = daemon.client
        let volume = try await client.new(RPCParams.New(name: "life-\(UUID().uuidString.prefix(8).lowercased())", metadataStoreType: type))
        #expect(volume.bucket.hasPrefix("s3://"))
        #expect(volume.endpoint == (try ServiceEnvironment.value("VOLUMED_TEST_S3_ENDPOINT")), "the endpoint is captured at creation")

        let path = daemon.mountPath()
        let mounted = try await client.mount(RPCParams.Mount(volume: volume, mountPath: path))
        #expect(mounted.state == .mounted && mounted.mode == .rw)
        try write("epoch 1", to: "\(path)/model/weights.txt")
        let progress = ProgressLog()
        let first = try await client.commit(RPCParams.Commit(mountPath: path, message: "epoch 1"), progress: progress.record)
        #expect(first.message == "epoch 1" && first.isCommitted && first.access == .ro)
        #expect(progress.phases.contains("drain") && progress.phases.contains("upload_index"), "commit reports progress: \(progress.phases)")

        let branchPath = daemon.mountPath()
        let branch = try await client.fork(RPCParams.Fork(mountPath: path, name: "\(volume.name)-b", access: .rw))
        #expect(branch.access == .rw && branch.chunkPrefix == volume.chunkPrefix)
        _ = try await client.mount(RPCParams.Mount(volume: branch, mountPath: branchPath))
        try write("branch", to: "\(branchPath)/model/weights.txt")
        try write("epoch 2", to: "\(path)/model/weights.txt")
        let branchVersion = try await client.finalize(RPCParams.Commit(mountPath: branchPath, message: "branch"))
        let second = try await client.finalize(RPCParams.Commit(mountPath: path, message: "epoch 2"))

        #expect(try await client.read(first, path: "/model/weights.txt") == Data("epoch 1".utf8))
        #expect(try await client.read(second, path: "/model/weights.txt") == Data("epoch 2".utf8))
        #expect(try await client.read(branchVersion, path: "/model/weights.txt") == Data("branch".utf8))
        #expect(try await client.list(second).map(\.name) == ["model"])
        let lineage = try await client.lineage(of: second)
        #expect(lineage.map(\.message) == ["epoch 2", "epoch 1"])
        #expect(try await client.load(locator: try #require(second.producedBy?.locator)) == second)

        let other: MetadataStoreType = type == .sqlite ? .redis : .sqlite
        let migrated = try await client.migrate(RPCParams.Migrate(volume: second, to: other))
        #expect(migrated.metadataStoreType == other && migrated.parentProducedBy?.locator == second.producedBy?.locator)
        let readOnlyPath = daemon.mountPath()
        _ = try await client.mount(
            RPCParams.Mount(volume: migrated, mountPath: readOnlyPath, options: MountOptions(readOnly: true)))
        #expect(try String(contentsOfFile: "\(readOnlyPath)/model/weights.txt", encoding: .utf8) == "epoch 2")
        #expect(try await client.mounts().map(\.mountPath) == [readOnlyPath])
        #expect(try await client.status(of: readOnlyPath).mode == .ro)
        _ = try await client.unmount(RPCParams.MountPath(mountPath: readOnlyPath))
        #expect(try await client.daemonStatus().mounts.isEmpty)
        #expect(try daemon.stop() == 0)
    }

    /// A client whose answer was lost asks again: a commit with nothing new and the same
    /// message, or a finalize of a mount that is gone, returns the version already published.
    @Test func commitAndFinalizeAskedAgainReturnTheVersionTheyPublished() async throws {
        let daemon = try DaemonFixture()
        defer { daemon.close() }
        let client = daemon.client
        let path = daemon.mountPath()
        _ = try await client.mount(RPCParams.Mount(volume: try await client.new(), mountPath: path))
        try write("one", to: "\(path)/f")
        let commit = try await client.commit(RPCParams.Commit(mountPath: path, message: "one"))
        #expect(try await client.commit(RPCParams.Commit(mountPath: path, message: "one")) == commit)
        let tagged = try await client.commit(RPCParams.Commit(mountPath: path, message: "a new message is a new version"))
        #expect(tagged.producedBy?.locator != commit.producedBy?.locator)

        try write("two", to: "\(path)/f")
        let final = try await client.finalize(RPCParams.Commit(mountPath: path, message: "two"))
        #expect(try await client.finalize(RPCParams.Commit(mountPath: path, message: "two")) == final)
        do {
            _ = try await client.finalize(RPCParams.Commit(mountPath: path, message: "another"))
            Issue.record("a finalize with another message found a version")
        } catch {
            #expect(error.code == .notMounted)
        }
        #expect(try await client.lineage(of: final).map(\.message) == ["two", "a new message is a new version", "one"])
        #expect(try daemon.stop() == 0)
    }

    /// Each retry is one line at info naming the request (never a credential), and is
    /// counted for its mount and for the daemon.
    @Test func retriesAreLoggedAndCounted() async throws {
        let proxy = try FaultProxy.s3()
        let daemon = try DaemonFixture(s3Bucket: true, extraEnvironment: ["AWS_ENDPOINT_URL": proxy.url])
        defer { daemon.close() }
        let client = daemon.client
        let path = daemon.mountPath()
        let volume = try await client.new()
        _ = try await client.mount(RPCParams.Mount(volume: volume, mountPath: path))
        try proxy.inject(.serviceUnavailable, method: "PUT", containing: volume.chunkPrefix, path: "/chunks/", times: 2)
        try write("through a flaky store", to: "\(path)/f")
        _ = try await client.commit(RPCParams.Commit(mountPath: path))
        #expect(try proxy.pending(containing: volume.chunkPrefix) == 0)
        #expect(try await client.status(of: path).storageRetries == 2)
        #expect(try await client.daemonStatus().storageRetries >= 2)
        let retries = daemon.log.split(separator: "\n").filter { $0.contains("retrying PUT") && $0.contains(volume.chunkPrefix) }
        #expect(retries.count == 2, "\(daemon.log.suffix(2000))")
        #expect(!daemon.log.contains(try ServiceEnvironment.value("VOLUMED_TEST_S3_SECRET_KEY")), "no credential reaches the log")
        _ = try await client.finalize(RPCParams.Commit(mountPath: path))
        #expect(try daemon.stop() == 0)
    }

    @Test func twoClientsAtOnce() async throws {
        let daemon = try DaemonFixture()
        defer { daemon.close() }
        let client = daemon.client
        let paths = [daemon.mountPath(), daemon.mountPath()]
        let versions = try await withThrowingTaskGroup(of: (Int, VolumeDescriptor).self) { group in
            for (index, path) in paths.enumerated() {
                group.addTask {
                    let volume = try await client.new()
                    _ = try await client.mount(RPCParams.Mount(volume: volume, mountPath: path))
                    for file in 0..<50 { try write("client \(index) file \(file)", to: "\(path)/f\(file)") }
                    return (index, try await client.finalize(RPCParams.Commit(mountPath: path, message: "client \(index)")))
                }
            }
            return try await group.reduce(into: [Int: VolumeDescriptor]()) { $0[$1.0] = $1.1 }
        }
        for (index, version) in versions {
            #expect(version.message == "client \(index)")
            #expect(try await client.read(version, path: "/f49") == Data("client \(index) file 49".utf8))
        }
        #expect(try daemon.stop() == 0)
    }
}

/// Collects the phases a long call reported.
final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [String] = []

    var phases: [String] { lock.withLock { seen } }

    func record(_ progress: VolumeProgress) {
        lock.withLock { if seen.last != progress.phase { seen.append(progress.phase) } }
    }
}

func write(_ text: String, to path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}
