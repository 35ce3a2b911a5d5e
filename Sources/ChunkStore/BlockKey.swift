import StorageFormat
/// One block of a slice, named `{id}_{index}_{size}` (its object key is `BlockLayout`'s).
/// The name carries the block's exact length. Sixteen bytes: the cache and the upload queue
/// hold one per block, a million of them for a million small files.
public struct BlockKey: Hashable, Sendable, CustomStringConvertible {
    public let sliceID: SliceID
    private let storedIndex: UInt32
    private let storedSize: UInt32

    /// The block's place in its slice.
    public var index: Int { Int(storedIndex) }
    /// The block's length in bytes.
    public var size: Int { Int(storedSize) }

    /// `index` and `size` fit 32 bits: a slice is at most a chunk (64 MiB) long.
    public init(sliceID: SliceID, index: Int, size: Int) {
        self.sliceID = sliceID
        storedIndex = UInt32(index)
        storedSize = UInt32(size)
    }

    /// The blocks of a slice of `sliceSize` bytes: full blocks, then a short last one.
    public static func blocks(sliceID: SliceID, sliceSize: Int, blockSize: Int) -> [BlockKey] {
        guard sliceSize > 0 else { return [] }
        return (0...(sliceSize - 1) / blockSize).map { index in
            BlockKey(sliceID: sliceID, index: index, size: min(blockSize, sliceSize - index * blockSize))
        }
    }

    /// `{id}_{index}_{size}`: the file name, also used in the cache.
    public var name: String { "\(sliceID)_\(index)_\(size)" }

    /// Parses a file or object name; `nil` for anything else.
    public init?(name: String) {
        let parts = name.split(separator: "_")
        guard parts.count == 3, let id = UInt64(parts[0]), let index = UInt32(parts[1]), let size = UInt32(parts[2]), size > 0 else { return nil }
        self.init(sliceID: SliceID(id), index: Int(index), size: Int(size))
    }

    public var description: String { name }
}
