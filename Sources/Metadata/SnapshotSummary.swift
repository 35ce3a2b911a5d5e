/// What a metadata snapshot holds, read at the instant it was taken.
public struct SnapshotSummary: Sendable, Equatable {
    /// The engine's `changeCount` the snapshot reflects.
    public let changeCount: UInt64
    public let usedBytes: Int64
    public let inodes: Int64
}
