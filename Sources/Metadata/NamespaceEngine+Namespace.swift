import StorageFormat

extension NamespaceEngine {
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
            changes &+= 1
            let inode = try allocateInode()
            return try grouped(checkedFirst: true) { (tx) throws(MetaError) -> (Ino, Attr) in
                var parentAttr = try tx.requireDirectory(parent)
                if try tx.edge(parent, name) != nil { throw MetaError(.fileExists) }
                let now = Timestamp.now()
                var attr = Attr(
                    type: type, mode: mode, uid: owner.uid, gid: owner.gid, time: now, nlink: type == .directory ? 2 : 1,
                    length: type == .directory ? 4096 : UInt64(target?.count ?? 0), parent: parent, rdev: rdev)
                // Directories with the set-group-ID bit hand their group (and, to subdirectories, the bit) down.
                if parentAttr.mode & 0o2000 != 0 {
                    attr.gid = parentAttr.gid
                    if type == .directory { attr.mode |= 0o2000 }
                }
                try tx.insertNode(inode, attr)
                try tx.putEdge(parent, name, inode, type)
                if let target { try tx.insertSymlink(inode, target: target) }
                if type == .directory {
                    parentAttr.nlink += 1
                    try tx.addDirStat(inode, length: 0, space: 0, inodes: 0)
                }
                parentAttr.mtime = now
                parentAttr.ctime = now
                try tx.updateNode(parent, parentAttr)
                try tx.addDirStat(parent, length: attr.accountedLength, space: attr.accountedSpace, inodes: 1)
                try tx.addCounter("usedSpace", attr.accountedSpace)
                try tx.addCounter("totalInodes", 1)
                return (inode, attr)
            }
        }
    }

    public func readlink(_ inode: Ino) throws(MetaError) -> [UInt8] {
        try read { (tx) throws(MetaError) -> [UInt8] in
            if let target = try tx.symlinkTarget(inode) { return target }
            _ = try tx.requireNode(inode)
            throw MetaError(.invalidArgument, "not a symlink")
        }
    }

    public func link(_ inode: Ino, parent: Ino, name: [UInt8]) throws(MetaError) -> Attr {
        try NameRules.validateNew(name, in: parent)
        return try write { (tx) throws(MetaError) -> Attr in
            var attr = try tx.requireNode(inode)
            guard attr.type != .directory else { throw MetaError(.notPermitted, "directories cannot be hard-linked") }
            var parentAttr = try tx.requireDirectory(parent)
            if try tx.edge(parent, name) != nil { throw MetaError(.fileExists) }
            let now = Timestamp.now()
            try tx.putEdge(parent, name, inode, attr.type)
            if attr.parent != 0 { try tx.addLinkParent(inode, parent: attr.parent, delta: 1) }
            try tx.addLinkParent(inode, parent: parent, delta: 1)
            attr.nlink += 1
            attr.parent = 0
            attr.ctime = now
            try tx.updateNode(inode, attr)
            parentAttr.mtime = now
            parentAttr.ctime = now
            try tx.updateNode(parent, parentAttr)
            try tx.addDirStat(parent, length: attr.accountedLength, space: attr.accountedSpace, inodes: 1)
            return attr
        }
    }

    public func unlink(parent: Ino, name: [UInt8]) throws(MetaError) {
        try NameRules.validate(name)
        try write { (tx) throws(MetaError) in
            guard let (inode, type) = try tx.edge(parent, name) else {
                _ = try tx.requireDirectory(parent)
                throw MetaError(.noSuchFileOrDirectory)
            }
            guard type != .directory else { throw MetaError(.isDirectory) }
            let now = Timestamp.now()
            try tx.deleteEdge(parent, name)
            try touch(tx, parent, now: now)
            try dropName(tx, of: inode, from: parent, now: now)
        }
    }

    public func rmdir(parent: Ino, name: [UInt8]) throws(MetaError) {
        if name == [UInt8(ascii: ".")] { throw MetaError(.invalidArgument) }
        if name == [UInt8(ascii: "."), UInt8(ascii: ".")] { throw MetaError(.directoryNotEmpty) }
        try NameRules.validate(name)
        try write { (tx) throws(MetaError) in
            guard let (inode, type) = try tx.edge(parent, name) else {
                _ = try tx.requireDirectory(parent)
                throw MetaError(.noSuchFileOrDirectory)
            }
            guard type == .directory else { throw MetaError(.notDirectory) }
            if try tx.hasChildren(inode) { throw MetaError(.directoryNotEmpty) }
            try tx.deleteEdge(parent, name)
            try removeDirectory(tx, inode, from: parent, now: .now())
        }
    }

    public func rename(parent: Ino, name: [UInt8], newParent: Ino, newName: [UInt8], flags: RenameFlags) throws(MetaError) {
        try NameRules.validate(name)
        try NameRules.validateNew(newName, in: newParent)
        guard flags.subtracting([.noReplace, .exchange]).isEmpty, flags != [.noReplace, .exchange] else {
            throw MetaError(.invalidArgument, "unsupported rename flags \(flags.rawValue)")
        }
        try write { (tx) throws(MetaError) in
            guard let (inode, type) = try tx.edge(parent, name) else {
                _ = try tx.requireDirectory(parent)
                throw MetaError(.noSuchFileOrDirectory)
            }
            _ = try tx.requireDirectory(newParent)
            if parent == newParent && name == newName { return }
            if type == .directory, try isSelfOrDescendant(tx, newParent, of: inode) {
                throw MetaError(.invalidArgument, "cannot move a directory into itself")
            }
            let now = Timestamp.now()
            let target = try tx.edge(newParent, newName)
            var moved = try tx.requireNode(inode)

            if flags.contains(.exchange) {
                guard let (other, otherType) = target else { throw MetaError(.noSuchFileOrDirectory) }
                if otherType == .directory, try isSelfOrDescendant(tx, parent, of: other) {
                    throw MetaError(.invalidArgument, "cannot move a directory into itself")
                }
                var swapped = try tx.requireNode(other)
                try tx.putEdge(parent, name, other, otherType)
                try tx.putEdge(newParent, newName, inode, type)
                if parent != newParent {
                    try reparent(tx, inode, &moved, from: parent, to: newParent)
                    try reparent(tx, other, &swapped, from: newParent, to: parent)
                }
                swapped.ctime = now
                try tx.updateNode(other, swapped)
            } else {
                if let (existing, existingType) = target {
                    if flags.contains(.noReplace) { throw MetaError(.fileExists) }
                    if existing == inode { return }  // two names of one inode: POSIX says do nothing
                    switch (type == .directory, existingType == .directory) {
                    case (true, false): throw MetaError(.notDirectory)
                    case (false, true): throw MetaError(.isDirectory)
                    case (true, true): if try tx.hasChildren(existing) { throw MetaError(.directoryNotEmpty) }
                    case (false, false): break
                    }
                    try tx.deleteEdge(newParent, newName)
                    if existingType == .directory {
                        try removeDirectory(tx, existing, from: newParent, now: now)
                    } else {
                        try dropName(tx, of: existing, from: newParent, now: now)
                    }
                }
                try tx.deleteEdge(parent, name)
                try tx.putEdge(newParent, newName, inode, type)
                if parent != newParent { try reparent(tx, inode, &moved, from: parent, to: newParent) }
            }
            moved.ctime = now
            try tx.updateNode(inode, moved)
            try touch(tx, parent, now: now)
            if newParent != parent { try touch(tx, newParent, now: now) }
        }
    }

    public var listingPageSize: Int { store.listingPageSize }

    public func readdir(_ inode: Ino, after: [UInt8]?, limit: Int, attributes: Bool) throws(MetaError) -> [DirectoryEntry] {
        try read { (tx) throws(MetaError) -> [DirectoryEntry] in
            _ = try tx.requireDirectory(inode)
            return attributes
                ? try tx.entriesWithAttributes(inode, after: after, limit: max(1, limit)) : try tx.entries(inode, after: after, limit: max(1, limit))
        }
    }

    // MARK: - Shared steps

    private func touch(_ tx: any MetaTransaction, _ directory: Ino, now: Timestamp) throws(MetaError) {
        var attr = try tx.requireNode(directory)
        attr.mtime = now
        attr.ctime = now
        try tx.updateNode(directory, attr)
    }

    /// Whether `candidate` is `directory` or lies below it.
    private func isSelfOrDescendant(_ tx: any MetaTransaction, _ candidate: Ino, of directory: Ino) throws(MetaError) -> Bool {
        var current = candidate
        while true {
            if current == directory { return true }
            if current == .root { return false }
            let parent = try tx.requireNode(current).parent
            if parent == current || parent == 0 { return false }
            current = parent
        }
    }

    /// Moves a node's accounting (and, for directories, a link) from one parent to another.
    private func reparent(_ tx: any MetaTransaction, _ inode: Ino, _ attr: inout Attr, from oldParent: Ino, to newParent: Ino) throws(MetaError) {
        try tx.addDirStat(oldParent, length: -attr.accountedLength, space: -attr.accountedSpace, inodes: -1)
        try tx.addDirStat(newParent, length: attr.accountedLength, space: attr.accountedSpace, inodes: 1)
        if attr.type == .directory {
            var old = try tx.requireNode(oldParent)
            old.nlink -= 1
            try tx.updateNode(oldParent, old)
            var new = try tx.requireNode(newParent)
            new.nlink += 1
            try tx.updateNode(newParent, new)
        }
        if attr.parent != 0 {
            attr.parent = newParent
        } else {
            try tx.addLinkParent(inode, parent: oldParent, delta: -1)
            try tx.addLinkParent(inode, parent: newParent, delta: 1)
        }
    }

    /// The edge is gone: account for it, and drop the inode with its last name unless it is open.
    private func dropName(_ tx: any MetaTransaction, of inode: Ino, from parent: Ino, now: Timestamp) throws(MetaError) {
        var attr = try tx.requireNode(inode)
        try tx.addDirStat(parent, length: -attr.accountedLength, space: -attr.accountedSpace, inodes: -1)
        if attr.parent == 0 { try tx.addLinkParent(inode, parent: parent, delta: -1) }
        attr.nlink = attr.nlink > 0 ? attr.nlink - 1 : 0
        attr.ctime = now
        if attr.nlink == 0, (openCounts[inode] ?? 0) == 0 {
            try removeInode(tx, inode, attr)
        } else {
            if attr.nlink == 0 {
                try tx.sustain(inode, session: try session())
                sustainedOpen.insert(inode)
            }
            try tx.updateNode(inode, attr)
        }
    }

    private func removeDirectory(_ tx: any MetaTransaction, _ inode: Ino, from parent: Ino, now: Timestamp) throws(MetaError) {
        try tx.deleteNode(inode, type: .directory, chunks: [])
        var parentAttr = try tx.requireNode(parent)
        parentAttr.nlink -= 1
        parentAttr.mtime = now
        parentAttr.ctime = now
        try tx.updateNode(parent, parentAttr)
        try tx.addDirStat(parent, length: 0, space: -4096, inodes: -1)
        try tx.addCounter("usedSpace", -4096)
        try tx.addCounter("totalInodes", -1)
    }

    /// Deletes a node with no names left and its references to slices. Blocks stay in the
    /// bucket: other versions may share them, so deleting objects is the garbage collector's
    /// job, and a slice left without references loses its record rather than being left for
    /// a juicefs client to delete.
    func removeInode(_ tx: any MetaTransaction, _ inode: Ino, _ attr: Attr) throws(MetaError) {
        let chunks = attr.type == .regular ? try tx.chunks(of: inode) : []
        for chunk in chunks {
            for record in SliceRecord.decodeAll(chunk.records) ?? [] where record.id != 0 {
                try tx.dereferenceSlice(record.id, size: record.size)
            }
        }
        try tx.deleteNode(inode, type: attr.type, chunks: chunks.map(\.index))
        try tx.addCounter("usedSpace", -attr.accountedSpace)
        try tx.addCounter("totalInodes", -1)
    }
}
