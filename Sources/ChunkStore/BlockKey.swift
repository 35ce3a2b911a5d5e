import StorageFormat
/// One block of a slice, named `{id}_{index}_{size}` (its object key is `BlockLayout`'s).
/// The name carries the block's exact length.
public struct BlockKey: Hashable, Sendable, CustomStringConvertible {
    public let sliceID: SliceID
    public let index: Int
    public let size: Int

    public init(sliceID: SliceID, index: Int, size: Int) {
        self.sliceID = sliceID
        self.index = index
        self.size = size
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
        guard parts.count == 3, let id = UInt64(parts[0]), let index = Int(parts[1]), let size = Int(parts[2]), index >= 0, size > 0 else { return nil }
        self.init(sliceID: SliceID(id), index: index, size: size)
    }

    public var description: String { name }
}
