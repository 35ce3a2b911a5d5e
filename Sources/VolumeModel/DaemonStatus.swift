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

    enum CodingKeys: String, CodingKey {
        case version, pid, uptimeSeconds = "uptime_seconds", socket, stateDir = "state_dir", defaultBucket = "default_bucket"
        case metadataStoreType = "metadata_store_type", mounts
    }

    public init(
        version: String, pid: Int32, uptimeSeconds: Double, socket: String, stateDir: String, defaultBucket: String,
        metadataStoreType: MetadataStoreType, mounts: [MountStatus]
    ) {
        self.version = version
        self.pid = pid
        self.uptimeSeconds = uptimeSeconds
        self.socket = socket
        self.stateDir = stateDir
        self.defaultBucket = defaultBucket
        self.metadataStoreType = metadataStoreType
        self.mounts = mounts
    }
}
