import StorageFormat
import SystemPackage

/// Where a volume's namespace is kept: the store-specific half of an engine.
///
/// `NamespaceEngine` calls every method with its lock held, so a store needs no locking
/// of its own.
protocol MetaStore: AnyObject {
    /// Where the store lives, for messages (never with credentials).
    var location: String { get }
    /// Directory entries worth reading per call (see `MetaEngine.listingPageSize`).
    var listingPageSize: Int { get }

    /// True when the store holds nothing at all (the precondition of `load`).
    func isEmpty() throws(MetaError) -> Bool
    /// Readies an empty store for a loader's write transactions (SQL: the schema).
    func prepareForLoad() throws(MetaError)
    /// Writes the `format` setting, the given nodes and any initial counters not yet set into
    /// a store without a setting; EEXIST when it is already formatted. A loader calls it last,
    /// so that a load cut short never looks like a formatted volume.
    func create(format json: String, nodes: [(Ino, Attr)]) throws(MetaError)
    /// The `format` setting, or `nil` for an unformatted store.
    func formatJSON() throws(MetaError) -> String?

    /// Runs `body` as one atomic transaction, which may wait in a group for `persist`.
    func write<Result>(_ body: (any MetaTransaction) throws(MetaError) -> Result) throws(MetaError) -> Result
    /// `write` for a body that makes all its checks before its first change, so that once it
    /// has changed something only the store itself can fail it. A store may then skip what
    /// undoing one failed write alone costs, and undo more than the write instead (a group).
    func writeCheckedFirst<Result>(_ body: (any MetaTransaction) throws(MetaError) -> Result) throws(MetaError) -> Result
    /// Whether writes wait in a group that `persist` has yet to commit.
    var hasUnpersistedWrites: Bool { get }
    /// Commits the grouped writes, so that other connections and a restart after a crash see them.
    func persist() throws(MetaError)
    /// Runs `body` against the current state; it must not write.
    func read<Result>(_ body: (any MetaTransaction) throws(MetaError) -> Result) throws(MetaError) -> Result

    /// Takes `count` ids from `nextInode` or `nextChunk`, in its own transaction.
    func reserve(_ counter: IDCounter, count: UInt64) throws(MetaError) -> Range<UInt64>
    /// Raises `nextChunk` so that it exceeds every id below `bound`.
    func raiseNextChunk(to bound: UInt64) throws(MetaError)
    /// A counter in SQL (next-free) semantics; 0 when absent.
    func counter(_ name: String) throws(MetaError) -> Int64
    /// Sets counters to values given in SQL semantics (a loader's recomputed totals).
    func setCounters(_ values: [String: Int64]) throws(MetaError)
    /// Registers a session the way a juicefs mount does and returns its id.
    func registerSession() throws(MetaError) -> Int64

    /// The namespace as it stands, held unchanged until released; a store that must copy it
    /// to hold it writes the copy to `scratchFile`.
    func snapshot(scratchFile: FilePath) throws(MetaError) -> IndexSnapshot
}

extension MetaStore {
    func writeCheckedFirst<Result>(_ body: (any MetaTransaction) throws(MetaError) -> Result) throws(MetaError) -> Result {
        try write(body)
    }
}

/// The two id counters, with their SQL names.
enum IDCounter: String {
    case inode = "nextInode"
    case chunk = "nextChunk"

    /// The smallest id the counter may hand out.
    var floor: UInt64 { self == .inode ? 2 : 1 }
}
