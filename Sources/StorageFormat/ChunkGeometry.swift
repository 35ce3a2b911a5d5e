/// JuiceFS geometry: 64 MiB chunks of file address space.
public enum ChunkGeometry {
    public static let chunkSize: UInt64 = 1 << 26
    public static let inodeBatch: UInt64 = 1024
    public static let sliceBatch: UInt64 = 4096
    /// The longest a file may be: 2^31 chunks (2^57 bytes), the limit juicefs sets, so that
    /// every file either client writes the other can open. Longer lengths are EFBIG.
    public static let maxFileLength: UInt64 = chunkSize << 31

    /// 4096 for 0, else `n` rounded up to a multiple of 4096 (the space accounting unit).
    public static func align4K(_ length: UInt64) -> Int64 {
        length == 0 ? 4096 : Int64((length + 4095) / 4096 * 4096)
    }
}

/// One chunk's share of a byte range of a file.
public struct ChunkPiece: Sendable, Equatable {
    public let index: UInt32
    /// Where the piece starts in the file.
    public let fileOffset: UInt64
    /// Where the piece starts within its chunk.
    public let offset: UInt32
    public let length: UInt32

    public var end: UInt32 { offset + length }
}

extension ChunkGeometry {
    /// Splits a byte range of a file at chunk boundaries, in order.
    public static func pieces(of range: Range<UInt64>) -> [ChunkPiece] {
        var pieces: [ChunkPiece] = []
        var position = range.lowerBound
        while position < range.upperBound {
            let offset = position % chunkSize
            let length = min(range.upperBound - position, chunkSize - offset)
            pieces.append(ChunkPiece(index: UInt32(position / chunkSize), fileOffset: position, offset: UInt32(offset), length: UInt32(length)))
            position += length
        }
        return pieces
    }
}
