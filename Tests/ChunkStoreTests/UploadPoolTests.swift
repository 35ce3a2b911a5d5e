import Foundation
import ObjectStorage
import StorageFormat
import TestSupport
import Testing
@testable import ChunkStore

/// The upload queue: writers wait while it is full and go on once uploads make room.
@Suite struct UploadPoolTests {
    /// Every PUT of the first six attempts fails (the proxy answers 503), so no block can
    /// leave the queue before all six faults are spent: a writer that waited for room comes
    /// back only after them.
    @Test func aWriterWaitsForRoomWhileTheQueueIsFull() throws {
        let proxy = try FaultProxy.s3()
        let prefix = "upload-pool-\(UUID().uuidString.prefix(8).lowercased())"
        let store = try TestStores.s3(prefix: prefix, endpoint: proxy.url)
        let directory = try CacheDirectory(directory: try Scratch.directory("cache"), budget: 1 << 30)
        let space = CacheSpace(location: prefix)
        let pool = UploadPool(
            store: store, cache: directory.blocks, staging: directory.staging, space: space, layout: BlockLayout(chunkPrefix: "vol"), maxUploads: 4,
            delay: .zero, queueLimit: 3)
        defer { pool.stop() }
        try proxy.inject(.serviceUnavailable, method: "PUT", containing: prefix, times: 6)
        for id in 1...3 {
            let block = BlockKey(sliceID: SliceID(UInt64(id)), index: 0, size: 4096)
            try directory.staging.stage(CacheKey(space: space, block: block), Data(repeating: UInt8(id), count: 4096))
            pool.enqueueStaged(block, delayed: false)
        }
        pool.waitForRoom()
        #expect(try proxy.pending(containing: prefix) == 0, "room came only after an upload got past the faults")
        try pool.drain(deadline: .seconds(120)) { _, _ in }
        #expect(directory.staging.blocks(in: space).isEmpty)
    }

    /// An upload that fails past the store's own retries counts as an upload error and is
    /// tried again until it succeeds.
    @Test func uploadsThatFailPastTheStoresRetriesAreCountedAndTriedAgain() throws {
        let proxy = try FaultProxy.s3()
        let prefix = "upload-errors-\(UUID().uuidString.prefix(8).lowercased())"
        let store = try TestStores.s3(prefix: prefix, endpoint: proxy.url, retry: RetryPolicy(maxAttempts: 1))
        let directory = try CacheDirectory(directory: try Scratch.directory("cache"), budget: 1 << 30)
        let space = CacheSpace(location: prefix)
        let pool = UploadPool(
            store: store, cache: directory.blocks, staging: directory.staging, space: space, layout: BlockLayout(chunkPrefix: "vol"), maxUploads: 1,
            delay: .zero)
        defer { pool.stop() }
        try proxy.inject(.serviceUnavailable, method: "PUT", containing: prefix, times: 2)
        let block = BlockKey(sliceID: SliceID(1), index: 0, size: 4096)
        try directory.staging.stage(CacheKey(space: space, block: block), Data(repeating: 7, count: 4096))
        pool.enqueueStaged(block, delayed: false)
        try pool.drain(deadline: .seconds(120)) { _, _ in }
        var statistics = ChunkStoreStatistics()
        pool.statistics(into: &statistics)
        #expect(statistics.uploadErrors == 2 && statistics.uploadedBlocks == 1, "\(statistics)")
    }
}
