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

/// One mounted volume: its FUSE mount, metadata store, chunk store and lifecycle.
///
/// Lifecycle operations (commit, fork, finalize, unmount) run one at a time; file system
/// traffic continues during a commit, which publishes the state at the instant of its
/// metadata snapshot.
public final class LiveVolume: @unchecked Sendable {
    public enum State: String, Codable, Sendable {
        case mounted, committing, unmounting, unmounted
    }

    public let id: String
    public let mountpoint: FilePath
    public let options: MountOptions
    /// The descriptor this mount was made from.
    public let source: VolumeDescriptor
    /// The slice domain this mount writes in; `nil` for read-only mounts.
    public let sliceDomain: UInt32?
    public let mountedAt: Date
    /// The uid that made the mount (`nil` for one recovered from a record that kept none).
    public let owner: UInt32?
    let directory: FilePath
    let bucket: VolumeBucket
    let metadata: LocalMetadata
    let chunks: ChunkStore
    /// The mounted namespace for in-process callers (tools, benchmarks) that skip the kernel.
    public let fileSystem: VolumeFileSystem
    let fuse: FuseMount
    /// This mount's object-store retries and settled outcomes.
    let storageEvents: StorageEvents
    /// Its lease in the bucket, which tells other daemons what it holds.
    /// Outlives the mount when the working copy is kept (`suspend`): the service renews it.
    let lease: LeaseKeeper
    private let actor: ActionRef
    /// Every slice domain this working copy has written in, this serve's included.
    private let writtenDomains: [UInt32]
    private let onUnmount: @Sendable (LiveVolume) -> Void
    private let operation = NSLock()
    private let lock = NSLock()
    private var currentState = State.mounted
    /// The last version this mount published in its linear history (or `source`): the
    /// parent of the next commit.
    private var head: VolumeDescriptor
    private var committedChanges: UInt64
    /// The version `finalize` published, once it has.
    private(set) var finalVersion: VolumeDescriptor?
    /// Stopped with its working copy kept for a later recovery.
    private(set) var suspended = false
    /// Index pieces the bucket holds already (those of the version this mount last fetched
    /// or published): the next commit uploads the others.
    private var knownPieces: Set<String>

    init(
        id: String, mountpoint: FilePath, options: MountOptions, source: VolumeDescriptor, sliceDomain: UInt32?, directory: FilePath,
        bucket: VolumeBucket, metadata: LocalMetadata, chunks: ChunkStore, fileSystem: VolumeFileSystem, fuse: FuseMount, storageEvents: StorageEvents,
        actor: ActionRef, owner: UInt32?, lease: LeaseKeeper, head: VolumeDescriptor, knownPieces: Set<String>, writtenDomains: [UInt32], assumeChanged: Bool,
        onUnmount: @escaping @Sendable (LiveVolume) -> Void
    ) {
        self.id = id
        self.mountpoint = mountpoint
        self.options = options
        self.source = source
        self.sliceDomain = sliceDomain
        self.directory = directory
        self.bucket = bucket
        self.metadata = metadata
        self.chunks = chunks
        self.fileSystem = fileSystem
        self.fuse = fuse
        self.storageEvents = storageEvents
        self.actor = actor
        self.owner = owner
        self.lease = lease
        self.writtenDomains = writtenDomains
        self.knownPieces = knownPieces
        self.onUnmount = onUnmount
        mountedAt = Date()
        self.head = head
        // A resumed working copy may hold changes nobody committed: count it as changed.
        committedChanges = assumeChanged ? UInt64.max : metadata.engine.changeCount
    }

    public var state: State { lock.withLock { currentState } }
    public var isWritable: Bool { !options.readOnly && source.access == .rw }
    /// The version the next commit follows.
    public var lastVersion: VolumeDescriptor { lock.withLock { head } }
    public var statistics: ChunkStoreStatistics { chunks.statistics }
    public var openHandles: Int { fileSystem.openHandles }

    /// The mount as `volumectl status` shows it.
    public var status: MountStatus {
        let statistics = chunks.statistics
        let state: MountStatus.State =
            switch self.state {
            case .mounted: .mounted
            case .committing: .committing
            case .unmounting: .unmounting
            case .unmounted: .unmounted
            }
        return MountStatus(
            mountPath: mountpoint.string, mountID: id, volume: source.name, ownerUID: owner, mode: isWritable ? .rw : .ro, state: state,
            metadataStoreType: source.metadataStoreType, sliceDomain: sliceDomain, lastVersion: lastVersion.producedBy?.locator,
            stagedBlocks: statistics.stagedBlocks, stagedBytes: statistics.stagedBytes, uploadsInFlight: statistics.uploadsInFlight,
            uploadedBytes: statistics.uploadedBytes, uploadedBlocks: Int64(statistics.uploadedBlocks), cacheHits: Int64(statistics.cacheHits),
            cacheMisses: Int64(statistics.cacheMisses), uploadErrors: Int64(statistics.uploadErrors), downloadErrors: Int64(statistics.downloadErrors),
            uploadBytesPerSecond: statistics.uploadRate, cacheBytes: statistics.cacheBytes,
            cacheBudgetBytes: statistics.cacheBudget, openHandles: openHandles, mountedAt: mountedAt.formatted(.iso8601),
            storageRetries: storageEvents.retries, resolvedOutcomes: storageEvents.resolvedOutcomes)
    }

    /// The data path's figures as `name value` lines, for the mount's `.stats` file.
    static func statisticsLines(_ statistics: ChunkStoreStatistics, _ events: StorageEvents) -> [String] {
        [
            "volumed_mount_staged_blocks \(statistics.stagedBlocks)", "volumed_mount_staged_bytes \(statistics.stagedBytes)",
            "volumed_mount_uploads_in_flight \(statistics.uploadsInFlight)", "volumed_mount_uploaded_blocks_total \(statistics.uploadedBlocks)",
            "volumed_mount_uploaded_bytes_total \(statistics.uploadedBytes)", "volumed_mount_cache_bytes \(statistics.cacheBytes)",
            "volumed_mount_cache_budget_bytes \(statistics.cacheBudget)", "volumed_mount_cache_hits_total \(statistics.cacheHits)",
            "volumed_mount_cache_misses_total \(statistics.cacheMisses)", "volumed_mount_object_gets_total \(statistics.objectGets)",
            "volumed_mount_upload_errors_total \(statistics.uploadErrors)", "volumed_mount_download_errors_total \(statistics.downloadErrors)",
            "volumed_mount_storage_retries_total \(events.retries)", "volumed_mount_resolved_outcomes_total \(events.resolvedOutcomes)",
        ]
    }

    /// Whether the namespace changed since the mount or the last commit (pending writes
    /// are flushed first so they count).
    public var hasUncommittedChanges: Bool {
        guard isWritable else { return false }
        try? fileSystem.flushAll()
        return lock.withLock { committedChanges } != metadata.engine.changeCount
    }

    // MARK: - Publishing

    /// Publishes the current state as the next version of this line; the mount stays live
    /// and writable.
    public func commit(message: String?, actor caller: ActionRef? = nil, progress: (VolumeProgress) -> Void = { _ in }) throws(VolumeError) -> VolumeDescriptor {
        try exclusively { () throws(VolumeError) -> VolumeDescriptor in try commitLocked(message: message, actor: caller, progress: progress) }
    }

    /// Commits, then unmounts; writes are refused from the start so that the version holds
    /// everything the volume ever got.
    public func finalize(message: String?, actor caller: ActionRef? = nil, progress: (VolumeProgress) -> Void = { _ in }) throws(VolumeError) -> VolumeDescriptor {
        try exclusively { () throws(VolumeError) -> VolumeDescriptor in
            try requireWritable("finalize")
            fileSystem.readOnly = true
            let version: VolumeDescriptor
            do throws(VolumeError) {
                version = try commitLocked(message: message, actor: caller, progress: progress)
            } catch {
                fileSystem.readOnly = false
                throw error
            }
            lock.withLock { finalVersion = version }
            try tearDown(abandon: false)
            return version
        }
    }

    /// Branches the current state: `rw` gives a new writable line, `ro` a sibling version.
    /// This mount stays live and is not part of the branch.
    public func fork(name: String, as access: VolumeDescriptor.Access, actor caller: ActionRef? = nil, progress: (VolumeProgress) -> Void = { _ in })
        throws(VolumeError) -> VolumeDescriptor
    {
        try VolumeName.validate(name)
        return try exclusively { () throws(VolumeError) -> VolumeDescriptor in
            guard isWritable else {
                // Nothing changes on a read-only mount: fork the version it shows.
                return try bucket.branch(lastVersion, name: name, as: access, actor: caller ?? actor)
            }
            let (version, _) = try publishSnapshot(by: caller ?? actor, progress: progress) { (base) in
                base.name = name
                base.access = access
                base.message = nil
            }
            return version
        }
    }

    // MARK: - Unmounting

    /// Unmounts without publishing. Uncommitted changes are refused unless `abandon`, which
    /// discards them together with their unuploaded blocks; committed versions are never
    /// touched either way.
    public func unmount(abandon: Bool) throws(VolumeError) {
        try exclusively { () throws(VolumeError) in
            if !abandon, hasUncommittedChanges {
                throw VolumeError(
                    .uncommittedChanges,
                    "\(mountpoint) has changes since its last commit; commit or finalize them, or unmount with abandon to discard them",
                    data: ["mount_path": mountpoint.string])
            }
            try tearDown(abandon: abandon)
        }
    }

    /// Stops serving but keeps the working copy (metadata and every block made durable),
    /// for a daemon that is shutting down: its next start offers the mount for recovery.
    public func suspend() throws(VolumeError) {
        try exclusively { () throws(VolumeError) in
            try stopServing()
            lock.withLock { suspended = true }
            let drained = Result { () throws in try chunks.drain(deadline: options.timeoutDuration) }
            chunks.close()
            let saved = Result { () throws(VolumeError) in try metadata.close() }
            setState(.unmounted)
            onUnmount(self)
            try saved.get()
            if case .failure(let error) = drained {
                throw VolumeError(.drainFailed, "\(mountpoint): some blocks stay staged in the cache (\(error)); recovering the mount uploads them")
            }
        }
    }

    var record: MountRecord {
        MountRecord(
            id: id, mountPath: mountpoint.string, options: options, source: source, head: lastVersion, actor: actor, owner: owner,
            sliceDomains: writtenDomains)
    }

    // MARK: - Internals

    private func exclusively<Result>(_ body: () throws(VolumeError) -> Result) throws(VolumeError) -> Result {
        operation.lock()
        defer { operation.unlock() }
        guard state == .mounted else {
            throw VolumeError(.notMounted, "\(mountpoint) is no longer mounted", data: ["mount_path": mountpoint.string])
        }
        return try body()
    }

    private func requireWritable(_ what: String) throws(VolumeError) {
        guard isWritable else {
            throw VolumeError(
                .notWritable, "cannot \(what) \(mountpoint): it is mounted read-only; fork the version to get a writable branch",
                data: ["mount_path": mountpoint.string])
        }
    }

    private func commitLocked(message: String?, actor caller: ActionRef?, progress: (VolumeProgress) -> Void) throws(VolumeError) -> VolumeDescriptor {
        try requireWritable("commit")
        // A commit sent again because its answer was lost (nothing changed since, the same
        // message) gets the version the first one published, not a second copy of it.
        let last = lastVersion
        if last.producedBy?.locator != source.producedBy?.locator, last.message == message, !hasUncommittedChanges { return last }
        let (version, summary) = try publishSnapshot(by: caller ?? actor, progress: progress) { (base) in
            base.message = message
            base.access = .ro
        }
        lock.withLock {
            head = version
            committedChanges = summary.changeCount
        }
        lease.rebase(on: version.producedBy?.locator)
        try? record.save(in: directory)
        return version
    }

    /// Flush, snapshot, drain, publish, as `actor`'s work. `shape` turns the head into the
    /// new descriptor.
    private func publishSnapshot(by actor: ActionRef, progress: (VolumeProgress) -> Void, shape: (inout VolumeDescriptor) -> Void) throws(VolumeError) -> (
        VolumeDescriptor, SnapshotSummary
    ) {
        setState(.committing)
        defer { setState(.mounted) }
        progress(VolumeProgress(phase: "flush"))
        do {
            try fileSystem.flushAll()
        } catch {
            throw VolumeError(.drainFailed, "flushing open files of \(mountpoint) failed: \(error); nothing was published")
        }
        progress(VolumeProgress(phase: "snapshot"))
        let snapshot: IndexSnapshot
        let summary: SnapshotSummary
        do {
            (snapshot, summary) = try metadata.engine.takeSnapshot(scratchFile: directory.appending("snapshot.\(source.metadataStoreType.indexExtension)"))
        } catch {
            throw VolumeError(error, while: "taking a metadata snapshot of \(mountpoint)")
        }
        defer { snapshot.release() }
        do {
            var total: Int64?
            try chunks.drain(deadline: options.timeoutDuration) { _, bytes in
                let all = total ?? bytes
                total = all
                progress(VolumeProgress(phase: "drain", done: all - bytes, total: all, unit: "bytes"))
            }
        } catch {
            throw VolumeError(
                .drainFailed, "the blocks of \(mountpoint) could not all be uploaded (\(error)); nothing was published and the mount keeps them staged",
                data: ["mount_path": mountpoint.string])
        }
        var version = source
        version.usedBytes = summary.usedBytes
        version.inodeCount = summary.inodes
        shape(&version)
        try lease.confirm()
        let locator = try bucket.stamp(&version, asChildOf: lastVersion, by: actor)
        let (published, manifest) = try bucket.publish(
            version, index: snapshot, at: locator, known: lock.withLock { knownPieces }, progress: progress)
        lock.withLock { knownPieces = Set(manifest.pieces.map(\.sha256)) }
        return (published, summary)
    }

    private func setState(_ state: State) {
        lock.withLock { currentState = state }
    }

    /// Detaches the FUSE mount; a mount that cannot be detached yet stays mounted (`busy`).
    private func stopServing() throws(VolumeError) {
        setState(.unmounting)
        do {
            try fuse.unmount(timeout: .seconds(Int64(min(options.timeout, 60))))
        } catch {
            setState(.mounted)
            throw VolumeError(.busy, "\(mountpoint) could not be unmounted: \(error)", data: ["mount_path": mountpoint.string])
        }
    }

    private func tearDown(abandon: Bool) throws(VolumeError) {
        try stopServing()
        lease.end()
        if abandon {
            chunks.abandonPendingUploads()
        } else {
            try? chunks.drain(deadline: options.timeoutDuration)
        }
        chunks.close()
        try? metadata.discard()
        try? metadata.close()
        try? FileSystem.removeTree(directory)
        setState(.unmounted)
        onUnmount(self)
    }
}
