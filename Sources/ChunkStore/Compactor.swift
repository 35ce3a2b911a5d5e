import Foundation
import StorageFormat

/// Rewrites a chunk crowded with records as one slice, so that reads resolve few records and
/// fetch few blocks: on demand, or in the background when a writer's commit crowds a chunk
/// (juicefs's triggers: docs/DATA-PATH.md).
final class Compactor: @unchecked Sendable {
    private let catalog: any SliceCatalog
    private let reader: ChunkReader
    private let pipeline: WritePipeline
    private let workers = WorkerPool(name: "volumed-compact", limit: 1, background: true)
    private let lock = NSLock()
    private var compacting: Set<String> = []
    private var closed = false

    init(catalog: any SliceCatalog, reader: ChunkReader, pipeline: WritePipeline) {
        self.catalog = catalog
        self.reader = reader
        self.pipeline = pipeline
    }

    /// Compacts in the background when a chunk has crowded up.
    func compactIfCrowded(inode: Ino, chunk: UInt32) {
        guard let count = try? catalog.records(inode: inode, chunk: chunk).count, count % 100 == 99 || count > 350 else { return }
        let key = "\(inode)/\(chunk)"
        guard lock.withLock({ !closed && compacting.insert(key).inserted }) else { return }
        workers.submit { [self] in
            _ = try? compact(inode: inode, chunk: chunk)
            lock.withLock { _ = compacting.remove(key) }
        }
    }

    /// Rewrites a chunk's resolved bytes as one new slice and swaps it in for the records it
    /// replaces; `false` when there was nothing to do or the chunk changed meanwhile.
    func compact(inode: Ino, chunk: UInt32) throws(ChunkStoreError) -> Bool {
        let records = try catalog.records(inode: inode, chunk: chunk)
        guard records.count > 1 else { return false }
        let extent = SliceResolution.resolve(records, from: 0, to: UInt32(ChunkGeometry.chunkSize)).filter { $0.slice != nil }
        guard let first = extent.first, let last = extent.last else { return false }
        let start = first.position
        let bytes = try reader.bytes(of: records, from: start, to: last.position + last.length)
        let id = try catalog.newSliceID()
        let blocks = BlockKey.blocks(sliceID: id, sliceSize: bytes.count, blockSize: pipeline.blockSize)
        for block in blocks {
            let offset = block.index * pipeline.blockSize
            try pipeline.writeBlock(block, bytes.subdata(in: offset..<offset + block.size))
        }
        if !pipeline.configuration.writeback { try pipeline.waitDurable(blocks) }
        let replacement = SliceRecord(pos: start, id: id, size: UInt32(bytes.count), off: 0, len: UInt32(bytes.count))
        guard !lock.withLock({ closed }), try catalog.replace(records, with: replacement, inode: inode, chunk: chunk) else {
            pipeline.forget(sliceIDs: [id])
            return false
        }
        return true
    }

    /// Returns once no compaction runs: their new blocks must be queued (or the compaction
    /// abandoned) before a drain counts what is pending or the store closes.
    func waitForCompactions() {
        while !lock.withLock({ compacting.isEmpty }) { Thread.sleep(forTimeInterval: 0.005) }
    }

    /// No compaction starts after this; one running finishes or is abandoned.
    func close() {
        lock.withLock { closed = true }
        waitForCompactions()
    }
}
