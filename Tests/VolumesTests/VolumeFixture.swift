import Foundation
import ObjectStorage
import SystemPackage
import Testing
import TestSupport
import VolumeModel
import Volumes

/// A `VolumeService` over the test S3 server (bucket root, as juicefs expects), with a
/// fresh state directory, and helpers that read and write through real mounts.
final class VolumeFixture: @unchecked Sendable {
    let state: FilePath
    let service: VolumeService
    let bucketURI: String
    let endpoint: String
    private(set) var environment: [String: String]
    /// Where in the bucket the volumes live ("" for its root).
    let bucketPrefix: String

    /// The object store the volumes live in.
    let peer: Peer

    enum Peer: String, CustomTestStringConvertible {
        case s3, gcs, azure
        var testDescription: String { rawValue }
    }

    /// `endpoint` replaces the peer's own (a fault proxy's, say); `bucketPrefix` keeps the
    /// volumes apart from every other test's, for listings.
    init(peer: Peer = .s3, endpoint: String? = nil, bucketPrefix: String = "", allowedRedis: [String] = [], extraEnvironment: [String: String] = [:]) throws {
        state = try Scratch.directory("volumes")
        self.peer = peer
        self.bucketPrefix = bucketPrefix
        let path = bucketPrefix.isEmpty ? "" : "/\(bucketPrefix)"
        switch peer {
        case .s3:
            self.endpoint = try endpoint ?? ServiceEnvironment.value("VOLUMED_TEST_S3_ENDPOINT")
            bucketURI = "s3://\(try ServiceEnvironment.value("VOLUMED_TEST_S3_BUCKET"))" + path
            environment = try TestStores.s3Environment()
        case .gcs:
            self.endpoint = try endpoint ?? ServiceEnvironment.value("VOLUMED_TEST_GCS_HOST")
            bucketURI = "gs://\(try ServiceEnvironment.value("VOLUMED_TEST_GCS_BUCKET"))" + path
            environment = ["STORAGE_EMULATOR_HOST": self.endpoint, "HOME": "/nonexistent"]
        case .azure:
            self.endpoint = try endpoint ?? ServiceEnvironment.value("VOLUMED_TEST_AZURE_ENDPOINT")
            let account = try ServiceEnvironment.value("VOLUMED_TEST_AZURE_ACCOUNT")
            bucketURI = "wasb://\(try ServiceEnvironment.value("VOLUMED_TEST_AZURE_CONTAINER"))@\(account).blob.core.windows.net" + path
            environment = [
                "AZURE_STORAGE_CONNECTION_STRING":
                    "DefaultEndpointsProtocol=http;AccountName=\(account);AccountKey=\(try ServiceEnvironment.value("VOLUMED_TEST_AZURE_KEY"));BlobEndpoint=\(self.endpoint);",
                "HOME": "/nonexistent",
            ]
        }
        environment.merge(extraEnvironment) { $1 }
        service = try VolumeService(
            VolumeServiceConfiguration(stateDirectory: state, defaultBucket: bucketURI, environment: environment, allowedRedis: allowedRedis))
    }

    /// Another machine on the same bucket: its own state directory and caches.
    init(reusingBucketOf other: VolumeFixture) throws {
        state = try Scratch.directory("volumes")
        peer = other.peer
        endpoint = other.endpoint
        bucketPrefix = other.bucketPrefix
        bucketURI = other.bucketURI
        environment = other.environment
        service = try VolumeService(VolumeServiceConfiguration(stateDirectory: state, defaultBucket: bucketURI, environment: environment))
    }

    deinit {
        for live in service.mounts { try? live.unmount(abandon: true) }
    }

    /// The bucket the volumes live in, for listings.
    func objects() throws -> any ObjectStore {
        guard peer != .s3 else { return try TestStores.s3(prefix: bucketPrefix.isEmpty ? "" : bucketPrefix + "/") }
        return try ObjectStoreFactory(environment: environment).open(bucketURI)
    }

    func newVolume(_ type: MetadataStoreType, name: String = VolumeFixture.uniqueName()) throws -> VolumeDescriptor {
        try service.new(name: name, endpoint: peer == .s3 ? endpoint : nil, metadataStoreType: type)
    }

    static func uniqueName(_ stem: String = "t") -> String { "\(stem)-\(UUID().uuidString.prefix(12).lowercased())" }

    func mount(_ volume: VolumeDescriptor, readOnly: Bool = false) throws -> LiveVolume {
        try service.mount(volume, at: try Scratch.directory("mnt"), options: MountOptions(readOnly: readOnly))
    }

    /// Mounts a version read-only, hands its files to `body`, and unmounts.
    func files(of version: VolumeDescriptor) throws -> [String: String] {
        let live = try mount(version, readOnly: true)
        defer { try? live.unmount(abandon: false) }
        return try Self.files(under: live.mountpoint)
    }

    /// Every regular file under `root` (relative path → contents). Names starting with a
    /// dot in the root are left out: juicefs serves virtual files there.
    static func files(under root: FilePath) throws -> [String: String] {
        var files: [String: String] = [:]
        func walk(_ relative: String) throws {
            let directory = relative.isEmpty ? root : root.appending(relative)
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.string) where !(relative.isEmpty && name.hasPrefix(".")) {
                let child = relative.isEmpty ? name : "\(relative)/\(name)"
                let attributes = try FileManager.default.attributesOfItem(atPath: root.appending(child).string)
                switch attributes[.type] as? FileAttributeType {
                case .typeDirectory?: try walk(child)
                case .typeRegular?: files[child] = try String(contentsOfFile: root.appending(child).string, encoding: .utf8)
                default: break
                }
            }
        }
        try walk("")
        return files
    }

    static func write(_ text: String, to relative: String, in live: LiveVolume) throws {
        let path = live.mountpoint.appending(relative)
        try FileManager.default.createDirectory(atPath: path.removingLastComponent().string, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path.string))
    }

    /// Slice ids of every block under a chunk prefix, from the bucket listing.
    func sliceIDs(chunkPrefix: String) throws -> Set<UInt64> {
        let keys = try objects().listAll(prefix: "\(chunkPrefix)/chunks/").map(\.key)
        return Set(keys.compactMap { key in key.split(separator: "/").last?.split(separator: "_").first.flatMap { UInt64($0) } })
    }
}

/// Runs `body`, which must fail with a `VolumeError` of `code`; returns that error.
@discardableResult
func expectVolumeError(
    _ code: VolumeErrorCode, _ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) -> VolumeError? {
    do {
        try body()
        Issue.record("\(what) must fail with \(code.name)", sourceLocation: sourceLocation)
    } catch let error as VolumeError {
        #expect(error.code == code, "\(what): \(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("\(what): \(error) instead of \(code.name)", sourceLocation: sourceLocation)
    }
    return nil
}
