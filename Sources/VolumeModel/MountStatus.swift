/// One mount as `volumectl status` shows it: what is mounted where, and how its data path
/// is doing. `stale` mounts were left by a daemon that died; recover or abandon them.
public struct MountStatus: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case mounted, committing, unmounting, unmounted, stale
    }

    public var mountPath: String
    public var mountID: String
    public var volume: String
    /// The uid that made the mount: only it, root and the daemon's user may manage it.
    public var ownerUID: UInt32?
    /// `rw` or `ro`, as mounted.
    public var mode: VolumeDescriptor.Access
    public var state: State
    public var metadataStoreType: MetadataStoreType
    public var sliceDomain: UInt32?
    /// The version the next commit follows (`null` for a never-committed volume).
    public var lastVersion: String?
    public var stagedBlocks: Int
    public var stagedBytes: Int64
    public var uploadsInFlight: Int
    public var uploadedBytes: Int64
    public var uploadedBlocks: Int64
    /// Block reads the cache answered, and those that went to the object store.
    public var cacheHits: Int64
    public var cacheMisses: Int64
    /// Block uploads and fetches that failed after the object store's own retries.
    public var uploadErrors: Int64
    public var downloadErrors: Int64
    public var uploadBytesPerSecond: Double
    public var cacheBytes: Int64
    public var cacheBudgetBytes: Int64
    public var openHandles: Int
    public var mountedAt: String?
    /// Object-store requests this mount sent again after a transient failure.
    public var storageRetries: Int
    /// Conditional creates of this mount whose answer was lost and that found their own
    /// object in place (so they succeeded).
    public var resolvedOutcomes: Int

    enum CodingKeys: String, CodingKey {
        case mountPath = "mount_path", mountID = "mount_id", volume, ownerUID = "owner_uid", mode, state, metadataStoreType = "metadata_store_type"
        case sliceDomain = "slice_domain", lastVersion = "last_version", stagedBlocks = "staged_blocks", stagedBytes = "staged_bytes"
        case uploadsInFlight = "uploads_in_flight", uploadedBytes = "uploaded_bytes", uploadBytesPerSecond = "upload_bytes_per_second"
        case uploadedBlocks = "uploaded_blocks", cacheHits = "cache_hits", cacheMisses = "cache_misses"
        case uploadErrors = "upload_errors", downloadErrors = "download_errors"
        case cacheBytes = "cache_bytes", cacheBudgetBytes = "cache_budget_bytes", openHandles = "open_handles", mountedAt = "mounted_at"
        case storageRetries = "storage_retries", resolvedOutcomes = "resolved_outcomes"
    }

    public init(
        mountPath: String, mountID: String, volume: String, ownerUID: UInt32? = nil, mode: VolumeDescriptor.Access, state: State, metadataStoreType: MetadataStoreType,
        sliceDomain: UInt32? = nil, lastVersion: String? = nil, stagedBlocks: Int = 0, stagedBytes: Int64 = 0, uploadsInFlight: Int = 0,
        uploadedBytes: Int64 = 0, uploadedBlocks: Int64 = 0, cacheHits: Int64 = 0, cacheMisses: Int64 = 0,
        uploadErrors: Int64 = 0, downloadErrors: Int64 = 0, uploadBytesPerSecond: Double = 0, cacheBytes: Int64 = 0, cacheBudgetBytes: Int64 = 0, openHandles: Int = 0,
        mountedAt: String? = nil, storageRetries: Int = 0, resolvedOutcomes: Int = 0
    ) {
        self.mountPath = mountPath
        self.mountID = mountID
        self.volume = volume
        self.ownerUID = ownerUID
        self.mode = mode
        self.state = state
        self.metadataStoreType = metadataStoreType
        self.sliceDomain = sliceDomain
        self.lastVersion = lastVersion
        self.stagedBlocks = stagedBlocks
        self.stagedBytes = stagedBytes
        self.uploadsInFlight = uploadsInFlight
        self.uploadedBytes = uploadedBytes
        self.uploadedBlocks = uploadedBlocks
        self.cacheHits = cacheHits
        self.cacheMisses = cacheMisses
        self.uploadErrors = uploadErrors
        self.downloadErrors = downloadErrors
        self.uploadBytesPerSecond = uploadBytesPerSecond
        self.cacheBytes = cacheBytes
        self.cacheBudgetBytes = cacheBudgetBytes
        self.openHandles = openHandles
        self.mountedAt = mountedAt
        self.storageRetries = storageRetries
        self.resolvedOutcomes = resolvedOutcomes
    }
}
