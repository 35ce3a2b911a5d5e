import Foundation
import SystemBridge
import SystemPackage

/// The read cache of a cache directory: blocks fetched from the bucket, or uploaded from the
/// staging area, on local disk within a byte budget, plus a small memory tier.
///
/// Blocks are immutable, so one cached block serves every volume of its bucket, forks
/// included. Blocks are evicted least-recently-used first; the staging area's bytes count
/// against the same budget and are never evicted. Every file carries a checksum: a torn or
/// corrupted one is dropped and refetched, never served. A file is verified whole once per
/// process (or written by it); later partial reads of it read only the bytes asked for.
/// Blocks of up to `StagingArea.loggedBlockLimit` bytes are records of their space's
/// `BlockLog` instead. One entry of a few dozen bytes per block is all it keeps in memory
/// besides the memory tier: a million small files cost tens of megabytes, not hundreds.
public final class BlockCache: @unchecked Sendable {
    private typealias Entry = CacheIndex.Entry

    public let directory: FilePath
    public let budget: Int64
    private let memoryBudget: Int64
    private let logs: BlockLogs
    private let staging: StagingArea
    private let lock = NSLock()
    private var entries = CacheIndex()
    private var memory: [CacheKey: (data: Data, tick: UInt64)] = [:]
    private var memoryBytes: Int64 = 0
    /// Bytes of cached block files (records are counted with their logs).
    private var diskBytes: Int64 = 0
    private var tick: UInt64 = 0
    /// Directories known to exist, so hot paths skip creating them.
    private var madeDirectories: Set<String> = []
    private(set) var hits = 0
    private(set) var misses = 0
    /// Large blocks inserted and waiting for `writer` to put them on disk, and their bytes.
    private var unwritten: [CacheKey: Data] = [:]
    private var unwrittenBytes: Int64 = 0
    private let unwrittenLimit: Int64
    private let writer = WorkerPool(name: "volumed-cache-write", limit: 1, background: true)
    /// Signalled whenever the background writer finishes a block.
    private let writeFinished = NSCondition()
    /// Block files read in part, kept open for their next read (4 GiB of 4 MiB blocks, fewer
    /// under a low descriptor limit).
    private let openFiles = OpenFiles<CacheKey>(capacity: min(1024, Int(min(DescriptorLimit.current, 1 << 20)) / 64))

    /// Indexes what the directory holds (cached files in modification order, cached log
    /// records) and evicts down to the budget. `unwrittenLimit` bounds the bytes of inserted
    /// blocks waiting for the disk (see `insert`).
    init(directory: FilePath, budget: Int64, memoryBudget: Int64, logs: BlockLogs, staging: StagingArea, unwrittenLimit: Int64) throws(Errno) {
        self.directory = directory
        self.budget = budget
        self.memoryBudget = memoryBudget
        self.logs = logs
        self.staging = staging
        self.unwrittenLimit = unwrittenLimit
        try scan()
    }

    // MARK: - Cached blocks

    /// The block from memory or disk, verified; `nil` on a miss.
    public func lookup(_ key: CacheKey) -> Data? {
        if let data = lock.withLock({ heldInMemory(key) }) { return data }
        guard let indexed = lock.withLock({ entries[key] }) else {
            lock.withLock { misses += 1 }
            return nil
        }
        if let data = readWhole(key, indexed) {
            lock.withLock {
                hits += 1
                touch(key)
                entries[key]?.verified = true
            }
            remember(key, data)
            return data
        }
        // Torn only if the index still holds the block as it was before the read: one whose
        // insert finished during the read (its file renamed into place after the read found
        // none) is whole, and dropping it sent the next reader back to the bucket.
        let torn = lock.withLock { () -> Bool in
            misses += 1
            return entries[key] != nil
        }
        if torn { drop(key) }
        return nil
    }

    /// Bytes `range` of the block: from memory, else read alone from a file verified
    /// before, else through a whole verified `lookup`; `nil` on a miss. A block in memory
    /// answers with a slice of itself, indexed from `range.lowerBound`.
    public func lookup(_ key: CacheKey, range: Range<Int>) -> Data? {
        let (inMemory, entry) = lock.withLock { () -> (Data?, Entry?) in (heldInMemory(key), entries[key]) }
        if let inMemory { return inMemory[range] }
        guard let entry else {
            lock.withLock { misses += 1 }
            return nil
        }
        if entry.verified {
            if let bytes = readPart(key, entry, range) {
                lock.withLock {
                    hits += 1
                    touch(key)
                }
                return bytes
            }
            lock.withLock { entries[key]?.verified = false }
        }
        return lookup(key)?[range]
    }

    /// Whether the block is in memory or on disk, without reading it.
    public func contains(_ key: CacheKey) -> Bool {
        lock.withLock { memory[key] != nil || unwritten[key] != nil || entries[key] != nil }
    }

    /// Starts reading a cached block file into the page cache (read-ahead of a block that
    /// needs no GET); a block in memory or in the log needs nothing.
    public func warm(_ key: CacheKey) {
        guard lock.withLock({ memory[key] == nil && entries[key].map { $0.location == nil } ?? false }),
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
    public func insert(_ key: CacheKey, _ data: Data) {
        remember(key, data)
        guard data.count > StagingArea.loggedBlockLimit else { return record(key, data, bypassingPageCache: false) }
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

    /// Takes over a block the staging area held once it is in the bucket: its record stays
    /// where it is, marked cached; its file moves into the cache.
    public func adopt(_ key: CacheKey, from staging: StagingArea) {
        switch staging.release(key) {
        case .record(let log, let location)?:
            log.mark(location, .cached)
            index(key, Entry(tick: 0, location: location, verified: true), fileBytes: 0)
        case .file(let path)?:
            do {
                try ensureDirectory(cacheDirectory(key))
                try FileSystem.rename(path, to: cachePath(key))
                index(key, Entry(tick: 0, location: nil, verified: true), fileBytes: Int64(key.block.size))
            } catch {
                try? FileSystem.unlink(path)
            }
        case nil:
            break
        }
    }

    /// Keeps a block just written in the memory tier, where its upload and its first
    /// readers find it. A block small enough for the log is not kept: its record is in the
    /// kernel's page cache already, and a burst of small files would fill the tier with copies.
    public func keepInMemory(_ key: CacheKey, _ data: Data) {
        guard data.count > StagingArea.loggedBlockLimit else { return }
        remember(key, data)
    }

    /// The block if the memory tier holds it (no disk read, no hit counted).
    func memoryCopy(_ key: CacheKey) -> Data? {
        lock.withLock { memory[key]?.data }
    }

    /// Lets go of a block's copy in memory (a staged block discarded before its upload).
    func forgetMemory(_ key: CacheKey) {
        lock.withLock {
            if let cached = memory.removeValue(forKey: key) { memoryBytes -= Int64(cached.data.count) }
        }
    }

    /// Waits until every block inserted so far is on disk.
    public func finishWrites() {
        writeFinished.withLock {
            while lock.withLock({ !unwritten.isEmpty }) { writeFinished.wait() }
        }
    }

    /// Forgets a block everywhere (a torn file, or a block found corrupt).
    public func drop(_ key: CacheKey) {
        let entry = lock.withLock { () -> Entry? in
            if let cached = memory.removeValue(forKey: key) { memoryBytes -= Int64(cached.data.count) }
            if let queued = unwritten.removeValue(forKey: key) { unwrittenBytes -= Int64(queued.count) }
            guard let entry = entries.removeValue(forKey: key) else { return nil }
            if entry.location == nil { diskBytes -= Int64(key.block.size) }
            return entry
        }
        if let location = entry?.location {
            logs.opened(key.space)?.release(location)
        } else {
            openFiles.forget(key)
            try? FileSystem.unlink(cachePath(key))
        }
    }

    /// Bytes on disk (the staging area's included), and of inserted blocks on their way there.
    public var usedBytes: Int64 { staging.bytes + logs.bytes + lock.withLock { diskBytes + unwrittenBytes } }
    var counts: (hits: Int, misses: Int) { lock.withLock { (hits, misses) } }

    // MARK: - Internals

    private func writeQueued(_ key: CacheKey, _ data: Data) {
        if lock.withLock({ unwritten[key] != nil }) { record(key, data, bypassingPageCache: true) }
        lock.withLock {
            if unwritten.removeValue(forKey: key) != nil { unwrittenBytes -= Int64(data.count) }
        }
        writeFinished.withLock { writeFinished.broadcast() }
    }

    /// Puts a block on disk, a record of its space's log if small, and indexes it.
    private func record(_ key: CacheKey, _ data: Data, bypassingPageCache: Bool) {
        do {
            if data.count <= StagingArea.loggedBlockLimit {
                let log = try logs.log(key.space)
                let location = try log.append(key.block, data, state: .cached)
                index(key, Entry(tick: 0, location: location, verified: true), fileBytes: 0)
            } else {
                try ensureDirectory(cacheDirectory(key))
                try BlockFile.write(data, to: cachePath(key), durable: false, bypassingPageCache: bypassingPageCache)
                index(key, Entry(tick: 0, location: nil, verified: true), fileBytes: Int64(data.count))
            }
        } catch {
            return  // a cache that cannot write is only slower
        }
    }

    /// Indexes a block now on disk as the most recently used, then evicts past the budget.
    /// A block indexed before keeps one copy (a block's size decides file or record, so a
    /// file replaces a file): a record it replaces is released.
    private func index(_ key: CacheKey, _ entry: Entry, fileBytes: Int64) {
        let replaced = lock.withLock { () -> BlockLog.Location? in
            tick += 1
            var entry = entry
            entry.tick = tick
            let old = entries.updateValue(entry, forKey: key)
            if let old, old.location == nil { diskBytes -= Int64(key.block.size) }
            diskBytes += fileBytes
            return old?.location == entry.location ? nil : old?.location
        }
        if let replaced { logs.opened(key.space)?.release(replaced) }
        evictIfNeeded()
    }

    /// A block's bytes from its record or file, verified.
    private func readWhole(_ key: CacheKey, _ entry: Entry) -> Data? {
        if let location = entry.location { return logs.opened(key.space)?.read(location, key.block) }
        return BlockFile.read(cachePath(key), expectedSize: key.block.size)
    }

    /// Bytes `range` of a block verified before, read alone.
    private func readPart(_ key: CacheKey, _ entry: Entry, _ range: Range<Int>) -> Data? {
        if let location = entry.location { return logs.opened(key.space)?.read(location, key.block, range: range) }
        let open = { [self] in try? FileDescriptor.open(cachePath(key), .readOnly) }
        return openFiles.withDescriptor(key, open: open) { descriptor in
            BlockFile.read(descriptor, at: Int64(range.lowerBound), count: range.count)
        }
    }

    // Paths are built as strings: these run for every block.
    private func cacheDirectory(_ key: CacheKey) -> String {
        "\(directory.string)/\(key.space.name)/raw/\(key.block.sliceID.rawValue / 1_000_000)/\(key.block.sliceID.rawValue / 1000)"
    }

    private func cachePath(_ key: CacheKey) -> FilePath { FilePath(cacheDirectory(key) + "/" + key.block.name) }

    private func ensureDirectory(_ path: String) throws(Errno) {
        if lock.withLock({ madeDirectories.contains(path) }) { return }
        try FileSystem.createDirectories(FilePath(path))
        lock.withLock { _ = madeDirectories.insert(path) }
    }

    /// The block from the memory tier or the write queue, counted as a hit. Call with the lock held.
    private func heldInMemory(_ key: CacheKey) -> Data? {
        guard let hit = memory[key]?.data ?? unwritten[key] else { return nil }
        tick += 1
        if memory[key] != nil { memory[key]!.tick = tick }
        hits += 1
        return hit
    }

    private func touch(_ key: CacheKey) {
        tick += 1
        entries[key]?.tick = tick
    }

    /// Keeps a block in the memory tier; past the budget, the least recently used blocks
    /// go until a sixteenth of it is free. A quarter at a time handed a read stream's buffers
    /// back in bursts the body buffer pool could not hold, so the next fetches faulted anew;
    /// each block on its own would sort the tier for every small block written.
    private func remember(_ key: CacheKey, _ data: Data) {
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
        let outside = staging.bytes
        guard outside + logs.bytes + lock.withLock({ diskBytes }) > budget else { return }
        let victims = lock.withLock { () -> [CacheKey] in
            var bytes = outside + logs.bytes + diskBytes
            var chosen: [CacheKey] = []
            for (key, entry) in entries.byAge() {
                guard bytes > budget * 9 / 10 else { break }
                entries[key] = nil
                if let location = entry.location {
                    // A record frees its segment's bytes only with the segment's last one.
                    bytes -= logs.opened(key.space)?.release(location) ?? 0
                } else {
                    chosen.append(key)
                    bytes -= Int64(key.block.size)
                    diskBytes -= Int64(key.block.size)
                }
            }
            return chosen
        }
        for key in victims {
            openFiles.forget(key)
            try? FileSystem.unlink(cachePath(key))
        }
    }

    /// Rebuilds the index from the directory: cached log records, then cached files in
    /// modification order.
    private func scan() throws(Errno) {
        var found: [(CacheKey, Double)] = []
        for space in (try? FileSystem.directoryEntries(directory)) ?? [] where space.isDirectory {
            guard let name = CacheSpace(directoryName: space.name) else { continue }
            for record in try logs.recovered(name) where record.state == .cached {
                tick += 1
                entries[CacheKey(space: name, block: record.block)] = Entry(tick: tick, location: record.location, verified: false)
            }
            let raw = directory.appending(space.name).appending("raw")
            for high in (try? FileSystem.directoryEntries(raw)) ?? [] where high.isDirectory {
                for low in (try? FileSystem.directoryEntries(raw.appending(high.name))) ?? [] where low.isDirectory {
                    let folder = raw.appending(high.name).appending(low.name)
                    for file in (try? FileSystem.directoryEntries(folder)) ?? [] {
                        let path = folder.appending(file.name)
                        guard let block = BlockKey(name: file.name), let status = try? FileSystem.status(path), status.size == Int64(block.size) + 4 else {
                            try? FileSystem.unlink(path)
                            continue
                        }
                        found.append((CacheKey(space: name, block: block), status.modificationTime))
                    }
                }
            }
        }
        for (key, _) in found.sorted(by: { $0.1 < $1.1 }) {
            tick += 1
            entries[key] = Entry(tick: tick, location: nil, verified: false)
            diskBytes += Int64(key.block.size)
        }
        evictIfNeeded()
    }
}
