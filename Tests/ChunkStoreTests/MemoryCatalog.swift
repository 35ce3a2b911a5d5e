import ChunkStore
import Foundation
import StorageFormat

/// The chunk store's catalog kept in memory, with just enough of a file's life (a length,
/// truncation, deletion) for the chunk store's tests: they need no metadata engine.
final class MemoryCatalog: SliceCatalog, @unchecked Sendable {
    private let lock = NSLock()
    private var chunks: [Ino: [UInt32: [SliceRecord]]] = [:]
    private var lengths: [Ino: UInt64] = [:]
    private var nextInode: UInt64 = 2
    private var nextSlice: UInt64

    /// Slice ids come from `domain`, as a writable mount's do.
    init(domain: UInt32 = UInt32.random(in: 1..<(1 << 31))) {
        nextSlice = UInt64(domain) << 32
    }

    func newFile() -> Ino {
        lock.withLock {
            defer { nextInode += 1 }
            lengths[Ino(nextInode)] = 0
            return Ino(nextInode)
        }
    }

    func length(_ inode: Ino) -> UInt64 { lock.withLock { lengths[inode] ?? 0 } }

    /// Changes the length the way the engines do: the bytes between the old and the new
    /// length read as zeros from then on.
    func truncate(_ inode: Ino, to length: UInt64) {
        lock.withLock {
            let old = lengths[inode] ?? 0
            for piece in ChunkGeometry.pieces(of: min(old, length)..<max(old, length)) {
                chunks[inode, default: [:]][piece.index, default: []].append(.hole(pos: piece.offset, len: piece.length))
            }
            lengths[inode] = length
        }
    }

    /// An unlinked file: its records are gone.
    func remove(_ inode: Ino) {
        lock.withLock {
            chunks[inode] = nil
            lengths[inode] = nil
        }
    }

    // MARK: - SliceCatalog

    func newSliceID() throws(ChunkStoreError) -> SliceID {
        lock.withLock {
            nextSlice += 1
            return SliceID(nextSlice)
        }
    }

    func records(inode: Ino, chunk: UInt32) throws(ChunkStoreError) -> [SliceRecord] {
        lock.withLock { chunks[inode]?[chunk] ?? [] }
    }

    func append(_ record: SliceRecord, inode: Ino, chunk: UInt32) throws(ChunkStoreError) {
        lock.withLock {
            chunks[inode, default: [:]][chunk, default: []].append(record)
            let end = UInt64(chunk) * ChunkGeometry.chunkSize + UInt64(record.pos) + UInt64(record.len)
            lengths[inode] = max(lengths[inode] ?? 0, end)
        }
    }

    func replace(_ replaced: [SliceRecord], with replacement: SliceRecord, inode: Ino, chunk: UInt32) throws(ChunkStoreError) -> Bool {
        lock.withLock {
            guard let current = chunks[inode]?[chunk], current.starts(with: replaced) else { return false }
            chunks[inode]![chunk] = [replacement] + current.dropFirst(replaced.count)
            return true
        }
    }
}
