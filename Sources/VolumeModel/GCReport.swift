/// What `bucket.gc` found in a bucket and what it did about it. `garbage` is what nothing can
/// reach and the grace period no longer protects; `deleted` is what was removed of it (none in
/// a dry run); `kinds` splits `garbage` by what the objects are.
public struct GCReport: Codable, Sendable, Equatable {
    /// A number of objects and their bytes.
    public struct Tally: Codable, Sendable, Equatable {
        public var objects: Int64
        public var bytes: Int64

        public init(objects: Int64 = 0, bytes: Int64 = 0) {
            self.objects = objects
            self.bytes = bytes
        }

        public mutating func add(_ size: Int64) {
            objects += 1
            bytes += size
        }
    }

    public var bucket: String
    public var dryRun: Bool
    public var graceSeconds: Int64
    /// Indexes read to learn what the versions reach (versions sharing one count once).
    public var versions: Int
    /// Versions the retention policy removed from the catalogue (or would, in a dry run).
    public var retired: [String]
    /// Mounts on any machine whose leases kept their slice domains, as `host:/mount/path`.
    public var heldBy: [String]
    /// Chunk prefixes left alone because volumed never claimed a slice domain there (a stock
    /// juicefs volume's blocks, which only its own metadata can account for).
    public var skippedPrefixes: [String]
    public var examined: Tally
    public var kept: Tally
    public var garbage: Tally
    public var deleted: Tally
    /// `blocks`, `pieces` (index pieces), `indexes` (manifests and one-file indexes no
    /// descriptor names), `claims` (slice-domain claims), `leases` (lapsed mount leases).
    public var kinds: [String: Tally]
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case bucket, dryRun = "dry_run", graceSeconds = "grace_seconds", versions, retired, heldBy = "held_by", skippedPrefixes = "skipped_prefixes"
        case examined, kept, garbage, deleted, kinds, seconds
    }

    public init(bucket: String, dryRun: Bool, graceSeconds: Int64) {
        self.bucket = bucket
        self.dryRun = dryRun
        self.graceSeconds = graceSeconds
        versions = 0
        retired = []
        heldBy = []
        skippedPrefixes = []
        examined = Tally()
        kept = Tally()
        garbage = Tally()
        deleted = Tally()
        kinds = [:]
        seconds = 0
    }
}
