import Foundation
import SystemPackage
import VolumeModel

/// What the lifecycle needs from its host (the daemon's config, or a test).
public struct VolumeServiceConfiguration: Sendable {
    /// Mount working copies, migrations and the default `file://` bucket live here.
    public var stateDirectory: FilePath
    /// The shared block cache; `<state>/cache` when `nil`.
    public var cacheDirectory: FilePath?
    /// Bytes the shared cache may hold; half the free space (at least 1 GiB) when `nil`.
    public var cacheBudget: Int64?
    /// Bytes the index piece cache (beside the block cache) may hold.
    public var indexCacheBudget: Int64
    /// Where `new` puts volumes without a bucket; `$VOLUME_BUCKET` overrides it, and
    /// `file://<state>/bucket` is the last resort.
    public var defaultBucket: String?
    public var defaultMetadataStore: MetadataStoreType?
    /// Concurrent block uploads of a mount whose options leave `max_uploads` out.
    public var defaultMaxUploads: Int
    /// Credentials, regions and endpoints come from here (`AWS_*`, `GOOGLE_*`, `AZURE_*`).
    public var environment: [String: String]
    public var redisExecutable: String

    public init(
        stateDirectory: FilePath, cacheDirectory: FilePath? = nil, cacheBudget: Int64? = nil, indexCacheBudget: Int64 = 1 << 30,
        defaultBucket: String? = nil,
        defaultMetadataStore: MetadataStoreType? = nil, defaultMaxUploads: Int = 50, environment: [String: String] = ProcessInfo.processInfo.environment,
        redisExecutable: String = "redis-server"
    ) {
        self.stateDirectory = stateDirectory
        self.cacheDirectory = cacheDirectory
        self.cacheBudget = cacheBudget
        self.indexCacheBudget = indexCacheBudget
        self.defaultBucket = defaultBucket
        self.defaultMetadataStore = defaultMetadataStore
        self.defaultMaxUploads = defaultMaxUploads
        self.environment = environment
        self.redisExecutable = redisExecutable
    }

    /// The bucket a new volume gets when the request names none.
    public var effectiveDefaultBucket: String {
        if let bucket = environment["VOLUME_BUCKET"], !bucket.isEmpty { return bucket }
        return defaultBucket ?? "file://\(stateDirectory.appending("bucket"))"
    }
}
