import SQLite

extension SQLiteMetaEngine {
    public func mknod(parent: Ino, name: [UInt8], type: NodeType, mode: UInt16, owner: Owner, rdev: UInt32) throws(MetaError) -> (Ino, Attr) {
        guard type != .symlink else { throw MetaError(.invalidArgument, "symlinks are created with symlink") }
        return try create(parent: parent, name: name, type: type, mode: mode, owner: owner, rdev: rdev, target: nil)
    }

    public func symlink(parent: Ino, name: [UInt8], target: [UInt8], owner: Owner) throws(MetaError) -> (Ino, Attr) {
        guard !target.isEmpty, !target.contains(0) else { throw MetaError(.invalidArgument, "empty symlink target") }
        guard target.count <= 4096 else { throw MetaError(.fileNameTooLong, "symlink target longer than 4096 bytes") }
        return try create(parent: parent, name: name, type: .symlink, mode: 0o777, owner: owner, rdev: 0, target: target)
    }

    private func create(
        parent: Ino, name: [UInt8], type: NodeType, mode: UInt16, owner: Owner, rdev: UInt32, target: [UInt8]?
    ) throws(MetaError) -> (Ino, Attr) {
        try NameRules.validateNew(name, in: parent)
        return try locked { () throws(MetaError) -> (Ino, Attr) in
            let inode = try allocateInode()
            return try db.transaction { () throws(MetaError) -> (Ino, Attr) in
                var parentAttr = try requireDirectory(parent)
                if try edge(parent, name) != nil { throw MetaError(.fileExists) }
                let now = Timestamp.now()
                var attr = Attr(
                    type: type, mode: mode, uid: owner.uid, gid: owner.gid, time: now, nlink: type == .directory ? 2 : 1,
                    length: type == .directory ? 4096 : UInt64(target?.count ?? 0), parent: parent, rdev: rdev)
                // Directories with the set-group-ID bit hand their group (and, to subdirectories, the bit) down.
                if parentAttr.mode & 0o2000 != 0 {
                    attr.gid = parentAttr.gid
                    if type == .directory { attr.mode |= 0o2000 }
                }
                try insertNode(inode, attr)
                try insertEdge(parent, name, inode, type)
                if let target { try run("INSERT INTO jfs_symlink(inode,target) VALUES(?,?)", [.inode(inode), .blob(target)]) }
                if type == .directory {
                    parentAttr.nlink += 1
                    try addDirStat(inode, length: 0, space: 0, inodes: 0)
                }
                parentAttr.mtime = now
                parentAttr.ctime = now
                try updateNode(parent, parentAttr)
                try addDirStat(parent, length: attr.accountedLength, space: attr.accountedSpace, inodes: 1)
                try addCounter("usedSpace", attr.accountedSpace)
                try addCounter("totalInodes", 1)
                return (inode, attr)
            }
        }
    }

    public func readlink(_ inode: Ino) throws(MetaError) -> [UInt8] {
        try locked { () throws(MetaError) -> [UInt8] in
            if let target = try first("SELECT target FROM jfs_symlink WHERE inode=?", [.inode(inode)], { $0.bytes(0) }) { return target }
            _ = try requireNode(inode)
            throw MetaError(.invalidArgument, "not a symlink")
        }
    }

    public func link(_ inode: Ino, parent: Ino, name: [UInt8]) throws(MetaError) -> Attr {
        try NameRules.validateNew(name, in: parent)
        return try write { () throws(MetaError) -> Attr in
            var attr = try requireNode(inode)
            guard attr.type != .directory else { throw MetaError(.notPermitted, "directories cannot be hard-linked") }
            var parentAttr = try requireDirectory(parent)
            if try edge(parent, name) != nil { throw MetaError(.fileExists) }
            let now = Timestamp.now()
            try insertEdge(parent, name, inode, attr.type)
            attr.nlink += 1
            attr.parent = 0
            attr.ctime = now
            try updateNode(inode, attr)
            parentAttr.mtime = now
            parentAttr.ctime = now
            try updateNode(parent, parentAttr)
            try addDirStat(parent, length: attr.accountedLength, space: attr.accountedSpace, inodes: 1)
            return attr
        }
    }

    public func unlink(parent: Ino, name: [UInt8]) throws(MetaError) {
        try NameRules.validate(name)
        try write { () throws(MetaError) in
            guard let (inode, type) = try edge(parent, name) else {
                _ = try requireDirectory(parent)
                throw MetaError(.noSuchFileOrDirectory)
            }
            guard type != .directory else { throw MetaError(.isDirectory) }
            let now = Timestamp.now()
            try deleteEdge(parent, name)
            try touch(parent, now: now)
            try dropName(of: inode, from: parent, now: now)
        }
    }

    public func rmdir(parent: Ino, name: [UInt8]) throws(MetaError) {
        if name == [UInt8(ascii: ".")] { throw MetaError(.invalidArgument) }
        if name == [UInt8(ascii: "."), UInt8(ascii: ".")] { throw MetaError(.directoryNotEmpty) }
        try NameRules.validate(name)
        try write { () throws(MetaError) in
            guard let (inode, type) = try edge(parent, name) else {
                _ = try requireDirectory(parent)
                throw MetaError(.noSuchFileOrDirectory)
            }
            guard type == .directory else { throw MetaError(.notDirectory) }
            if try hasChildren(inode) { throw MetaError(.directoryNotEmpty) }
            let now = Timestamp.now()
            try deleteEdge(parent, name)
            try removeDirectory(inode, from: parent, now: now)
        }
    }

    public func rename(parent: Ino, name: [UInt8], newParent: Ino, newName: [UInt8], flags: RenameFlags) throws(MetaError) {
        try NameRules.validate(name)
        try NameRules.validateNew(newName, in: newParent)
        guard flags.subtracting([.noReplace, .exchange]).isEmpty, flags != [.noReplace, .exchange] else {
            throw MetaError(.invalidArgument, "unsupported rename flags \(flags.rawValue)")
        }
        try write { () throws(MetaError) in
            guard let (inode, type) = try edge(parent, name) else {
                _ = try requireDirectory(parent)
                throw MetaError(.noSuchFileOrDirectory)
            }
            _ = try requireDirectory(newParent)
            if parent == newParent && name == newName { return }
            if type == .directory, try isSelfOrDescendant(newParent, of: inode) {
                throw MetaError(.invalidArgument, "cannot move a directory into itself")
            }
            let now = Timestamp.now()
            let target = try edge(newParent, newName)
            var moved = try requireNode(inode)

            if flags.contains(.exchange) {
                guard let (other, otherType) = target else { throw MetaError(.noSuchFileOrDirectory) }
                if otherType == .directory, try isSelfOrDescendant(parent, of: other) {
                    throw MetaError(.invalidArgument, "cannot move a directory into itself")
                }
                var swapped = try requireNode(other)
                try setEdge(parent, name, to: other, otherType)
                try setEdge(newParent, newName, to: inode, type)
                if parent != newParent {
                    try reparent(&moved, from: parent, to: newParent)
                    try reparent(&swapped, from: newParent, to: parent)
                }
                swapped.ctime = now
                try updateNode(other, swapped)
            } else {
                if let (existing, existingType) = target {
                    if flags.contains(.noReplace) { throw MetaError(.fileExists) }
                    if existing == inode { return }  // two names of one inode: POSIX says do nothing
                    switch (type == .directory, existingType == .directory) {
                    case (true, false): throw MetaError(.notDirectory)
                    case (false, true): throw MetaError(.isDirectory)
                    case (true, true): if try hasChildren(existing) { throw MetaError(.directoryNotEmpty) }
                    case (false, false): break
                    }
                    try deleteEdge(newParent, newName)
                    if existingType == .directory {
                        try removeDirectory(existing, from: newParent, now: now)
                    } else {
                        try dropName(of: existing, from: newParent, now: now)
                    }
                }
                try deleteEdge(parent, name)
                try insertEdge(newParent, newName, inode, type)
                if parent != newParent { try reparent(&moved, from: parent, to: newParent) }
            }
            moved.ctime = now
            try updateNode(inode, moved)
            try touch(parent, now: now)
            if newParent != parent { try touch(newParent, now: now) }
        }
    }

    public func readdir(_ inode: Ino, after: [UInt8]?, limit: Int, attributes: Bool) throws(MetaError) -> [DirectoryEntry] {
        try locked { () throws(MetaError) -> [DirectoryEntry] in
            _ = try requireDirectory(inode)
            let values: [SQLiteValue] = [.inode(inode), .blob(after ?? []), .integer(Int64(max(1, limit)))]
            if attributes {
                let columns = "n." + SQLiteSchema.nodeColumns.replacingOccurrences(of: ",", with: ",n.")
                return try all(
                    "SELECT \(columns), e.name FROM jfs_edge e JOIN jfs_node n ON n.inode=e.inode WHERE e.parent=? AND e.name>? ORDER BY e.name LIMIT ?",
                    values
                ) { row in
                    let (child, attr) = Self.readNode(row)
                    return DirectoryEntry(name: row.bytes(19), inode: child, type: attr.type, attr: attr)
                }
            }
            return try all("SELECT name, inode, type FROM jfs_edge WHERE parent=? AND name>? ORDER BY name LIMIT ?", values) { row in
                DirectoryEntry(
                    name: row.bytes(0), inode: UInt64(bitPattern: row.int64(1)),
                    type: NodeType(rawValue: UInt8(truncatingIfNeeded: row.int64(2))) ?? .regular, attr: nil)
            }
        }
    }

    // MARK: - Edges and removal

    func edge(_ parent: Ino, _ name: [UInt8]) throws(MetaError) -> (Ino, NodeType)? {
        try first("SELECT inode, type FROM jfs_edge WHERE parent=? AND name=?", [.inode(parent), .blob(name)]) { row in
            (UInt64(bitPattern: row.int64(0)), NodeType(rawValue: UInt8(truncatingIfNeeded: row.int64(1))) ?? .regular)
        }
    }

    private func insertEdge(_ parent: Ino, _ name: [UInt8], _ inode: Ino, _ type: NodeType) throws(MetaError) {
        try run(
            "INSERT INTO jfs_edge(parent,name,inode,type) VALUES(?,?,?,?)",
            [.inode(parent), .blob(name), .inode(inode), .integer(Int64(type.rawValue))])
    }

    private func setEdge(_ parent: Ino, _ name: [UInt8], to inode: Ino, _ type: NodeType) throws(MetaError) {
        try run(
            "UPDATE jfs_edge SET inode=?, type=? WHERE parent=? AND name=?",
            [.inode(inode), .integer(Int64(type.rawValue)), .inode(parent), .blob(name)])
    }

    private func deleteEdge(_ parent: Ino, _ name: [UInt8]) throws(MetaError) {
        try run("DELETE FROM jfs_edge WHERE parent=? AND name=?", [.inode(parent), .blob(name)])
    }

    private func hasChildren(_ inode: Ino) throws(MetaError) -> Bool {
        try first("SELECT 1 FROM jfs_edge WHERE parent=? LIMIT 1", [.inode(inode)], { _ in true }) ?? false
    }

    private func touch(_ directory: Ino, now: Timestamp) throws(MetaError) {
        var attr = try requireNode(directory)
        attr.mtime = now
        attr.ctime = now
        try updateNode(directory, attr)
    }

    /// Whether `candidate` is `directory` or lies below it.
    private func isSelfOrDescendant(_ candidate: Ino, of directory: Ino) throws(MetaError) -> Bool {
        var current = candidate
        while true {
            if current == directory { return true }
            if current == .root { return false }
            let parent = try requireNode(current).parent
            if parent == current || parent == 0 { return false }
            current = parent
        }
    }

    /// Moves a node's accounting (and, for directories, a link) from one parent to another.
    private func reparent(_ attr: inout Attr, from oldParent: Ino, to newParent: Ino) throws(MetaError) {
        try addDirStat(oldParent, length: -attr.accountedLength, space: -attr.accountedSpace, inodes: -1)
        try addDirStat(newParent, length: attr.accountedLength, space: attr.accountedSpace, inodes: 1)
        if attr.type == .directory {
            var old = try requireNode(oldParent)
            old.nlink -= 1
            try updateNode(oldParent, old)
            var new = try requireNode(newParent)
            new.nlink += 1
            try updateNode(newParent, new)
        }
        if attr.parent != 0 { attr.parent = newParent }
    }

    /// The edge is gone: account for it, and drop the inode with its last name unless it is open.
    private func dropName(of inode: Ino, from parent: Ino, now: Timestamp) throws(MetaError) {
        var attr = try requireNode(inode)
        try addDirStat(parent, length: -attr.accountedLength, space: -attr.accountedSpace, inodes: -1)
        attr.nlink = attr.nlink > 0 ? attr.nlink - 1 : 0
        attr.ctime = now
        if attr.nlink == 0, (openCounts[inode] ?? 0) == 0 {
            try removeInode(inode, attr)
        } else {
            if attr.nlink == 0 {
                try run("INSERT OR IGNORE INTO jfs_sustained(sid,inode) VALUES(?,?)", [.integer(try session()), .inode(inode)])
            }
            try updateNode(inode, attr)
        }
    }

    private func removeDirectory(_ inode: Ino, from parent: Ino, now: Timestamp) throws(MetaError) {
        try run("DELETE FROM jfs_node WHERE inode=?", [.inode(inode)])
        try run("DELETE FROM jfs_dir_stats WHERE inode=?", [.inode(inode)])
        try run("DELETE FROM jfs_xattr WHERE inode=?", [.inode(inode)])
        var parentAttr = try requireNode(parent)
        parentAttr.nlink -= 1
        parentAttr.mtime = now
        parentAttr.ctime = now
        try updateNode(parent, parentAttr)
        try addDirStat(parent, length: 0, space: -4096, inodes: -1)
        try addCounter("usedSpace", -4096)
        try addCounter("totalInodes", -1)
    }

    /// Deletes a node with no names left: its row, symlink, xattrs and chunk records, and its
    /// references to slices. Blocks stay in the bucket: other versions may share them, so
    /// deleting objects is the garbage collector's job, and a slice whose count drops to
    /// zero loses its row rather than being left for a juicefs client to delete.
    func removeInode(_ inode: Ino, _ attr: Attr) throws(MetaError) {
        let chunks = try all("SELECT slices FROM jfs_chunk WHERE inode=?", [.inode(inode)]) { $0.bytes(0) }
        for bytes in chunks {
            for record in SliceRecord.decodeAll(bytes) ?? [] where record.id != 0 { try dereference(record.id) }
        }
        for table in ["jfs_chunk", "jfs_symlink", "jfs_xattr", "jfs_node", "jfs_sustained"] {
            try run("DELETE FROM \(table) WHERE inode=?", [.inode(inode)])
        }
        try addCounter("usedSpace", -attr.accountedSpace)
        try addCounter("totalInodes", -1)
    }

    func dereference(_ slice: UInt64) throws(MetaError) {
        try run("UPDATE jfs_chunk_ref SET refs=refs-1 WHERE chunkid=?", [.inode(slice)])
        try run("DELETE FROM jfs_chunk_ref WHERE chunkid=? AND refs<=0", [.inode(slice)])
    }

    /// This engine's session id, registered on first need (for open-but-unlinked inodes).
    func session() throws(MetaError) -> Int64 {
        if let sessionID { return sessionID }
        try addCounter("nextSession", 1)
        let id = try counter("nextSession")
        try run(
            "INSERT INTO jfs_session2(sid,expire,info) VALUES(?,?,?)",
            [.integer(id), .integer(Timestamp.now().seconds + 60), .blob(Array(#"{"Version":"volumed"}"#.utf8))])
        sessionID = id
        return id
    }
}
