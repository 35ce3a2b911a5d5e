import Redis
import StorageFormat

/// One optimistic Redis transaction: reads go to the server at once (watching their keys
/// when writing), writes are queued and seen by later reads through an overlay, and
/// `RedisMetaStore` sends them as one MULTI/EXEC that fails if a watched key changed.
final class RedisTransaction: MetaTransaction {
    /// Indexes probed per pipeline, and the longest range probed rather than scanned for.
    static let probedIndexes = 4096

    private let redis: RedisConnection
    private let store: RedisMetaStore
    private let watches: Bool
    private var watched: Set<[UInt8]> = []
    private var strings: [[UInt8]: [UInt8]?] = [:]
    private var fields: [[UInt8]: [[UInt8]: [UInt8]?]] = [:]
    private var deletedKeys: Set<[UInt8]> = []
    private var appended: [[UInt8]: [UInt8]] = [:]
    private(set) var commands: [[[UInt8]]] = []

    init(redis: RedisConnection, store: RedisMetaStore, watches: Bool) {
        self.redis = redis
        self.store = store
        self.watches = watches
    }

    // MARK: - Nodes

    func node(_ inode: Ino) throws(MetaError) -> Attr? {
        guard let bytes = try string(RedisKey.attr(inode)) else { return nil }
        guard let attr = Attr(redisEncoded: bytes) else { throw MetaError(.ioError, "attribute of inode \(inode) is corrupt (\(bytes.count) bytes)") }
        return attr
    }

    /// Overlaid nodes from the overlay, the rest with one MGET.
    func nodes(_ inodes: [Ino]) throws(MetaError) -> [Attr?] {
        let keys = inodes.map(RedisKey.attr)
        let missing = keys.filter { strings[$0] == nil }
        var fetched: [[UInt8]: [UInt8]] = [:]
        if !missing.isEmpty {
            if watches {
                _ = try store.pipeline([[RedisKey.bytes("WATCH")] + missing])
                watched.formUnion(missing)
            }
            let values = try store.pipeline([[RedisKey.bytes("MGET")] + missing])[0].array ?? []
            for (key, value) in zip(missing, values) { fetched[key] = value.bytes }
        }
        var attrs: [Attr?] = []
        for (inode, key) in zip(inodes, keys) {
            guard let bytes = strings[key] ?? fetched[key] else {
                attrs.append(nil)
                continue
            }
            guard let attr = Attr(redisEncoded: bytes) else { throw MetaError(.ioError, "attribute of inode \(inode) is corrupt") }
            attrs.append(attr)
        }
        return attrs
    }

    /// Reads go through one Lua call that resolves the entry and fetches its attribute;
    /// writes read them separately so that both keys are watched.
    func lookup(_ parent: Ino, _ name: [UInt8]) throws(MetaError) -> (Ino, Attr)? {
        guard !watches else {
            guard let (inode, _) = try edge(parent, name) else { return nil }
            return (inode, try requireNode(inode))
        }
        let reply = try store.evaluate(RedisScripts.lookup, keys: [RedisKey.entries(parent)], arguments: [name])
        guard let found = reply.array, let entry = found.first?.bytes else { return nil }
        guard let (inode, _) = RedisKey.decodeEntry(entry) else { throw MetaError(.ioError, "entry in directory \(parent) is corrupt") }
        guard found.count == 2 else { return (inode, try requireNode(inode)) }
        guard let bytes = found[1].bytes, let attr = Attr(redisEncoded: bytes) else { throw MetaError(.ioError, "entry in \(parent) names missing inode \(inode)") }
        return (inode, attr)
    }

    func insertNode(_ inode: Ino, _ attr: Attr) throws(MetaError) { setString(RedisKey.attr(inode), attr.redisEncoded) }

    func updateNode(_ inode: Ino, _ attr: Attr) throws(MetaError) { setString(RedisKey.attr(inode), attr.redisEncoded) }

    func deleteNode(_ inode: Ino, type: NodeType, chunks: [UInt32]) throws(MetaError) {
        for index in chunks { deleteKey(RedisKey.chunk(inode, index)) }
        for key in [RedisKey.attr(inode), RedisKey.symlink(inode)] { setString(key, nil) }
        for key in [RedisKey.entries(inode), RedisKey.xattrs(inode), RedisKey.parents(inode)] { deleteKey(key) }
        if type == .directory {
            for stat in [RedisKey.dirDataLength, RedisKey.dirUsedSpace, RedisKey.dirUsedInodes] {
                queue([RedisKey.bytes("HDEL"), stat, RedisKey.decimal(inode)])
            }
        }
        if let session = store.sessionID { queue([RedisKey.bytes("SREM"), RedisKey.sustained(session), RedisKey.decimal(inode)]) }
    }

    // MARK: - Edges

    func edge(_ parent: Ino, _ name: [UInt8]) throws(MetaError) -> (Ino, NodeType)? {
        guard let value = try field(RedisKey.entries(parent), name) else { return nil }
        guard let entry = RedisKey.decodeEntry(value) else { throw MetaError(.ioError, "entry in directory \(parent) is corrupt") }
        return entry
    }

    func putEdge(_ parent: Ino, _ name: [UInt8], _ inode: Ino, _ type: NodeType) throws(MetaError) {
        setField(RedisKey.entries(parent), name, RedisKey.entryValue(inode, type))
    }

    func deleteEdge(_ parent: Ino, _ name: [UInt8]) throws(MetaError) { setField(RedisKey.entries(parent), name, nil) }

    func hasChildren(_ inode: Ino) throws(MetaError) -> Bool {
        let key = RedisKey.entries(inode)
        if fields[key] == nil, !deletedKeys.contains(key) {
            return (try fetch(key, [RedisKey.bytes("HLEN"), key]).integer ?? 0) > 0
        }
        return !(try allFields(key).isEmpty)
    }

    func entries(_ inode: Ino, after: [UInt8]?, limit: Int) throws(MetaError) -> [DirectoryEntry] {
        try RedisKey.decodeEntries(try allFields(RedisKey.entries(inode)), of: inode, after: after, limit: limit)
    }

    func linkParents(of inode: Ino) throws(MetaError) -> [Ino] { RedisKey.decodeLinkParents(try allFields(RedisKey.parents(inode))) }

    func addLinkParent(_ inode: Ino, parent: Ino, delta: Int64) throws(MetaError) {
        queue([RedisKey.bytes("HINCRBY"), RedisKey.parents(inode), RedisKey.decimal(parent), RedisKey.decimal(delta)])
    }

    // MARK: - Symlinks and xattrs

    func symlinkTarget(_ inode: Ino) throws(MetaError) -> [UInt8]? { try string(RedisKey.symlink(inode)) }

    func insertSymlink(_ inode: Ino, target: [UInt8]) throws(MetaError) { setString(RedisKey.symlink(inode), target) }

    func xattr(_ inode: Ino, name: String) throws(MetaError) -> [UInt8]? { try field(RedisKey.xattrs(inode), Array(name.utf8)) }

    func putXattr(_ inode: Ino, name: String, value: [UInt8]) throws(MetaError) { setField(RedisKey.xattrs(inode), Array(name.utf8), value) }

    func deleteXattr(_ inode: Ino, name: String) throws(MetaError) { setField(RedisKey.xattrs(inode), Array(name.utf8), nil) }

    func xattrNames(_ inode: Ino) throws(MetaError) -> [String] {
        try allFields(RedisKey.xattrs(inode)).keys.map { String(decoding: $0, as: UTF8.self) }
    }

    // MARK: - Chunks and slices

    func chunk(_ inode: Ino, index: UInt32) throws(MetaError) -> [UInt8]? {
        let key = RedisKey.chunk(inode, index)
        var records: [UInt8] = []
        if !deletedKeys.contains(key) {
            guard let elements = try fetch(key, [RedisKey.bytes("LRANGE"), key, RedisKey.bytes("0"), RedisKey.bytes("-1")]).array else { throw MetaError(.ioError, "chunk \(key) is not a list") }
            for element in elements { records += element.bytes ?? [] }
        }
        records += appended[key] ?? []
        return records.isEmpty ? nil : records
    }

    func appendRecords(_ inode: Ino, index: UInt32, _ records: [SliceRecord]) throws(MetaError) {
        let key = RedisKey.chunk(inode, index)
        queue([RedisKey.bytes("RPUSH"), key] + records.map(\.encoded))
        appended[key, default: []] += records.flatMap(\.encoded)
    }

    func setRecords(_ inode: Ino, index: UInt32, _ records: [UInt8]) throws(MetaError) {
        let key = RedisKey.chunk(inode, index)
        deleteKey(key)
        guard !records.isEmpty else { return }
        queue([RedisKey.bytes("RPUSH"), key] + stride(from: 0, to: records.count, by: SliceRecord.encodedSize).map { Array(records[$0..<$0 + SliceRecord.encodedSize]) })
        appended[key] = records
    }

    func deleteChunk(_ inode: Ino, index: UInt32) throws(MetaError) { deleteKey(RedisKey.chunk(inode, index)) }

    /// Probes each index of a short range with EXISTS; a range longer than an eighth of the
    /// database's keys is found by SCANning for the inode's chunk keys instead, so the cost is
    /// the smaller of the two and never the length a sparse file claims.
    func chunkIndexes(_ inode: Ino, in range: Range<UInt32>) throws(MetaError) -> [UInt32] {
        guard !range.isEmpty else { return [] }
        var found: Set<UInt32> = []
        let keys = range.count > Self.probedIndexes ? try store.keyCount() : 0
        if range.count <= Self.probedIndexes || range.count <= keys / 8 {
            for batch in stride(from: range.lowerBound, to: range.upperBound, by: Self.probedIndexes) {
                let indexes = Array(batch..<batch + UInt32(min(Self.probedIndexes, Int(range.upperBound - batch))))
                let replies = try store.pipeline(indexes.map { [RedisKey.bytes("EXISTS"), RedisKey.chunk(inode, $0)] })
                for (index, reply) in zip(indexes, replies) where (reply.integer ?? 0) > 0 { found.insert(index) }
            }
        } else {
            for key in try store.scan(matching: RedisKey.chunkPattern(inode)) {
                if let index = RedisKey.chunkIndex(key, of: inode), range.contains(index) { found.insert(index) }
            }
        }
        found = found.filter { !deletedKeys.contains(RedisKey.chunk(inode, $0)) }
        for key in appended.keys {
            if let index = RedisKey.chunkIndex(key, of: inode), range.contains(index) { found.insert(index) }
        }
        return found.sorted()
    }

    /// Reads the chunk lists a SCAN page at a time, each page in one pipeline.
    func forEachChunk(_ body: ([UInt8]) throws(MetaError) -> Void) throws(MetaError) {
        try store.scan(matching: RedisKey.anyChunkPattern) { (keys) throws(MetaError) in
            let chunkKeys = keys.filter(RedisKey.isChunk)
            let replies = try store.pipeline(chunkKeys.map { [RedisKey.bytes("LRANGE"), $0, RedisKey.bytes("0"), RedisKey.bytes("-1")] })
            for (key, reply) in zip(chunkKeys, replies) {
                guard let elements = reply.array else { throw MetaError(.ioError, "chunk \(String(decoding: key, as: UTF8.self)) is not a list") }
                try body(elements.flatMap { $0.bytes ?? [] })
            }
        }
    }

    /// The records of the chunks `chunkIndexes` finds, read in one pipeline.
    func chunks(of inode: Ino) throws(MetaError) -> [(index: UInt32, records: [UInt8])] {
        guard let attr = try node(inode), attr.length > 0 else { return [] }
        let count = min((attr.length - 1) / ChunkGeometry.chunkSize + 1, UInt64(UInt32.max))
        let indexes = try chunkIndexes(inode, in: 0..<UInt32(count))
        let keys = indexes.map { RedisKey.chunk(inode, $0) }
        let unwatched = watches ? keys.filter { !watched.contains($0) } : []
        let watch = unwatched.isEmpty ? [] : [[RedisKey.bytes("WATCH")] + unwatched]
        watched.formUnion(unwatched)
        let replies = try store.pipeline(watch + keys.map { [RedisKey.bytes("LRANGE"), $0, RedisKey.bytes("0"), RedisKey.bytes("-1")] }).dropFirst(watch.count)
        var result: [(index: UInt32, records: [UInt8])] = []
        for (index, (key, reply)) in zip(indexes, zip(keys, replies)) {
            var records: [UInt8] = []
            if !deletedKeys.contains(key) {
                guard let elements = reply.array else { throw MetaError(.ioError, "chunk \(String(decoding: key, as: UTF8.self)) is not a list") }
                for element in elements { records += element.bytes ?? [] }
            }
            records += appended[key] ?? []
            if !records.isEmpty { result.append((index, records)) }
        }
        return result
    }

    /// A new slice's single reference is implicit in Redis: `sliceRef` keeps refs − 1.
    func referenceNewSlice(_ id: SliceID, size: UInt32) throws(MetaError) {}

    /// `sliceRef` keeps refs − 1, absent meaning one reference.
    func addSliceReference(_ id: SliceID, size: UInt32) throws(MetaError) {
        let field = RedisKey.sliceRefField(id, size)
        let extra = try self.field(RedisKey.sliceRef, field).flatMap { Int64(String(decoding: $0, as: UTF8.self)) } ?? 0
        setField(RedisKey.sliceRef, field, RedisKey.decimal(extra + 1))
    }

    func setSliceReferences(_ id: SliceID, size: UInt32, refs: Int) throws(MetaError) {
        setField(RedisKey.sliceRef, RedisKey.sliceRefField(id, size), refs > 1 ? RedisKey.decimal(refs - 1) : nil)
    }

    func dereferenceSlice(_ id: SliceID, size: UInt32) throws(MetaError) {
        let field = RedisKey.sliceRefField(id, size)
        guard let stored = try self.field(RedisKey.sliceRef, field) else { return }
        let extra = Int64(String(decoding: stored, as: UTF8.self)) ?? 0
        setField(RedisKey.sliceRef, field, extra > 1 ? RedisKey.decimal(extra - 1) : nil)
    }

    // MARK: - Counters, statistics, sessions

    func addCounter(_ name: String, _ delta: Int64) throws(MetaError) {
        queue([RedisKey.bytes("INCRBY"), RedisKey.counter(name), RedisKey.decimal(delta)])
    }

    func addDirStat(_ inode: Ino, length: Int64, space: Int64, inodes: Int64) throws(MetaError) {
        for (key, delta) in [(RedisKey.dirDataLength, length), (RedisKey.dirUsedSpace, space), (RedisKey.dirUsedInodes, inodes)] {
            queue([RedisKey.bytes("HINCRBY"), key, RedisKey.decimal(inode), RedisKey.decimal(delta)])
        }
    }

    func sustain(_ inode: Ino, session: Int64) throws(MetaError) {
        queue([RedisKey.bytes("SADD"), RedisKey.sustained(session), RedisKey.decimal(inode)])
    }

    // MARK: - Overlay

    private func fetch(_ key: [UInt8], _ command: [[UInt8]]) throws(MetaError) -> RedisReply {
        if watches, !watched.contains(key) {
            watched.insert(key)
            return try store.pipeline([[RedisKey.bytes("WATCH"), key], command])[1]
        }
        return try store.pipeline([command])[0]
    }

    private func string(_ key: [UInt8]) throws(MetaError) -> [UInt8]? {
        if let overlaid = strings[key] { return overlaid }
        return try fetch(key, [RedisKey.bytes("GET"), key]).bytes
    }

    private func setString(_ key: [UInt8], _ value: [UInt8]?) {
        strings[key] = .some(value)
        queue(value.map { [RedisKey.bytes("SET"), key, $0] } ?? [RedisKey.bytes("DEL"), key])
    }

    private func field(_ key: [UInt8], _ name: [UInt8]) throws(MetaError) -> [UInt8]? {
        if let overlaid = fields[key]?[name] { return overlaid }
        if deletedKeys.contains(key) { return nil }
        return try fetch(key, [RedisKey.bytes("HGET"), key, name]).bytes
    }

    private func setField(_ key: [UInt8], _ name: [UInt8], _ value: [UInt8]?) {
        fields[key, default: [:]][name] = .some(value)
        queue(value.map { [RedisKey.bytes("HSET"), key, name, $0] } ?? [RedisKey.bytes("HDEL"), key, name])
    }

    private func allFields(_ key: [UInt8]) throws(MetaError) -> [[UInt8]: [UInt8]] {
        var result: [[UInt8]: [UInt8]] = [:]
        if !deletedKeys.contains(key) {
            let flat = try fetch(key, [RedisKey.bytes("HGETALL"), key]).array ?? []
            for pair in stride(from: 0, to: flat.count - 1, by: 2) {
                if let name = flat[pair].bytes, let value = flat[pair + 1].bytes { result[name] = value }
            }
        }
        for (name, value) in fields[key] ?? [:] { result[name] = value }
        return result
    }

    private func deleteKey(_ key: [UInt8]) {
        deletedKeys.insert(key)
        fields[key] = nil
        appended[key] = nil
        queue([RedisKey.bytes("DEL"), key])
    }

    private func queue(_ command: [[UInt8]]) {
        precondition(watches, "a read-only Redis transaction tried to write")
        commands.append(command)
    }
}
