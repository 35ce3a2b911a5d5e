import StorageFormat

/// Nodes and chunk records as a SQLite store last read or wrote them. The store is its
/// database's only writer while open, so a row read or written once needs no SELECT until it
/// changes: every read request of a file asks for its chunk, every sealed slice has its chunk
/// read back for compaction. A failed write forgets everything, as SQLite rolled back changes
/// the kept rows may hold.
struct SQLiteKeptRows {
    private var nodes: [Ino: Attr] = [:]
    private static let nodesKept = 8192
    private var chunks: [Ino: [UInt32: [UInt8]]] = [:]
    /// Bytes of records kept, each chunk counted with `chunkOverhead` for its entry.
    private var chunkBytes = 0
    private static let chunkBytesKept = 4 << 20
    private static let chunkOverhead = 64

    func node(_ inode: Ino) -> Attr? { nodes[inode] }

    mutating func keep(_ inode: Ino, _ attr: Attr) {
        if nodes.count >= Self.nodesKept { nodes.removeAll(keepingCapacity: true) }
        nodes[inode] = attr
    }

    /// After an update, which leaves the columns a node is born with as they were.
    mutating func update(_ inode: Ino, _ attr: Attr) {
        guard let kept = nodes[inode] else { return }
        var updated = attr
        (updated.type, updated.accessACL, updated.defaultACL, updated.tier) = (kept.type, kept.accessACL, kept.defaultACL, kept.tier)
        nodes[inode] = updated
    }

    /// A deleted node, with its chunks.
    mutating func forget(_ inode: Ino) {
        nodes[inode] = nil
        forgetChunks(of: inode)
    }

    func chunk(_ inode: Ino, _ index: UInt32) -> [UInt8]? { chunks[inode]?[index] }

    mutating func keep(_ records: [UInt8], _ inode: Ino, _ index: UInt32) {
        let replaced = chunks[inode]?[index].map { $0.count + Self.chunkOverhead } ?? 0
        let added = records.count + Self.chunkOverhead
        if chunkBytes - replaced + added > Self.chunkBytesKept {
            chunks.removeAll(keepingCapacity: true)
            chunkBytes = 0
        } else {
            chunkBytes -= replaced
        }
        chunks[inode, default: [:]][index] = records
        chunkBytes += added
    }

    mutating func forgetChunk(_ inode: Ino, _ index: UInt32) {
        if let gone = chunks[inode]?.removeValue(forKey: index) { chunkBytes -= gone.count + Self.chunkOverhead }
    }

    mutating func forgetChunks(of inode: Ino) {
        guard let gone = chunks.removeValue(forKey: inode) else { return }
        chunkBytes -= gone.values.reduce(0) { $0 + $1.count + Self.chunkOverhead }
    }

    mutating func forgetAll() {
        nodes.removeAll()
        chunks.removeAll()
        chunkBytes = 0
    }
}
