import ChunkStore
import Foundation
import TestSupport
import Testing

@Suite struct BlockCacheTests {
    private func key(_ id: Int, size: Int = 256 << 10) -> BlockCache.Key {
        BlockCache.Key(space: "bucket", block: BlockKey(sliceID: UInt64(id), index: 0, size: size))
    }

    @Test func leastRecentlyUsedBlocksGoFirstUnderASmallBudget() throws {
        let cache = try BlockCache(directory: try Scratch.directory("cache"), budget: 1 << 20, memoryBudget: 0)
        for id in 1...4 { cache.insert(key(id), Data(repeating: UInt8(id), count: 256 << 10)) }
        #expect(cache.lookup(key(1)) != nil, "touch block 1 so block 2 is now the oldest")
        cache.insert(key(5), Data(repeating: 5, count: 256 << 10))
        #expect(cache.usedBytes <= 1 << 20)
        #expect(cache.lookup(key(2)) == nil, "the least recently used block was evicted")
        #expect(cache.lookup(key(1)) == Data(repeating: 1, count: 256 << 10))
        #expect(cache.lookup(key(5)) == Data(repeating: 5, count: 256 << 10))
    }

    @Test func stagedBlocksAreNeverEvicted() throws {
        let cache = try BlockCache(directory: try Scratch.directory("cache"), budget: 512 << 10, memoryBudget: 0)
        for id in 1...4 { try cache.stage(key(id), Data(repeating: UInt8(id), count: 256 << 10)) }
        cache.insert(key(9), Data(repeating: 9, count: 256 << 10))
        for id in 1...4 { #expect(cache.stagedData(key(id)) == Data(repeating: UInt8(id), count: 256 << 10)) }
        #expect(cache.lookup(key(9)) == nil, "the cached block made way; the staged ones could not")
    }

    @Test func aRestartedCacheKnowsWhatItHoldsAndKeepsItsBudget() throws {
        let directory = try Scratch.directory("cache")
        let first = try BlockCache(directory: directory, budget: 1 << 20, memoryBudget: 0)
        for id in 1...3 { first.insert(key(id), Data(repeating: UInt8(id), count: 256 << 10)) }
        try first.stage(key(7), Data(repeating: 7, count: 256 << 10))
        let second = try BlockCache(directory: directory, budget: 1 << 20, memoryBudget: 0)
        #expect(second.usedBytes == 4 * (256 << 10))
        #expect(second.lookup(key(2)) == Data(repeating: 2, count: 256 << 10))
        #expect(second.stagedBlocks(space: "bucket") == [key(7).block])
    }

    @Test func theDefaultBudgetHasAFloor() throws {
        #expect(try BlockCache(directory: try Scratch.directory("cache")).budget >= 1 << 30)
    }
}
