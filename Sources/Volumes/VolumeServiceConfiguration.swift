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
    /// Block PUTs and GETs at once across every mount, and the bytes per second all PUTs
    /// may start; `nil` for no bound.
    public var maxUploadsTotal: Int?
    public var maxDownloadsTotal: Int?
    public var uploadBytesPerSecond: Int64?
    /// Credentials, regions and endpoints come from here (`AWS_*`, `GOOGLE_*`, `AZURE_*`).
    public var environment: [String: String]
    public var redisExecutable: String
    /// Bucket URI prefixes that requests may name, besides the default bucket and
    /// `$VOLUME_BUCKET`; `nil` lets an in-process caller (a test, a tool) name any bucket.
    public var allowedBuckets: [String]?
    /// S3 endpoints a request may name besides `$AWS_ENDPOINT_URL`, under `allowedBuckets`.
    public var allowedEndpoints: [String]
    /// External Redis servers (`redis://host:port`) a writable Redis mount may keep its
    /// namespace in (`metadata_url`); none by default.
    public var allowedRedis: [String]

    public init(
        stateDirectory: FilePath, cacheDirectory: FilePath? = nil, cacheBudget: Int64? = nil, indexCacheBudget: Int64 = 1 << 30,
        defaultBucket: String? = nil,
        defaultMetadataStore: MetadataStoreType? = nil, defaultMaxUploads: Int = 50, environment: [String: String] = ProcessInfo.processInfo.environment,
        redisExecutable: String = "redis-server", allowedBuckets: [String]? = nil, allowedEndpoints: [String] = [], maxUploadsTotal: Int? = nil, maxDownloadsTotal: Int? = nil,
        uploadBytesPerSecond: Int64? = nil, allowedRedis: [String] = []
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
        self.allowedBuckets = allowedBuckets
        self.allowedEndpoints = allowedEndpoints
        self.maxUploadsTotal = maxUploadsTotal
        self.maxDownloadsTotal = maxDownloadsTotal
        self.uploadBytesPerSecond = uploadBytesPerSecond
        self.allowedRedis = allowedRedis
    }

    /// The bucket a new volume gets when the request names none.
    public var effectiveDefaultBucket: String {
        if let bucket = environment["VOLUME_BUCKET"], !bucket.isEmpty { return bucket }
        return configuredDefaultBucket
    }

    /// The buckets requests may name: `allowedBuckets`, the configured default bucket and
    /// `$VOLUME_BUCKET`; `nil` when `allowedBuckets` is.
    func bucketAllowList() throws(VolumeError) -> BucketAllowList? {
        guard let allowedBuckets else { return nil }
        let environmentBucket = environment["VOLUME_BUCKET"].flatMap { $0.isEmpty ? nil : $0 }
        let environmentEndpoint = environment["AWS_ENDPOINT_URL"].flatMap { $0.isEmpty ? nil : $0 }
        do {
            return try BucketAllowList(
                allowedBuckets + [configuredDefaultBucket] + (environmentBucket.map { [$0] } ?? []),
                endpoints: allowedEndpoints + (environmentEndpoint.map { [$0] } ?? []))
        } catch {
            throw VolumeError(.invalidParams, "allowed_buckets: \(error.description)", data: ["field": "allowed_buckets"])
        }
    }

    private var configuredDefaultBucket: String { defaultBucket ?? "file://\(stateDirectory.appending("bucket"))" }
}
