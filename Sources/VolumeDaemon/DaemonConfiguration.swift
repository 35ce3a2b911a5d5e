import Foundation
import StorageFormat
import SystemBridge
import SystemPackage
import VolumeModel
import Volumes

/// `volumed`'s configuration file (`config.example.json` documents every key). Every key
/// is optional; unknown keys are refused by name so that a typo never silently falls back
/// to a default.
public struct DaemonConfiguration: Sendable, Equatable {
    public var socket = FilePath("/run/volumed/volumed.sock")
    /// The group that may connect (socket mode 0660); `nil` keeps the socket to root.
    public var socketGroup: String? = "volumed"
    public var stateDir = FilePath("/var/lib/volumed")
    /// The shared block cache; `<state_dir>/cache` when absent.
    public var cacheDir: FilePath?
    /// The cache budget; half the free space (at least 1 GiB) when absent.
    public var cacheSizeMB: Int?
    /// The budget of the cache of index pieces that lets a mount fetch only what changed.
    public var indexCacheMB = 1024
    /// Mount paths must resolve under this directory.
    public var mountRoot = FilePath("/mnt/volumes")
    /// Where `new` puts volumes without a bucket; `file://<state_dir>/bucket` when absent.
    public var defaultBucket: String?
    public var metadataStoreType: MetadataStoreType = .sqlite
    /// The default `max_uploads` of a mount.
    public var maxUploads = 50
    /// Block PUTs at once across every mount; four mounts' worth when absent.
    public var maxUploadsTotal: Int?
    /// Block GETs at once across every mount.
    public var maxDownloadsTotal = 256
    /// The upload bandwidth of the whole daemon, in MiB/s; unbounded when absent.
    public var maxUploadMiBPerSecond: Int?
    /// Users and groups allowed to call the daemon, besides root and the socket group.
    public var allowedUIDs: [UInt32] = []
    public var allowedGIDs: [UInt32] = []
    /// Bucket URI prefixes requests may name besides the default bucket and `$VOLUME_BUCKET`.
    public var allowedBuckets: [String] = []
    /// S3 endpoints requests may name besides the daemon's `$AWS_ENDPOINT_URL`.
    public var allowedEndpoints: [String] = []
    /// External Redis servers (`redis://host:port`) a Redis mount may keep its namespace in.
    public var allowedRedis: [String] = []
    /// Connections served at once, and by one user: past either a client gets `busy`.
    public var maxConnections = 1024
    public var maxConnectionsPerUser = 64
    public var logLevel: LogLevel = .info
    /// Where `/metrics` is served (`IPv4:port`); off when absent.
    public var metricsListen: String?

    /// Every key the file may hold.
    public static let keys: Set<String> = [
        "socket", "socket_group", "state_dir", "cache_dir", "cache_size_mb", "index_cache_mb", "mount_root", "default_bucket", "metadata_store_type",
        "max_uploads", "allowed_uids", "allowed_gids", "allowed_buckets", "allowed_endpoints", "allowed_redis", "max_connections", "max_connections_per_user", "max_uploads_total", "max_downloads_total",
        "max_upload_mib_per_second", "metrics_listen", "log_level",
    ]

    public init() {}

    /// Reads and validates a configuration file.
    public static func load(from path: FilePath) throws(VolumeError) -> DaemonConfiguration {
        guard let data = try? FileSystem.contents(of: path) else {
            throw VolumeError(.invalidParams, "cannot read the configuration file \(path)")
        }
        return try parse(data, source: path.string)
    }

    public static func parse(_ data: Data, source: String = "configuration") throws(VolumeError) -> DaemonConfiguration {
        func invalid(_ key: String, _ expectation: String) -> VolumeError {
            VolumeError(.invalidParams, "\(source): \(key) must be \(expectation)", data: ["field": key])
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw VolumeError(.invalidParams, "\(source) is not a JSON object")
        }
        let unknown = Set(object.keys).subtracting(keys).sorted()
        guard unknown.isEmpty else {
            throw VolumeError(
                .invalidParams, "\(source): unknown key\(unknown.count > 1 ? "s" : "") \(unknown.joined(separator: ", ")); the keys are \(keys.sorted().joined(separator: ", "))")
        }
        var configuration = DaemonConfiguration()
        func absolutePath(_ key: String) throws(VolumeError) -> FilePath? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            guard let text = value as? String, text.hasPrefix("/"), !text.split(separator: "/").contains("..") else {
                throw invalid(key, "an absolute path without '..'")
            }
            return FilePath(text).lexicallyNormalized()
        }
        func ids(_ key: String) throws(VolumeError) -> [UInt32]? {
            guard let value = object[key] else { return nil }
            guard let numbers = value as? [NSNumber], numbers.allSatisfy({ $0.int64Value >= 0 && $0.int64Value <= Int64(UInt32.max) }) else {
                throw invalid(key, "a list of numeric ids")
            }
            return numbers.map { UInt32($0.int64Value) }
        }
        if let socket = try absolutePath("socket") { configuration.socket = socket }
        if let value = object["socket_group"] {
            if value is NSNull {
                configuration.socketGroup = nil
            } else if let group = value as? String, !group.isEmpty {
                configuration.socketGroup = group
            } else {
                throw invalid("socket_group", "a group name or null")
            }
        }
        if let state = try absolutePath("state_dir") { configuration.stateDir = state }
        configuration.cacheDir = try absolutePath("cache_dir")
        if let value = object["cache_size_mb"] {
            guard let number = value as? NSNumber, number.intValue > 0 else { throw invalid("cache_size_mb", "a positive number of MiB") }
            configuration.cacheSizeMB = number.intValue
        }
        if let value = object["index_cache_mb"] {
            guard let number = value as? NSNumber, number.intValue > 0 else { throw invalid("index_cache_mb", "a positive number of MiB") }
            configuration.indexCacheMB = number.intValue
        }
        if let root = try absolutePath("mount_root") { configuration.mountRoot = root }
        if let value = object["default_bucket"], !(value is NSNull) {
            guard let bucket = value as? String else { throw invalid("default_bucket", "a bucket URI") }
            do {
                _ = try StorageURI(parsing: bucket)
            } catch {
                throw invalid("default_bucket", "a bucket URI (\(error.description))")
            }
            configuration.defaultBucket = bucket
        }
        if let value = object["metadata_store_type"] {
            guard let text = value as? String, let type = MetadataStoreType(rawValue: text) else { throw invalid("metadata_store_type", "sqlite or redis") }
            configuration.metadataStoreType = type
        }
        if let value = object["max_uploads"] {
            guard let number = value as? NSNumber, (1...1024).contains(number.intValue) else { throw invalid("max_uploads", "between 1 and 1024") }
            configuration.maxUploads = number.intValue
        }
        for (key, limit) in [("max_uploads_total", 65536), ("max_downloads_total", 65536), ("max_upload_mib_per_second", 1 << 20)] {
            guard let value = object[key], !(value is NSNull) else { continue }
            guard let number = value as? NSNumber, (1...limit).contains(number.intValue) else { throw invalid(key, "between 1 and \(limit)") }
            switch key {
            case "max_uploads_total": configuration.maxUploadsTotal = number.intValue
            case "max_downloads_total": configuration.maxDownloadsTotal = number.intValue
            default: configuration.maxUploadMiBPerSecond = number.intValue
            }
        }
        if let value = object["metrics_listen"], !(value is NSNull) {
            guard let address = value as? String else { throw invalid("metrics_listen", "an IPv4 address and a port, such as 127.0.0.1:9567") }
            _ = try MetricsEndpoint.parse(address)
            configuration.metricsListen = address
        }
        if let uids = try ids("allowed_uids") { configuration.allowedUIDs = uids }
        if let gids = try ids("allowed_gids") { configuration.allowedGIDs = gids }
        if let value = object["allowed_buckets"] {
            guard let prefixes = value as? [String] else { throw invalid("allowed_buckets", "a list of bucket URI prefixes") }
            do {
                _ = try BucketAllowList(prefixes)
            } catch {
                throw invalid("allowed_buckets", "a list of bucket URI prefixes (\(error.description))")
            }
            configuration.allowedBuckets = prefixes
        }
        if let value = object["allowed_endpoints"] {
            guard let endpoints = value as? [String], endpoints.allSatisfy({ $0.hasPrefix("http://") || $0.hasPrefix("https://") }) else {
                throw invalid("allowed_endpoints", "a list of http(s) URLs")
            }
            configuration.allowedEndpoints = endpoints
        }
        if let value = object["allowed_redis"] {
            let servers = value as? [String] ?? []
            guard value is [String], servers.allSatisfy(Self.isRedisServer) else {
                throw invalid("allowed_redis", "a list of redis://host:port servers (rediss:// for TLS), without credentials or a database")
            }
            configuration.allowedRedis = servers
        }
        if let value = object["max_connections"] {
            guard let number = value as? NSNumber, (1...65536).contains(number.intValue) else { throw invalid("max_connections", "between 1 and 65536") }
            configuration.maxConnections = number.intValue
        }
        if let value = object["max_connections_per_user"] {
            guard let number = value as? NSNumber, (1...65536).contains(number.intValue) else {
                throw invalid("max_connections_per_user", "between 1 and 65536")
            }
            configuration.maxConnectionsPerUser = number.intValue
        }
        if let value = object["log_level"] {
            guard let text = value as? String, let level = LogLevel(rawValue: text) else {
                throw invalid("log_level", LogLevel.allCases.map(\.rawValue).joined(separator: ", "))
            }
            configuration.logLevel = level
        }
        return configuration
    }

    /// `redis://host:port` or `rediss://host:port`, exactly: the form `metadata_url` is checked against.
    private static func isRedisServer(_ text: String) -> Bool {
        guard let components = URLComponents(string: text), components.scheme == "redis" || components.scheme == "rediss", let host = components.host, !host.isEmpty,
            components.port != nil
        else { return false }
        return components.user == nil && components.password == nil && components.path.isEmpty && components.query == nil
    }
}
