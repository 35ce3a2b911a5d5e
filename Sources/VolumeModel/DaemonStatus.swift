/// The daemon as a whole, for `daemon.status`.
public struct DaemonStatus: Codable, Sendable, Equatable {
    public var version: String
    public var pid: Int32
    public var uptimeSeconds: Double
    public var socket: String
    public var stateDir: String
    public var defaultBucket: String
    public var metadataStoreType: MetadataStoreType
    public var mounts: [MountStatus]
    /// Object-store requests sent again after a transient failure, by every mount and call.
    public var storageRetries: Int
    /// Conditional creates whose answer was lost and that found their own object in place.
    public var resolvedOutcomes: Int
    public var transfers: TransferStatus?

    enum CodingKeys: String, CodingKey {
        case version, pid, uptimeSeconds = "uptime_seconds", socket, stateDir = "state_dir", defaultBucket = "default_bucket"
        case metadataStoreType = "metadata_store_type", mounts, storageRetries = "storage_retries", resolvedOutcomes = "resolved_outcomes"
        case transfers
    }

    public init(
        version: String, pid: Int32, uptimeSeconds: Double, socket: String, stateDir: String, defaultBucket: String,
        metadataStoreType: MetadataStoreType, mounts: [MountStatus], storageRetries: Int = 0, resolvedOutcomes: Int = 0,
        transfers: TransferStatus? = nil
    ) {
        self.version = version
        self.pid = pid
        self.uptimeSeconds = uptimeSeconds
        self.socket = socket
        self.stateDir = stateDir
        self.defaultBucket = defaultBucket
        self.metadataStoreType = metadataStoreType
        self.mounts = mounts
        self.storageRetries = storageRetries
        self.resolvedOutcomes = resolvedOutcomes
        self.transfers = transfers
    }
}
