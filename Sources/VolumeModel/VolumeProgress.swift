/// How far a long operation (mount, commit, finalize, fork, migrate, warmup) has come.
public struct VolumeProgress: Codable, Sendable, Equatable {
    /// What is happening now: `flush`, `snapshot`, `drain`, `upload_index`, `download_index`, …
    public var phase: String
    public var done: Int64
    /// `nil` when the amount of work is not known in advance.
    public var total: Int64?
    /// What `done` and `total` count: `blocks`, `bytes`, `entries`.
    public var unit: String

    public init(phase: String, done: Int64 = 0, total: Int64? = nil, unit: String = "") {
        self.phase = phase
        self.done = done
        self.total = total
        self.unit = unit
    }
}
