import StorageFormat

/// The storage primitives one engine transaction is built from.
///
/// The POSIX rules (link counts, accounting, rename cases) live once, in `NamespaceEngine`;
/// each store only says how a node, an edge or a counter is kept. Reads see the writes made
/// earlier in the same transaction.
protocol MetaTransaction {
    func node(_ inode: Ino) throws(MetaError) -> Attr?
    /// Several nodes in one go (one round trip where the store has them).
    func nodes(_ inodes: [Ino]) throws(MetaError) -> [Attr?]
    /// An entry and its node together (one round trip where the store has them).
    func lookup(_ parent: Ino, _ name: [UInt8]) throws(MetaError) -> (Ino, Attr)?
    func insertNode(_ inode: Ino, _ attr: Attr) throws(MetaError)
    func updateNode(_ inode: Ino, _ attr: Attr) throws(MetaError)

    func edge(_ parent: Ino, _ name: [UInt8]) throws(MetaError) -> (Ino, NodeType)?
    /// Creates the entry or points an existing one at another inode.
    func putEdge(_ parent: Ino, _ name: [UInt8], _ inode: Ino, _ type: NodeType) throws(MetaError)
    func deleteEdge(_ parent: Ino, _ name: [UInt8]) throws(MetaError)
    func hasChildren(_ inode: Ino) throws(MetaError) -> Bool
    /// Entries sorted by name bytes, after `after`, at most `limit`.
    func entries(_ inode: Ino, after: [UInt8]?, limit: Int) throws(MetaError) -> [DirectoryEntry]
    /// The same entries with their nodes (one query where the store can join them).
    func entriesWithAttributes(_ inode: Ino, after: [UInt8]?, limit: Int) throws(MetaError) -> [DirectoryEntry]
    /// The directories holding names of a hard-linked inode, once per name.
    func linkParents(of inode: Ino) throws(MetaError) -> [Ino]
    /// Counts names of a hard-linked inode per parent, where the store keeps such a count.
    func addLinkParent(_ inode: Ino, parent: Ino, delta: Int64) throws(MetaError)

    func symlinkTarget(_ inode: Ino) throws(MetaError) -> [UInt8]?
    func insertSymlink(_ inode: Ino, target: [UInt8]) throws(MetaError)

    func xattr(_ inode: Ino, name: String) throws(MetaError) -> [UInt8]?
    func putXattr(_ inode: Ino, name: String, value: [UInt8]) throws(MetaError)
    func deleteXattr(_ inode: Ino, name: String) throws(MetaError)
    func xattrNames(_ inode: Ino) throws(MetaError) -> [String]

    /// A chunk's raw records, or `nil` when the chunk has none.
    func chunk(_ inode: Ino, index: UInt32) throws(MetaError) -> [UInt8]?
    func appendRecords(_ inode: Ino, index: UInt32, _ records: [SliceRecord]) throws(MetaError)
    /// Overwrites a chunk's records (compaction).
    func setRecords(_ inode: Ino, index: UInt32, _ records: [UInt8]) throws(MetaError)
    /// Removes a chunk's records (a shrink past the whole chunk).
    func deleteChunk(_ inode: Ino, index: UInt32) throws(MetaError)
    /// Indexes of the chunks that exist in `range`, ascending. Found from what the store
    /// holds, never by trying every index, so a sparse file's length costs nothing.
    func chunkIndexes(_ inode: Ino, in range: Range<UInt32>) throws(MetaError) -> [UInt32]
    /// Every chunk of the inode as raw records, ascending by index.
    func chunks(of inode: Ino) throws(MetaError) -> [(index: UInt32, records: [UInt8])]
    /// The raw records of every chunk of every inode, in no order, a batch at a time: what a
    /// garbage collector needs to know which slices the namespace still references.
    func forEachChunk(_ body: ([UInt8]) throws(MetaError) -> Void) throws(MetaError)

    /// A freshly written slice gets its first reference.
    func referenceNewSlice(_ id: SliceID, size: UInt32) throws(MetaError)
    /// One more record points at an existing slice.
    func addSliceReference(_ id: SliceID, size: UInt32) throws(MetaError)
    /// Records that `refs` chunk records reference a slice (a loader's recount).
    func setSliceReferences(_ id: SliceID, size: UInt32, refs: Int) throws(MetaError)
    /// Drops one reference; a slice left without any loses its record (blocks stay for gc).
    func dereferenceSlice(_ id: SliceID, size: UInt32) throws(MetaError)

    func addCounter(_ name: String, _ delta: Int64) throws(MetaError)
    func addDirStat(_ inode: Ino, length: Int64, space: Int64, inodes: Int64) throws(MetaError)

    /// Keeps an unlinked but open inode alive on behalf of a session.
    func sustain(_ inode: Ino, session: Int64) throws(MetaError)
    /// Deletes a node and everything keyed by it: symlink, xattrs, chunks, dir stats,
    /// link counts and sustained markers. `chunks` are the indexes `chunks(of:)` found, for
    /// a store that deletes chunks one key at a time.
    func deleteNode(_ inode: Ino, type: NodeType, chunks: [UInt32]) throws(MetaError)
}

extension MetaTransaction {
    func nodes(_ inodes: [Ino]) throws(MetaError) -> [Attr?] {
        var attrs: [Attr?] = []
        attrs.reserveCapacity(inodes.count)
        for inode in inodes { attrs.append(try node(inode)) }
        return attrs
    }

    func entriesWithAttributes(_ inode: Ino, after: [UInt8]?, limit: Int) throws(MetaError) -> [DirectoryEntry] {
        let entries = try entries(inode, after: after, limit: limit)
        return try zip(entries, try nodes(entries.map(\.inode))).map { (entry, attr) throws(MetaError) in
            guard let attr else { throw MetaError.missingNode(of: entry, in: inode) }
            return DirectoryEntry(name: entry.name, inode: entry.inode, type: entry.type, attr: attr)
        }
    }

    func lookup(_ parent: Ino, _ name: [UInt8]) throws(MetaError) -> (Ino, Attr)? {
        guard let (inode, _) = try edge(parent, name) else { return nil }
        return (inode, try requireNode(inode))
    }

    func requireNode(_ inode: Ino) throws(MetaError) -> Attr {
        guard let attr = try node(inode) else { throw MetaError(.noSuchFileOrDirectory, "no inode \(inode)") }
        return attr
    }

    func requireDirectory(_ inode: Ino) throws(MetaError) -> Attr {
        let attr = try requireNode(inode)
        guard attr.type == .directory else { throw MetaError(.notDirectory) }
        return attr
    }

    /// Every directory holding a name of `inode`, once per name.
    func parents(of inode: Ino, attr: Attr) throws(MetaError) -> [Ino] {
        attr.parent != 0 ? [attr.parent] : try linkParents(of: inode)
    }
}
