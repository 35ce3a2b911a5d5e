import Foundation
import StorageFormat
import SystemPackage

/// The write half of a chunk store: where a writer's blocks go, staged in the cache with
/// writeback (a staging thread does the work while the writer fills the next block) or held
/// in memory for their PUT without it, and when they are durable. Writers receive it once;
/// it calls back into nothing.
final class WritePipeline: @unchecked Sendable {
    let configuration: ChunkStoreConfiguration
    private let cache: BlockCache
    private let staging: StagingArea
    private let space: CacheSpace
    private let uploads: UploadPool
    private let workers = WorkerPool(name: "volumed-staging", limit: 4)
    private let slots = DispatchSemaphore(value: 4)
    private let running = DispatchGroup()

    init(configuration: ChunkStoreConfiguration, cache: BlockCache, staging: StagingArea, space: CacheSpace, uploads: UploadPool) {
        self.configuration = configuration
        self.cache = cache
        self.staging = staging
        self.space = space
        self.uploads = uploads
    }

    var blockSize: Int { configuration.blockSize }

    /// Hands a block to the upload path at once: staged on disk with writeback, else kept
    /// in memory until its PUT.
    func writeBlock(_ block: BlockKey, _ data: Data) throws(ChunkStoreError) {
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
        inBackground(batch) { [self] () throws(ChunkStoreError) in try stage(block, data) }
    }

    /// Whether a block growing to `size` bytes streams into its staged file rather than
    /// gathering in memory: with writeback, once it is too large for the block log.
    func streamsBlock(ofSize size: Int) -> Bool {
        configuration.writeback && size > StagingArea.loggedBlockLimit
    }

    /// Opens the staged file a writer streams block `index` of slice `sliceID` into; `nil`
    /// when streaming writers hold their share of file descriptors (or none is left): the
    /// block then gathers in memory.
    func beginBlockFile(sliceID: SliceID, index: Int) throws(ChunkStoreError) -> BlockFileWriter? {
        do {
            return try staging.begin(in: space, stem: "\(sliceID)_\(index)")
        } catch .tooManyOpenFiles, .tooManyOpenFilesInSystem {
            return nil
        } catch {
            throw ChunkStoreError(error, "cannot stage a block of slice \(sliceID) in \(staging.directory)")
        }
    }

    func append(_ piece: Data, to file: BlockFileWriter) throws(ChunkStoreError) {
        do {
            try file.append(piece)
        } catch {
            throw ChunkStoreError(error, "cannot stage a block in \(staging.directory)")
        }
    }

    /// Puts a streamed block in place and queues its upload, as `writeBlock(_:_:)` does.
    func finishBlockFile(_ file: BlockFileWriter, as block: BlockKey) throws(ChunkStoreError) {
        try finishStaging(file, as: block)
        uploads.enqueueStaged(block)
    }

    /// Puts a full streamed block in place on a staging thread; its upload waits for
    /// `uploadStaged`, as in `writeBlock(_:_:staging:)`.
    func finishBlockFile(_ file: BlockFileWriter, as block: BlockKey, staging batch: StagingBatch) {
        inBackground(batch) { [self] () throws(ChunkStoreError) in try finishStaging(file, as: block) }
    }

    /// Queues the uploads of blocks staged by `writeBlock(_:_:staging:)`.
    func uploadStaged(_ blocks: [BlockKey]) {
        guard configuration.writeback else { return }
        for block in blocks { uploads.enqueueStaged(block) }
    }

    /// Drops the staged blocks of a slice that will never be committed.
    func discardStaged(_ blocks: [BlockKey], sliceID: SliceID) {
        uploads.forget(sliceIDs: [sliceID])
        for block in blocks {
            let key = CacheKey(space: space, block: block)
            staging.discard(key)
            cache.forgetMemory(key)
        }
    }

    /// Slices nothing references any more: their blocks not yet uploaded never will be.
    func forget(sliceIDs: Set<SliceID>) {
        uploads.forget(sliceIDs: sliceIDs)
    }

    func waitDurable(_ blocks: [BlockKey]) throws(ChunkStoreError) {
        do {
            try uploads.waitDurable(blocks)
        } catch {
            throw ChunkStoreError(error)
        }
    }

    /// Returns once no staging work runs.
    func waitForStaging() {
        running.wait()
    }

    /// Runs one block's staging work on a staging thread, at most four at once.
    private func inBackground(_ batch: StagingBatch, _ work: @escaping @Sendable () throws(ChunkStoreError) -> Void) {
        batch.begin()
        slots.wait()
        running.enter()
        workers.submit { [self] in
            var failure: ChunkStoreError?
            do throws(ChunkStoreError) {
                try work()
            } catch {
                failure = error
            }
            batch.end(failure)
            running.leave()
            slots.signal()
        }
    }

    private func stage(_ block: BlockKey, _ data: Data) throws(ChunkStoreError) {
        try staging(block) { key throws(Errno) in
            try staging.stage(key, data)
            cache.keepInMemory(key, data)
        }
    }

    private func finishStaging(_ file: BlockFileWriter, as block: BlockKey) throws(ChunkStoreError) {
        try staging(block) { key throws(Errno) in try staging.finish(key, file) }
    }

    /// Puts `block` in the staging area one way or another, once the upload queue has room;
    /// uploads then hold back a little.
    private func staging(_ block: BlockKey, _ put: (CacheKey) throws(Errno) -> Void) throws(ChunkStoreError) {
        uploads.waitForRoom()
        do {
            try put(CacheKey(space: space, block: block))
            uploads.noteStaging()
        } catch {
            throw ChunkStoreError(error, "cannot stage block \(block) in \(staging.directory)")
        }
    }
}
