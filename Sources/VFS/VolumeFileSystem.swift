import ChunkStore
import Foundation
import Metadata
import StorageFormat
import SystemPackage

/// POSIX semantics over a metadata engine and a chunk store: what a FUSE request asks,
/// answered in terms of inodes and open handles. Testable without FUSE.
///
/// Writes are buffered by one writer per inode and committed on flush, fsync, release or
/// idle; until then `getattr` reports the length written so far, and reads commit pending
/// writes first, so a process always sees its own writes.
public final class VolumeFileSystem: @unchecked Sendable {
    public let engine: any MetaEngine
    public let chunks: ChunkStore
    private let lock = NSLock()
    private var readOnlyNow: Bool
    private var lookups: [Ino: UInt64] = [:]
    private var open: [Ino: OpenInode] = [:]
    private var handles: [FileHandleID: FileHandle] = [:]
    private var directories: [FileHandleID: DirectoryListing] = [:]
    private var nextHandle = FileHandleID(rawValue: 1)
    /// Inodes this mount created that have had no extended attribute since. The kernel asks
    /// every new file for `security.capability` at its first write; for these the answer is
    /// known without a read of the store.
    private var bareInodes = RecentInodes(capacity: 4096)

    /// The state shared by every handle of one inode.
    private final class OpenInode {
        let writer: FileWriter
        var handles = 0
        /// The end of the furthest write not yet committed.
        var writtenLength: UInt64 = 0

        init(writer: FileWriter) { self.writer = writer }
    }

    private struct FileHandle {
        let inode: Ino
        let reader: FileReader
        let append: Bool
    }

    /// Who makes a request: the owner of what it creates.
    public struct Caller: Sendable {
        public var uid: UInt32
        public var gid: UInt32
        public var umask: UInt16

        public init(uid: UInt32, gid: UInt32, umask: UInt16 = 0o022) {
            self.uid = uid
            self.gid = gid
            self.umask = umask
        }
    }

    public init(engine: any MetaEngine, chunks: ChunkStore, readOnly: Bool = false) {
        self.engine = engine
        self.chunks = chunks
        readOnlyNow = readOnly
    }

    /// Whether mutations are refused with EROFS; the daemon can switch a live mount over.
    public var readOnly: Bool {
        get { lock.withLock { readOnlyNow } }
        set { lock.withLock { readOnlyNow = newValue } }
    }

    // MARK: - Names and attributes

    /// Resolves a name and counts the kernel's new reference to the inode.
    public func lookup(parent: Ino, name: [UInt8]) throws(Errno) -> (Ino, Attr) {
        let (inode, attr) = try call { () throws(MetaError) in try engine.lookup(parent: parent, name: name) }
        remember(inode)
        return (inode, withPendingLength(inode, attr))
    }

    /// The kernel dropped `count` references.
    public func forget(_ inode: Ino, count: UInt64) {
        lock.withLock {
            guard let known = lookups[inode] else { return }
            lookups[inode] = known > count ? known - count : nil
        }
    }

    public func getattr(_ inode: Ino) throws(Errno) -> Attr {
        withPendingLength(inode, try call { () throws(MetaError) in try engine.getattr(inode) })
    }

    public func setattr(_ inode: Ino, _ changes: AttrChanges) throws(Errno) -> Attr {
        try writable()
        if changes.size != nil {
            try commitPendingWrites(inode)
        }
        let attr = try call { () throws(MetaError) in try engine.setattr(inode, changes) }
        if let size = changes.size { lock.withLock { open[inode]?.writtenLength = size } }
        return attr
    }

    public func readlink(_ inode: Ino) throws(Errno) -> [UInt8] {
        try call { () throws(MetaError) in try engine.readlink(inode) }
    }

    public func statfs() throws(Errno) -> FilesystemStatistics {
        try call { () throws(MetaError) in try engine.statfs() }
    }

    // MARK: - Creating and removing names

    public func mknod(parent: Ino, name: [UInt8], type: NodeType, mode: UInt16, rdev: UInt32, caller: Caller) throws(Errno) -> (Ino, Attr) {
        try writable()
        let created = try call { () throws(MetaError) in
            try engine.mknod(parent: parent, name: name, type: type, mode: mode & ~caller.umask, owner: Owner(uid: caller.uid, gid: caller.gid), rdev: rdev)
        }
        remember(created.0, created: true)
        return created
    }

    public func symlink(parent: Ino, name: [UInt8], target: [UInt8], caller: Caller) throws(Errno) -> (Ino, Attr) {
        try writable()
        let created = try call { () throws(MetaError) in try engine.symlink(parent: parent, name: name, target: target, owner: Owner(uid: caller.uid, gid: caller.gid)) }
        remember(created.0, created: true)
        return created
    }

    public func link(_ inode: Ino, parent: Ino, name: [UInt8]) throws(Errno) -> Attr {
        try writable()
        let attr = try call { () throws(MetaError) in try engine.link(inode, parent: parent, name: name) }
        remember(inode)
        return withPendingLength(inode, attr)
    }

    public func unlink(parent: Ino, name: [UInt8]) throws(Errno) {
        try writable()
        try call { () throws(MetaError) in try engine.unlink(parent: parent, name: name) }
    }

    public func rmdir(parent: Ino, name: [UInt8]) throws(Errno) {
        try writable()
        try call { () throws(MetaError) in try engine.rmdir(parent: parent, name: name) }
    }

    public func rename(parent: Ino, name: [UInt8], newParent: Ino, newName: [UInt8], flags: RenameFlags) throws(Errno) {
        try writable()
        try call { () throws(MetaError) in try engine.rename(parent: parent, name: name, newParent: newParent, newName: newName, flags: flags) }
    }

    // MARK: - Files

    /// Opens a file; `truncate` is O_TRUNC, `append` O_APPEND; `clearingSetID` when the
    /// kernel marks a truncating caller as one whose truncation clears set-ID bits (see
    /// `AttrChanges.clearsSetID`). Returns the handle.
    public func open(_ inode: Ino, write: Bool, truncate: Bool, append: Bool, clearingSetID: Bool = false) throws(Errno) -> FileHandleID {
        if write || truncate { try writable() }
        let attr = try call { () throws(MetaError) in try engine.getattr(inode) }
        return try open(inode, attr, truncate: truncate, append: append, clearingSetID: clearingSetID)
    }

    /// Creates and opens a regular file in one step (O_CREAT).
    public func create(parent: Ino, name: [UInt8], mode: UInt16, caller: Caller, append: Bool) throws(Errno) -> (Ino, Attr, FileHandleID) {
        let (inode, attr) = try mknod(parent: parent, name: name, type: .regular, mode: mode, rdev: 0, caller: caller)
        return (inode, attr, try open(inode, attr, truncate: false, append: append, clearingSetID: false))
    }

    private func open(_ inode: Ino, _ attr: Attr, truncate: Bool, append: Bool, clearingSetID: Bool) throws(Errno) -> FileHandleID {
        guard attr.type != .directory else { throw .isDirectory }
        try call { () throws(MetaError) in try engine.open(inode) }
        let clears = clearingSetID && attr.losesSetIDOnWrite
        if truncate, attr.length > 0 || clears { _ = try setattr(inode, AttrChanges(size: 0, clearsSetID: clears)) }
        return lock.withLock {
            let state = open[inode] ?? OpenInode(writer: chunks.writer(inode: inode))
            state.handles += 1
            open[inode] = state
            let handle = nextHandle
            nextHandle = nextHandle.next
            handles[handle] = FileHandle(inode: inode, reader: chunks.reader(inode: inode), append: append)
            return handle
        }
    }

    public func read(_ handle: FileHandleID, at offset: UInt64, count: Int) throws(Errno) -> Data {
        let file = try fileHandle(handle)
        try commitPendingWrites(file.inode)
        let length = try call { () throws(MetaError) in try engine.getattr(file.inode) }.length
        do {
            // A length past the longest file can only come from a damaged index: nothing
            // past the limit can hold data, and chunk indexes end there.
            return try file.reader.read(at: offset, count: count, fileLength: min(length, ChunkGeometry.maxFileLength))
        } catch {
            throw error.errno
        }
    }

    /// Clears the set-ID bits a write through `handle` drops, for a write the kernel marks as
    /// one by a caller without CAP_FSETID (see `AttrChanges.clearsSetID`). Returns whether
    /// the mode changed, which the kernel's cached attributes do not show.
    public func clearSetIDForWrite(_ handle: FileHandleID) throws(Errno) -> Bool {
        let inode = try fileHandle(handle).inode
        guard try call({ () throws(MetaError) in try engine.getattr(inode) }).losesSetIDOnWrite else { return false }
        try writable()
        _ = try call { () throws(MetaError) in try engine.setattr(inode, AttrChanges(clearsSetID: true)) }
        return true
    }

    /// Writes `data`, at the end of the file for an O_APPEND handle; returns the bytes written.
    /// Nothing keeps `data` past the call (its bytes may be the request buffer's).
    public func write(_ handle: FileHandleID, at offset: UInt64, _ data: Data) throws(Errno) -> Int {
        try writable()
        let file = try fileHandle(handle)
        guard let state = lock.withLock({ open[file.inode] }) else { throw .badFileDescriptor }
        let position = file.append ? try getattr(file.inode).length : offset
        guard position <= ChunkGeometry.maxFileLength, UInt64(data.count) <= ChunkGeometry.maxFileLength - position else { throw .fileTooLarge }
        do {
            try state.writer.write(at: position, data)
        } catch {
            throw error.errno
        }
        lock.withLock { state.writtenLength = max(state.writtenLength, position + UInt64(data.count)) }
        return data.count
    }

    /// fallocate(2): mode 0 (allocate, growing the file), punch-hole and zero-range, with
    /// or without KEEP_SIZE. Zeroed ranges become hole records; nothing is preallocated.
    public func fallocate(_ handle: FileHandleID, mode: Int32, offset: UInt64, length: UInt64) throws(Errno) {
        try writable()
        let (keepSize, punchHole, zeroRange): (Int32, Int32, Int32) = (0x01, 0x02, 0x10)
        guard mode & ~(keepSize | punchHole | zeroRange) == 0, mode & punchHole == 0 || mode & keepSize != 0 else { throw .notSupported }
        guard offset <= ChunkGeometry.maxFileLength, length <= ChunkGeometry.maxFileLength - offset else { throw .fileTooLarge }
        let inode = try fileHandle(handle).inode
        try commitPendingWrites(inode)
        if mode & (punchHole | zeroRange) != 0 {
            try call { () throws(MetaError) in try engine.zero(inode, offset..<offset + length, keepSize: mode & keepSize != 0, mtime: .now()) }
        } else if mode & keepSize == 0, offset + length > (try getattr(inode).length) {
            _ = try setattr(inode, AttrChanges(size: offset + length))
        }
    }

    /// copy_file_range(2) within the volume: the destination gets records pointing into the
    /// source's slices (each gaining a reference), so no byte is read or uploaded. Returns
    /// the bytes copied: fewer when the source ends first, and at most `copyLimit` a call
    /// (the caller asks again for the rest), so one call's work stays bounded.
    public func copyRange(from source: FileHandleID, at sourceOffset: UInt64, to destination: FileHandleID, at destinationOffset: UInt64, length: UInt64) throws(Errno)
        -> UInt64
    {
        try writable()
        let input = try fileHandle(source).inode
        let output = try fileHandle(destination).inode
        try commitPendingWrites(input)
        try commitPendingWrites(output)
        let available = try getattr(input).length
        guard sourceOffset < available, length > 0 else { return 0 }
        let count = min(length, available - sourceOffset, Self.copyLimit)
        guard destinationOffset <= ChunkGeometry.maxFileLength, count <= ChunkGeometry.maxFileLength - destinationOffset else { throw .fileTooLarge }
        guard input != output || sourceOffset + count <= destinationOffset || destinationOffset + count <= sourceOffset else { throw .invalidArgument }
        var pending: [UInt32: [SliceRecord]] = [:]
        for piece in ChunkGeometry.pieces(of: sourceOffset..<sourceOffset + count) {
            let records = try call { () throws(MetaError) in try engine.readChunk(input, index: piece.index) }
            for segment in SliceResolution.resolve(records, from: piece.offset, to: piece.end) {
                let segmentStart = piece.fileOffset - UInt64(piece.offset) + UInt64(segment.position)
                let target = destinationOffset + (segmentStart - sourceOffset)
                for part in ChunkGeometry.pieces(of: target..<target + UInt64(segment.length)) {
                    let done = UInt32(part.fileOffset - target)
                    let record = segment.slice.map { SliceRecord(pos: part.offset, id: $0.id, size: $0.size, off: $0.offset + done, len: part.length) }
                        ?? .hole(pos: part.offset, len: part.length)
                    pending[part.index, default: []].append(record)
                }
            }
        }
        for (chunk, records) in pending.sorted(by: { $0.key < $1.key }) {
            try call { () throws(MetaError) in try engine.appendReferences(output, index: chunk, records: records, mtime: .now()) }
        }
        return count
    }

    /// The most one copy_file_range call copies: 16 chunks.
    static let copyLimit: UInt64 = 16 * ChunkGeometry.chunkSize

    /// close(2) of one descriptor: commits what was written.
    public func flush(_ handle: FileHandleID) throws(Errno) {
        try commitPendingWrites(try fileHandle(handle).inode)
    }

    /// fsync(2): commits what was written, makes its staged blocks durable and persists
    /// the namespace changes so far.
    public func fsync(_ handle: FileHandleID) throws(Errno) {
        try flush(handle)
        do {
            try chunks.syncStaged()
        } catch {
            throw error.errno
        }
        try call { () throws(MetaError) in try engine.persist() }
    }

    /// The last reference to a handle is gone.
    public func release(_ handle: FileHandleID) throws(Errno) {
        guard let file = lock.withLock({ handles.removeValue(forKey: handle) }) else { throw .badFileDescriptor }
        var failure: Errno?
        do {
            try commitPendingWrites(file.inode)
        } catch {
            failure = error
        }
        lock.withLock {
            guard let state = open[file.inode] else { return }
            state.handles -= 1
            if state.handles == 0 { open[file.inode] = nil }
        }
        try call { () throws(MetaError) in try engine.close(file.inode) }
        if let failure { throw failure }
    }

    // MARK: - Directories

    /// Opens a listing of the directory (see `DirectoryListing`); its entries are read as
    /// `readdir` and `readAhead` need them.
    public func opendir(_ inode: Ino) throws(Errno) -> FileHandleID {
        let attr = try call { () throws(MetaError) in try engine.getattr(inode) }
        guard attr.type == .directory else { throw .notDirectory }
        let leading = [
            DirectoryEntry(name: Array(".".utf8), inode: inode, type: .directory, attr: attr),
            DirectoryEntry(name: Array("..".utf8), inode: attr.parent == 0 ? inode : attr.parent, type: .directory, attr: nil),
        ]
        let listing = DirectoryListing(leading: leading, pageSize: engine.listingPageSize) { [weak self] (after, limit) throws(Errno) in
            guard let self else { throw .badFileDescriptor }
            var page = try call { () throws(MetaError) in try engine.readdir(inode, after: after, limit: limit, attributes: true) }
            withPendingLengths(&page)
            return page
        }
        return lock.withLock {
            let handle = nextHandle
            nextHandle = nextHandle.next
            directories[handle] = listing
            return handle
        }
    }

    /// Entries from `offset` on; each entry's own offset is its index + 1. A readdirplus
    /// caller reports the entries the kernel accepted with `rememberEntries`.
    public func readdir(_ handle: FileHandleID, offset: Int) throws(Errno) -> ArraySlice<DirectoryEntry> {
        guard let listing = lock.withLock({ directories[handle] }) else { throw .badFileDescriptor }
        return try listing.entries(from: offset)
    }

    /// Reads the directory's next entries ahead of `offset`, the end of the reply just sent,
    /// while the kernel takes that reply in. Call after replying: it may take a millisecond.
    public func readAhead(_ handle: FileHandleID, from offset: Int) {
        lock.withLock({ directories[handle] })?.readAhead(from: offset)
    }

    /// The kernel accepted these readdirplus entries: it now holds a reference to each.
    public func rememberEntries(_ inodes: [Ino]) {
        lock.withLock { for inode in inodes { lookups[inode, default: 0] += 1 } }
    }

    public func releasedir(_ handle: FileHandleID) {
        _ = lock.withLock { directories.removeValue(forKey: handle) }
    }

    // MARK: - Extended attributes

    /// POSIX ACLs and SELinux labels are not kept. Their names answer ENOTSUP, as on any
    /// file system without them, so that `ls -l`, which asks for both on every entry, stops
    /// asking after the first one instead of paying two round trips per file.
    private static let unsupportedAttributes: Set<String> = ["system.posix_acl_access", "system.posix_acl_default", "security.selinux"]

    public func getxattr(_ inode: Ino, name: String) throws(Errno) -> [UInt8] {
        guard !Self.unsupportedAttributes.contains(name) else { throw .notSupported }
        if lock.withLock({ bareInodes.contains(inode) }) {
            try call { () throws(MetaError) in try NameRules.validateXattr(name: name) }
            throw .noData
        }
        return try call { () throws(MetaError) in try engine.getxattr(inode, name: name) }
    }

    public func setxattr(_ inode: Ino, name: String, value: [UInt8], flags: XattrFlags) throws(Errno) {
        try writable()
        guard !Self.unsupportedAttributes.contains(name) else { throw .notSupported }
        lock.withLock { bareInodes.remove(inode) }
        try call { () throws(MetaError) in try engine.setxattr(inode, name: name, value: value, flags: flags) }
    }

    public func listxattr(_ inode: Ino) throws(Errno) -> [String] {
        try call { () throws(MetaError) in try engine.listxattr(inode) }
    }

    public func removexattr(_ inode: Ino, name: String) throws(Errno) {
        try writable()
        guard !Self.unsupportedAttributes.contains(name) else { throw .notSupported }
        try call { () throws(MetaError) in try engine.removexattr(inode, name: name) }
    }

    // MARK: - Control

    /// Commits every open file's pending writes (before a commit of the volume).
    public func flushAll() throws(Errno) {
        let writers = lock.withLock { open.values.map(\.writer) }
        for writer in writers {
            do {
                try writer.flush()
            } catch {
                throw error.errno
            }
        }
    }

    /// Open file handles now, for status.
    public var openHandles: Int { lock.withLock { handles.count } }

    // MARK: - Helpers

    private func writable() throws(Errno) {
        if readOnly { throw .readOnlyFileSystem }
    }

    private func remember(_ inode: Ino, created: Bool = false) {
        lock.withLock {
            lookups[inode, default: 0] += 1
            if created { bareInodes.insert(inode) }
        }
    }

    private func fileHandle(_ handle: FileHandleID) throws(Errno) -> FileHandle {
        guard let file = lock.withLock({ handles[handle] }) else { throw .badFileDescriptor }
        return file
    }

    private func commitPendingWrites(_ inode: Ino) throws(Errno) {
        guard let state = lock.withLock({ open[inode] }), state.writer.hasPendingData else { return }
        do {
            try state.writer.flush()
        } catch {
            throw error.errno
        }
    }

    /// `withPendingLength` for a listing's entries: the kernel takes a readdirplus entry's
    /// attributes over the ones it holds, and a committed length would shrink a file being
    /// written.
    private func withPendingLengths(_ entries: inout [DirectoryEntry]) {
        let written = lock.withLock { open.compactMapValues { $0.writer.hasPendingData ? $0.writtenLength : nil } }
        guard !written.isEmpty else { return }
        for (index, entry) in entries.enumerated() {
            guard let attr = entry.attr, let adjusted = Self.lengthened(attr, to: written[entry.inode]) else { continue }
            entries[index] = DirectoryEntry(name: entry.name, inode: entry.inode, type: entry.type, attr: adjusted)
        }
    }

    private func withPendingLength(_ inode: Ino, _ attr: Attr) -> Attr {
        guard let adjusted = Self.lengthened(attr, to: lock.withLock({ open[inode]?.writtenLength })),
            lock.withLock({ open[inode]?.writer.hasPendingData }) == true
        else { return attr }
        return adjusted
    }

    /// A regular file's attributes with the length its uncommitted writes reach, when that
    /// is further; `written` is only asked for a regular file.
    private static func lengthened(_ attr: Attr, to written: @autoclosure () -> UInt64?) -> Attr? {
        guard attr.type == .regular, let written = written(), written > attr.length else { return nil }
        var adjusted = attr
        adjusted.length = written
        return adjusted
    }

    private func call<Result>(_ body: () throws(MetaError) -> Result) throws(Errno) -> Result {
        do {
            return try body()
        } catch {
            throw error.errno
        }
    }
}
