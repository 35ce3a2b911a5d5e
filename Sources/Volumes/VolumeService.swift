import ChunkStore
import Foundation
import FuseBridge
import Metadata
import ObjectStorage
import StorageFormat
import SystemBridge
import SystemPackage
import VFS
import VolumeModel

/// The volume lifecycle: declare, mount, fork, migrate and trace volumes (docs/ARCHITECTURE.md).
/// Commit, finalize and unmount belong to the `LiveVolume` a mount returns.
///
/// One service holds every mount of a process and the block cache they share.
public final class VolumeService: @unchecked Sendable {
    public let configuration: VolumeServiceConfiguration
    /// Retries and settled outcomes of every object store this service opens; each mount
    /// counts its own too.
    public let storageEvents = StorageEvents()
    private let objectStores: ObjectStoreFactory
    /// The buckets requests may name; `nil` for any.
    private let bucketAllowList: BucketAllowList?
    /// The bounds on block PUTs and GETs that every mount of this service shares.
    let uploadGate: TransferGate
    let downloadGate: TransferGate
    let sharedCache: CacheDirectory
    /// Index pieces fetched or published on this machine, shared by every version.
    let indexPieces: IndexPieceCache
    private let lock = NSLock()
    private var live: [FilePath: LiveVolume] = [:]
    /// Mount paths being mounted right now.
    private var reserved: Set<FilePath> = []
    /// What each recent finalize published, by mount path: a finalize sent again because its
    /// answer was lost finds its version here instead of a missing mount.
    private var finalized: [FilePath: (version: VolumeDescriptor, owner: UInt32?, at: Date)] = [:]
    /// Keepers of the leases of working copies left behind, by mount id.
    private var leftBehindLeases: [String: LeaseKeeper] = [:]
    private static let finalizedKept: TimeInterval = 3600
    /// Caches in directories that mounts asked for, while something uses them: a mount
    /// shares one still open (two on one directory would overwrite each other's files), and
    /// one goes, its memory tier with it, once its last mount is gone.
    private var privateCaches: [FilePath: WeakCache] = [:]

    private struct WeakCache {
        weak var cache: CacheDirectory?
    }

    public init(_ configuration: VolumeServiceConfiguration) throws(VolumeError) {
        self.configuration = configuration
        bucketAllowList = try configuration.bucketAllowList()
        uploadGate = TransferGate(slots: configuration.maxUploadsTotal ?? Int.max, bytesPerSecond: configuration.uploadBytesPerSecond)
        downloadGate = configuration.maxDownloadsTotal.map { TransferGate(slots: $0) } ?? .unlimited
        objectStores = ObjectStoreFactory(environment: configuration.environment, retry: RetryPolicy.standard.reporting(to: storageEvents))
        let cacheDirectory = configuration.cacheDirectory ?? configuration.stateDirectory.appending("cache")
        do {
            try FileSystem.createDirectories(configuration.stateDirectory.appending("mounts"))
            sharedCache = try CacheDirectory(directory: cacheDirectory, budget: configuration.cacheBudget)
            indexPieces = try IndexPieceCache(directory: cacheDirectory.appending("index-pieces"), budget: configuration.indexCacheBudget)
        } catch {
            throw VolumeError(.internalError, "cannot prepare the state directory \(configuration.stateDirectory) and cache \(cacheDirectory): \(error)")
        }
    }

    /// The shared bounds on block transfers, as status shows them.
    public var transfers: TransferStatus {
        func bound(_ gate: TransferGate) -> TransferStatus.Bound {
            let snapshot = gate.snapshot
            return TransferStatus.Bound(
                limit: snapshot.slots == Int.max ? nil : snapshot.slots, inFlight: snapshot.inFlight, waiting: snapshot.waiting, peak: snapshot.peak)
        }
        return TransferStatus(uploads: bound(uploadGate), downloads: bound(downloadGate), uploadBytesPerSecond: uploadGate.bytesPerSecond)
    }

    /// Mounts in this process, by mount path.
    public var mounts: [LiveVolume] { lock.withLock { Array(live.values) }.sorted { $0.mountpoint.string < $1.mountpoint.string } }

    public func mount(at path: FilePath) -> LiveVolume? { lock.withLock { live[path.lexicallyNormalized()] } }

    // MARK: - new

    /// Declares an empty writable volume; no I/O happens until its first mount formats it.
    public func new(
        name: String? = nil, bucket: String? = nil, storage: StorageKind? = nil, region: String? = nil, endpoint: String? = nil,
        metadataStoreType: MetadataStoreType? = nil
    ) throws(VolumeError) -> VolumeDescriptor {
        let name = name ?? VolumeName.generate()
        let bucket = bucket ?? configuration.effectiveDefaultBucket
        var type = MetadataStoreType.sqlite
        if let metadataStoreType { type = metadataStoreType } else { type = try preferredMetadataStore() }
        var descriptor = try VolumeDescriptor(name: name, bucket: bucket, storage: storage, region: region, endpoint: endpoint, metadataStoreType: type)
        try bucketAllowList?.check(descriptor.bucket)
        try bucketAllowList?.check(endpoint: descriptor.endpoint)
        if descriptor.storage == .s3, descriptor.endpoint == nil, let ambient = configuration.environment["AWS_ENDPOINT_URL"], !ambient.isEmpty {
            descriptor.endpoint = ambient
            try descriptor.validate()
        }
        return descriptor
    }

    private func preferredMetadataStore() throws(VolumeError) -> MetadataStoreType {
        try MetadataStoreType.preferred(environment: configuration.environment, configured: configuration.defaultMetadataStore)
    }

    // MARK: - mount

    /// Mounts a volume at `path` for `owner` and returns once the kernel serves it. A volume
    /// without an index is formatted by its first writable mount; every writable mount claims
    /// a fresh slice domain.
    public func mount(
        _ volume: VolumeDescriptor, at path: FilePath, options: MountOptions = MountOptions(), actor: ActionRef = ActionRef(),
        owner: UInt32 = getuid(), progress: (VolumeProgress) -> Void = { _ in }
    ) throws(VolumeError) -> LiveVolume {
        try volume.validate()
        let uploadDelay = try options.validated()
        let writable = !options.readOnly
        if writable, volume.access == .ro {
            throw VolumeError(
                .notWritable, "\(volume.name) is a read-only version; mount it with read_only, or fork it to get a writable branch", data: ["name": volume.name])
        }
        if let url = options.metadataURL { _ = try externalRedis(url, for: volume, options: options) }
        if leftoverRecords().contains(where: { $0.record.mountPath == path.lexicallyNormalized().string }) {
            throw VolumeError(
                .alreadyMounted, "\(path) holds a mount left behind (volumectl status shows it): recover or abandon it before mounting there",
                data: ["mount_path": path.string])
        }
        let mountpoint = try prepareMountpoint(path)
        let id = Self.randomID()
        let directory = configuration.stateDirectory.appending("mounts").appending(id)
        let record = MountRecord(id: id, mountPath: mountpoint.string, options: options, source: volume, head: volume, actor: actor, owner: owner)
        do {
            let events = StorageEvents(parent: storageEvents)
            let bucket = try openBucket(of: volume, events: events)
            let metadataDirectory = directory.appending("meta")
            try FileSystem.createDirectories(metadataDirectory, permissions: FilePermissions.ownerReadWriteExecute)
            var known: Set<String> = []
            let inPlace = try inPlaceIndex(of: volume, readOnly: options.readOnly, in: bucket)
            if let index = volume.index, inPlace == nil {
                let manifest = try bucket.download(index, to: LocalMetadata.indexFile(type: volume.metadataStoreType, in: metadataDirectory), progress: progress)
                known = Set(manifest?.pieces.map(\.sha256) ?? [])
            }
            return try serve(
                record, bucket: bucket, events: events, directory: directory, uploadDelay: uploadDelay, resumed: false, knownPieces: known, inPlace: inPlace)
        } catch {
            release(mountpoint)
            try? FileSystem.removeTree(directory)
            throw VolumeError(wrapping: error, while: "mounting \(volume.name) at \(mountpoint)")
        }
    }

    /// Working copies left by a daemon that died or stopped: not served, still on disk.
    public var staleMounts: [MountStatus] {
        leftoverRecords().map { (record, _) in
            let store = try? openBucket(of: record.source).store
            let staged = store.map { sharedCache.staging.blocks(in: ChunkStore.cacheSpace(of: $0, chunkPrefix: record.source.chunkPrefix)) } ?? []
            return record.staleStatus(staged: staged)
        }
    }

    /// Serves a left-behind working copy again (continuing from its last state, staged
    /// blocks included), or with `abandon` deletes it; committed versions are untouched.
    @discardableResult
    /// `mountID`, when given, is the record the caller was allowed to act on: another one
    /// found at the path instead is not touched.
    public func recover(mountPath: FilePath, abandon: Bool, mountID: String? = nil) throws(VolumeError) -> LiveVolume? {
        let wanted = mountPath.lexicallyNormalized().string
        guard let (record, directory) = leftoverRecords().first(where: { $0.record.mountPath == wanted }), mountID == nil || record.id == mountID else {
            throw VolumeError(.notFound, "no left-behind mount at \(wanted); volumectl status lists them", data: ["mount_path": wanted])
        }
        let mountpoint = FilePath(record.mountPath)
        // Detaching what is at the path must never take down a mount being served there.
        guard !lock.withLock({ live[mountpoint] != nil || reserved.contains(mountpoint) }) else {
            throw VolumeError(
                .alreadyMounted, "\(mountpoint) is mounted now; unmount that mount before recovering or abandoning the one left behind there",
                data: ["mount_path": wanted])
        }
        FuseMount.detachStale(at: mountpoint)
        let metadataDirectory = directory.appending("meta")
        let keeper = lock.withLock { leftBehindLeases.removeValue(forKey: record.id) }
        if abandon {
            if record.source.metadataStoreType == .redis { RedisServer.shutDownLeftover(in: metadataDirectory, save: false) }
            if let url = record.options.metadataURL, let external = try? externalRedis(url, for: record.source, options: record.options) {
                try? LocalMetadata(external: external, directory: metadataDirectory, redisExecutable: configuration.redisExecutable, resumed: true).discard()
            }
            try? FileSystem.removeTree(directory)
            if let keeper { keeper.end() } else { try? openBucket(of: record.source).store.delete(MountLease.key(of: record.id)) }
            return nil
        }
        // The mount served again writes the lease under the same key.
        keeper?.stopRenewing()
        let uploadDelay = try record.options.validated()
        _ = try prepareMountpoint(mountpoint)
        do {
            let events = StorageEvents(parent: storageEvents)
            let bucket = try openBucket(of: record.source, events: events)
            // What the bucket holds of the head's index spares the next commit re-sending it.
            let known = record.head.index.flatMap { try? bucket.manifest(of: $0) }.map { Set($0.pieces.map(\.sha256)) } ?? []
            let inPlace = try inPlaceIndex(of: record.source, readOnly: record.options.readOnly, in: bucket)
            return try serve(
                record, bucket: bucket, events: events, directory: directory, uploadDelay: uploadDelay, resumed: true, knownPieces: known, inPlace: inPlace)
        } catch {
            release(mountpoint)
            throw VolumeError(wrapping: error, while: "recovering \(record.source.name) at \(mountpoint)")
        }
    }

    /// Renews the leases of the working copies left behind by an earlier run of the daemon, so
    /// that gc on any machine keeps their blocks while they wait for `recover`; it stops when
    /// one is recovered or abandoned. Runs in the background: a bucket out of reach delays
    /// nothing else.
    public func keepLeftBehindLeases() {
        DispatchQueue.global().async { [self] in
            for (record, _) in leftoverRecords() {
                guard lock.withLock({ leftBehindLeases[record.id] == nil }), let bucket = try? openBucket(of: record.source) else { continue }
                let keeper = LeaseKeeper(bucket: bucket, lease: MountLease(record: record), writeNow: false)
                lock.withLock { leftBehindLeases[record.id] = keeper }
            }
        }
    }

    private func leftoverRecords() -> [(record: MountRecord, directory: FilePath)] {
        let mounts = configuration.stateDirectory.appending("mounts")
        let served = Set(lock.withLock { live.values.map(\.id) })
        let names = ((try? FileSystem.directoryEntries(mounts)) ?? []).map(\.name)
        return names.sorted().compactMap { name in
            let directory = mounts.appending(name)
            guard !served.contains(name), let record = MountRecord.load(from: directory), record.id == name else { return nil }
            return (record, directory)
        }
    }

    private func externalRedis(_ url: String, for volume: VolumeDescriptor, options: MountOptions) throws(VolumeError) -> ExternalRedis {
        try ExternalRedis(url: url, for: volume, options: options, allowed: configuration.allowedRedis, environment: configuration.environment)
    }

    /// The index of a read-only mount or browse, read in place from its pieces; `nil` when
    /// the metadata must be local (writable, a one-file index, or a Redis index whose
    /// manifest has no key fences).
    func inPlaceIndex(of volume: VolumeDescriptor, readOnly: Bool, in bucket: VolumeBucket) throws(VolumeError) -> IndexPieceSource? {
        guard readOnly, let index = volume.index, try bucket.isPieced(index) else { return nil }
        let manifest = try bucket.manifest(of: index)
        guard manifest.engine == .sqlite || manifest.fences != nil else { return nil }
        return IndexPieceSource(manifest: manifest, of: index, in: bucket)
    }

    /// Opens the metadata (in the mount's directory, or in place), formats a fresh volume,
    /// claims a slice domain when writable, and mounts.
    private func serve(
        _ record: MountRecord, bucket: VolumeBucket, events: StorageEvents, directory: FilePath, uploadDelay: Duration, resumed: Bool,
        knownPieces: Set<String>, inPlace: IndexPieceSource?
    ) throws -> LiveVolume {
        var record = record
        let volume = record.source
        let options = record.options
        let metadata =
            if let inPlace, let index = volume.index {
                try LocalMetadata(reading: inPlace, of: index, directory: directory.appending("meta"))
            } else if let url = options.metadataURL {
                try LocalMetadata(
                    external: try externalRedis(url, for: volume, options: options), directory: directory.appending("meta"),
                    redisExecutable: configuration.redisExecutable, resumed: resumed)
            } else {
                try LocalMetadata(type: volume.metadataStoreType, directory: directory.appending("meta"), redisExecutable: configuration.redisExecutable)
            }
        do {
            let engine = metadata.engine
            let writable = !options.readOnly
            if volume.index == nil, !resumed {
                let format = VolumeFormat(volume: volume, uri: try volume.storageURI, environment: configuration.environment)
                // Only a writable mount may claim the prefix; a read-only look at a fresh volume stays local.
                if writable { try bucket.claimFreshPrefix(volume.chunkPrefix, uuid: format.uuid) }
                try engine.format(format)
            }
            let format = try engine.loadFormat()
            guard format.name == volume.chunkPrefix else {
                throw VolumeError(.integrityError, "the index of \(volume.name) belongs to volume \(format.name), not chunk prefix \(volume.chunkPrefix)")
            }
            if writable, format.trashDays > 0 {
                throw VolumeError(
                    .notWritable,
                    "the index of \(volume.name) keeps deleted files in a trash for \(format.trashDays) day(s) (format setting TrashDays), which volumed does not implement: mount it read-only, or turn the trash off with `juicefs config META-URL --trash-days 0`",
                    data: ["setting": "TrashDays"])
            }
            var domain: UInt32?
            if writable {
                let claimed = try bucket.claimSliceDomain(
                    volume.chunkPrefix, holder: "\(ProcessInfo.processInfo.hostName) mount \(record.id) of \(volume.name)")
                try engine.useSliceDomain(claimed)
                domain = claimed
                record.sliceDomains = (record.sliceDomains ?? []) + [claimed]
            }
            var chunkConfiguration = ChunkStoreConfiguration(volume: volume, format: format)
            chunkConfiguration.writeback = options.writeback
            chunkConfiguration.uploadDelay = uploadDelay
            chunkConfiguration.maxUploads = options.maxUploads ?? configuration.defaultMaxUploads
            chunkConfiguration.uploadGate = uploadGate
            chunkConfiguration.downloadGate = downloadGate
            let chunks = ChunkStore(configuration: chunkConfiguration, catalog: EngineCatalog(engine), store: bucket.store, cache: try cache(for: options))
            if resumed, writable { chunks.recoverStagedBlocks() }
            let mountpoint = FilePath(record.mountPath)
            let fileSystem = VolumeFileSystem(engine: engine, chunks: chunks, readOnly: !writable)
            let fuse = FuseMount(
                fileSystem: fileSystem, at: mountpoint,
                options: FuseMountOptions(
                    name: volume.name, readOnly: !writable, attributeTimeout: options.attrCache, entryTimeout: options.entryCache,
                    directoryEntryTimeout: options.dirEntryCache, statistics: { [chunks, events] in LiveVolume.statisticsLines(chunks.statistics, events) }))
            try record.save(in: directory)
            do {
                try fuse.mount()
            } catch {
                chunks.close()
                throw VolumeError(.mountFailed, "the kernel refused to mount \(mountpoint): \(error)", data: ["mount_path": mountpoint.string])
            }
            let lease = LeaseKeeper(bucket: bucket, lease: MountLease(record: record))
            let live = LiveVolume(
                id: record.id, mountpoint: mountpoint, options: options, source: volume, sliceDomain: domain, directory: directory, bucket: bucket,
                metadata: metadata, chunks: chunks, fileSystem: fileSystem, fuse: fuse, storageEvents: events, actor: record.actor, owner: record.owner,
                lease: lease, head: record.head,
                knownPieces: knownPieces, writtenDomains: record.sliceDomains ?? [], assumeChanged: resumed
            ) { [weak self] unmounted in
                self?.release(unmounted.mountpoint, finalVersion: unmounted.finalVersion, owner: unmounted.owner)
                if unmounted.suspended { self?.lock.withLock { self?.leftBehindLeases[unmounted.id] = unmounted.lease } }
            }
            lock.withLock {
                reserved.remove(mountpoint)
                self.live[mountpoint] = live
            }
            return live
        } catch {
            // A new working copy that never served gives back the external database it filled.
            if !resumed { try? metadata.discard() }
            try? metadata.close()
            throw error
        }
    }

    // MARK: - fork, migrate

    /// Branches a committed version without mounting it (for a live mount use
    /// `LiveVolume.fork`).
    public func fork(_ volume: VolumeDescriptor, name: String? = nil, as access: VolumeDescriptor.Access = .rw, actor: ActionRef = ActionRef()) throws(VolumeError)
        -> VolumeDescriptor
    {
        try volume.validate()
        let name = name ?? VolumeName.generate()
        try VolumeName.validate(name)
        return try openBucket(of: volume).branch(volume, name: name, as: access, actor: actor)
    }

    /// Re-hosts a version's metadata on the other store type (dump, then load; slice ids
    /// and blocks untouched) and publishes it as a child version.
    public func migrate(_ volume: VolumeDescriptor, to type: MetadataStoreType, actor: ActionRef = ActionRef(), progress: (VolumeProgress) -> Void = { _ in })
        throws(VolumeError) -> VolumeDescriptor
    {
        try volume.validate()
        guard type != volume.metadataStoreType else {
            throw VolumeError(.unchanged, "\(volume.name) already keeps its metadata in \(type.rawValue)", data: ["metadata_store_type": type.rawValue])
        }
        guard let index = volume.index else {
            throw VolumeError(
                .notFound, "\(volume.name) was never committed, so it has no metadata to migrate; declare it anew with metadata_store_type \(type.rawValue)")
        }
        let bucket = try openBucket(of: volume)
        let directory = configuration.stateDirectory.appending("migrations").appending(Self.randomID())
        defer { try? FileSystem.removeTree(directory) }
        let dumpFile = try dumpNamespace(of: volume, index: index, from: bucket, in: directory, progress: progress)
        let target = try loadNamespace(from: dumpFile, into: type, in: directory.appending("target"), progress: progress)
        defer { try? target.close() }
        let snapshot: IndexSnapshot
        let summary: SnapshotSummary
        do {
            let domain = try bucket.claimSliceDomain(volume.chunkPrefix, holder: "\(ProcessInfo.processInfo.hostName) migration of \(volume.name)")
            try target.engine.pointSliceCounter(atDomain: domain)
            (snapshot, summary) = try target.engine.takeSnapshot(scratchFile: directory.appending("index.\(type.indexExtension)"))
        } catch {
            throw VolumeError(wrapping: error, while: "loading the metadata of \(volume.name) into \(type.rawValue)")
        }
        defer { snapshot.release() }
        var migrated = volume
        migrated.metadataStoreType = type
        migrated.usedBytes = summary.usedBytes
        migrated.inodeCount = summary.inodes
        let locator = try bucket.stamp(&migrated, asChildOf: volume, by: actor)
        return try bucket.publish(migrated, index: snapshot, at: locator, known: [], progress: progress).0
    }

    /// Fetches a version's index into `directory/source` and writes its namespace to
    /// `directory/dump.json` in juicefs's dump format.
    func dumpNamespace(of volume: VolumeDescriptor, index: IndexRef, from bucket: VolumeBucket, in directory: FilePath, progress: (VolumeProgress) -> Void)
        throws(VolumeError) -> FilePath
    {
        let sourceDirectory = directory.appending("source")
        do {
            try FileSystem.createDirectories(sourceDirectory, permissions: FilePermissions.ownerReadWriteExecute)
        } catch {
            throw VolumeError(wrapping: error, while: "creating \(sourceDirectory)")
        }
        try bucket.download(index, to: LocalMetadata.indexFile(type: volume.metadataStoreType, in: sourceDirectory), progress: progress)
        let dumpFile = directory.appending("dump.json")
        let source = try LocalMetadata(type: volume.metadataStoreType, directory: sourceDirectory, redisExecutable: configuration.redisExecutable)
        defer { try? source.close() }
        do {
            try source.engine.dump(to: dumpFile) { entries in progress(VolumeProgress(phase: "dump", done: Int64(entries), unit: "entries")) }
        } catch {
            throw VolumeError(error, while: "dumping the metadata of \(volume.name)")
        }
        return dumpFile
    }

    /// A fresh store of `type` in `directory` holding a dumped namespace.
    func loadNamespace(from dumpFile: FilePath, into type: MetadataStoreType, in directory: FilePath, progress: (VolumeProgress) -> Void)
        throws(VolumeError) -> LocalMetadata
    {
        let target = try LocalMetadata(type: type, directory: directory, redisExecutable: configuration.redisExecutable)
        do {
            try withoutActuallyEscaping(progress) { progress in
                try target.engine.load(from: dumpFile) { entries in progress(VolumeProgress(phase: "load", done: Int64(entries), unit: "entries")) }
            }
        } catch {
            try? target.close()
            throw VolumeError(wrapping: error, while: "loading the metadata into \(type.rawValue)")
        }
        return target
    }

    // MARK: - Lineage

    /// The version published at a locator. `endpoint`/`region` reach S3-compatible
    /// buckets that the environment does not describe.
    public func load(locator text: String, endpoint: String? = nil, region: String? = nil) throws(VolumeError) -> VolumeDescriptor {
        let locator = try VersionLocator.parse(text)
        return try openBucket(uri: locator.bucket, endpoint: endpoint, region: region).descriptor(at: locator)
    }

    /// `volume` and its ancestors, newest first, following `parent_produced_by.locator`
    /// until a version without a parent, or one that was deleted.
    public func lineage(of volume: VolumeDescriptor) throws(VolumeError) -> [VolumeDescriptor] {
        var chain = [volume]
        var seen: Set<String> = []
        while let parent = chain.last!.parentProducedBy?.locator {
            guard seen.insert(parent).inserted, chain.count < 100_000 else {
                throw VolumeError(.integrityError, "the lineage of \(volume.name) loops back to \(parent)")
            }
            let current = chain.last!
            do {
                chain.append(try load(locator: parent, endpoint: current.endpoint, region: current.region))
            } catch where error.code == .notFound {
                break  // a deleted ancestor ends the line's known history
            }
        }
        return chain
    }

    // MARK: - Helpers

    /// The bucket of `volume`, its requests counted in `events` (a mount's) or the service's.
    /// The bucket at a URI a request named (a locator's, a listing's).
    func openBucket(uri: String, endpoint: String?, region: String?) throws(VolumeError) -> VolumeBucket {
        try bucketAllowList?.check(uri)
        try bucketAllowList?.check(endpoint: endpoint)
        do {
            return VolumeBucket(store: try objectStores.open(uri, endpoint: endpoint, region: region), uri: uri, pieceCache: indexPieces)
        } catch {
            throw VolumeError(error, while: "opening the bucket \(uri)")
        }
    }

    /// Every request that reaches a bucket passes here or through `openBucket(uri:)`, where the
    /// allow-list is checked.
    func openBucket(of volume: VolumeDescriptor, events: StorageEvents? = nil) throws(VolumeError) -> VolumeBucket {
        let uri = try volume.storageURI
        try bucketAllowList?.check(volume.bucket)
        try bucketAllowList?.check(endpoint: volume.endpoint)
        do {
            return VolumeBucket(
                store: try objectStores.open(uri, endpoint: volume.endpoint, region: volume.region, events: events), uri: volume.bucket,
                pieceCache: indexPieces)
        } catch {
            throw VolumeError(error, while: "opening the bucket \(volume.bucket)")
        }
    }

    /// Reserves a mount path: absolute, a directory (created when missing), not in use.
    private func prepareMountpoint(_ path: FilePath) throws(VolumeError) -> FilePath {
        guard path.isAbsolute else {
            throw VolumeError(.invalidParams, "mount path \(path) must be absolute", data: ["field": "mount_path"])
        }
        let mountpoint = path.lexicallyNormalized()
        lock.lock()
        defer { lock.unlock() }
        if live[mountpoint] != nil || reserved.contains(mountpoint) {
            throw VolumeError(.alreadyMounted, "\(mountpoint) is already a volume mount; unmount it first", data: ["mount_path": mountpoint.string])
        }
        do {
            try FileSystem.createDirectories(mountpoint)
        } catch {
            throw VolumeError(.invalidParams, "mount path \(mountpoint) is not a usable directory: \(error)", data: ["mount_path": mountpoint.string])
        }
        guard FileSystem.isDirectory(mountpoint) else {
            throw VolumeError(.invalidParams, "mount path \(mountpoint) is not a directory", data: ["mount_path": mountpoint.string])
        }
        reserved.insert(mountpoint)
        return mountpoint
    }

    private func release(_ mountpoint: FilePath, finalVersion: VolumeDescriptor? = nil, owner: UInt32? = nil) {
        lock.withLock {
            live[mountpoint] = nil
            reserved.remove(mountpoint)
            let now = Date()
            finalized = finalized.filter { now.timeIntervalSince($0.value.at) < Self.finalizedKept }
            if let finalVersion { finalized[mountpoint] = (finalVersion, owner, now) }
        }
    }

    /// The version the last finalize of `path` published and the mount's owner, if that was
    /// within the hour and with `message`: the answer to a finalize retried after its first
    /// answer was lost.
    public func finalizedVersion(at path: FilePath, message: String?) -> (version: VolumeDescriptor, owner: UInt32?)? {
        lock.withLock {
            guard let (version, owner, at) = finalized[path.lexicallyNormalized()], Date().timeIntervalSince(at) < Self.finalizedKept,
                version.message == message
            else { return nil }
            return (version, owner)
        }
    }

    /// Private cache directories something still uses.
    var openPrivateCaches: [FilePath] { lock.withLock { privateCaches.filter { $0.value.cache != nil }.map(\.key) } }

    private func cache(for options: MountOptions) throws -> CacheDirectory {
        guard let directory = options.cacheDir else { return sharedCache }
        let path = FilePath(directory)
        return try lock.withLock { () throws -> CacheDirectory in
            if let cache = privateCaches[path]?.cache { return cache }
            let cache = try CacheDirectory(directory: path)
            privateCaches = privateCaches.filter { $0.value.cache != nil }
            privateCaches[path] = WeakCache(cache: cache)
            return cache
        }
    }

    static func randomID() -> String {
        (0..<12).map { _ in String(UInt8.random(in: 0..<16), radix: 16) }.joined()
    }
}
