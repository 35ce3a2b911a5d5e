import StorageFormat
/// The params of each method (see `proto/volumed.schema.json`). Absent optional fields
/// take the defaults the volume API documents.
public enum RPCParams {
    public struct New: Codable, Sendable {
        public var name: String?
        public var bucket: String?
        public var storage: StorageKind?
        public var region: String?
        public var endpoint: String?
        public var metadataStoreType: MetadataStoreType?

        enum CodingKeys: String, CodingKey {
            case name, bucket, storage, region, endpoint, metadataStoreType = "metadata_store_type"
        }

        public init(
            name: String? = nil, bucket: String? = nil, storage: StorageKind? = nil, region: String? = nil, endpoint: String? = nil,
            metadataStoreType: MetadataStoreType? = nil
        ) {
            self.name = name
            self.bucket = bucket
            self.storage = storage
            self.region = region
            self.endpoint = endpoint
            self.metadataStoreType = metadataStoreType
        }
    }

    public struct Mount: ProgressRequest {
        public var volume: VolumeDescriptor
        public var mountPath: String
        public var options: MountOptions?
        public var actor: ActionRef?
        public var progress: Bool?

        enum CodingKeys: String, CodingKey {
            case volume, mountPath = "mount_path", options, actor, progress
        }

        public init(volume: VolumeDescriptor, mountPath: String, options: MountOptions? = nil, actor: ActionRef? = nil, progress: Bool? = nil) {
            self.volume = volume
            self.mountPath = mountPath
            self.options = options
            self.actor = actor
            self.progress = progress
        }
    }

    /// `volume.commit` and `volume.finalize`.
    public struct Commit: ProgressRequest {
        public var mountPath: String
        public var message: String?
        public var actor: ActionRef?
        public var progress: Bool?

        enum CodingKeys: String, CodingKey {
            case mountPath = "mount_path", message, actor, progress
        }

        public init(mountPath: String, message: String? = nil, actor: ActionRef? = nil, progress: Bool? = nil) {
            self.mountPath = mountPath
            self.message = message
            self.actor = actor
            self.progress = progress
        }
    }

    /// Exactly one of `mountPath` (a live mount) and `volume` (a committed version).
    public struct Fork: ProgressRequest {
        public var mountPath: String?
        public var volume: VolumeDescriptor?
        public var name: String?
        public var access: VolumeDescriptor.Access?
        public var actor: ActionRef?
        public var progress: Bool?

        enum CodingKeys: String, CodingKey {
            case mountPath = "mount_path", volume, name, access = "as", actor, progress
        }

        public init(
            mountPath: String? = nil, volume: VolumeDescriptor? = nil, name: String? = nil, access: VolumeDescriptor.Access? = nil, actor: ActionRef? = nil,
            progress: Bool? = nil
        ) {
            self.mountPath = mountPath
            self.volume = volume
            self.name = name
            self.access = access
            self.actor = actor
            self.progress = progress
        }
    }

    public struct Migrate: ProgressRequest {
        public var volume: VolumeDescriptor
        public var to: MetadataStoreType
        public var actor: ActionRef?
        public var progress: Bool?

        public init(volume: VolumeDescriptor, to: MetadataStoreType, actor: ActionRef? = nil, progress: Bool? = nil) {
            self.volume = volume
            self.to = to
            self.actor = actor
            self.progress = progress
        }
    }

    /// `volume.load`: the descriptor a version locator points at.
    public struct Load: Codable, Sendable {
        public var locator: String

        public init(locator: String) { self.locator = locator }
    }

    /// `volume.lineage`, `volume.ls` (path defaults to the root) and `volume.cat`.
    public struct Browse: Codable, Sendable {
        public var volume: VolumeDescriptor
        public var path: String?

        public init(volume: VolumeDescriptor, path: String? = nil) {
            self.volume = volume
            self.path = path
        }
    }

    /// `volume.versions`: the versions published in a bucket, or those of one volume's line
    /// (`volume`, which also names the bucket); `name` keeps one name's versions.
    public struct Versions: Codable, Sendable {
        public var bucket: String?
        public var volume: VolumeDescriptor?
        public var name: String?
        /// For an S3-compatible `bucket` the environment does not describe.
        public var endpoint: String?
        public var region: String?

        public init(bucket: String? = nil, volume: VolumeDescriptor? = nil, name: String? = nil, endpoint: String? = nil, region: String? = nil) {
            self.bucket = bucket
            self.volume = volume
            self.name = name
            self.endpoint = endpoint
            self.region = region
        }
    }

    /// `volume.delete`: versions to remove from the catalogue.
    public struct Delete: Codable, Sendable {
        public var volumes: [VolumeDescriptor]

        public init(volumes: [VolumeDescriptor]) { self.volumes = volumes }
    }

    /// `bucket.gc`: collect what no version or live mount of `bucket` can reach; with
    /// `keep_last`, first retire all but the newest versions of each line.
    public struct GC: ProgressRequest {
        public var bucket: String
        public var endpoint: String?
        public var region: String?
        public var dryRun: Bool?
        /// How long an unreferenced object, or a lapsed lease, is kept: a duration such as `24h` (the default) or `7d`.
        public var grace: String?
        public var keepLast: Int?
        public var progress: Bool?

        enum CodingKeys: String, CodingKey {
            case bucket, endpoint, region, dryRun = "dry_run", grace, keepLast = "keep_last", progress
        }

        public init(bucket: String, endpoint: String? = nil, region: String? = nil, dryRun: Bool? = nil, grace: String? = nil, keepLast: Int? = nil, progress: Bool? = nil) {
            self.bucket = bucket
            self.endpoint = endpoint
            self.region = region
            self.dryRun = dryRun
            self.grace = grace
            self.keepLast = keepLast
            self.progress = progress
        }
    }

    /// `volume.export_metadata`: a version's namespace in a form the stock juicefs client
    /// takes, written into the file whose descriptor travels with the request.
    public struct ExportMetadata: ProgressRequest {
        public var volume: VolumeDescriptor
        public var format: MetadataExportFormat?
        public var progress: Bool?

        public init(volume: VolumeDescriptor, format: MetadataExportFormat? = nil, progress: Bool? = nil) {
            self.volume = volume
            self.format = format
            self.progress = progress
        }
    }

    /// `volume.unmount`, `mount.status` and `mount.recover`: a mount, and whether its working
    /// copy is abandoned (`mount.status` ignores it).
    public struct MountPath: Codable, Sendable {
        public var mountPath: String
        public var abandon: Bool?
        /// `volume.unmount` only: stop serving but keep the working copy for `mount.recover`.
        public var keep: Bool?

        enum CodingKeys: String, CodingKey {
            case mountPath = "mount_path", abandon, keep
        }

        public init(mountPath: String, abandon: Bool? = nil, keep: Bool? = nil) {
            self.mountPath = mountPath
            self.abandon = abandon
            self.keep = keep
        }
    }

    /// Methods without params.
    public struct None: Codable, Sendable {
        public init() {}
    }
}

/// Params of a long call that sends `progress` notifications when asked to.
public protocol ProgressRequest: Codable, Sendable {
    var progress: Bool? { get set }
}
