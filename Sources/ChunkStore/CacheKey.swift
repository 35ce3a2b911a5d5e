import StorageFormat

/// A block as the cache directory knows it: its space and its key.
public struct CacheKey: Hashable, Sendable {
    public let space: CacheSpace
    public let block: BlockKey

    public init(space: CacheSpace, block: BlockKey) {
        self.space = space
        self.block = block
    }
}
