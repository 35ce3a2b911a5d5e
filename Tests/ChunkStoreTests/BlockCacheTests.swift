import Foundation
import StorageFormat
import SystemBridge
import TestSupport
import Testing
@testable import ChunkStore

/// The read cache: least recently used blocks go first, what is on disk survives a restart
/// and is verified before it is served, the memory tier stays within its budget.
@Suite struct BlockCacheTests {
    private func key(_ id: Int, size: Int = 256 << 10) -> CacheKey {
        CacheKey(space: CacheSpace(location: "bucket"), block: BlockKey(sliceID: SliceID(UInt64(id)), index: 0, size: size))
    }

    @Test func leastRecentlyUsedBlocksGoFirstUnderASmallBudget() throws {
        let cache = try CacheDirectory(directory: try Scratch.directory("cache"), budget: 1 << 20, memoryBudget: 0).blocks
        for id in 1...4 { cache.insert(key(id), Data(repeating: UInt8(id), count: 256 << 10)) }
        cache.finishWrites()
        #expect(cache.lookup(key(1)) != nil, "touch block 1 so block 2 is now the oldest")
        cache.insert(key(5), Data(repeating: 5, count: 256 << 10))
        cache.finishWrites()
        #expect(cache.usedBytes <= 1 << 20)
        #expect(cache.lookup(key(2)) == nil, "the least recently used block was evicted")
        #expect(cache.lookup(key(1)) == Data(repeating: 1, count: 256 << 10))
        #expect(cache.lookup(key(5)) == Data(repeating: 5, count: 256 << 10))
    }

    @Test func aRestartedCacheKnowsWhatItHoldsAndKeepsItsBudget() throws {
        let directory = try Scratch.directory("cache")
        let first = try CacheDirectory(directory: directory, budget: 1 << 20, memoryBudget: 0)
        for id in 1...3 { first.blocks.insert(key(id), Data(repeating: UInt8(id), count: 256 << 10)) }
        try first.staging.stage(key(7), Data(repeating: 7, count: 256 << 10))
        first.blocks.finishWrites()
        let second = try CacheDirectory(directory: directory, budget: 1 << 20, memoryBudget: 0)
        #expect(second.blocks.usedBytes == 4 * (256 << 10))
        #expect(second.blocks.lookup(key(2)) == Data(repeating: 2, count: 256 << 10))
        #expect(second.staging.blocks(in: CacheSpace(location: "bucket")) == [key(7).block])
    }

    @Test func theMemoryTierKeepsOnlyWrittenBlocksTooLargeForTheLog() throws {
        let cache = try CacheDirectory(directory: try Scratch.directory("cache"), budget: 1 << 30, memoryBudget: 64 << 20).blocks
        cache.keepInMemory(key(1, size: 4096), Data(repeating: 1, count: 4096))
        cache.keepInMemory(key(2), Data(repeating: 2, count: 256 << 10))
        #expect(cache.memoryCopy(key(1, size: 4096)) == nil, "a small block's record is in the page cache already")
        #expect(cache.memoryCopy(key(2)) == Data(repeating: 2, count: 256 << 10))
    }

    @Test func theDefaultBudgetHasAFloor() throws {
        #expect(try CacheDirectory(directory: try Scratch.directory("cache")).budget >= 1 << 30)
    }

    @Test func partialReadsReadOnlyWhatIsAskedOnceAFileIsVerified() throws {
        let directory = try Scratch.directory("cache")
        let bytes = Data((0..<(256 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let writer = try CacheDirectory(directory: directory, budget: 1 << 30, memoryBudget: 0).blocks
        writer.insert(key(1), bytes)
        writer.finishWrites()
        #expect(writer.lookup(key(1), range: 1000..<5096) == bytes.subdata(in: 1000..<5096))

        // Flip one byte in the file, as bit rot would. This process wrote the file, so a
        // partial read trusts it; a restarted one verifies it whole first and refuses it.
        let file = try #require(FileManager.default.enumerator(atPath: directory.string)?.compactMap { $0 as? String }.first { $0.hasSuffix("1_0_262144") })
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: directory.appending(file).string))
        try handle.seek(toOffset: 200_000)
        try handle.write(contentsOf: Data([0xFF ^ bytes[200_000]]))
        try handle.close()
        #expect(writer.lookup(key(1), range: 0..<4096) == bytes.subdata(in: 0..<4096))
        let restarted = try CacheDirectory(directory: directory, budget: 1 << 30, memoryBudget: 0).blocks
        #expect(restarted.lookup(key(1), range: 0..<4096) == nil, "a file that fails its checksum is never served")
        #expect(!restarted.contains(key(1)), "and is dropped")
    }

    @Test func evictingSmallBlocksFreesWholeSegmentsAndKeepsTheBudget() throws {
        let cache = try CacheDirectory(directory: try Scratch.directory("cache"), budget: 16 << 20, memoryBudget: 0).blocks
        for id in 1...8000 { cache.insert(key(id, size: 4096), Data(repeating: UInt8(truncatingIfNeeded: id), count: 4096)) }
        #expect(cache.usedBytes <= 16 << 20)
        #expect(cache.lookup(key(1, size: 4096)) == nil, "the oldest went first")
        #expect(cache.lookup(key(8000, size: 4096)) == Data(repeating: UInt8(truncatingIfNeeded: 8000), count: 4096))
    }

    @Test func aLargeBlockIsServedRightAfterItsInsertAndReachesTheDiskInTheBackground() throws {
        let directory = try Scratch.directory("cache")
        let cache = try CacheDirectory(directory: directory, budget: 1 << 30, memoryBudget: 0).blocks
        let bytes = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        cache.insert(key(3, size: 1 << 20), bytes)
        #expect(cache.lookup(key(3, size: 1 << 20)) == bytes, "whether the write queue or the disk answers")
        #expect(cache.lookup(key(3, size: 1 << 20), range: 4096..<8192) == bytes.subdata(in: 4096..<8192))
        cache.finishWrites()
        let restarted = try CacheDirectory(directory: directory, budget: 1 << 30, memoryBudget: 0).blocks
        #expect(restarted.lookup(key(3, size: 1 << 20)) == bytes)
    }

    @Test func anInsertFindingTheWriteQueueFullWritesTheBlockItself() throws {
        let directory = try Scratch.directory("cache")
        let cache = try CacheDirectory(directory: directory, budget: 1 << 30, memoryBudget: 0, streams: .streaming, unwrittenLimit: 0).blocks
        cache.insert(key(1), Data(repeating: 1, count: 256 << 10))
        let restarted = try CacheDirectory(directory: directory, budget: 1 << 30, memoryBudget: 0).blocks
        #expect(restarted.lookup(key(1)) == Data(repeating: 1, count: 256 << 10), "on disk before insert returned")
    }

    /// A fetched block's buffer goes back to the body pool when the memory tier lets it go:
    /// the oldest first and a few at a time, not a quarter of the tier at once.
    @Test func theMemoryTierLetsGoOfItsOldestBlocksAFewAtATime() throws {
        let cache = try CacheDirectory(directory: try Scratch.directory("cache"), budget: 1 << 30, memoryBudget: 16 << 20).blocks
        let released = Released()
        for id in 1...40 {
            let before = released.ids.count
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 4096)
            pointer.initializeMemory(as: UInt8.self, repeating: UInt8(id), count: 1 << 20)
            cache.insert(key(id, size: 1 << 20), Data(bytesNoCopy: pointer, count: 1 << 20, deallocator: .custom { pointer, _ in
                released.add(id)
                pointer.deallocate()
            }))
            cache.finishWrites()
            let ids = released.ids
            #expect(ids.count - before <= 2, "block \(id) let go of \(ids.count - before) blocks")
            #expect(ids == Array(1..<(ids.count + 1)), "the least recently used go first")
            #expect(id - ids.count <= 16, "the tier stays within its budget")
        }
        #expect(released.ids.count <= 40 - 15)
    }
}

private final class Released: @unchecked Sendable {
    private let lock = NSLock()
    private var released: [Int] = []

    func add(_ id: Int) { lock.withLock { released.append(id) } }
    var ids: [Int] { lock.withLock { released.sorted() } }
}
