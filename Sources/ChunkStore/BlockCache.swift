import Foundation
import SystemBridge
import SystemPackage

/// The daemon-wide block cache: a directory with a byte budget plus a small memory tier.
///
/// Blocks are immutable, so one cached block serves every volume of its bucket, forks
/// included. Each bucket gets its own `space` below the directory. Cached blocks are
/// evicted least-recently-used first; staged blocks (written, not yet uploaded) live in
/// `staging/`, count against the budget and are never evicted. Every file carries a
/// checksum: a torn or corrupted one is dropped and refetched, never served. A file is
/// verified whole once per process (or written by it); later partial reads of it read
/// only the bytes asked for. Blocks of up to `loggedBlockLimit` bytes (small files) are
/// records in their space's `BlockLog` instead, staged and cached alike.
public final class BlockCache: @unchecked Sendable {
    public struct Key: Hashable, Sendable {
        /// Which bucket (and prefix) the block belongs to.
        public let space: String
        public let block: BlockKey

        public init(space: String, block: BlockKey) {
            self.space = space
            self.block = block
        }
    }

    public let directory: FilePath
    public let budget: Int64
    private let memoryBudget: Int64
    private let streams: DescriptorBudget
    private let lock = NSLock()
    private var entries: [Key: (size: Int64, tick: UInt64)] = [:]
    private var memory: [Key: (data: Data, tick: UInt64)] = [:]
    private var memoryBytes: Int64 = 0
    /// Files whose checksum this process has checked (or computed when writing them).
    private var verified: Set<Key> = []
    /// Staged files written but not yet fsynced (`syncStaged` makes them durable).
    private var unsynced: Set<Key> = []
    private var diskBytes: Int64 = 0
    private var stagedBytes: Int64 = 0
    private var logs: [String: BlockLog] = [:]
    /// Where each logged block's record is, and which of those are staged.
    private var logged: [Key: BlockLog.Location] = [:]
    private var loggedStaged: Set<Key> = []
    static let loggedBlockLimit = 128 << 10
    private var tick: UInt64 = 0
    /// Directories known to exist, so hot paths skip creating them.
    private var madeDirectories: Set<String> = []
    private(set) var hits = 0
    private(set) var misses = 0
    /// Large blocks inserted and waiting for `writer` to put them on disk, and their bytes.
    private var unwritten: [Key: Data] = [:]
    private var unwrittenBytes: Int64 = 0
    private let unwrittenLimit: Int64
    private let writer = WorkerPool(name: "volumed-cache-write", limit: 1, background: true)
    /// Signalled whenever the background writer finishes a block.
    private let writeFinished = NSCondition()
    /// Block files read in part, kept open for their next read (4 GiB of 4 MiB blocks, fewer
    /// under a low descriptor limit).
    private let openFiles = OpenFiles<Key>(capacity: min(1024, Int(min(DescriptorLimit.current, 1 << 20)) / 64))

    /// Opens (creating) the cache; `budget` nil sizes it from free space: half of what the
    /// file system has free, at least 1 GiB.
    public convenience init(directory: FilePath, budget: Int64? = nil, memoryBudget: Int64 = 64 << 20) throws(Errno) {
        try self.init(directory: directory, budget: budget, memoryBudget: memoryBudget, streams: .streaming)
    }

    /// `streams` bounds the staged files streaming writers hold open (the daemon-wide budget
    /// unless a test gives its own); `unwrittenLimit` the bytes of inserted blocks waiting
    /// for the disk (see `insert`).
    init(directory: FilePath, budget: Int64?, memoryBudget: Int64, streams: DescriptorBudget, unwrittenLimit: Int64 = 32 << 20) throws(Errno) {
        self.directory = directory
        self.streams = streams
        self.unwrittenLimit = unwrittenLimit
        try FileSystem.createDirectories(directory)
        let free = (try? FileSystem.freeSpace(directory)) ?? 0
        self.budget = budget ?? max(1 << 30, free / 2)
        self.memoryBudget = memoryBudget
        try scan()
    }

    /// A short, stable directory name for a bucket location.
    public static func space(for location: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in location.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16)
    }

    // MARK: - Cached blocks

    /// The block from memory or disk, verified; `nil` on a miss.
    public func lookup(_ key: Key) -> Data? {
        if let data = lock.withLock({ heldInMemory(key) }) { return data }
        let indexed = lock.withLock { entries[key] != nil }
        if let data = readWhole(key) {
            lock.withLock {
                hits += 1
                touch(key)
                verified.insert(key)
            }
            remember(key, data)
            return data
        }
        // Torn only if the index held the block before the read and still does: one whose
        // insert finished during the read (its file renamed into place after the read found
        // none) is whole, and dropping it sent the next reader back to the bucket.
        let torn = lock.withLock { () -> Bool in
            misses += 1
            return indexed && entries[key] != nil
        }
        if torn { drop(key) }
        return nil
    }

    /// Bytes `range` of the block: from memory, else read alone from a file verified
    /// before, else through a whole verified `lookup`; `nil` on a miss. A block in memory
    /// answers with a slice of itself, indexed from `range.lowerBound`.
    public func lookup(_ key: Key, range: Range<Int>) -> Data? {
        let (inMemory, checked) = lock.withLock { () -> (Data?, Bool) in
            guard let hit = heldInMemory(key) else { return (nil, verified.contains(key)) }
            return (hit, true)
        }
        if let inMemory { return inMemory[range] }
        if checked {
            if let bytes = readPart(key, range) {
                lock.withLock {
                    hits += 1
                    touch(key)
                }
                return bytes
            }
            _ = lock.withLock { verified.remove(key) }
        }
        return lookup(key)?[range]
    }

    /// Whether the block is in memory or on disk, without reading it.
    public func contains(_ key: Key) -> Bool {
        lock.withLock { memory[key] != nil || unwritten[key] != nil || entries[key] != nil || logged[key] != nil || verified.contains(key) }
    }

    /// Starts reading a cached block file into the page cache (read-ahead of a block that
    /// needs no GET); a block in memory or in the log needs nothing.
    public func warm(_ key: Key) {
        guard lock.withLock({ memory[key] == nil && logged[key] == nil && entries[key] != nil }),
            let descriptor = try? FileDescriptor.open(cachePath(key), .readOnly)
        else { return }
        descriptor.adviseWillNeed()
        try? descriptor.close()
    }

    /// Keeps a fetched block, evicting older blocks past the budget. A block too large for
    /// the log is served from memory at once and written by a background thread past the
    /// page cache: neither the read that fetched it nor the CPU pays for a copy into pages
    /// nobody reads. When `unwrittenLimit` already waits (a disk slower than the network),
    /// the caller writes the block itself into the page cache, which absorbs it as it did
    /// before: a read is not held to the disk's speed, and no fetched block goes uncached.
    public func insert(_ key: Key, _ data: Data) {
        remember(key, data)
        guard data.count > Self.loggedBlockLimit else { return record(key, data, bypassingPageCache: false) }
        let queued = lock.withLock { () -> Bool? in
            guard unwritten[key] == nil else { return nil }
            guard unwrittenBytes + Int64(data.count) <= unwrittenLimit else { return false }
            unwritten[key] = data
            unwrittenBytes += Int64(data.count)
            return true
        }
        switch queued {
        case true?: writer.submit { [self] in writeQueued(key, data) }
        case false?: record(key, data, bypassingPageCache: false)
        case nil: break  // on its way already
        }
    }

    private func writeQueued(_ key: Key, _ data: Data) {
        if lock.withLock({ unwritten[key] != nil }) { record(key, data, bypassingPageCache: true) }
        lock.withLock {
            if unwritten.removeValue(forKey: key) != nil { unwrittenBytes -= Int64(data.count) }
        }
        writeFinished.withLock { writeFinished.broadcast() }
    }

    /// Waits until every block inserted so far is on disk.
    public func finishWrites() {
        writeFinished.withLock {
            while lock.withLock({ !unwritten.isEmpty }) { writeFinished.wait() }
        }
    }

    /// Puts a block on disk, a record of its space's log if small, and indexes it.
    private func record(_ key: Key, _ data: Data, bypassingPageCache: Bool) {
        do {
            if data.count <= Self.loggedBlockLimit {
                let log = try log(key.space)
                let location = try log.append(key.block, data, state: .cached)
                if let replaced = lock.withLock({ logged.updateValue(location, forKey: key) }) { log.release(replaced) }
            } else {
                try ensureDirectory(cacheDirectory(key))
                try BlockFile.write(data, to: cachePath(key), durable: false, bypassingPageCache: bypassingPageCache)
            }
        } catch {
            return  // a cache that cannot write is only slower
        }
        lock.withLock {
            if entries[key] == nil, data.count > Self.loggedBlockLimit { diskBytes += Int64(data.count) }
            tick += 1
            entries[key] = (Int64(data.count), tick)
            verified.insert(key)
        }
        evictIfNeeded()
    }

    /// Forgets a block everywhere (a torn file, or a block found corrupt).
    public func drop(_ key: Key) {
        lock.withLock {
            if let entry = entries.removeValue(forKey: key), logged[key] == nil { diskBytes -= entry.size }
            if let cached = memory.removeValue(forKey: key) { memoryBytes -= Int64(cached.data.count) }
            if let queued = unwritten.removeValue(forKey: key) { unwrittenBytes -= Int64(queued.count) }
            verified.remove(key)
            if !loggedStaged.contains(key), let location = logged.removeValue(forKey: key) { logs[key.space]?.release(location) }
        }
        openFiles.forget(key)
        try? FileSystem.unlink(cachePath(key))
    }

    // MARK: - Staging

    /// Writes a block to the staging area, from where it is uploaded. Like a local file
    /// system's page cache, it reaches stable storage at `syncStaged` (fsync(2) of a file,
    /// a commit's drain uploads it anyway); a process crash loses nothing.
    public func stage(_ key: Key, _ data: Data) throws(Errno) {
        if data.count <= Self.loggedBlockLimit {
            let location = try log(key.space).append(key.block, data, state: .staged)
            lock.withLock {
                logged[key] = location
                loggedStaged.insert(key)
                verified.insert(key)
            }
        } else {
            try ensureDirectory(stagingDirectory(key.space))
            let file = try BlockFileWriter(directory: stagingDirectory(key.space), stem: key.block.name)
            try file.append(data)
            try finishStaging(key, file)
        }
        remember(key, data)
    }

    /// Starts the staged file of a block too large for the log, to be written piece by
    /// piece and put in place by `finishStaging`: a streaming writer's blocks then never
    /// wait in memory. `nil` when the streaming writers' descriptor budget is spent.
    func beginStaging(in space: String, stem: String) throws(Errno) -> BlockFileWriter? {
        let directory = stagingDirectory(space)
        try ensureDirectory(directory)
        guard streams.take() else { return nil }
        return try BlockFileWriter(directory: directory, stem: stem, budget: streams)
    }

    /// Puts a block written through `beginStaging` in the staging area, from where it is
    /// uploaded; durable at `syncStaged`, like `stage`.
    func finishStaging(_ key: Key, _ file: BlockFileWriter) throws(Errno) {
        guard file.count == key.block.size else { throw .invalidArgument }
        try file.finish(at: stagingPath(key), durable: false)
        lock.withLock {
            stagedBytes += Int64(key.block.size)
            verified.insert(key)
            unsynced.insert(key)
        }
    }

    /// Makes every block staged so far durable on local disk: the files, then their
    /// directories (so the renames that put them in place survive a power loss too).
    /// Blocks uploaded meanwhile are durable in the object store already.
    public func syncStaged() throws(Errno) {
        let pending = lock.withLock { () -> Set<Key> in
            defer { unsynced.removeAll() }
            return unsynced
        }
        var spaces: Set<String> = []
        do {
            for key in pending where try BlockFile.sync(stagingPath(key)) { spaces.insert(key.space) }
            for space in spaces { _ = try BlockFile.sync(FilePath(stagingDirectory(space))) }
            for log in lock.withLock({ Array(logs.values) }) { try log.sync() }
        } catch {
            lock.withLock { unsynced.formUnion(pending) }
            throw error
        }
    }

    /// The block if the memory tier holds it (no disk read, no hit counted).
    func memoryCopy(_ key: Key) -> Data? {
        lock.withLock { memory[key]?.data }
    }

    /// A staged block's bytes, verified.
    public func stagedData(_ key: Key) -> Data? {
        if let (log, location) = logRecord(key) { return log.read(location, key.block) }
        return BlockFile.read(stagingPath(key), expectedSize: key.block.size)
    }

    /// The block is durable in the object store: it becomes an ordinary cached block.
    public func promote(_ key: Key) {
        if let (log, location) = logRecord(key) {
            log.mark(location, .cached)
            lock.withLock {
                loggedStaged.remove(key)
                tick += 1
                entries[key] = (Int64(key.block.size), tick)
            }
            evictIfNeeded()
            return
        }
        let source = stagingPath(key)
        let target = cachePath(key)
        do {
            try ensureDirectory(cacheDirectory(key))
            try FileSystem.rename(source, to: target)
            lock.withLock {
                stagedBytes -= Int64(key.block.size)
                unsynced.remove(key)
                if entries[key] == nil { diskBytes += Int64(key.block.size) }
                tick += 1
                entries[key] = (Int64(key.block.size), tick)
            }
            evictIfNeeded()
        } catch {
            discardStaged(key)
        }
    }

    /// Removes a staged block that will never be uploaded.
    public func discardStaged(_ key: Key) {
        let record = lock.withLock { () -> (BlockLog, BlockLog.Location)? in
            guard loggedStaged.remove(key) != nil, let location = logged.removeValue(forKey: key), let log = logs[key.space] else { return nil }
            return (log, location)
        }
        if let (log, location) = record {
            log.mark(location, .discarded)
            log.release(location)
        } else {
            openFiles.forget(key)
            if (try? FileSystem.unlink(stagingPath(key))) != nil { lock.withLock { stagedBytes -= Int64(key.block.size) } }
        }
        lock.withLock {
            if let cached = memory.removeValue(forKey: key) { memoryBytes -= Int64(cached.data.count) }
            verified.remove(key)
            unsynced.remove(key)
        }
    }

    /// Every staged block of a space, for crash recovery. Leftover temporary files are removed.
    public func stagedBlocks(space: String) -> [BlockKey] {
        var blocks = lock.withLock { loggedStaged.filter { $0.space == space }.map(\.block) }
        let staging = directory.appending(space).appending("staging")
        for entry in (try? FileSystem.directoryEntries(staging)) ?? [] {
            if let block = BlockKey(name: entry.name) {
                blocks.append(block)
            } else {
                try? FileSystem.unlink(staging.appending(entry.name))
            }
        }
        return blocks.sorted { ($0.sliceID, $0.index) < ($1.sliceID, $1.index) }
    }

    /// Bytes on disk, and of inserted blocks on their way there.
    public var usedBytes: Int64 { lock.withLock { diskBytes + stagedBytes + logBytes + unwrittenBytes } }
    var counts: (hits: Int, misses: Int) { lock.withLock { (hits, misses) } }

    // MARK: - Internals

    /// The space's log, opened (and replayed) on first use. Call without the lock.
    private func log(_ space: String) throws(Errno) -> BlockLog {
        lock.lock()
        defer { lock.unlock() }
        if let log = logs[space] { return log }
        let log = try BlockLog(directory: directory.appending(space).appending("log"), segmentLimit: min(64 << 20, max(1 << 20, budget / 16)))
        logs[space] = log
        return log
    }

    private func logRecord(_ key: Key) -> (BlockLog, BlockLog.Location)? {
        lock.withLock {
            guard let location = logged[key], let log = logs[key.space] else { return nil }
            return (log, location)
        }
    }

    private var logBytes: Int64 { logs.values.reduce(0) { $0 + $1.bytes } }

    /// A block's bytes from its record or file, verified.
    private func readWhole(_ key: Key) -> Data? {
        if let (log, location) = logRecord(key) { return log.read(location, key.block) }
        for path in [cachePath(key), stagingPath(key)] {
            if let data = BlockFile.read(path, expectedSize: key.block.size) { return data }
        }
        return nil
    }

    /// Bytes `range` of a block verified before, read alone.
    private func readPart(_ key: Key, _ range: Range<Int>) -> Data? {
        if let (log, location) = logRecord(key) { return log.read(location, key.block, range: range) }
        let open = { [self] () -> FileDescriptor? in
            (try? FileDescriptor.open(cachePath(key), .readOnly)) ?? (try? FileDescriptor.open(stagingPath(key), .readOnly))
        }
        return openFiles.withDescriptor(key, open: open) { descriptor in
            BlockFile.read(descriptor, at: Int64(range.lowerBound), count: range.count)
        }
    }

    // Paths are built as strings: these run for every block.
    private func cacheDirectory(_ key: Key) -> String {
        "\(directory.string)/\(key.space)/raw/\(key.block.sliceID.rawValue / 1_000_000)/\(key.block.sliceID.rawValue / 1000)"
    }

    private func cachePath(_ key: Key) -> FilePath { FilePath(cacheDirectory(key) + "/" + key.block.name) }

    private func stagingDirectory(_ space: String) -> String { "\(directory.string)/\(space)/staging" }

    private func stagingPath(_ key: Key) -> FilePath { FilePath(stagingDirectory(key.space) + "/" + key.block.name) }

    private func ensureDirectory(_ path: String) throws(Errno) {
        if lock.withLock({ madeDirectories.contains(path) }) { return }
        try FileSystem.createDirectories(FilePath(path))
        lock.withLock { _ = madeDirectories.insert(path) }
    }

    /// The block from the memory tier or the write queue, counted as a hit. Call with the lock held.
    private func heldInMemory(_ key: Key) -> Data? {
        guard let hit = memory[key]?.data ?? unwritten[key] else { return nil }
        tick += 1
        if memory[key] != nil { memory[key]!.tick = tick }
        hits += 1
        return hit
    }

    private func touch(_ key: Key) {
        tick += 1
        if entries[key] != nil { entries[key]!.tick = tick }
    }

    /// Keeps a block in the memory tier; past the budget, the least recently used blocks
    /// go until a sixteenth of it is free. A quarter at a time handed a read stream's buffers
    /// back in bursts the body buffer pool could not hold, so the next fetches faulted anew;
    /// each block on its own would sort the tier for every small block written.
    private func remember(_ key: Key, _ data: Data) {
        guard Int64(data.count) * 4 <= memoryBudget else { return }
        lock.withLock {
            tick += 1
            if let old = memory.updateValue((data, tick), forKey: key) { memoryBytes -= Int64(old.data.count) }
            memoryBytes += Int64(data.count)
            guard memoryBytes > memoryBudget else { return }
            for (victim, value) in memory.sorted(by: { $0.value.tick < $1.value.tick }) {
                guard memoryBytes > memoryBudget - memoryBudget / 16 else { break }
                memory[victim] = nil
                memoryBytes -= Int64(value.data.count)
            }
        }
    }

    /// Evicts least-recently-used cached blocks down to 90 % of the budget.
    private func evictIfNeeded() {
        let victims = lock.withLock { () -> [Key] in
            var bytes = diskBytes + stagedBytes + logBytes
            guard bytes > budget else { return [] }
            var chosen: [Key] = []
            for (key, entry) in entries.sorted(by: { $0.value.tick < $1.value.tick }) {
                guard bytes > budget * 9 / 10 else { break }
                entries[key] = nil
                verified.remove(key)
                if let location = logged.removeValue(forKey: key) {
                    // A record frees its segment's bytes only with the segment's last one.
                    bytes -= logs[key.space]?.release(location) ?? 0
                } else {
                    chosen.append(key)
                    bytes -= entry.size
                    diskBytes -= entry.size
                }
            }
            return chosen
        }
        for key in victims {
            openFiles.forget(key)
            try? FileSystem.unlink(cachePath(key))
        }
    }

    /// Rebuilds the index from the directory: cached files in modification order, staged
    /// bytes counted; half-written temporary files removed.
    private func scan() throws(Errno) {
        var found: [(Key, Int64, Double)] = []
        for space in (try? FileSystem.directoryEntries(directory)) ?? [] where space.isDirectory {
            let spaceDirectory = directory.appending(space.name)
            for block in stagedBlocks(space: space.name) { stagedBytes += Int64(block.size) }
            if FileSystem.isDirectory(spaceDirectory.appending("log")) {
                for record in try log(space.name).recovered {
                    let key = Key(space: space.name, block: record.block)
                    logged[key] = record.location
                    if record.state == .staged {
                        loggedStaged.insert(key)
                    } else {
                        tick += 1
                        entries[key] = (Int64(record.block.size), tick)
                    }
                }
            }
            let raw = spaceDirectory.appending("raw")
            for high in (try? FileSystem.directoryEntries(raw)) ?? [] where high.isDirectory {
                for low in (try? FileSystem.directoryEntries(raw.appending(high.name))) ?? [] where low.isDirectory {
                    let folder = raw.appending(high.name).appending(low.name)
                    for file in (try? FileSystem.directoryEntries(folder)) ?? [] {
                        let path = folder.appending(file.name)
                        guard let block = BlockKey(name: file.name), let status = try? FileSystem.status(path) else {
                            try? FileSystem.unlink(path)
                            continue
                        }
                        found.append((Key(space: space.name, block: block), status.size - 4, status.modificationTime))
                    }
                }
            }
        }
        for (key, size, _) in found.sorted(by: { $0.2 < $1.2 }) {
            tick += 1
            entries[key] = (size, tick)
            diskBytes += size
        }
        evictIfNeeded()
    }
}
