/// A snapshot of the data path, for `status`.
public struct ChunkStoreStatistics: Sendable, Equatable {
    public var stagedBlocks = 0
    public var stagedBytes: Int64 = 0
    public var uploadsInFlight = 0
    public var uploadedBlocks = 0
    public var uploadedBytes: Int64 = 0
    /// Bytes per second over the uploads so far.
    public var uploadRate: Double = 0
    public var cacheBytes: Int64 = 0
    public var cacheBudget: Int64 = 0
    public var cacheHits = 0
    public var cacheMisses = 0
    public var objectGets = 0
    /// Block uploads and fetches that failed after the object store's own retries (an upload
    /// is tried again later; a fetch fails its read).
    public var uploadErrors = 0
    public var downloadErrors = 0
    /// Mean latency of object-store block fetches, in seconds.
    public var meanFetchLatency: Double = 0

    public var hitRatio: Double { cacheHits + cacheMisses == 0 ? 0 : Double(cacheHits) / Double(cacheHits + cacheMisses) }

    public init() {}
}
