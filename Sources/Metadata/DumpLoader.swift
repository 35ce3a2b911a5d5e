import StorageFormat
import SystemPackage

/// Streams a `juicefs dump` into an empty store (docs/METADATA.md, "Dump and load") while it parses:
/// nodes, edges, chunks and xattrs are written in batches as they come, and only what must
/// be counted over the whole tree stays in memory (hard links, slice references, totals).
///
/// Nodes are rebuilt from `attr`: directories get length 4096 and nlink 2 + subdirectories
/// once their entries are read; files, symlinks and others get nlink = number of names,
/// and a hard link parent 0 (plus Redis's `p<ino>` counts). Dir stats, slice references
/// and counters are recomputed.
struct DumpLoader {
    private struct SliceKey: Hashable {
        let id: SliceID
        let size: UInt32
    }

    /// What an entry contributes to its parent's statistics.
    private struct Contribution {
        var isDirectory: Bool
        var length: Int64
        var space: Int64
    }

    private let store: any MetaStore
    private var reader: JSONStreamReader
    private let progress: (Int) -> Void
    private var batch: [Write] = []

    /// One queued store write.
    private enum Write {
        case edge(parent: Ino, name: [UInt8], inode: Ino, type: NodeType)
        case node(Ino, Attr, symlink: [UInt8]?)
        case xattr(Ino, name: String, value: [UInt8])
        case records(Ino, index: UInt32, [SliceRecord])
        case directoryStatistics(Ino, length: Int64, space: Int64, inodes: Int64)

        func apply(_ tx: any MetaTransaction) throws(MetaError) {
            switch self {
            case .edge(let parent, let name, let inode, let type): try tx.putEdge(parent, name, inode, type)
            case .node(let inode, let attr, let symlink):
                try tx.insertNode(inode, attr)
                if let symlink { try tx.insertSymlink(inode, target: symlink) }
            case .xattr(let inode, let name, let value): try tx.putXattr(inode, name: name, value: value)
            case .records(let inode, let index, let records): try tx.appendRecords(inode, index: index, records)
            case .directoryStatistics(let inode, let length, let space, let inodes): try tx.addDirStat(inode, length: length, space: space, inodes: inodes)
            }
        }
    }

    private var settingJSON: String?
    private var dumpedCounters: [String: Int64] = [:]
    private var special: [(Ino, Attr)] = []
    private var seen: [Ino: Contribution] = [:]
    private var linkParents: [Ino: [Ino]] = [:]
    private var sliceReferences: [SliceKey: Int] = [:]
    private var usedSpace: Int64 = 0
    private var totalInodes: Int64 = 0
    private var maxInode: Ino = 1
    private var maxSlice: SliceID = 0
    private var maxTrash: Int64 = 0

    init(store: any MetaStore, descriptor: FileDescriptor, progress: @escaping (Int) -> Void) {
        self.store = store
        reader = JSONStreamReader(descriptor: descriptor)
        self.progress = progress
    }

    /// Loads everything, then writes the setting last: a load cut short never looks like a volume.
    mutating func load() throws(MetaError) {
        guard try reader.next() == .beginObject else { throw reader.malformed("a dump is a JSON object") }
        var sawTree = false
        while let token = try reader.next(), token != .endObject {
            guard case .string(let key) = token, let value = try reader.next() else { throw reader.malformed("expected a key") }
            switch key {
            case "Setting":
                guard value == .beginObject else { throw reader.malformed("Setting must be an object") }
                let json = try reader.captureValue(startingWith: value)
                do {
                    try VolumeFormat.decode(json).checkSupported()
                } catch {
                    throw MetaError(error.errno == .notSupported ? .notSupported : .invalidArgument, "the dump's Setting: \(error.detail)")
                }
                settingJSON = json
            case "Counters":
                try readCounters(value)
            case "FSTree", "Trash":
                guard value == .beginObject else { throw reader.malformed("\(key) must be an object") }
                _ = try readEntry(parent: .root, name: nil, path: key == "FSTree" ? "/" : "/.trash")
                sawTree = sawTree || key == "FSTree"
            default:
                try reader.skipValue(startingWith: value)
            }
        }
        guard let settingJSON else { throw MetaError(.invalidArgument, "the dump has no Setting object") }
        guard sawTree, special.contains(where: { $0.0 == .root }) else { throw MetaError(.invalidArgument, "the dump has no FSTree with inode 1") }
        try flush()
        try fixHardLinks()
        try store.setCounters(counters())
        try store.create(format: settingJSON, nodes: special)
    }

    // MARK: - Entries

    /// Reads one entry object (its `{` already consumed) and returns what it adds to its parent.
    private mutating func readEntry(parent: Ino, name: [UInt8]?, path: String) throws(MetaError) -> Contribution {
        guard try reader.next() == .string("attr"), try reader.next() == .beginObject else {
            throw MetaError(.invalidArgument, "\(path): an entry must start with its attr")
        }
        let (inode, parsed) = try readAttr(path: path)
        var attr = parsed
        let type = parsed.type
        if let name { batch.append(.edge(parent: parent, name: name, inode: inode, type: type)) }
        if let known = seen[inode] {
            linkParents[inode, default: []].append(parent)
            while let token = try reader.next(), token != .endObject {
                guard let value = try reader.next() else { throw reader.malformed("unexpected end") }
                try reader.skipValue(startingWith: value)
            }
            return known
        }
        var symlink: [UInt8]?
        var childDirectories: UInt32 = 0
        var stats = (length: Int64(0), space: Int64(0), inodes: Int64(0))
        while let token = try reader.next(), token != .endObject {
            guard case .string(let key) = token, let value = try reader.next() else { throw reader.malformed("expected a key in \(path)") }
            switch (key, value) {
            case ("symlink", .string(let target)):
                symlink = DumpEscaping.unescape(target)
            case ("xattrs", .beginArray):
                try readXattrs(inode, path: path)
            case ("chunks", .beginArray):
                try readChunks(inode, path: path)
            case ("entries", .beginObject):
                guard attr.type == .directory else { throw MetaError(.invalidArgument, "\(path): only directories have entries") }
                while let childToken = try reader.next(), childToken != .endObject {
                    guard case .string(let childName) = childToken, try reader.next() == .beginObject else { throw reader.malformed("expected an entry in \(path)") }
                    let bytes = DumpEscaping.unescape(childName)
                    do {
                        try NameRules.validate(bytes)
                    } catch {
                        throw MetaError(.invalidArgument, "\(path): invalid name \(childName): \(error.detail)")
                    }
                    let child = try readEntry(parent: inode, name: bytes, path: path.hasSuffix("/") ? path + childName : path + "/" + childName)
                    if child.isDirectory { childDirectories += 1 }
                    stats.length += child.length
                    stats.space += child.space
                    stats.inodes += 1
                }
            default:
                try reader.skipValue(startingWith: value)
            }
        }
        switch attr.type {
        case .directory:
            attr.nlink = 2 + childDirectories
            attr.length = 4096
            batch.append(.directoryStatistics(inode, length: stats.length, space: stats.space, inodes: stats.inodes))
        case .symlink:
            attr.length = UInt64(symlink?.count ?? 0)
        case .regular:
            break
        default:
            attr.length = 0
        }
        attr.parent = name == nil ? .root : parent
        let contribution = Contribution(isDirectory: attr.type == .directory, length: attr.accountedLength, space: attr.accountedSpace)
        seen[inode] = contribution
        if name == nil {
            special.append((inode, attr))
        } else {
            batch.append(.node(inode, attr, symlink: symlink))
            linkParents[inode] = [parent]
            usedSpace += attr.accountedSpace
            totalInodes += 1
            if inode < .firstVirtual { maxInode = max(maxInode, inode) }
            if inode > .trash, inode.rawValue < Ino.trash.rawValue + (1 << 20) { maxTrash = max(maxTrash, Int64(inode.rawValue - Ino.trash.rawValue)) }
        }
        try flushIfFull()
        return contribution
    }

    private mutating func readAttr(path: String) throws(MetaError) -> (Ino, Attr) {
        var fields: [String: Int64] = [:]
        var typeName: String?
        while let token = try reader.next(), token != .endObject {
            guard case .string(let key) = token, let value = try reader.next() else { throw reader.malformed("expected a key in the attr of \(path)") }
            switch value {
            case .integer(let number): fields[key] = number
            case .string(let text) where key == "type": typeName = text
            default: try reader.skipValue(startingWith: value)
            }
        }
        guard let inode = fields["inode"], inode > 0, let typeName, let type = NodeType(dumpName: typeName) else {
            throw MetaError(.invalidArgument, "\(path): attr without a valid inode and type")
        }
        func time(_ seconds: String) -> Timestamp {
            Timestamp(seconds: fields[seconds] ?? 0, nanoseconds: UInt32(clamping: fields[seconds + "nsec"] ?? 0))
        }
        var attr = Attr(
            type: type, mode: UInt16(truncatingIfNeeded: fields["mode"] ?? 0), uid: UInt32(truncatingIfNeeded: fields["uid"] ?? 0),
            gid: UInt32(truncatingIfNeeded: fields["gid"] ?? 0), time: time("atime"), nlink: 1, length: UInt64(max(0, fields["length"] ?? 0)),
            parent: 0, rdev: UInt32(truncatingIfNeeded: fields["rdev"] ?? 0))
        attr.mtime = time("mtime")
        attr.ctime = time("ctime")
        attr.flags = UInt8(truncatingIfNeeded: fields["flags"] ?? 0)
        attr.tier = UInt8(truncatingIfNeeded: fields["tier"] ?? 0)
        return (Ino(UInt64(inode)), attr)
    }

    private mutating func readXattrs(_ inode: Ino, path: String) throws(MetaError) {
        while let token = try reader.next(), token != .endArray {
            guard token == .beginObject else { throw MetaError(.invalidArgument, "\(path): malformed xattr") }
            var name: String?
            var value: [UInt8]?
            while let key = try reader.next(), key != .endObject {
                switch (key, try reader.next()) {
                case (.string("name"), .string(let text)): name = text
                case (.string("value"), .string(let text)): value = DumpEscaping.unescape(text)
                case (_, let other?): try reader.skipValue(startingWith: other)
                case (_, nil): throw reader.malformed("unexpected end")
                }
            }
            guard let name, let value else { throw MetaError(.invalidArgument, "\(path): malformed xattr") }
            batch.append(.xattr(inode, name: name, value: value))
        }
    }

    private mutating func readChunks(_ inode: Ino, path: String) throws(MetaError) {
        while let token = try reader.next(), token != .endArray {
            guard token == .beginObject else { throw MetaError(.invalidArgument, "\(path): malformed chunk") }
            var index: Int64?
            var records: [SliceRecord] = []
            while let key = try reader.next(), key != .endObject {
                switch (key, try reader.next()) {
                case (.string("index"), .integer(let number)): index = number
                case (.string("slices"), .beginArray):
                    while let slice = try reader.next(), slice != .endArray {
                        guard slice == .beginObject else { throw MetaError(.invalidArgument, "\(path): malformed slice") }
                        var fields: [String: Int64] = [:]
                        while let name = try reader.next(), name != .endObject {
                            guard case .string(let field) = name, case .integer(let number)? = try reader.next() else {
                                throw MetaError(.invalidArgument, "\(path): malformed slice")
                            }
                            fields[field] = number
                        }
                        guard let id = fields["id"] ?? fields["chunkid"], let length = fields["len"] else { throw MetaError(.invalidArgument, "\(path): slice without id or len") }
                        let record = SliceRecord(
                            pos: UInt32(truncatingIfNeeded: fields["pos"] ?? 0), id: SliceID(UInt64(id)), size: UInt32(truncatingIfNeeded: fields["size"] ?? 0),
                            off: UInt32(truncatingIfNeeded: fields["off"] ?? 0), len: UInt32(truncatingIfNeeded: length))
                        records.append(record)
                        if record.id != 0 {
                            sliceReferences[SliceKey(id: record.id, size: record.size), default: 0] += 1
                            maxSlice = max(maxSlice, record.id)
                        }
                    }
                case (_, let other?): try reader.skipValue(startingWith: other)
                case (_, nil): throw reader.malformed("unexpected end")
                }
            }
            guard let index, index >= 0, index <= Int64(UInt32.max) else { throw MetaError(.invalidArgument, "\(path): chunk without a valid index") }
            batch.append(.records(inode, index: UInt32(index), records))
        }
    }

    private mutating func readCounters(_ value: JSONStreamReader.Token) throws(MetaError) {
        guard value == .beginObject else { return try reader.skipValue(startingWith: value) }
        while let token = try reader.next(), token != .endObject {
            guard case .string(let key) = token, let number = try reader.next() else { throw reader.malformed("expected a counter") }
            if case .integer(let count) = number { dumpedCounters[key] = count } else { try reader.skipValue(startingWith: number) }
        }
    }

    // MARK: - Writing

    private mutating func flushIfFull() throws(MetaError) {
        if batch.count >= 2000 { try flush() }
    }

    private mutating func flush() throws(MetaError) {
        guard !batch.isEmpty else { return }
        let writes = batch
        try store.write { (tx) throws(MetaError) in
            for write in writes { try write.apply(tx) }
        }
        batch.removeAll(keepingCapacity: true)
        progress(Int(totalInodes))
    }

    /// Inodes met under several names: nlink = names, parent 0, and per-parent counts.
    private mutating func fixHardLinks() throws(MetaError) {
        let linked = linkParents.filter { $0.value.count > 1 }
        for (inode, parents) in linked {
            try store.write { (tx) throws(MetaError) in
                var attr = try tx.requireNode(inode)
                attr.nlink = UInt32(parents.count)
                attr.parent = 0
                try tx.updateNode(inode, attr)
                for parent in parents { try tx.addLinkParent(inode, parent: parent, delta: 1) }
            }
        }
        let references = Array(sliceReferences)
        for start in stride(from: 0, to: references.count, by: 2000) {
            try store.write { (tx) throws(MetaError) in
                for (slice, refs) in references[start..<min(start + 2000, references.count)] {
                    try tx.setSliceReferences(slice.id, size: slice.size, refs: refs)
                }
            }
        }
    }

    /// Counters in SQL semantics, recomputed as `juicefs load` does, except that the id
    /// counters keep their dumped values when those are higher: ids handed out before the
    /// dump are never handed out again.
    private func counters() -> [String: Int64] {
        [
            "nextInode": max(Int64(maxInode.rawValue + 1), dumpedCounters["nextInodes"] ?? 0),
            "nextChunk": max(Int64(maxSlice.rawValue + 1), dumpedCounters["nextChunk"] ?? 0),
            "nextTrash": max(maxTrash, dumpedCounters["nextTrash"] ?? 0),
            "nextSession": 0, "usedSpace": usedSpace, "totalInodes": totalInodes, "nextCleanupSlices": 0,
        ]
    }
}
