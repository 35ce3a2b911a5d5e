import ChunkStore
import Foundation
import FuseBridge
import Metadata
import ObjectStorage
import SystemPackage
import TestSupport
import VFS

enum MetaKind: String, CaseIterable, CustomStringConvertible {
    case sqlite, redis
    var description: String { rawValue }
}

enum BucketKind: String, CaseIterable, CustomStringConvertible {
    /// Through the fault proxy: `flakyS3` fails each request twice (503, then a reset)
    /// before it succeeds; `failingS3` answers every request with 503, a store that is
    /// down for the whole test.
    case file, s3, flakyS3, failingS3
    var description: String { rawValue }
}

/// A volume mounted through our FUSE bridge: a fresh namespace, a bucket and a cache.
final class MountFixture: @unchecked Sendable {
    let directory: FilePath
    let metaURL: String
    let engine: NamespaceEngine
    let objects: any ObjectStore
    let chunks: ChunkStore
    let mount: FuseMount
    /// The format name, unique so that volumes share an S3 bucket root as juicefs expects.
    let name: String
    var root: String { mount.mountpoint.string }

    init(meta: MetaKind = .sqlite, bucket: BucketKind = .file, readOnly: Bool = false) throws {
        directory = try Scratch.directory("mount")
        name = "vol-" + UUID().uuidString.prefix(8).lowercased()
        switch meta {
        case .sqlite: metaURL = "sqlite3://\(directory.appending("meta.db"))"
        case .redis: metaURL = try RedisTestDatabase.url()
        }
        engine = try NamespaceEngine.open(try MetaLocation(url: metaURL), persistWithin: NamespaceEngine.mountPersistWindow)
        switch bucket {
        case .file:
            let path = directory.appending("bucket")
            objects = try FileObjectStore(root: path)
            try engine.format(VolumeFormat(name: name, storage: "file", bucket: path.string + "/"))
        case .flakyS3, .failingS3:
            objects = try TestStores.s3(
                prefix: "\(bucket == .flakyS3 ? "faulty-" : "always-503-")\(name)", endpoint: try ServiceEnvironment.value("VOLUMED_TEST_FAULT_PROXY"),
                retry: RetryPolicy(maxAttempts: bucket == .flakyS3 ? 4 : 2, baseDelay: .milliseconds(5), maxDelay: .milliseconds(10), deadline: .seconds(1)))
            try engine.format(VolumeFormat(name: name, storage: "s3", bucket: "http://127.0.0.1:1/unused"))
        case .s3:
            // At the bucket root, where juicefs looks for `<name>/chunks/`.
            objects = try TestStores.s3(prefix: "")
            do {
                var volume = VolumeFormat(name: name, storage: "s3", bucket: "\(try ServiceEnvironment.value("VOLUMED_TEST_S3_ENDPOINT"))/\(try ServiceEnvironment.value("VOLUMED_TEST_S3_BUCKET"))")
                volume.accessKey = try ServiceEnvironment.value("VOLUMED_TEST_S3_ACCESS_KEY")
                volume.secretKey = try ServiceEnvironment.value("VOLUMED_TEST_S3_SECRET_KEY")
                try engine.format(volume)
            }
        }
        (chunks, mount) = try Self.serve(engine: engine, objects: objects, directory: directory, name: name, readOnly: readOnly)
    }

    /// Mounts the volume another fixture wrote (after its `finish`), with a fresh cache.
    convenience init(reusing other: MountFixture, readOnly: Bool) throws {
        try self.init(existing: other.metaURL, objects: other.objects, directory: other.directory, readOnly: readOnly)
    }

    /// Mounts a volume that already exists (written by us or by juicefs).
    init(existing metaURL: String, objects: any ObjectStore, directory: FilePath, readOnly: Bool = false) throws {
        self.directory = directory
        self.metaURL = metaURL
        engine = try NamespaceEngine.open(try MetaLocation(url: metaURL), persistWithin: NamespaceEngine.mountPersistWindow)
        name = try engine.loadFormat().name
        self.objects = objects
        (chunks, mount) = try Self.serve(engine: engine, objects: objects, directory: try Scratch.directory("mount-again"), name: name, readOnly: readOnly)
    }

    private static func serve(engine: NamespaceEngine, objects: any ObjectStore, directory: FilePath, name: String, readOnly: Bool) throws -> (ChunkStore, FuseMount) {
        try engine.useSliceDomain(UInt32.random(in: 1..<(1 << 31)))
        let format = try engine.loadFormat()
        let chunks = ChunkStore(
            configuration: ChunkStoreConfiguration(chunkPrefix: name, hashPrefix: format.hashPrefix ?? false, blockSize: format.blockBytes),
            catalog: EngineCatalog(engine), store: objects,
            cache: try CacheDirectory(directory: directory.appending("cache")))
        let fileSystem = VolumeFileSystem(engine: engine, chunks: chunks, readOnly: readOnly)
        let mount = FuseMount(fileSystem: fileSystem, at: try Scratch.directory("mountpoint"), options: FuseMountOptions(name: name, readOnly: readOnly))
        try mount.mount()
        return (chunks, mount)
    }

    /// Unmounts and makes every block and namespace change durable, as the daemon does.
    func finish() throws {
        try mount.unmount()
        try chunks.drain()
        chunks.close()
        try engine.persist()
    }

    deinit {
        try? mount.unmount()
        chunks.close()
    }

    func path(_ relative: String) -> String { root + "/" + relative }

    @discardableResult
    func sh(_ script: String, environment: [String: String] = [:]) throws -> Command.Result {
        try Command.check(["bash", "-euo", "pipefail", "-c", script], environment: environment)
    }
}
