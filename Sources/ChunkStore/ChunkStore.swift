import Foundation
import ObjectStorage
import StorageFormat
import SystemPackage

/// The data path of one volume: file bytes to slices and blocks and back, through the
/// daemon-wide block cache and a background upload pool (docs/DATA-PATH.md).
///
/// It composes its parts and calls none of them back: a `ChunkReader` and the `FileReader`s
/// it serves, a `WritePipeline` that every `FileWriter` receives with the catalog, the
/// `UploadPool` behind both, a `Compactor`, and an `IdleSealer` for writers left unflushed.
public final class ChunkStore: @unchecked Sendable {
    public let configuration: ChunkStoreConfiguration
    private let catalog: any SliceCatalog
    private let cache: CacheDirectory
    private let space: CacheSpace
    private let fetcher: BlockFetcher
    private let uploads: UploadPool
    private let reading: ChunkReader
    private let pipeline: WritePipeline
    private let compactor: Compactor
    private let sealer: IdleSealer

    public init(configuration: ChunkStoreConfiguration, catalog: any SliceCatalog, store: any ObjectStore, cache: CacheDirectory) {
        self.configuration = configuration
        self.catalog = catalog
        self.cache = cache
        space = Self.cacheSpace(of: store, chunkPrefix: configuration.chunkPrefix)
        fetcher = BlockFetcher(
            store: store, cache: cache.blocks, staging: cache.staging, space: space, layout: configuration.layout, gate: configuration.downloadGate)
        uploads = UploadPool(
            store: store, cache: cache.blocks, staging: cache.staging, space: space, layout: configuration.layout, maxUploads: configuration.maxUploads,
            delay: configuration.uploadDelay, gate: configuration.uploadGate)
        reading = ChunkReader(blockSize: configuration.blockSize, catalog: catalog, fetcher: fetcher)
        pipeline = WritePipeline(configuration: configuration, cache: cache.blocks, staging: cache.staging, space: space, uploads: uploads)
        compactor = Compactor(catalog: catalog, reader: reading, pipeline: pipeline)
        sealer = IdleSealer(idle: configuration.idleSeal)
    }

    /// The cache space of a chunk prefix in a bucket: where its blocks are cached and staged.
    public static func cacheSpace(of store: any ObjectStore, chunkPrefix: String) -> CacheSpace {
        CacheSpace(location: store.location + "|" + chunkPrefix)
    }

    /// Stops background work; call `drain` first to keep every staged block.
    public func close() {
        sealer.stop()
        compactor.close()
        pipeline.waitForStaging()
        uploads.stop()
        cache.blocks.finishWrites()
    }

    public func writer(inode: Ino) -> FileWriter {
        let writer = FileWriter(inode: inode, pipeline: pipeline, catalog: catalog, compactor: compactor)
        sealer.watch(writer)
        return writer
    }

    public func reader(inode: Ino) -> FileReader {
        FileReader(inode: inode, reader: reading, maxReadAhead: configuration.maxReadAhead)
    }

    /// Queues every block a crashed run left staged for this volume's bucket and prefix;
    /// returns how many. `drain` then makes them durable.
    @discardableResult
    public func recoverStagedBlocks() -> Int {
        let blocks = cache.staging.blocks(in: space)
        for block in blocks { uploads.enqueueStaged(block, delayed: false) }
        return blocks.count
    }

    /// Makes every staged block durable on local disk (fsync(2) of a file with writeback).
    public func syncStaged() throws(ChunkStoreError) {
        guard configuration.writeback else { return }
        do {
            try cache.staging.sync()
        } catch {
            throw ChunkStoreError(error, "cannot sync staged blocks in \(cache.directory)")
        }
    }

    /// Waits until every block written before the call is durable, ignoring `uploadDelay`;
    /// `progress` receives the blocks and bytes of those still pending.
    public func drain(deadline: Duration = .seconds(3600), progress: (Int, Int64) -> Void = { _, _ in }) throws(ChunkStoreError) {
        // A compaction running now may swap in a slice whose blocks are not queued yet.
        compactor.waitForCompactions()
        do {
            try uploads.drain(deadline: deadline, progress: progress)
        } catch {
            throw ChunkStoreError(error)
        }
    }

    /// Slices nothing references any more: their blocks not yet uploaded never will be.
    public func forget(sliceIDs: Set<SliceID>) {
        pipeline.forget(sliceIDs: sliceIDs)
    }

    /// Drops every block not yet uploaded: the writes of a working copy being thrown away.
    public func abandonPendingUploads() {
        uploads.forget(sliceIDs: nil)
    }

    /// Rewrites a chunk's resolved bytes as one new slice (see `Compactor`); `false` when
    /// there was nothing to do or the chunk changed meanwhile.
    @discardableResult
    public func compact(inode: Ino, chunk: UInt32) throws(ChunkStoreError) -> Bool {
        try compactor.compact(inode: inode, chunk: chunk)
    }

    public var statistics: ChunkStoreStatistics {
        var statistics = ChunkStoreStatistics()
        uploads.statistics(into: &statistics)
        fetcher.statistics(into: &statistics)
        statistics.cacheBytes = cache.blocks.usedBytes
        statistics.cacheBudget = cache.budget
        (statistics.cacheHits, statistics.cacheMisses) = cache.blocks.counts
        return statistics
    }
}
