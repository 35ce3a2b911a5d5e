import Foundation
import StorageFormat

/// One slice being written: bytes appended at its tail, full blocks handed off as soon as
/// they fill, the short last block at seal.
///
/// A block gathers in memory while it is small (it may end as a record of the block log,
/// and without writeback it waits in memory for its PUT anyway); with writeback, a block
/// that grows past a logged block's size streams straight into its staged file instead,
/// so that a long write costs no copy into a block buffer and holds no block in memory.
final class SliceWriter {
    let position: UInt32
    private let pipeline: WritePipeline
    private let catalog: any SliceCatalog
    private(set) var length = 0
    private(set) var id: SliceID?
    private var buffer = Data()
    private var file: BlockFileWriter?
    private var gathersInMemory = false
    private var blockLength = 0
    private(set) var blocks: [BlockKey] = []
    private let staging = StagingBatch()
    /// Why a piece could not be staged: the slice is lost, like the blocks of a batch
    /// whose staging failed.
    private var failure: ChunkStoreError?
    /// Set when `seal` gave the slice up: its writer drops it rather than seal it again.
    private(set) var isLost = false
    private(set) var lastWrite = ContinuousClock.now
    let created = ContinuousClock.now

    init(position: UInt32, pipeline: WritePipeline, catalog: any SliceCatalog) {
        self.position = position
        self.pipeline = pipeline
        self.catalog = catalog
    }

    var end: UInt32 { position + UInt32(length) }

    func append(_ bytes: Data) throws(ChunkStoreError) {
        if let failure { throw failure }
        var rest = bytes[...]
        let blockSize = pipeline.blockSize
        while !rest.isEmpty {
            let piece = rest.prefix(blockSize - blockLength)
            // The id first: failing to get one changes nothing, and the write may be retried.
            if pipeline.streamsBlock(ofSize: blockLength + piece.count) { _ = try sliceID() }
            do {
                try fill(piece)
            } catch {
                failure = error
                throw error
            }
            rest = rest.dropFirst(piece.count)
            length += piece.count
            blockLength += piece.count
            if blockLength == blockSize { try emitBlock() }
        }
        lastWrite = .now
    }

    /// Writes the last block and returns the record to append; with writeback off, only
    /// once every block is durable. The last block is written on the calling thread while
    /// the staging threads finish the others: the writer waits for it anyway, and a small
    /// file then costs no hand-off to a staging thread and back. A failed slice's staged
    /// blocks are discarded (nothing will reference them) and it is marked `isLost`; any
    /// other failure leaves it to be sealed again.
    func seal() throws(ChunkStoreError) -> SliceRecord {
        var last: BlockKey?
        var lostBecause = failure
        if lostBecause == nil, blockLength > 0 {
            _ = try sliceID()  // without one the slice stays, to be sealed again
            do {
                last = try writeLastBlock()
            } catch {
                lostBecause = error
            }
        }
        do {
            try staging.wait()
        } catch {
            lostBecause = lostBecause ?? error
        }
        if let lostBecause {
            if let id { pipeline.discardStaged(blocks + (last.map { [$0] } ?? []), sliceID: id) }
            isLost = true
            throw lostBecause
        }
        pipeline.uploadStaged(blocks)
        if let last { blocks.append(last) }
        if !pipeline.configuration.writeback { try pipeline.waitDurable(blocks) }
        return SliceRecord(pos: position, id: id!, size: UInt32(length), off: 0, len: UInt32(length))
    }

    /// Adds a piece to the block being filled, moving the block to its staged file once it
    /// outgrows the memory it may use (it stays in memory if no file can be opened for it).
    private func fill(_ piece: Data) throws(ChunkStoreError) {
        if file == nil, !gathersInMemory, pipeline.streamsBlock(ofSize: blockLength + piece.count) {
            if let opened = try pipeline.beginBlockFile(sliceID: try sliceID(), index: blocks.count) {
                if !buffer.isEmpty { try pipeline.append(buffer, to: opened) }
                buffer = Data()
                file = opened
            } else {
                gathersInMemory = true
            }
        }
        if let file {
            try pipeline.append(piece, to: file)
        } else {
            buffer.append(piece)
        }
    }

    private func emitBlock() throws(ChunkStoreError) {
        let block = try nextBlock()
        if let file {
            pipeline.finishBlockFile(file, as: block, staging: staging)
        } else {
            pipeline.writeBlock(block, buffer, staging: staging)
        }
        blocks.append(block)
        clearBlock()
    }

    private func writeLastBlock() throws(ChunkStoreError) -> BlockKey {
        let block = try nextBlock()
        defer { clearBlock() }
        if let file {
            try pipeline.finishBlockFile(file, as: block)
        } else {
            try pipeline.writeBlock(block, buffer)
        }
        return block
    }

    private func clearBlock() {
        file = nil
        gathersInMemory = false
        buffer = Data()
        blockLength = 0
    }

    /// The key of the block being filled.
    private func nextBlock() throws(ChunkStoreError) -> BlockKey {
        BlockKey(sliceID: try sliceID(), index: blocks.count, size: blockLength)
    }

    /// The slice's id, allocated with its first block.
    private func sliceID() throws(ChunkStoreError) -> SliceID {
        if let id { return id }
        let sliceID = try catalog.newSliceID()
        id = sliceID
        return sliceID
    }
}
