import SystemPackage

/// How one volume's chunk store behaves; defaults follow the seed API.
public struct ChunkStoreConfiguration: Sendable {
    /// The format `Name` of the volume's first ancestor: where block keys start.
    public var chunkPrefix: String
    /// The format's `HashPrefix`: block keys spread over 256 folders (see `BlockLayout`).
    public var hashPrefix: Bool
    public var blockSize: Int
    /// Acknowledge a full block once it is staged on local disk, upload in the background.
    public var writeback: Bool
    /// How long a staged block waits before its upload may start.
    public var uploadDelay: Duration
    public var maxUploads: Int
    /// Blocks fetched ahead at most, once a read streak is long enough.
    public var maxReadAhead: Int
    /// A slice is sealed once it has been idle this long.
    public var idleSeal: Duration
    /// The daemon-wide bounds on PUTs and GETs that this store shares with every other.
    public var uploadGate: TransferGate = .unlimited
    public var downloadGate: TransferGate = .unlimited

    public init(
        chunkPrefix: String, hashPrefix: Bool = false, blockSize: Int = 4 << 20, writeback: Bool = true, uploadDelay: Duration = .zero, maxUploads: Int = 50,
        maxReadAhead: Int = 16, idleSeal: Duration = .seconds(1)
    ) {
        self.chunkPrefix = chunkPrefix
        self.hashPrefix = hashPrefix
        self.blockSize = blockSize
        self.writeback = writeback
        self.uploadDelay = uploadDelay
        self.maxUploads = maxUploads
        self.maxReadAhead = maxReadAhead
        self.idleSeal = idleSeal
    }

    public var layout: BlockLayout { BlockLayout(chunkPrefix: chunkPrefix, hashPrefix: hashPrefix) }
}
