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
    private(set) var length = 0
    private(set) var id: SliceID?
    private var buffer = Data()
    private var file: BlockFileWriter?
    private var gathersInMemory = false
    private var blockLength = 0
    private(set) var blocks: [BlockKey] = []
    private let staging = StagingBatch()
    /// Why a piece could not be staged: the slice is lost, like the blocks of a batch
    /// whose staging failed (`StagingBatch.Failure`).
    private var failure: (any Error)?
    private(set) var lastWrite = ContinuousClock.now
    let created = ContinuousClock.now

    init(position: UInt32) {
        self.position = position
    }

    var end: UInt32 { position + UInt32(length) }

    func append(_ bytes: Data, store: ChunkStore) throws {
        if let failure { throw failure }
        var rest = bytes[...]
        let blockSize = store.configuration.blockSize
        while !rest.isEmpty {
            let piece = rest.prefix(blockSize - blockLength)
            // The id first: failing to get one changes nothing, and the write may be retried.
            if store.streamsBlock(ofSize: blockLength + piece.count) { _ = try sliceID(store) }
            do {
                try fill(piece, store)
            } catch {
                failure = error
                throw error
            }
            rest = rest.dropFirst(piece.count)
            length += piece.count
            blockLength += piece.count
            if blockLength == blockSize { try emitBlock(store) }
        }
        lastWrite = .now
    }

    /// Writes the last block and returns the record to append; with writeback off, only
    /// once every block is durable. The last block is written on the calling thread while
    /// the staging threads finish the others: the writer waits for it anyway, and a small
    /// file then costs no hand-off to a staging thread and back. A failed slice's staged
    /// blocks are discarded: nothing will reference them.
    func seal(_ store: ChunkStore) throws -> SliceRecord {
        var last: BlockKey?
        var lostBecause = failure
        if lostBecause == nil, blockLength > 0 {
            _ = try sliceID(store)  // without one the slice stays, to be sealed again
            do {
                last = try writeLastBlock(store)
            } catch {
                lostBecause = error
            }
        }
        do {
            try staging.wait()
        } catch {
            lostBecause = lostBecause ?? error.underlying
        }
        if let lostBecause {
            if let id { store.discardStaged(blocks + (last.map { [$0] } ?? []), sliceID: id) }
            throw StagingBatch.Failure(underlying: lostBecause)
        }
        store.uploadStaged(blocks)
        if let last { blocks.append(last) }
        if !store.configuration.writeback { try store.waitDurable(blocks) }
        return SliceRecord(pos: position, id: id!, size: UInt32(length), off: 0, len: UInt32(length))
    }

    /// Adds a piece to the block being filled, moving the block to its staged file once it
    /// outgrows the memory it may use (it stays in memory if no file can be opened for it).
    private func fill(_ piece: Data, _ store: ChunkStore) throws {
        if file == nil, !gathersInMemory, store.streamsBlock(ofSize: blockLength + piece.count) {
            if let opened = try store.beginBlockFile(sliceID: try sliceID(store), index: blocks.count) {
                if !buffer.isEmpty { try store.append(buffer, to: opened) }
                buffer = Data()
                file = opened
            } else {
                gathersInMemory = true
            }
        }
        if let file {
            try store.append(piece, to: file)
        } else {
            buffer.append(piece)
        }
    }

    private func emitBlock(_ store: ChunkStore) throws {
        let block = try nextBlock(store)
        if let file {
            store.finishBlockFile(file, as: block, staging: staging)
        } else {
            store.writeBlock(block, buffer, staging: staging)
        }
        blocks.append(block)
        clearBlock()
    }

    private func writeLastBlock(_ store: ChunkStore) throws -> BlockKey {
        let block = try nextBlock(store)
        defer { clearBlock() }
        if let file {
            try store.finishBlockFile(file, as: block)
        } else {
            try store.writeBlock(block, buffer)
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
    private func nextBlock(_ store: ChunkStore) throws -> BlockKey {
        BlockKey(sliceID: try sliceID(store), index: blocks.count, size: blockLength)
    }

    /// The slice's id, allocated with its first block.
    private func sliceID(_ store: ChunkStore) throws -> SliceID {
        let sliceID = try id ?? store.catalog.newSliceID()
        id = sliceID
        return sliceID
    }
}
