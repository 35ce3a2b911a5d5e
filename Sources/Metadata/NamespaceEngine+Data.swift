import StorageFormat

extension NamespaceEngine {
    public func readChunk(_ inode: Ino, index: UInt32) throws(MetaError) -> [SliceRecord] {
        try read { (tx) throws(MetaError) -> [SliceRecord] in
            guard let bytes = try tx.chunk(inode, index: index) else {
                _ = try tx.requireNode(inode)
                return []
            }
            guard let records = SliceRecord.decodeAll(bytes) else {
                throw MetaError(.ioError, "chunk \(index) of inode \(inode) is corrupt (\(bytes.count) bytes)")
            }
            return records
        }
    }

    public func forEachReferencedSlice(_ body: (SliceID) throws(MetaError) -> Void) throws(MetaError) {
        try read { (tx) throws(MetaError) in
            try tx.forEachChunk { (bytes) throws(MetaError) in
                guard let records = SliceRecord.decodeAll(bytes) else {
                    throw MetaError(.ioError, "a chunk of \(store.location) is corrupt (\(bytes.count) bytes)")
                }
                for record in records where record.id != .hole { try body(record.id) }
            }
        }
    }

    public func appendSlice(_ inode: Ino, index: UInt32, record: SliceRecord, mtime: Timestamp) throws(MetaError) {
        try append(inode, index: index, [record], mtime: mtime, newSlices: true)
    }

    public func appendReferences(_ inode: Ino, index: UInt32, records: [SliceRecord], mtime: Timestamp) throws(MetaError) {
        guard !records.isEmpty else { return }
        try append(inode, index: index, records, mtime: mtime, newSlices: false)
    }

    private func append(_ inode: Ino, index: UInt32, _ records: [SliceRecord], mtime: Timestamp, newSlices: Bool) throws(MetaError) {
        guard UInt64(index) < ChunkGeometry.maxFileLength / ChunkGeometry.chunkSize else {
            throw MetaError(.fileTooLarge, "chunk \(index) is past the longest file")
        }
        for record in records {
            guard UInt64(record.pos) + UInt64(record.len) <= ChunkGeometry.chunkSize,
                UInt64(record.off) + UInt64(record.len) <= UInt64(record.size) || record.id == 0, record.len > 0
            else {
                throw MetaError(.invalidArgument, "slice record \(record) does not fit its chunk or slice")
            }
        }
        try write(checkedFirst: true) { (tx) throws(MetaError) in
            var attr = try tx.requireNode(inode)
            guard attr.type == .regular else { throw MetaError(.invalidArgument, "inode \(inode) is not a regular file") }
            try tx.appendRecords(inode, index: index, records)
            for record in records where record.id != 0 {
                if newSlices { try tx.referenceNewSlice(record.id, size: record.size) } else { try tx.addSliceReference(record.id, size: record.size) }
            }
            let end = records.map { UInt64(index) * ChunkGeometry.chunkSize + UInt64($0.pos) + UInt64($0.len) }.max() ?? 0
            if end > attr.length { try resize(tx, inode, &attr, to: end) }
            attr.mtime = mtime
            attr.ctime = mtime
            try tx.updateNode(inode, attr)
        }
    }

    public func replaceRecords(_ inode: Ino, index: UInt32, replaced: [SliceRecord], with replacement: SliceRecord) throws(MetaError) -> Bool {
        guard !replaced.isEmpty, replacement.id != 0, UInt64(replacement.off) + UInt64(replacement.len) <= UInt64(replacement.size) else {
            throw MetaError(.invalidArgument, "a compaction replaces records with one slice")
        }
        return try write { (tx) throws(MetaError) -> Bool in
            let expected = replaced.flatMap(\.encoded)
            guard let current = try tx.chunk(inode, index: index), current.starts(with: expected) else { return false }
            try tx.setRecords(inode, index: index, replacement.encoded + current.dropFirst(expected.count))
            try tx.referenceNewSlice(replacement.id, size: replacement.size)
            for record in replaced where record.id != 0 { try tx.dereferenceSlice(record.id, size: record.size) }
            return true
        }
    }

    /// Reads `range` of a regular file as zeros from now on (fallocate's punch-hole and
    /// zero-range), growing the file to `range.upperBound` unless `keepSize`.
    public func zero(_ inode: Ino, _ range: Range<UInt64>, keepSize: Bool, mtime: Timestamp) throws(MetaError) {
        guard range.upperBound <= ChunkGeometry.maxFileLength else { throw MetaError(.fileTooLarge, "\(range.upperBound) is past the longest file") }
        try write { (tx) throws(MetaError) in
            var attr = try tx.requireNode(inode)
            guard attr.type == .regular else { throw MetaError(.invalidArgument, "inode \(inode) is not a regular file") }
            let end = keepSize ? min(range.upperBound, attr.length) : range.upperBound
            guard range.lowerBound < end else { return }
            try zero(tx, inode, range.lowerBound..<end)
            if end > attr.length { try resize(tx, inode, &attr, to: end) }
            attr.mtime = mtime
            attr.ctime = mtime
            try tx.updateNode(inode, attr)
        }
    }

    /// Changes a file's length. Growing writes hole records over the new part the juicefs
    /// way; shrinking holes the rest of the chunk the new end falls in and deletes the chunks
    /// wholly past it, so bytes beyond a shrink read as zeros if the file grows again and no
    /// record outlives the length (a deletion finds chunks up to the length).
    func truncate(_ tx: any MetaTransaction, _ inode: Ino, _ attr: inout Attr, to length: UInt64) throws(MetaError) {
        guard length <= ChunkGeometry.maxFileLength else { throw MetaError(.fileTooLarge, "\(length) is past the longest file") }
        if length < attr.length {
            let chunk = ChunkGeometry.chunkSize
            var firstGone = length / chunk
            if length % chunk != 0 {
                let cut = UInt32(min(attr.length, (firstGone + 1) * chunk) - length)
                try tx.appendRecords(inode, index: UInt32(firstGone), [.hole(pos: UInt32(length % chunk), len: cut)])
                firstGone += 1
            }
            let chunks = (attr.length - 1) / chunk + 1
            if firstGone < chunks {
                for index in try tx.chunkIndexes(inode, in: UInt32(firstGone)..<UInt32(chunks)) {
                    for record in SliceRecord.decodeAll(try tx.chunk(inode, index: index) ?? []) ?? [] where record.id != 0 {
                        try tx.dereferenceSlice(record.id, size: record.size)
                    }
                    try tx.deleteChunk(inode, index: index)
                }
            }
        } else {
            try zero(tx, inode, attr.length..<length)
        }
        try resize(tx, inode, &attr, to: length)
    }

    /// Hole records over `range`: in the chunk where it starts and the one where it ends, and
    /// in the whole chunks between only where a chunk exists (a missing chunk reads as zeros
    /// already), so the work follows what the file holds, not how long the range is.
    private func zero(_ tx: any MetaTransaction, _ inode: Ino, _ range: Range<UInt64>) throws(MetaError) {
        guard !range.isEmpty else { return }
        let (low, high, chunk) = (range.lowerBound, range.upperBound, ChunkGeometry.chunkSize)
        let first = low / chunk
        try tx.appendRecords(inode, index: UInt32(first), [.hole(pos: UInt32(low % chunk), len: UInt32(min(high, (first + 1) * chunk) - low))])
        let last = high / chunk
        if last > first + 1 {
            for index in try tx.chunkIndexes(inode, in: UInt32(first + 1)..<UInt32(last)) {
                try tx.appendRecords(inode, index: index, [.hole(pos: 0, len: UInt32(chunk))])
            }
        }
        if last > first, high % chunk != 0 {
            try tx.appendRecords(inode, index: UInt32(last), [.hole(pos: 0, len: UInt32(high % chunk))])
        }
    }

    /// Sets the length and moves the space accounting of the volume and of every parent.
    private func resize(_ tx: any MetaTransaction, _ inode: Ino, _ attr: inout Attr, to length: UInt64) throws(MetaError) {
        let spaceDelta = ChunkGeometry.align4K(length) - ChunkGeometry.align4K(attr.length)
        let lengthDelta = Int64(length) - Int64(attr.length)
        for parent in try tx.parents(of: inode, attr: attr) {
            try tx.addDirStat(parent, length: lengthDelta, space: spaceDelta, inodes: 0)
        }
        if spaceDelta != 0 { try tx.addCounter("usedSpace", spaceDelta) }
        attr.length = length
    }

    // MARK: - Extended attributes

    public func getxattr(_ inode: Ino, name: String) throws(MetaError) -> [UInt8] {
        try NameRules.validateXattr(name: name)
        return try read { (tx) throws(MetaError) -> [UInt8] in
            if let value = try tx.xattr(inode, name: name) { return value }
            _ = try tx.requireNode(inode)
            throw MetaError(.noData)
        }
    }

    public func setxattr(_ inode: Ino, name: String, value: [UInt8], flags: XattrFlags) throws(MetaError) {
        try NameRules.validateXattr(name: name)
        try NameRules.validateXattr(value: value)
        try write { (tx) throws(MetaError) in
            var attr = try tx.requireNode(inode)
            let exists = try tx.xattr(inode, name: name) != nil
            if flags.contains(.create), exists { throw MetaError(.fileExists) }
            if flags.contains(.replace), !exists { throw MetaError(.noData) }
            try tx.putXattr(inode, name: name, value: value)
            attr.ctime = .now()
            try tx.updateNode(inode, attr)
        }
    }

    public func listxattr(_ inode: Ino) throws(MetaError) -> [String] {
        try read { (tx) throws(MetaError) -> [String] in
            _ = try tx.requireNode(inode)
            return try tx.xattrNames(inode).sorted()
        }
    }

    public func removexattr(_ inode: Ino, name: String) throws(MetaError) {
        try NameRules.validateXattr(name: name)
        try write { (tx) throws(MetaError) in
            var attr = try tx.requireNode(inode)
            guard try tx.xattr(inode, name: name) != nil else { throw MetaError(.noData) }
            try tx.deleteXattr(inode, name: name)
            attr.ctime = .now()
            try tx.updateNode(inode, attr)
        }
    }
}
