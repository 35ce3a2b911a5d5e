import Foundation
import ObjectStorage
import StorageFormat
import SystemPackage

/// The data path of one volume: file bytes to slices and blocks and back, through the
/// daemon-wide block cache and a background upload pool (docs/DATA-PATH.md).
public final class ChunkStore: @unchecked Sendable {
    public let configuration: ChunkStoreConfiguration
    let catalog: any SliceCatalog
    private let store: any ObjectStore
    private let cache: BlockCache
    private let space: String
    private let fetcher: BlockFetcher
    private let uploads: UploadPool
    private let lock = NSLock()
    private var writers: [ObjectIdentifier: WeakWriter] = [:]
    private var compacting: Set<String> = []
    private var closed = false
    /// GETs wait on the network, not the CPU: more of them in flight than cores.
    private let prefetchWorkers = WorkerPool(name: "volumed-prefetch", limit: 8)
    private let compactionWorkers = WorkerPool(name: "volumed-compact", limit: 1, background: true)
    private let stagingWorkers = WorkerPool(name: "volumed-staging", limit: 4)
    private let stagingSlots = DispatchSemaphore(value: 4)
    private let staging = DispatchGroup()

    private struct WeakWriter {
        weak var writer: FileWriter?
    }

    public init(configuration: ChunkStoreConfiguration, catalog: any SliceCatalog, store: any ObjectStore, cache: BlockCache) {
        self.configuration = configuration
        self.catalog = catalog
        self.store = store
        self.cache = cache
        space = Self.cacheSpace(of: store, chunkPrefix: configuration.chunkPrefix)
        fetcher = BlockFetcher(store: store, cache: cache, space: space, layout: configuration.layout)
        uploads = UploadPool(
            store: store, cache: cache, space: space, layout: configuration.layout, maxUploads: configuration.maxUploads,
            delay: configuration.uploadDelay)
        let sealer = Thread { [weak self] in
            // Holds the store only while sealing, so that a closed store goes with its mount.
            while let store = self, store.sealIdleWriters() { Thread.sleep(forTimeInterval: 0.1) }
        }
        sealer.name = "volumed-seal"
        sealer.start()
    }

    /// The cache space of a chunk prefix in a bucket: where its blocks are cached and staged.
    public static func cacheSpace(of store: any ObjectStore, chunkPrefix: String) -> String {
        BlockCache.space(for: store.location + "|" + chunkPrefix)
    }

    /// Stops background work; call `drain` first to keep every staged block.
    public func close() {
        lock.withLock { closed = true }
        waitForCompactions()
        staging.wait()
        uploads.stop()
        cache.finishWrites()
    }

    public func writer(inode: Ino) -> FileWriter {
        let writer = FileWriter(inode: inode, store: self)
        lock.withLock { writers[ObjectIdentifier(writer)] = WeakWriter(writer: writer) }
        return writer
    }

    public func reader(inode: Ino) -> FileReader {
        FileReader(inode: inode, store: self)
    }

    /// Queues every block a crashed run left staged for this volume's bucket and prefix;
    /// returns how many. `drain` then makes them durable.
    @discardableResult
    public func recoverStagedBlocks() -> Int {
        let blocks = cache.stagedBlocks(space: space)
        for block in blocks { uploads.enqueueStaged(block, delayed: false) }
        return blocks.count
    }

    /// Makes every staged block durable on local disk (fsync(2) of a file with writeback).
    public func syncStaged() throws {
        guard configuration.writeback else { return }
        do {
            try cache.syncStaged()
        } catch {
            throw ChunkStoreError(error, "cannot sync staged blocks in \(cache.directory)")
        }
    }

    /// Waits until every block written before the call is durable, ignoring `uploadDelay`;
    /// `progress` receives the blocks and bytes of those still pending.
    public func drain(deadline: Duration = .seconds(3600), progress: (Int, Int64) -> Void = { _, _ in }) throws {
        // A compaction running now may swap in a slice whose blocks are not queued yet.
        waitForCompactions()
        do {
            try uploads.drain(deadline: deadline, progress: progress)
        } catch {
            throw ChunkStoreError(error)
        }
    }

    /// Slices nothing references any more: their blocks not yet uploaded never will be.
    public func forget(sliceIDs: Set<SliceID>) {
        uploads.forget(sliceIDs: sliceIDs)
    }

    /// Drops every block not yet uploaded: the writes of a working copy being thrown away.
    public func abandonPendingUploads() {
        uploads.forget(sliceIDs: nil)
    }

    public var statistics: ChunkStoreStatistics {
        var statistics = ChunkStoreStatistics()
        uploads.statistics(into: &statistics)
        fetcher.statistics(into: &statistics)
        statistics.cacheBytes = cache.usedBytes
        statistics.cacheBudget = cache.budget
        (statistics.cacheHits, statistics.cacheMisses) = cache.counts
        return statistics
    }

    // MARK: - Reading

    /// File bytes `[start, end)` from the committed records. A read within one block of
    /// one slice (most reads: the kernel asks for at most 1 MiB) is the cached block's own
    /// bytes, not a copy; its indices need not start at zero.
    func read(inode: Ino, from start: UInt64, to end: UInt64, wholeBlocks: Bool) throws -> Data {
        var parts: [Data] = []
        for piece in ChunkGeometry.pieces(of: start..<end) {
            let records = try catalog.records(inode: inode, chunk: piece.index)
            for segment in SliceResolution.resolve(records, from: piece.offset, to: piece.end) {
                try collect(segment, into: &parts, wholeBlocks: wholeBlocks)
            }
        }
        if parts.count == 1 { return parts[0] }
        var output = Data(capacity: Int(end - start))
        for part in parts { output.append(part) }
        return output
    }

    /// The bytes of one resolved segment, a piece per block it spans (zeros for a hole).
    private func collect(_ segment: ChunkSegment, into parts: inout [Data], wholeBlocks: Bool) throws {
        guard let slice = segment.slice else {
            parts.append(Data(count: Int(segment.length)))
            return
        }
        let blockSize = configuration.blockSize
        var offset = Int(slice.offset)
        let end = offset + Int(segment.length)
        guard end <= Int(slice.size) else { throw ChunkStoreError(.ioError, "a record reads past the end of slice \(slice.id)") }
        while offset < end {
            let index = offset / blockSize
            let block = BlockKey(sliceID: slice.id, index: index, size: min(blockSize, Int(slice.size) - index * blockSize))
            let within = (offset - index * blockSize)..<min(block.size, end - index * blockSize)
            do {
                parts.append(try fetcher.bytes(block, within, wholeBlock: wholeBlocks))
            } catch {
                throw ChunkStoreError(error)
            }
            offset += within.count
        }
    }

    /// Fetches the blocks behind `[start, end)` of a file into the cache, in the background.
    func prefetch(inode: Ino, from start: UInt64, to end: UInt64) {
        prefetchWorkers.submit { [self] in
            var blocks: [BlockKey] = []
            for piece in ChunkGeometry.pieces(of: start..<end) {
                guard let records = try? catalog.records(inode: inode, chunk: piece.index) else { return }
                for segment in SliceResolution.resolve(records, from: piece.offset, to: piece.end) {
                    guard let slice = segment.slice else { continue }
                    let first = Int(slice.offset) / configuration.blockSize
                    let last = (Int(slice.offset) + Int(segment.length) - 1) / configuration.blockSize
                    for index in first...last {
                        blocks.append(BlockKey(sliceID: slice.id, index: index, size: min(configuration.blockSize, Int(slice.size) - index * configuration.blockSize)))
                    }
                }
            }
            for block in blocks { prefetchWorkers.submit { [self] in fetcher.prefetch(block) } }
        }
    }

    // MARK: - Writing

    /// Hands a block to the upload path at once: staged on disk with writeback, else kept
    /// in memory until its PUT.
    func writeBlock(_ block: BlockKey, _ data: Data) throws {
        if configuration.writeback {
            try stage(block, data)
            uploads.enqueueStaged(block)
        } else {
            uploads.enqueue(block, data: data)
        }
    }

    /// A full block of a slice still being written, gathered in memory (a block size small
    /// enough for the log, or writeback off). With writeback it is staged on another thread,
    /// so that filling the next block overlaps checksumming and writing this one (at most
    /// four blocks wait in memory, then writers slow down), and its upload waits for
    /// `uploadStaged` at the slice's seal: the object store then does not compete with a
    /// streaming writer for the CPU, and a file deleted before its seal is never uploaded.
    func writeBlock(_ block: BlockKey, _ data: Data, staging batch: StagingBatch) {
        guard configuration.writeback else {
            batch.begin()
            uploads.enqueue(block, data: data)
            batch.end(nil)
            return
        }
        inBackground(batch) { [self] in try stage(block, data) }
    }

    /// Whether a block growing to `size` bytes streams into its staged file rather than
    /// gathering in memory: with writeback, once it is too large for the block log.
    func streamsBlock(ofSize size: Int) -> Bool {
        configuration.writeback && size > BlockCache.loggedBlockLimit
    }

    /// Opens the staged file a writer streams block `index` of slice `sliceID` into; `nil`
    /// when streaming writers hold their share of file descriptors (or none is left): the
    /// block then gathers in memory.
    func beginBlockFile(sliceID: SliceID, index: Int) throws -> BlockFileWriter? {
        do {
            return try cache.beginStaging(in: space, stem: "\(sliceID)_\(index)")
        } catch .tooManyOpenFiles, .tooManyOpenFilesInSystem {
            return nil
        } catch {
            throw ChunkStoreError(error, "cannot stage a block of slice \(sliceID) in \(cache.directory)")
        }
    }

    func append(_ piece: Data, to file: BlockFileWriter) throws {
        do {
            try file.append(piece)
        } catch {
            throw ChunkStoreError(error, "cannot stage a block in \(cache.directory)")
        }
    }

    /// Puts a streamed block in place and queues its upload, as `writeBlock(_:_:)` does.
    func finishBlockFile(_ file: BlockFileWriter, as block: BlockKey) throws {
        try finishStaging(file, as: block)
        uploads.enqueueStaged(block)
    }

    /// Puts a full streamed block in place on a staging thread; its upload waits for
    /// `uploadStaged`, as in `writeBlock(_:_:staging:)`.
    func finishBlockFile(_ file: BlockFileWriter, as block: BlockKey, staging batch: StagingBatch) {
        inBackground(batch) { [self] in try finishStaging(file, as: block) }
    }

    /// Drops the staged blocks of a slice that will never be committed.
    func discardStaged(_ blocks: [BlockKey], sliceID: SliceID) {
        uploads.forget(sliceIDs: [sliceID])
        for block in blocks { cache.discardStaged(BlockCache.Key(space: space, block: block)) }
    }

    /// Runs one block's staging work on a staging thread, at most four at once.
    private func inBackground(_ batch: StagingBatch, _ work: @escaping @Sendable () throws -> Void) {
        batch.begin()
        stagingSlots.wait()
        staging.enter()
        stagingWorkers.submit { [self] in
            var failure: (any Error)?
            do {
                try work()
            } catch {
                failure = error
            }
            batch.end(failure)
            staging.leave()
            stagingSlots.signal()
        }
    }

    /// Queues the uploads of blocks staged by `writeBlock(_:_:staging:)`.
    func uploadStaged(_ blocks: [BlockKey]) {
        guard configuration.writeback else { return }
        for block in blocks { uploads.enqueueStaged(block) }
    }

    private func stage(_ block: BlockKey, _ data: Data) throws {
        try staging(block) { key throws(Errno) in try cache.stage(key, data) }
    }

    private func finishStaging(_ file: BlockFileWriter, as block: BlockKey) throws {
        try staging(block) { key throws(Errno) in try cache.finishStaging(key, file) }
    }

    /// Puts `block` in the staging area one way or another; uploads then hold back a little.
    private func staging(_ block: BlockKey, _ put: (BlockCache.Key) throws(Errno) -> Void) throws {
        do {
            try put(BlockCache.Key(space: space, block: block))
            uploads.noteStaging()
        } catch {
            throw ChunkStoreError(error, "cannot stage block \(block) in \(cache.directory)")
        }
    }

    func waitDurable(_ blocks: [BlockKey]) throws {
        do {
            try uploads.waitDurable(blocks)
        } catch {
            throw ChunkStoreError(error)
        }
    }

    /// One pass of the sealer; `false` once the store is closed.
    private func sealIdleWriters() -> Bool {
        guard let live = lock.withLock({ () -> [FileWriter]? in
            guard !closed else { return nil }
            writers = writers.filter { $0.value.writer != nil }
            return writers.values.compactMap(\.writer)
        }) else { return false }
        for writer in live { writer.sealIdle(idle: configuration.idleSeal, maxAge: .seconds(5)) }
        return true
    }

    // MARK: - Compaction

    /// Compactions run in the background; their new blocks must be queued (or the
    /// compaction abandoned) before a drain counts what is pending or the store closes.
    private func waitForCompactions() {
        while !lock.withLock({ compacting.isEmpty }) { Thread.sleep(forTimeInterval: 0.005) }
    }

    /// Compacts in the background when a chunk has crowded up (juicefs's triggers: docs/DATA-PATH.md).
    func compactIfCrowded(inode: Ino, chunk: UInt32) {
        guard let count = try? catalog.records(inode: inode, chunk: chunk).count, count % 100 == 99 || count > 350 else { return }
        let key = "\(inode)/\(chunk)"
        guard lock.withLock({ !closed && compacting.insert(key).inserted }) else { return }
        compactionWorkers.submit { [self] in
            _ = try? compact(inode: inode, chunk: chunk)
            lock.withLock { _ = compacting.remove(key) }
        }
    }

    /// Rewrites a chunk's resolved bytes as one new slice and swaps it in for the records it
    /// replaces; `false` when there was nothing to do or the chunk changed meanwhile.
    @discardableResult
    public func compact(inode: Ino, chunk: UInt32) throws -> Bool {
        let records = try catalog.records(inode: inode, chunk: chunk)
        guard records.count > 1 else { return false }
        let extent = SliceResolution.resolve(records, from: 0, to: UInt32(ChunkGeometry.chunkSize)).filter { $0.slice != nil }
        guard let first = extent.first, let last = extent.last else { return false }
        let start = first.position
        let end = last.position + last.length
        var parts: [Data] = []
        for segment in SliceResolution.resolve(records, from: start, to: end) { try collect(segment, into: &parts, wholeBlocks: true) }
        var bytes = Data(capacity: Int(end - start))
        for part in parts { bytes.append(part) }
        let id = try catalog.newSliceID()
        let blocks = BlockKey.blocks(sliceID: id, sliceSize: bytes.count, blockSize: configuration.blockSize)
        for block in blocks {
            let offset = block.index * configuration.blockSize
            try writeBlock(block, bytes.subdata(in: offset..<offset + block.size))
        }
        if !configuration.writeback { try waitDurable(blocks) }
        let replacement = SliceRecord(pos: start, id: id, size: UInt32(bytes.count), off: 0, len: UInt32(bytes.count))
        guard !lock.withLock({ closed }), try catalog.replace(records, with: replacement, inode: inode, chunk: chunk) else {
            forget(sliceIDs: [id])
            return false
        }
        return true
    }
}
