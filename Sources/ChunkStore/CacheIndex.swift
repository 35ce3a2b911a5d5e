/// What a `BlockCache` knows of the blocks on its disk: one entry per block, so a million small
/// files make a million entries. Each costs 32 bytes of table: the block's key without its
/// space (a cache holds blocks of few spaces, so the spaces are the outer table) and an entry
/// packed into 16 bytes.
struct CacheIndex {
    struct Entry {
        /// The last use (low 63 bits) and whether the block was checked against its checksum
        /// or written by this process (the top bit).
        private var packed: UInt64
        /// The log record's segment, or `UInt32.max` for a file.
        private let segment: UInt32
        private let offset: UInt32

        private static let verifiedBit: UInt64 = 1 << 63

        init(tick: UInt64, location: BlockLog.Location?, verified: Bool) {
            packed = (tick & ~Self.verifiedBit) | (verified ? Self.verifiedBit : 0)
            segment = location?.segment ?? .max
            offset = location.map { UInt32($0.offset) } ?? 0
        }

        /// Last use, for eviction.
        var tick: UInt64 {
            get { packed & ~Self.verifiedBit }
            set { packed = (newValue & ~Self.verifiedBit) | (packed & Self.verifiedBit) }
        }

        var verified: Bool {
            get { packed & Self.verifiedBit != 0 }
            set { packed = newValue ? packed | Self.verifiedBit : packed & ~Self.verifiedBit }
        }

        /// The log record; `nil` for a file.
        var location: BlockLog.Location? {
            segment == .max ? nil : BlockLog.Location(segment: segment, offset: Int64(offset))
        }
    }

    private var spaces: [CacheSpace: [BlockKey: Entry]] = [:]

    subscript(key: CacheKey) -> Entry? {
        get { spaces[key.space]?[key.block] }
        set {
            if let newValue {
                spaces[key.space, default: [:]][key.block] = newValue
            } else {
                spaces[key.space]?[key.block] = nil
            }
        }
    }

    /// Sets the entry, returning the one it replaced.
    mutating func updateValue(_ entry: Entry, forKey key: CacheKey) -> Entry? {
        spaces[key.space, default: [:]].updateValue(entry, forKey: key.block)
    }

    mutating func removeValue(forKey key: CacheKey) -> Entry? {
        spaces[key.space]?.removeValue(forKey: key.block)
    }

    /// Every entry, least recently used first.
    func byAge() -> [(key: CacheKey, entry: Entry)] {
        spaces.flatMap { space, blocks in blocks.map { (CacheKey(space: space, block: $0.key), $0.value) } }.sorted { $0.entry.tick < $1.entry.tick }
    }
}
