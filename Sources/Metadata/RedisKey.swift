import StorageFormat

/// Key names of the juicefs 1.4 Redis layout (docs/FORMAT.md, "The index"), as bytes.
enum RedisKey {
    static let setting = bytes("setting")
    static let sliceRef = bytes("sliceRef")
    static let dirDataLength = bytes("dirDataLength")
    static let dirUsedSpace = bytes("dirUsedSpace")
    static let dirUsedInodes = bytes("dirUsedInodes")
    static let allSessions = bytes("allSessions")
    static let sessionInfos = bytes("sessionInfos")

    static func attr(_ inode: Ino) -> [UInt8] { bytes("i\(inode)") }
    static func entries(_ inode: Ino) -> [UInt8] { bytes("d\(inode)") }
    static func parents(_ inode: Ino) -> [UInt8] { bytes("p\(inode)") }
    static func chunk(_ inode: Ino, _ index: UInt32) -> [UInt8] { bytes("c\(inode)_\(index)") }
    /// A SCAN pattern matching every chunk key of `inode` and no other inode's.
    static func chunkPattern(_ inode: Ino) -> [UInt8] { bytes("c\(inode)_*") }
    /// The index of a chunk key of `inode`, or `nil` for any other key.
    static func chunkIndex(_ key: [UInt8], of inode: Ino) -> UInt32? {
        let prefix = bytes("c\(inode)_")
        guard key.count > prefix.count, key.starts(with: prefix) else { return nil }
        return UInt32(String(decoding: key[prefix.count...], as: UTF8.self))
    }
    /// A SCAN pattern for the chunk keys of every inode (`isChunk` weeds out other `c…` keys).
    static let anyChunkPattern = bytes("c[0-9]*_[0-9]*")
    /// Whether a key is `c{inode}_{index}`.
    static func isChunk(_ key: [UInt8]) -> Bool {
        let text = String(decoding: key, as: UTF8.self)
        guard text.first == "c" else { return false }
        let parts = text.dropFirst().split(separator: "_", omittingEmptySubsequences: false)
        return parts.count == 2 && UInt64(parts[0]) != nil && UInt32(parts[1]) != nil
    }
    static func symlink(_ inode: Ino) -> [UInt8] { bytes("s\(inode)") }
    static func xattrs(_ inode: Ino) -> [UInt8] { bytes("x\(inode)") }
    static func sustained(_ session: Int64) -> [UInt8] { bytes("session\(session)") }
    static func sliceRefField(_ id: SliceID, _ size: UInt32) -> [UInt8] { bytes("k\(id)_\(size)") }

    /// Counters keep their SQL names except the three juicefs spells in lower case.
    static func counter(_ name: String) -> [UInt8] {
        switch name {
        case "nextInode", "nextChunk", "nextSession": bytes(name.lowercased())
        default: bytes(name)
        }
    }

    /// Redis keeps the last id used where SQL keeps the next free one.
    static func storesLastUsed(_ counter: String) -> Bool { counter == "nextInode" || counter == "nextChunk" }

    /// The 9-byte directory entry value: type, then the inode big-endian.
    static func entryValue(_ inode: Ino, _ type: NodeType) -> [UInt8] {
        var value = [type.rawValue]
        value.appendBigEndian(inode.rawValue)
        return value
    }

    static func decodeEntry(_ value: [UInt8]) -> (Ino, NodeType)? {
        guard value.count == 9, let type = NodeType(rawValue: value[0]) else { return nil }
        var reader = BigEndianReader(bytes: value, offset: 1)
        return (Ino(reader.read()), type)
    }

    /// A directory hash's entries sorted by name bytes, after `after`, at most `limit`.
    static func decodeEntries(_ fields: [[UInt8]: [UInt8]], of inode: Ino, after: [UInt8]?, limit: Int) throws(MetaError) -> [DirectoryEntry] {
        var names = fields.keys.filter { name in after.map { $0.lexicographicallyPrecedes(name) } ?? true }
        names.sort { $0.lexicographicallyPrecedes($1) }
        var result: [DirectoryEntry] = []
        for name in names.prefix(limit) {
            guard let (child, type) = decodeEntry(fields[name]!) else { throw MetaError(.ioError, "entry in directory \(inode) is corrupt") }
            result.append(DirectoryEntry(name: name, inode: child, type: type, attr: nil))
        }
        return result
    }

    /// The parents a `p<ino>` hash counts, each once per name it holds.
    static func decodeLinkParents(_ fields: [[UInt8]: [UInt8]]) -> [Ino] {
        var parents: [Ino] = []
        for (parent, count) in fields {
            guard let parent = Ino(String(decoding: parent, as: UTF8.self)), let count = Int(String(decoding: count, as: UTF8.self)) else { continue }
            parents += Array(repeating: parent, count: max(0, count))
        }
        return parents
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
    static func decimal<Value: BinaryInteger>(_ value: Value) -> [UInt8] { Array(String(value).utf8) }
    static func decimal(_ inode: Ino) -> [UInt8] { decimal(inode.rawValue) }
}
