import Foundation
import SQLite
import VolumeModel

/// A committed index read in place: SQLite asks for pages (the RDB reader for records), this
/// answers from the pieces the manifest lists, fetched through the machine's piece cache on
/// first touch and checked against their hashes. A read-only mount or a browse of a large
/// volume thus serves its first `stat` after a few pieces, not after the whole index.
final class IndexPieceSource: ByteSource, @unchecked Sendable {
    let size: Int64
    let manifest: IndexManifest
    private let index: IndexRef
    private let bucket: VolumeBucket
    /// Where each piece starts in the file.
    private let starts: [Int64]
    private let lock = NSLock()
    /// The last pieces read, newest last: SQLite reads a piece's pages one after another.
    private var recent: [(piece: Int, data: Data)] = []
    private var firstFailure: VolumeError?

    private static let recentPieces = 16

    init(manifest: IndexManifest, of index: IndexRef, in bucket: VolumeBucket) {
        self.manifest = manifest
        self.index = index
        self.bucket = bucket
        size = manifest.size
        var offset: Int64 = 0
        starts = manifest.pieces.map { piece in
            defer { offset += Int64(piece.size) }
            return offset
        }
    }

    /// Why a read failed, with the index named: SQLite reports only "disk I/O error".
    var failure: VolumeError? { lock.withLock { firstFailure } }

    func bytes(at offset: Int64, count: Int) throws -> Data {
        var result = Data(capacity: count)
        var at = max(offset, 0)
        while result.count < count, at < size {
            let number = pieceNumber(containing: at)
            let data = try piece(number)
            let within = Int(at - starts[number])
            let taken = min(count - result.count, data.count - within)
            result.append(data[(data.startIndex + within)..<(data.startIndex + within + taken)])
            at += Int64(taken)
        }
        return result
    }

    private func pieceNumber(containing offset: Int64) -> Int {
        var low = 0
        var high = starts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if starts[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        return low
    }

    private func piece(_ number: Int) throws(VolumeError) -> Data {
        let hit = lock.withLock { () -> Data? in
            guard let found = recent.lastIndex(where: { $0.piece == number }) else { return nil }
            recent.append(recent.remove(at: found))
            return recent.last?.data
        }
        if let hit { return hit }
        let data: Data
        do {
            data = try bucket.piece(manifest.pieces[number], of: index)
        } catch {
            lock.withLock { if firstFailure == nil { firstFailure = error } }
            throw error
        }
        lock.withLock {
            recent.removeAll { $0.piece == number }
            recent.append((number, data))
            if recent.count > Self.recentPieces { recent.removeFirst() }
        }
        return data
    }
}
