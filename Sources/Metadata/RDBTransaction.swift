import StorageFormat

/// The reads of a `RDBMetaStore`, answered from the committed RDB as `RedisTransaction`
/// answers them from a server; every write is refused.
struct RDBTransaction: MetaTransaction {
    let store: RDBMetaStore

    func node(_ inode: Ino) throws(MetaError) -> Attr? {
        guard let bytes = try store.string(RedisKey.attr(inode)) else { return nil }
        guard let attr = Attr(redisEncoded: bytes) else { throw MetaError(.ioError, "attribute of inode \(inode) is corrupt (\(bytes.count) bytes)") }
        return attr
    }

    func edge(_ parent: Ino, _ name: [UInt8]) throws(MetaError) -> (Ino, NodeType)? {
        guard let value = try store.hash(RedisKey.entries(parent))[name] else { return nil }
        guard let entry = RedisKey.decodeEntry(value) else { throw MetaError(.ioError, "entry in directory \(parent) is corrupt") }
        return entry
    }

    func hasChildren(_ inode: Ino) throws(MetaError) -> Bool { !(try store.hash(RedisKey.entries(inode)).isEmpty) }

    func entries(_ inode: Ino, after: [UInt8]?, limit: Int) throws(MetaError) -> [DirectoryEntry] {
        try RedisKey.decodeEntries(try store.hash(RedisKey.entries(inode)), of: inode, after: after, limit: limit)
    }

    func linkParents(of inode: Ino) throws(MetaError) -> [Ino] { RedisKey.decodeLinkParents(try store.hash(RedisKey.parents(inode))) }

    func symlinkTarget(_ inode: Ino) throws(MetaError) -> [UInt8]? { try store.string(RedisKey.symlink(inode)) }

    func xattr(_ inode: Ino, name: String) throws(MetaError) -> [UInt8]? { try store.hash(RedisKey.xattrs(inode))[Array(name.utf8)] }

    func xattrNames(_ inode: Ino) throws(MetaError) -> [String] {
        try store.hash(RedisKey.xattrs(inode)).keys.map { String(decoding: $0, as: UTF8.self) }
    }

    func chunk(_ inode: Ino, index: UInt32) throws(MetaError) -> [UInt8]? {
        guard let record = try store.record(RedisKey.chunk(inode, index)) else { return nil }
        let records = try store.list(of: record).flatMap { $0 }
        return records.isEmpty ? nil : records
    }

    /// The inode's chunk keys are neighbours in key order: one walk from the first.
    func chunkIndexes(_ inode: Ino, in range: Range<UInt32>) throws(MetaError) -> [UInt32] {
        guard !range.isEmpty else { return [] }
        let prefix = RedisKey.bytes("c\(inode)_")
        return try store.records(withPrefix: prefix).compactMap { RedisKey.chunkIndex($0.key, of: inode) }.filter(range.contains).sorted()
    }

    func chunks(of inode: Ino) throws(MetaError) -> [(index: UInt32, records: [UInt8])] {
        var result: [(index: UInt32, records: [UInt8])] = []
        for record in try store.records(withPrefix: RedisKey.bytes("c\(inode)_")) {
            guard let index = RedisKey.chunkIndex(record.key, of: inode) else { continue }
            let records = try store.list(of: record).flatMap { $0 }
            if !records.isEmpty { result.append((index, records)) }
        }
        return result.sorted { $0.index < $1.index }
    }

    func forEachChunk(_ body: ([UInt8]) throws(MetaError) -> Void) throws(MetaError) {
        try store.forEachRecord { (record) throws(MetaError) in
            guard RedisKey.isChunk(record.key) else { return }
            try body(try store.list(of: record).flatMap { $0 })
        }
    }

    // MARK: - Refused writes

    func insertNode(_ inode: Ino, _ attr: Attr) throws(MetaError) { throw store.readOnly }
    func updateNode(_ inode: Ino, _ attr: Attr) throws(MetaError) { throw store.readOnly }
    func putEdge(_ parent: Ino, _ name: [UInt8], _ inode: Ino, _ type: NodeType) throws(MetaError) { throw store.readOnly }
    func deleteEdge(_ parent: Ino, _ name: [UInt8]) throws(MetaError) { throw store.readOnly }
    func addLinkParent(_ inode: Ino, parent: Ino, delta: Int64) throws(MetaError) { throw store.readOnly }
    func insertSymlink(_ inode: Ino, target: [UInt8]) throws(MetaError) { throw store.readOnly }
    func putXattr(_ inode: Ino, name: String, value: [UInt8]) throws(MetaError) { throw store.readOnly }
    func deleteXattr(_ inode: Ino, name: String) throws(MetaError) { throw store.readOnly }
    func appendRecords(_ inode: Ino, index: UInt32, _ records: [SliceRecord]) throws(MetaError) { throw store.readOnly }
    func setRecords(_ inode: Ino, index: UInt32, _ records: [UInt8]) throws(MetaError) { throw store.readOnly }
    func deleteChunk(_ inode: Ino, index: UInt32) throws(MetaError) { throw store.readOnly }
    func referenceNewSlice(_ id: SliceID, size: UInt32) throws(MetaError) { throw store.readOnly }
    func addSliceReference(_ id: SliceID, size: UInt32) throws(MetaError) { throw store.readOnly }
    func setSliceReferences(_ id: SliceID, size: UInt32, refs: Int) throws(MetaError) { throw store.readOnly }
    func dereferenceSlice(_ id: SliceID, size: UInt32) throws(MetaError) { throw store.readOnly }
    func addCounter(_ name: String, _ delta: Int64) throws(MetaError) { throw store.readOnly }
    func addDirStat(_ inode: Ino, length: Int64, space: Int64, inodes: Int64) throws(MetaError) { throw store.readOnly }
    func sustain(_ inode: Ino, session: Int64) throws(MetaError) { throw store.readOnly }
    func deleteNode(_ inode: Ino, type: NodeType, chunks: [UInt32]) throws(MetaError) { throw store.readOnly }
}
