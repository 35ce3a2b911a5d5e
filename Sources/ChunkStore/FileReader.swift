import Foundation
import StorageFormat

/// Reads of one open file: chunk records resolved into block ranges, sequential streaks
/// answered with growing read-ahead.
public final class FileReader: @unchecked Sendable {
    public let inode: Ino
    private let reader: ChunkReader
    private let maxReadAhead: Int
    private let lock = NSLock()
    private var lastEnd: UInt64?
    private var streak = 0
    private var prefetchedUpTo: UInt64 = 0

    init(inode: Ino, reader: ChunkReader, maxReadAhead: Int) {
        self.inode = inode
        self.reader = reader
        self.maxReadAhead = maxReadAhead
    }

    /// Up to `count` bytes at `offset`, never past `fileLength`.
    public func read(at offset: UInt64, count: Int, fileLength: UInt64) throws(ChunkStoreError) -> Data {
        let end = min(offset + UInt64(max(0, count)), fileLength)
        guard offset < end else { return Data() }
        let sequential = lock.withLock { () -> Int in
            streak = continuesStream(at: offset) ? streak + 1 : 0
            lastEnd = streak > 1 ? max(lastEnd ?? end, end) : end
            return streak
        }
        let data = try reader.read(inode: inode, from: offset, to: end, wholeBlocks: sequential > 0)
        if sequential > 0 { prefetch(after: end, streak: sequential, fileLength: fileLength) }
        return data
    }

    /// A stream starts where the previous read ended (or at 0); once going, reads land
    /// near its end in any order, because the kernel sends its read-ahead requests at once
    /// and several threads serve them.
    private func continuesStream(at offset: UInt64) -> Bool {
        guard let lastEnd else { return offset == 0 }
        if offset == lastEnd { return true }
        let window: UInt64 = 2 << 20
        return streak > 0 && offset + window >= lastEnd && offset <= lastEnd + window
    }

    private func prefetch(after end: UInt64, streak: Int, fileLength: UInt64) {
        let blockSize = UInt64(reader.blockSize)
        let count = UInt64(min(1 << min(streak - 1, 16), maxReadAhead))
        let start = lock.withLock { max(end, prefetchedUpTo) }
        let until = min(fileLength, end + count * blockSize)
        guard start < until else { return }
        lock.withLock { prefetchedUpTo = until }
        reader.prefetch(inode: inode, from: start, to: until)
    }
}
