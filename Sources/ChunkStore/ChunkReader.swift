import Foundation
import StorageFormat

/// The read half of a chunk store: a file's committed records resolved into the blocks
/// that hold its bytes, fetched through the block cache, and the read-ahead of a stream.
final class ChunkReader: Sendable {
    let blockSize: Int
    private let catalog: any SliceCatalog
    private let fetcher: BlockFetcher
    /// GETs wait on the network, not the CPU: more of them in flight than cores.
    private let prefetchWorkers = WorkerPool(name: "volumed-prefetch", limit: 8)

    init(blockSize: Int, catalog: any SliceCatalog, fetcher: BlockFetcher) {
        self.blockSize = blockSize
        self.catalog = catalog
        self.fetcher = fetcher
    }

    /// File bytes `[start, end)` from the committed records. A read within one block of
    /// one slice (most reads: the kernel asks for at most 1 MiB) is the cached block's own
    /// bytes, not a copy; its indices need not start at zero.
    func read(inode: Ino, from start: UInt64, to end: UInt64, wholeBlocks: Bool) throws(ChunkStoreError) -> Data {
        var parts: [Data] = []
        for piece in ChunkGeometry.pieces(of: start..<end) {
            let records = try catalog.records(inode: inode, chunk: piece.index)
            for segment in SliceResolution.resolve(records, from: piece.offset, to: piece.end) {
                try collect(segment, into: &parts, wholeBlocks: wholeBlocks)
            }
        }
        return Self.joined(parts, count: Int(end - start))
    }

    /// The bytes `records` resolve to over `[start, end)` of their chunk, whole blocks
    /// fetched (a compaction reads all of them).
    func bytes(of records: [SliceRecord], from start: UInt32, to end: UInt32) throws(ChunkStoreError) -> Data {
        var parts: [Data] = []
        for segment in SliceResolution.resolve(records, from: start, to: end) { try collect(segment, into: &parts, wholeBlocks: true) }
        return Self.joined(parts, count: Int(end - start))
    }

    /// Fetches the blocks behind `[start, end)` of a file into the cache, in the background.
    func prefetch(inode: Ino, from start: UInt64, to end: UInt64) {
        prefetchWorkers.submit { [self] in
            var blocks: [BlockKey] = []
            for piece in ChunkGeometry.pieces(of: start..<end) {
                guard let records = try? catalog.records(inode: inode, chunk: piece.index) else { return }
                for segment in SliceResolution.resolve(records, from: piece.offset, to: piece.end) {
                    guard let slice = segment.slice else { continue }
                    let first = Int(slice.offset) / blockSize
                    let last = (Int(slice.offset) + Int(segment.length) - 1) / blockSize
                    for index in first...last { blocks.append(block(index, of: slice.id, size: slice.size)) }
                }
            }
            for block in blocks { prefetchWorkers.submit { [self] in fetcher.prefetch(block) } }
        }
    }

    /// The bytes of one resolved segment, a piece per block it spans (zeros for a hole).
    private func collect(_ segment: ChunkSegment, into parts: inout [Data], wholeBlocks: Bool) throws(ChunkStoreError) {
        guard let slice = segment.slice else {
            parts.append(Data(count: Int(segment.length)))
            return
        }
        var offset = Int(slice.offset)
        let end = offset + Int(segment.length)
        guard end <= Int(slice.size) else { throw ChunkStoreError(.ioError, "a record reads past the end of slice \(slice.id)") }
        while offset < end {
            let block = block(offset / blockSize, of: slice.id, size: slice.size)
            let within = (offset - block.index * blockSize)..<min(block.size, end - block.index * blockSize)
            do {
                parts.append(try fetcher.bytes(block, within, wholeBlock: wholeBlocks))
            } catch {
                throw ChunkStoreError(error)
            }
            offset += within.count
        }
    }

    /// Block `index` of a slice of `size` bytes: the last one is short.
    private func block(_ index: Int, of slice: SliceID, size: UInt32) -> BlockKey {
        BlockKey(sliceID: slice, index: index, size: min(blockSize, Int(size) - index * blockSize))
    }

    private static func joined(_ parts: [Data], count: Int) -> Data {
        if parts.count == 1 { return parts[0] }
        var output = Data(capacity: count)
        for part in parts { output.append(part) }
        return output
    }
}
