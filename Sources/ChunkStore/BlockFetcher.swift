import Foundation
import ObjectStorage

/// Reads blocks through the cache: memory, then disk, then one GET shared by every
/// concurrent reader of the same block.
final class BlockFetcher: @unchecked Sendable {
    private final class Flight {
        var result: Result<Data, ObjectStoreError>?
    }

    private let store: any ObjectStore
    private let cache: BlockCache
    private let staging: StagingArea
    private let space: CacheSpace
    private let layout: BlockLayout
    private let gate: TransferGate
    private let condition = NSCondition()
    private var flights: [BlockKey: Flight] = [:]
    private var gets = 0
    private var failedGets = 0
    private var fetchSeconds: Double = 0

    init(store: any ObjectStore, cache: BlockCache, staging: StagingArea, space: CacheSpace, layout: BlockLayout, gate: TransferGate) {
        self.store = store
        self.cache = cache
        self.staging = staging
        self.space = space
        self.layout = layout
        self.gate = gate
    }

    /// Fetches the block into the cache (read-ahead); one cached on disk already is read
    /// into the page cache instead, so a warm sequential read does not wait for the disk
    /// one FUSE read at a time.
    func prefetch(_ block: BlockKey) {
        let key = CacheKey(space: space, block: block)
        guard !cache.contains(key) else { return cache.warm(key) }
        guard !staging.contains(key) else { return }
        _ = try? self.block(block)
    }

    /// The whole block, fetched and cached if needed.
    func block(_ block: BlockKey) throws(ObjectStoreError) -> Data {
        let key = CacheKey(space: space, block: block)
        if let data = cache.lookup(key) ?? staging.data(key) { return data }
        condition.lock()
        // A flight that ended between the lookup and the lock has cached the block already.
        if flights[block] == nil, cache.contains(key) {
            condition.unlock()
            if let data = cache.lookup(key) { return data }
            condition.lock()
        }
        if let flight = flights[block] {
            while flight.result == nil { condition.wait() }
            condition.unlock()
            return try flight.result!.get()
        }
        let flight = Flight()
        flights[block] = flight
        condition.unlock()

        let result: Result<Data, ObjectStoreError>
        do throws(ObjectStoreError) {
            let data = try timed { () throws(ObjectStoreError) in
                try gate.transfer(bytes: block.size) { () throws(ObjectStoreError) in try store.get(layout.objectKey(block)) }
            }
            guard data.count == block.size else {
                throw ObjectStoreError(.permanent, "block \(block) has \(data.count) bytes in the bucket, its name says \(block.size)")
            }
            result = .success(data)
        } catch {
            result = .failure(error)
        }
        // Waiters get the bytes at once; the flight stays listed (answering newcomers) until
        // the block is in the cache, so that nobody fetches it again in between.
        condition.withLock {
            flight.result = result
            condition.broadcast()
        }
        if case .success(let data) = result { cache.insert(key, data) }
        condition.withLock { flights[block] = nil }
        return try result.get()
    }

    /// Bytes `range` of a block: from the cache when it has the block, else the whole
    /// block fetched and cached (`wholeBlock`, for sequential reads) or one ranged GET (not
    /// cached: a partial read does not earn the whole block). What comes from a whole block
    /// in memory is a slice of it, not a copy: its indices start at `range.lowerBound`.
    func bytes(_ block: BlockKey, _ range: Range<Int>, wholeBlock: Bool) throws(ObjectStoreError) -> Data {
        if range == 0..<block.size { return try self.block(block) }
        let key = CacheKey(space: space, block: block)
        if let data = cache.lookup(key, range: range) ?? staging.data(key, range: range) { return data }
        if wholeBlock { return try self.block(block)[range] }
        let data = try timed { () throws(ObjectStoreError) in
            try gate.transfer(bytes: range.count) { () throws(ObjectStoreError) in
                try store.get(layout.objectKey(block), range: Int64(range.lowerBound)..<Int64(range.upperBound))
            }
        }
        guard data.count == range.count else { throw ObjectStoreError(.permanent, "block \(block) is shorter in the bucket than its name says") }
        return data
    }

    func statistics(into statistics: inout ChunkStoreStatistics) {
        condition.withLock {
            statistics.objectGets = gets
            statistics.downloadErrors = failedGets
            statistics.meanFetchLatency = gets == 0 ? 0 : fetchSeconds / Double(gets)
        }
    }

    private func timed(_ body: () throws(ObjectStoreError) -> Data) throws(ObjectStoreError) -> Data {
        let start = ContinuousClock.now
        var failed = true
        defer {
            let elapsed = ContinuousClock.now - start
            condition.withLock {
                gets += 1
                fetchSeconds += elapsed.inSeconds
                if failed { failedGets += 1 }
            }
        }
        let data = try body()
        failed = false
        return data
    }
}
