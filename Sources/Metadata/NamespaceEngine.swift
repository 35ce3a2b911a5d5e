import Foundation
import SQLite
import StorageFormat
import SystemPackage

/// The `MetaEngine` of every volume: POSIX namespace rules over a `MetaStore` (SQLite or
/// Redis), in JuiceFS 1.x format.
///
/// One lock serialises the engine: the live store has a single writer by design, SQLite
/// wants one anyway, and a Redis store then only has to guard against foreign clients.
public final class NamespaceEngine: MetaEngine, @unchecked Sendable {
    let store: any MetaStore
    let lock = NSLock()
    private var inodes = IDRange()
    private var slices = SliceAllocator()
    var openCounts: [Ino: Int] = [:]
    /// Open inodes that lost their last name: only these can need removing at their last
    /// close (a rolled-back unlink may leave one here; its close then finds its names).
    var sustainedOpen: Set<Ino> = []
    /// Mutating transactions attempted so far (a failed one counts too: the count may
    /// overstate change, never miss it).
    var changes: UInt64 = 0
    private var sessionID: Int64?
    private let persistWindow: Duration
    private var persistScheduled = false
    private var capacity: UInt64 = 0
    private var inodeLimit: UInt64 = 0

    init(store: any MetaStore, persistWindow: Duration = .zero) {
        self.store = store
        self.persistWindow = persistWindow
    }

    /// Opens the store a metadata URL names (see `MetaLocation`). With `persistWithin`, a
    /// SQLite store commits writes in groups (a mount's live store, where a commit would
    /// otherwise cost more than the change it ends): a group is persisted on `persist`
    /// (fsync) and `snapshot`, and at most `persistWithin` after its first write, so a crash
    /// of the process loses no more than that window of namespace changes. Without it every
    /// write commits alone.
    public static func open(_ location: MetaLocation, persistWithin window: Duration? = nil) throws(MetaError) -> NamespaceEngine {
        switch location {
        case .sqlite(let path): NamespaceEngine(store: try SQLiteMetaStore(path: path, groupWrites: window != nil), persistWindow: window ?? .zero)
        case .redis(let address): NamespaceEngine(store: try RedisMetaStore(address), persistWindow: .zero)
        }
    }

    /// An engine over a database of a Redis server that is not the mount's own (a team's
    /// `redis://`): its snapshots copy the keys into a private server started in `scratch`.
    public static func open(externalRedis address: RedisAddress, scratch: FilePath, redisExecutable: String) throws(MetaError) -> NamespaceEngine {
        NamespaceEngine(store: try RedisMetaStore(address, snapshotScratch: (scratch, redisExecutable)))
    }

    /// Fills this empty Redis namespace with every key of `address` (an index loaded into a
    /// private server, say); an engine over SQLite refuses.
    public func copyRedisDatabase(from address: RedisAddress) throws(MetaError) {
        guard let target = store as? RedisMetaStore else { throw MetaError(.notSupported, "only a Redis namespace is filled from a Redis database") }
        try locked { () throws(MetaError) in
            guard try target.isEmpty() else { throw MetaError(.directoryNotEmpty, "\(target.location) already holds keys") }
            try RedisKeyCopier.copy(from: try RedisMetaStore(address), to: target)
        }
    }

    /// Whether the store holds nothing at all (not even a format).
    public func storeIsEmpty() throws(MetaError) -> Bool {
        try locked { () throws(MetaError) -> Bool in try store.isEmpty() }
    }

    /// Deletes every key of this Redis namespace's database: an external database gives back
    /// what it held once the working copy is published or abandoned.
    public func emptyRedisDatabase() throws(MetaError) {
        guard let target = store as? RedisMetaStore else { return }
        try locked { () throws(MetaError) in try target.flush() }
    }

    /// An engine over a committed SQLite database that `source` holds, read in place: only
    /// the pages a call touches are read, and every write is refused.
    public static func open(readingFrom source: any ByteSource, shownAs name: String) throws(MetaError) -> NamespaceEngine {
        NamespaceEngine(store: try SQLiteMetaStore(readingFrom: source, shownAs: name), persistWindow: .zero)
    }

    /// An engine over a committed Redis namespace, the key-ordered RDB `source` holds with
    /// the key fence of each of its pieces, read in place: a call reads the records of the
    /// keys it needs, and every write is refused.
    public static func open(readingRDBFrom source: any ByteSource, fences: [KeyFence?], shownAs name: String) throws(MetaError) -> NamespaceEngine {
        NamespaceEngine(store: try RDBMetaStore(readingFrom: source, fences: fences, shownAs: name), persistWindow: .zero)
    }

    /// The window a mount's live store persists its grouped writes within.
    public static let mountPersistWindow: Duration = .milliseconds(10)

    // MARK: - Format

    public func format(_ format: VolumeFormat) throws(MetaError) {
        try format.checkSupported()
        try locked { () throws(MetaError) in
            let now = Timestamp.now()
            var nodes = [(Ino.root, Attr(type: .directory, mode: 0o777, uid: 0, gid: 0, time: now, nlink: 2, length: 4096, parent: .root))]
            if format.trashDays > 0 {
                nodes.append((.trash, Attr(type: .directory, mode: 0o555, uid: 0, gid: 0, time: now, nlink: 2, length: 4096, parent: .root)))
            }
            try store.create(format: format.encoded(), nodes: nodes)
            capacity = format.capacity ?? 0
            inodeLimit = format.inodes ?? 0
        }
    }

    public func loadFormat() throws(MetaError) -> VolumeFormat {
        try locked { () throws(MetaError) -> VolumeFormat in
            guard let json = try store.formatJSON() else {
                throw MetaError(.noSuchFileOrDirectory, "the store at \(store.location) is not formatted")
            }
            let format = try VolumeFormat.decode(json)
            try format.checkSupported()
            capacity = format.capacity ?? 0
            inodeLimit = format.inodes ?? 0
            return format
        }
    }

    // MARK: - Attributes

    public func lookup(parent: Ino, name: [UInt8]) throws(MetaError) -> (Ino, Attr) {
        try NameRules.validate(name)
        return try read { (tx) throws(MetaError) -> (Ino, Attr) in
            guard let found = try tx.lookup(parent, name) else {
                _ = try tx.requireDirectory(parent)
                throw MetaError(.noSuchFileOrDirectory)
            }
            return found
        }
    }

    public func getattr(_ inode: Ino) throws(MetaError) -> Attr {
        try read { (tx) throws(MetaError) -> Attr in try tx.requireNode(inode) }
    }

    public func setattr(_ inode: Ino, _ changes: AttrChanges) throws(MetaError) -> Attr {
        try write(checkedFirst: true) { (tx) throws(MetaError) -> Attr in
            var attr = try tx.requireNode(inode)
            let now = Timestamp.now()
            if let mode = changes.mode { attr.mode = mode & 0o7777 }
            if let uid = changes.uid { attr.uid = uid }
            if let gid = changes.gid { attr.gid = gid }
            if changes.clearsSetID, attr.type != .directory { attr.mode = attr.modeClearingSetID }
            if let size = changes.size {
                guard attr.type == .regular else {
                    throw MetaError(attr.type == .directory ? .isDirectory : .invalidArgument, "only regular files have a settable size")
                }
                try truncate(tx, inode, &attr, to: size)
                attr.mtime = now
            }
            switch changes.atime {
            case .now: attr.atime = now
            case .set(let time): attr.atime = time
            case nil: break
            }
            switch changes.mtime {
            case .now: attr.mtime = now
            case .set(let time): attr.mtime = time
            case nil: break
            }
            attr.ctime = now
            try tx.updateNode(inode, attr)
            return attr
        }
    }

    public func statfs() throws(MetaError) -> FilesystemStatistics {
        try locked { () throws(MetaError) -> FilesystemStatistics in
            let used = UInt64(max(0, try store.counter("usedSpace")))
            let inodes = UInt64(max(0, try store.counter("totalInodes")))
            let total = capacity > 0 ? capacity : 1 << 50
            let inodeTotal = inodeLimit > 0 ? inodeLimit : 10_000_000_000
            return FilesystemStatistics(
                totalSpace: max(total, used), availableSpace: total > used ? total - used : 0, usedInodes: inodes,
                availableInodes: inodeTotal > inodes ? inodeTotal - inodes : 0)
        }
    }

    /// Grows with every change to the namespace: equal counts mean nothing changed between them.
    public var changeCount: UInt64 { locked { changes } }

    public func takeSnapshot(scratchFile: FilePath) throws(MetaError) -> (IndexSnapshot, SnapshotSummary) {
        try locked { () throws(MetaError) -> (IndexSnapshot, SnapshotSummary) in
            let summary = SnapshotSummary(
                changeCount: changes, usedBytes: max(0, try store.counter("usedSpace")), inodes: max(0, try store.counter("totalInodes")))
            return (try store.snapshot(scratchFile: scratchFile), summary)
        }
    }

    // MARK: - Id allocation

    /// A new inode number, from a batch reserved in its own transaction so that a rolled-back
    /// operation never leaves `nextInode` behind an id in use. Call with the lock held.
    func allocateInode() throws(MetaError) -> Ino {
        if let inode = inodes.take() { return Ino(inode) }
        inodes.reset(try store.reserve(.inode, count: ChunkGeometry.inodeBatch))
        return Ino(inodes.take()!)
    }

    public func newSliceID() throws(MetaError) -> SliceID {
        try locked { () throws(MetaError) -> SliceID in
            if let id = slices.range.take() { return SliceID(id) }
            if let batch = slices.nextDomainBatch() {
                // Keep juicefs's invariant that nextChunk exceeds every id in use.
                try store.raiseNextChunk(to: batch.upperBound)
                slices.range.reset(batch)
            } else {
                slices.range.reset(try store.reserve(.chunk, count: ChunkGeometry.sliceBatch))
            }
            return SliceID(slices.range.take()!)
        }
    }

    public func useSliceDomain(_ domain: UInt32) throws(MetaError) {
        guard domain >= 1, domain < 1 << 31 else { throw MetaError(.invalidArgument, "slice domains are 1 ≤ n < 2^31") }
        locked { slices.enter(domain: domain) }
    }

    /// Set, not raised: a domain below the counter's present one is as fresh, and a counter
    /// left in an earlier writer's domain would hand out ids that writer may still use.
    public func pointSliceCounter(atDomain domain: UInt32) throws(MetaError) {
        guard domain >= 1, domain < 1 << 31 else { throw MetaError(.invalidArgument, "slice domains are 1 ≤ n < 2^31") }
        try locked { () throws(MetaError) in try store.setCounters(["nextChunk": Int64(domain) << 32]) }
    }

    /// This engine's session id, registered on first need (for open-but-unlinked inodes).
    func session() throws(MetaError) -> Int64 {
        if let sessionID { return sessionID }
        let id = try store.registerSession()
        sessionID = id
        return id
    }

    // MARK: - Open files

    public func open(_ inode: Ino) throws(MetaError) {
        try locked { () throws(MetaError) in
            _ = try store.read { (tx) throws(MetaError) in try tx.requireNode(inode) }
            openCounts[inode, default: 0] += 1
        }
    }

    /// The last close of an inode removes it if it lost its last name meanwhile. It does
    /// not persist the group: like a local file system, only fsync(2) promises that much,
    /// and a small file's close would otherwise cost a COMMIT.
    public func close(_ inode: Ino) throws(MetaError) {
        try locked { () throws(MetaError) in
            guard let count = openCounts[inode] else { return }
            if count > 1 {
                openCounts[inode] = count - 1
                return
            }
            openCounts[inode] = nil
            guard sustainedOpen.remove(inode) != nil else { return }
            if let attr = try store.read({ (tx) throws(MetaError) in try tx.node(inode) }), attr.nlink == 0 {
                try grouped { (tx) throws(MetaError) in try removeInode(tx, inode, attr) }
            }
        }
    }

    public func persist() throws(MetaError) {
        try locked { () throws(MetaError) in try store.persist() }
    }

    // MARK: - Locking

    func locked<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// One write transaction under the lock. With files open, the session that may have to
    /// sustain an unlinked one is registered first, outside the transaction that uses it.
    /// `checkedFirst`: `body` makes all its checks before its first change (see
    /// `MetaStore.writeCheckedFirst`).
    func write<Result>(checkedFirst: Bool = false, _ body: (any MetaTransaction) throws(MetaError) -> Result) throws(MetaError) -> Result {
        try locked { () throws(MetaError) -> Result in
            changes &+= 1
            if !openCounts.isEmpty { _ = try session() }
            return try grouped(checkedFirst: checkedFirst, body)
        }
    }

    /// A store write whose group is persisted within the window. Call with the lock held.
    func grouped<Result>(checkedFirst: Bool = false, _ body: (any MetaTransaction) throws(MetaError) -> Result) throws(MetaError) -> Result {
        defer { schedulePersist() }
        return checkedFirst ? try store.writeCheckedFirst(body) : try store.write(body)
    }

    private func schedulePersist() {
        guard store.hasUnpersistedWrites, !persistScheduled else { return }
        persistScheduled = true
        let delay = DispatchTimeInterval.nanoseconds(Int(persistWindow / .nanoseconds(1)))
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { [weak self] in
            guard let self else { return }
            // A failure is kept by the store and fails the next write and snapshot.
            locked {
                persistScheduled = false
                try? store.persist()
            }
        }
    }

    func read<Result>(_ body: (any MetaTransaction) throws(MetaError) -> Result) throws(MetaError) -> Result {
        try locked { () throws(MetaError) -> Result in try store.read(body) }
    }
}
