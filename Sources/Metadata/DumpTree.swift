import Foundation

/// A parsed `juicefs dump`: every inode once, with the names it appears under, and what a
/// loader recomputes from them.
struct DumpTree {
    struct Node {
        var attr: Attr
        var symlink: [UInt8]?
        var xattrs: [(String, [UInt8])] = []
        var chunks: [(UInt32, [SliceRecord])] = []
        /// One element per name, in dump order.
        var parents: [Ino] = []
        var childDirectories = 0
    }

    struct Edge {
        let parent: Ino
        let name: [UInt8]
        let inode: Ino
    }

    struct SliceKey: Hashable {
        let id: UInt64
        let size: UInt32
    }

    private(set) var settingJSON = ""
    /// The dumped id counters: a loader never moves them backwards.
    private var dumpedCounters: [String: Int64] = [:]
    private(set) var nodes: [Ino: Node] = [:]
    private(set) var edges: [Edge] = []

    init(json data: Data) throws(MetaError) {
        guard let top = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw MetaError(.invalidArgument, "the dump is not a JSON object")
        }
        guard let setting = top["Setting"] as? [String: Any], let settingData = try? JSONSerialization.data(withJSONObject: setting, options: [.sortedKeys, .withoutEscapingSlashes])
        else {
            throw MetaError(.invalidArgument, "the dump has no Setting object")
        }
        settingJSON = String(decoding: settingData, as: UTF8.self)
        let counters = top["Counters"] as? [String: Any] ?? [:]
        for (key, name) in [("nextInodes", "nextInode"), ("nextChunk", "nextChunk"), ("nextTrash", "nextTrash")] {
            dumpedCounters[name] = Self.integer(counters[key])
        }
        do {
            try VolumeFormat.decode(settingJSON).checkSupported()
        } catch {
            throw MetaError(error.errno == .notSupported ? .notSupported : .invalidArgument, "the dump's Setting: \(error.detail)")
        }
        guard let root = top["FSTree"] as? [String: Any] else { throw MetaError(.invalidArgument, "the dump has no FSTree") }
        try add(root, parent: .root, name: nil, path: "/")
        if let trash = top["Trash"] as? [String: Any] { try add(trash, parent: .root, name: nil, path: "/.trash") }
    }

    private mutating func add(_ entry: [String: Any], parent: Ino, name: [UInt8]?, path: String) throws(MetaError) {
        guard let attrObject = entry["attr"] as? [String: Any] else { throw MetaError(.invalidArgument, "\(path): entry without attr") }
        let (inode, attr) = try Self.attr(attrObject, path: path)
        if let name { edges.append(Edge(parent: parent, name: name, inode: inode)) }
        if nodes[inode] != nil {
            nodes[inode]!.parents.append(parent)
            return  // later occurrences of a hard link only add a name
        }
        var node = Node(attr: attr, parents: [parent])
        if let target = entry["symlink"] as? String { node.symlink = DumpEscaping.unescape(target) }
        for xattr in entry["xattrs"] as? [[String: Any]] ?? [] {
            guard let xattrName = xattr["name"] as? String, let value = xattr["value"] as? String else {
                throw MetaError(.invalidArgument, "\(path): malformed xattr")
            }
            node.xattrs.append((xattrName, DumpEscaping.unescape(value)))
        }
        for chunk in entry["chunks"] as? [[String: Any]] ?? [] {
            guard let index = Self.integer(chunk["index"]), let slices = chunk["slices"] as? [[String: Any]] else {
                throw MetaError(.invalidArgument, "\(path): malformed chunk")
            }
            var records: [SliceRecord] = []
            for slice in slices {
                guard let id = Self.integer(slice["id"] ?? slice["chunkid"]), let length = Self.integer(slice["len"]) else {
                    throw MetaError(.invalidArgument, "\(path): malformed slice in chunk \(index)")
                }
                records.append(
                    SliceRecord(
                        pos: UInt32(Self.integer(slice["pos"]) ?? 0), id: UInt64(id), size: UInt32(Self.integer(slice["size"]) ?? 0),
                        off: UInt32(Self.integer(slice["off"]) ?? 0), len: UInt32(length)))
            }
            node.chunks.append((UInt32(index), records))
        }
        nodes[inode] = node
        if attr.type == .directory, name != nil { nodes[parent]?.childDirectories += 1 }
        for (childName, child) in entry["entries"] as? [String: Any] ?? [:] {
            guard let child = child as? [String: Any] else { throw MetaError(.invalidArgument, "\(path)\(childName): malformed entry") }
            let bytes = DumpEscaping.unescape(childName)
            try NameRules.validate(bytes)
            try add(child, parent: inode, name: bytes, path: path.hasSuffix("/") ? path + childName : path + "/" + childName)
        }
    }

    private static func attr(_ object: [String: Any], path: String) throws(MetaError) -> (Ino, Attr) {
        guard let inode = integer(object["inode"]), inode > 0, let typeName = object["type"] as? String, let type = NodeType(dumpName: typeName) else {
            throw MetaError(.invalidArgument, "\(path): attr without a valid inode and type")
        }
        func time(_ seconds: String, _ nanoseconds: String) -> Timestamp {
            Timestamp(seconds: integer(object[seconds]) ?? 0, nanoseconds: UInt32(clamping: integer(object[nanoseconds]) ?? 0))
        }
        var attr = Attr(
            type: type, mode: UInt16(truncatingIfNeeded: integer(object["mode"]) ?? 0), uid: UInt32(truncatingIfNeeded: integer(object["uid"]) ?? 0),
            gid: UInt32(truncatingIfNeeded: integer(object["gid"]) ?? 0), time: time("atime", "atimensec"), nlink: 1,
            length: UInt64(max(0, integer(object["length"]) ?? 0)), parent: 0, rdev: UInt32(truncatingIfNeeded: integer(object["rdev"]) ?? 0))
        attr.mtime = time("mtime", "mtimensec")
        attr.ctime = time("ctime", "ctimensec")
        attr.flags = UInt8(truncatingIfNeeded: integer(object["flags"]) ?? 0)
        attr.tier = UInt8(truncatingIfNeeded: integer(object["tier"]) ?? 0)
        return (UInt64(inode), attr)
    }

    private static func integer(_ value: Any?) -> Int64? { (value as? NSNumber)?.int64Value }

    // MARK: - What a loader recomputes

    /// The attribute as stored: link count, parent and length rebuilt from the tree.
    func attr(of inode: Ino) -> Attr {
        let node = nodes[inode]!
        var attr = node.attr
        switch attr.type {
        case .directory:
            attr.nlink = UInt32(2 + node.childDirectories)
            attr.length = 4096
        case .symlink:
            attr.nlink = UInt32(node.parents.count)
            attr.length = UInt64(node.symlink?.count ?? 0)
        case .regular:
            attr.nlink = UInt32(node.parents.count)
        default:
            attr.nlink = UInt32(node.parents.count)
            attr.length = 0
        }
        attr.parent = inode == .root || inode == .trash ? .root : (node.parents.count == 1 ? node.parents[0] : 0)
        return attr
    }

    func specialNodes() -> [(Ino, Attr)] {
        [Ino.root, .trash].filter { nodes[$0] != nil }.map { ($0, attr(of: $0)) }
    }

    func sliceReferences() -> [SliceKey: Int] {
        var counts: [SliceKey: Int] = [:]
        for node in nodes.values {
            for (_, records) in node.chunks {
                for record in records where record.id != 0 { counts[SliceKey(id: record.id, size: record.size), default: 0] += 1 }
            }
        }
        return counts
    }

    /// Direct-children sums for every directory.
    func directoryStatistics() -> [Ino: (length: Int64, space: Int64, inodes: Int64)] {
        var stats: [Ino: (length: Int64, space: Int64, inodes: Int64)] = [:]
        for (inode, node) in nodes where node.attr.type == .directory { stats[inode] = (0, 0, 0) }
        for edge in edges {
            let child = attr(of: edge.inode)
            stats[edge.parent, default: (0, 0, 0)].length += child.accountedLength
            stats[edge.parent, default: (0, 0, 0)].space += child.accountedSpace
            stats[edge.parent, default: (0, 0, 0)].inodes += 1
        }
        return stats
    }

    /// Counters in SQL semantics, recomputed as `juicefs load` does, except that the id
    /// counters keep their dumped values when those are higher: ids handed out before the
    /// dump are never handed out again.
    func counters() -> [String: Int64] {
        var usedSpace: Int64 = 0
        var maxInode: Ino = 1
        var maxSlice: UInt64 = 0
        var maxTrash: Int64 = 0
        for (inode, node) in nodes where inode != .root && inode != .trash {
            usedSpace += attr(of: inode).accountedSpace
            if inode < .firstVirtual { maxInode = max(maxInode, inode) }
            if inode > .trash, inode < .trash + (1 << 20) { maxTrash = max(maxTrash, Int64(inode - .trash)) }
            for (_, records) in node.chunks { maxSlice = max(maxSlice, records.map(\.id).max() ?? 0) }
        }
        let ordinary = nodes.keys.filter { $0 != .root && $0 != .trash }.count
        return [
            "nextInode": max(Int64(maxInode + 1), dumpedCounters["nextInode"] ?? 0),
            "nextChunk": max(Int64(maxSlice + 1), dumpedCounters["nextChunk"] ?? 0),
            "nextTrash": max(maxTrash, dumpedCounters["nextTrash"] ?? 0),
            "nextSession": 0, "usedSpace": usedSpace, "totalInodes": Int64(ordinary), "nextCleanupSlices": 0,
        ]
    }
}
