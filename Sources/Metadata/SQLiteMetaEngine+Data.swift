import SQLite

extension SQLiteMetaEngine {
    public func readChunk(_ inode: Ino, index: UInt32) throws(MetaError) -> [SliceRecord] {
        try locked { () throws(MetaError) -> [SliceRecord] in
            guard let bytes = try first("SELECT slices FROM jfs_chunk WHERE inode=? AND indx=?", [.inode(inode), .integer(Int64(index))], { $0.bytes(0) }) else {
                _ = try requireNode(inode)
                return []
            }
            guard let records = SliceRecord.decodeAll(bytes) else {
                throw MetaError(.ioError, "chunk \(index) of inode \(inode) is corrupt (\(bytes.count) bytes)")
            }
            return records
        }
    }

    public func appendSlice(_ inode: Ino, index: UInt32, record: SliceRecord, mtime: Timestamp) throws(MetaError) {
        guard UInt64(record.pos) + UInt64(record.len) <= ChunkGeometry.chunkSize, UInt64(record.off) + UInt64(record.len) <= UInt64(record.size) || record.id == 0,
            record.len > 0
        else {
            throw MetaError(.invalidArgument, "slice record \(record) does not fit its chunk or slice")
        }
        try write { () throws(MetaError) in
            var attr = try requireNode(inode)
            guard attr.type == .regular else { throw MetaError(.invalidArgument, "inode \(inode) is not a regular file") }
            try appendRecords(inode, index: index, [record])
            if record.id != 0 {
                try run(
                    "INSERT INTO jfs_chunk_ref(chunkid,size,refs) VALUES(?,?,1) ON CONFLICT(chunkid) DO UPDATE SET refs=refs+1",
                    [.inode(record.id), .integer(Int64(record.size))])
            }
            let end = UInt64(index) * ChunkGeometry.chunkSize + UInt64(record.pos) + UInt64(record.len)
            if end > attr.length { try resize(inode, &attr, to: end) }
            attr.mtime = mtime
            attr.ctime = mtime
            try updateNode(inode, attr)
        }
    }

    /// Appends records to a chunk row, creating it when missing; the value stays a BLOB.
    func appendRecords(_ inode: Ino, index: UInt32, _ records: [SliceRecord]) throws(MetaError) {
        try run(
            "INSERT INTO jfs_chunk(inode,indx,slices) VALUES(?,?,?) ON CONFLICT(inode,indx) DO UPDATE SET slices=CAST(slices||excluded.slices AS BLOB)",
            [.inode(inode), .integer(Int64(index)), .blob(records.flatMap(\.encoded))])
    }

    /// Changes a file's length the juicefs way: hole records over `[min, max)` of the old and
    /// new lengths, so bytes beyond a shrink read as zeros if the file grows again.
    func truncate(_ inode: Ino, _ attr: inout Attr, to length: UInt64) throws(MetaError) {
        let (low, high) = (min(attr.length, length), max(attr.length, length))
        if low < high {
            let chunk = ChunkGeometry.chunkSize
            let first = low / chunk
            try appendRecords(inode, index: UInt32(first), [.hole(pos: UInt32(low % chunk), len: UInt32(min(high, (first + 1) * chunk) - low))])
            let last = high / chunk
            if last > first + 1 {
                let between = try all(
                    "SELECT indx FROM jfs_chunk WHERE inode=? AND indx>? AND indx<?", [.inode(inode), .integer(Int64(first)), .integer(Int64(last))]
                ) { UInt32($0.int64(0)) }
                for index in between { try appendRecords(inode, index: index, [.hole(pos: 0, len: UInt32(chunk))]) }
            }
            if last > first, high % chunk != 0 {
                try appendRecords(inode, index: UInt32(last), [.hole(pos: 0, len: UInt32(high % chunk))])
            }
        }
        try resize(inode, &attr, to: length)
    }

    /// Sets the length and moves the space accounting of the volume and of every parent.
    private func resize(_ inode: Ino, _ attr: inout Attr, to length: UInt64) throws(MetaError) {
        let spaceDelta = ChunkGeometry.align4K(length) - ChunkGeometry.align4K(attr.length)
        let lengthDelta = Int64(length) - Int64(attr.length)
        for parent in try parents(of: inode, attr: attr) {
            try addDirStat(parent, length: lengthDelta, space: spaceDelta, inodes: 0)
        }
        if spaceDelta != 0 { try addCounter("usedSpace", spaceDelta) }
        attr.length = length
    }

    // MARK: - Open files

    public func open(_ inode: Ino) throws(MetaError) {
        try locked { () throws(MetaError) in
            _ = try requireNode(inode)
            openCounts[inode, default: 0] += 1
        }
    }

    public func close(_ inode: Ino) throws(MetaError) {
        try locked { () throws(MetaError) in
            guard let count = openCounts[inode] else { return }
            if count > 1 {
                openCounts[inode] = count - 1
                return
            }
            openCounts[inode] = nil
            try db.transaction { () throws(MetaError) in
                if let attr = try node(inode), attr.nlink == 0 { try removeInode(inode, attr) }
            }
        }
    }

    // MARK: - Extended attributes

    public func getxattr(_ inode: Ino, name: String) throws(MetaError) -> [UInt8] {
        try NameRules.validateXattr(name: name)
        return try locked { () throws(MetaError) -> [UInt8] in
            if let value = try first("SELECT value FROM jfs_xattr WHERE inode=? AND name=?", [.inode(inode), .text(name)], { $0.bytes(0) }) {
                return value
            }
            _ = try requireNode(inode)
            throw MetaError(.noData)
        }
    }

    public func setxattr(_ inode: Ino, name: String, value: [UInt8], flags: XattrFlags) throws(MetaError) {
        try NameRules.validateXattr(name: name)
        try NameRules.validateXattr(value: value)
        try write { () throws(MetaError) in
            var attr = try requireNode(inode)
            let exists = try first("SELECT 1 FROM jfs_xattr WHERE inode=? AND name=?", [.inode(inode), .text(name)], { _ in true }) != nil
            if flags.contains(.create), exists { throw MetaError(.fileExists) }
            if flags.contains(.replace), !exists { throw MetaError(.noData) }
            try run(
                "INSERT INTO jfs_xattr(inode,name,value) VALUES(?,?,?) ON CONFLICT(inode,name) DO UPDATE SET value=excluded.value",
                [.inode(inode), .text(name), .blob(value)])
            attr.ctime = .now()
            try updateNode(inode, attr)
        }
    }

    public func listxattr(_ inode: Ino) throws(MetaError) -> [String] {
        try locked { () throws(MetaError) -> [String] in
            _ = try requireNode(inode)
            return try all("SELECT name FROM jfs_xattr WHERE inode=? ORDER BY name", [.inode(inode)]) { $0.text(0) }
        }
    }

    public func removexattr(_ inode: Ino, name: String) throws(MetaError) {
        try NameRules.validateXattr(name: name)
        try write { () throws(MetaError) in
            var attr = try requireNode(inode)
            try run("DELETE FROM jfs_xattr WHERE inode=? AND name=?", [.inode(inode), .text(name)])
            if db.changes == 0 { throw MetaError(.noData) }
            attr.ctime = .now()
            try updateNode(inode, attr)
        }
    }
}
