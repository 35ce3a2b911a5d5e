import Foundation
import VolumeModel

/// One slice being written: bytes appended at its tail, full blocks handed off as soon as
/// they fill, the short last block at seal.
final class SliceWriter {
    let position: UInt32
    private(set) var length = 0
    private(set) var id: UInt64?
    private var buffer = Data()
    private(set) var blocks: [BlockKey] = []
    private let staging = StagingBatch()
    private(set) var lastWrite = ContinuousClock.now
    let created = ContinuousClock.now

    init(position: UInt32) {
        self.position = position
    }

    var end: UInt32 { position + UInt32(length) }

    func append(_ bytes: Data, store: ChunkStore) throws {
        var rest = bytes[...]
        let blockSize = store.configuration.blockSize
        while !rest.isEmpty {
            let take = min(blockSize - buffer.count, rest.count)
            buffer.append(rest.prefix(take))
            rest = rest.dropFirst(take)
            length += take
            if buffer.count == blockSize { try emitBlock(store) }
        }
        lastWrite = .now
    }

    /// Writes the last block and returns the record to append; with writeback off, only
    /// once every block is durable. The last block is written on the calling thread while
    /// the staging threads finish the others: the writer waits for it anyway, and a small
    /// file then costs no hand-off to a staging thread and back.
    func seal(_ store: ChunkStore) throws -> SliceRecord {
        var last: BlockKey?
        var lastFailure: (any Error)?
        if !buffer.isEmpty {
            let block = try nextBlock(store)
            do {
                try store.writeBlock(block, buffer)
            } catch {
                lastFailure = error
            }
            last = block
            buffer = Data()
        }
        try staging.wait()
        if let lastFailure { throw StagingBatch.Failure(underlying: lastFailure) }
        store.uploadStaged(blocks)
        if let last { blocks.append(last) }
        if !store.configuration.writeback { try store.waitDurable(blocks) }
        return SliceRecord(pos: position, id: id!, size: UInt32(length), off: 0, len: UInt32(length))
    }

    private func emitBlock(_ store: ChunkStore) throws {
        let block = try nextBlock(store)
        store.writeBlock(block, buffer, staging: staging)
        blocks.append(block)
        buffer = Data()
        buffer.reserveCapacity(store.configuration.blockSize)
    }

    /// The key of the block the buffer fills, allocating the slice id with the first one.
    private func nextBlock(_ store: ChunkStore) throws -> BlockKey {
        let sliceID = try id ?? store.catalog.newSliceID()
        id = sliceID
        return BlockKey(sliceID: sliceID, index: blocks.count, size: buffer.count)
    }
}
