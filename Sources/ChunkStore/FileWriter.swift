import Foundation
import StorageFormat

/// The writes of one open file, turned into slices per chunk.
///
/// A write that starts exactly at the tail of an open slice of its chunk extends it, unless
/// a newer slice overlaps the written range; any other write starts a new slice. Slices of
/// a chunk are committed in creation order, so later writes win where they overlap. A
/// chunk's slices are sealed and committed when one reaches the chunk end, on `flush`,
/// when idle for `idleSeal`, or when older than five seconds.
public final class FileWriter: @unchecked Sendable {
    public let inode: Ino
    private let pipeline: WritePipeline
    private let catalog: any SliceCatalog
    private let compactor: Compactor
    private let lock = NSLock()
    private var chunks: [UInt32: [SliceWriter]] = [:]
    private var backgroundFailure: ChunkStoreError?

    init(inode: Ino, pipeline: WritePipeline, catalog: any SliceCatalog, compactor: Compactor) {
        self.inode = inode
        self.pipeline = pipeline
        self.catalog = catalog
        self.compactor = compactor
    }

    /// Copies what it keeps of `data` before returning: a caller may pass bytes it reuses.
    public func write(at offset: UInt64, _ data: Data) throws(ChunkStoreError) {
        lock.lock()
        defer { lock.unlock() }
        try reportBackgroundFailure()
        for piece in ChunkGeometry.pieces(of: offset..<offset + UInt64(data.count)) {
            let start = data.startIndex + Int(piece.fileOffset - offset)
            let slice = writableSlice(chunk: piece.index, at: piece.offset, length: piece.length)
            do {
                try slice.append(data[start..<start + Int(piece.length)])
            } catch {
                // The slice is lost (its seal throws and drops it); later writes start anew.
                try? sealChunk(piece.index)
                throw error
            }
            if UInt64(slice.end) == ChunkGeometry.chunkSize || chunks[piece.index]!.count > 100 { try sealChunk(piece.index) }
        }
    }

    /// Seals and commits everything written so far.
    public func flush() throws(ChunkStoreError) {
        lock.lock()
        defer { lock.unlock() }
        try reportBackgroundFailure()
        for chunk in chunks.keys.sorted() { try sealChunk(chunk) }
    }

    /// Whether written bytes are not yet committed (a reader must flush first).
    public var hasPendingData: Bool { lock.withLock { !chunks.isEmpty } }

    /// Seals chunks whose newest slice has been idle, or whose oldest is old enough.
    func sealIdle(idle: Duration, maxAge: Duration) {
        lock.withLock {
            let now = ContinuousClock.now
            for (chunk, slices) in chunks {
                guard let newest = slices.last, let oldest = slices.first else { continue }
                guard now - newest.lastWrite >= idle || now - oldest.created >= maxAge else { continue }
                do throws(ChunkStoreError) {
                    try sealChunk(chunk)
                } catch {
                    backgroundFailure = backgroundFailure ?? error
                }
            }
        }
    }

    private func writableSlice(chunk: UInt32, at position: UInt32, length: UInt32) -> SliceWriter {
        let slices = chunks[chunk] ?? []
        for slice in slices.reversed() {
            if slice.end == position { return slice }
            if slice.position < position + length, position < slice.end { break }
        }
        let slice = SliceWriter(position: position, pipeline: pipeline, catalog: catalog)
        chunks[chunk, default: []].append(slice)
        return slice
    }

    /// A slice whose seal fails is lost (`SliceWriter.seal` says when), the rest stay to be
    /// sealed again: a slice id or a record that could not be had changes nothing.
    private func sealChunk(_ chunk: UInt32) throws(ChunkStoreError) {
        while let slice = chunks[chunk]?.first {
            let record: SliceRecord
            do {
                record = try slice.seal()
            } catch {
                if slice.isLost {
                    chunks[chunk]!.removeFirst()
                    if chunks[chunk]!.isEmpty { chunks[chunk] = nil }
                }
                throw error
            }
            try catalog.append(record, inode: inode, chunk: chunk)
            chunks[chunk]!.removeFirst()
        }
        chunks[chunk] = nil
        compactor.compactIfCrowded(inode: inode, chunk: chunk)
    }

    private func reportBackgroundFailure() throws(ChunkStoreError) {
        if let failure = backgroundFailure {
            backgroundFailure = nil
            throw failure
        }
    }
}
