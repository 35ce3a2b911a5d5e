import Foundation
import StorageFormat
import SystemBridge
import SystemPackage

/// Blocks written and not yet uploaded, kept on local disk until their PUT succeeds: a file
/// each in `<space>/staging/`, or a record of the space's `BlockLog` when small. Never
/// evicted; the block cache takes each over (`BlockCache.adopt`) once it is in the bucket.
///
/// Like a local file system's page cache, a staged block reaches stable storage at
/// `sync` (fsync(2) of its file, or of the log); a commit's drain uploads it anyway, and a
/// process crash loses nothing.
public final class StagingArea: @unchecked Sendable {
    /// Where a staged block is: a record of its space's log, or a file.
    enum Place {
        case record(BlockLog, BlockLog.Location)
        case file(FilePath)
    }

    private struct Staged {
        /// The log record; `nil` for a file.
        var location: BlockLog.Location?
        /// Checked against its checksum (or written by this process): parts of it may be read alone.
        var verified: Bool
    }

    let directory: FilePath
    private let logs: BlockLogs
    private let streams: DescriptorBudget
    private let lock = NSLock()
    private var staged: [CacheKey: Staged] = [:]
    /// Staged files not fsynced yet.
    private var unsynced: Set<CacheKey> = []
    private var fileBytes: Int64 = 0
    private var madeDirectories: Set<String> = []
    /// Staged files read in part, kept open for their next read.
    private let openFiles = OpenFiles<CacheKey>(capacity: 64)

    /// Blocks of up to this many bytes (small files) are log records instead of files.
    static let loggedBlockLimit = 128 << 10

    /// Indexes what a previous run left staged: every space's files (half-written
    /// temporary ones removed) and staged log records.
    init(directory: FilePath, logs: BlockLogs, streams: DescriptorBudget) throws(Errno) {
        self.directory = directory
        self.logs = logs
        self.streams = streams
        for entry in try FileSystem.directoryEntries(directory) where entry.isDirectory {
            guard let space = CacheSpace(directoryName: entry.name) else { continue }
            for record in try logs.recovered(space) where record.state == .staged {
                staged[CacheKey(space: space, block: record.block)] = Staged(location: record.location, verified: true)
            }
            for block in stagedFiles(space) {
                staged[CacheKey(space: space, block: block)] = Staged(location: nil, verified: false)
                fileBytes += Int64(block.size)
            }
        }
    }

    /// Writes a block to the staging area, from where it is uploaded.
    public func stage(_ key: CacheKey, _ data: Data) throws(Errno) {
        if data.count <= Self.loggedBlockLimit {
            let location = try logs.log(key.space).append(key.block, data, state: .staged)
            lock.withLock { staged[key] = Staged(location: location, verified: true) }
        } else {
            try ensureDirectory(stagingDirectory(key.space))
            let file = try BlockFileWriter(directory: stagingDirectory(key.space), stem: key.block.name)
            try file.append(data)
            try finish(key, file)
        }
    }

    /// Starts the staged file of a block too large for the log, to be written piece by
    /// piece and put in place by `finish`: a streaming writer's blocks then never wait in
    /// memory. `nil` when the streaming writers' descriptor budget is spent.
    func begin(in space: CacheSpace, stem: String) throws(Errno) -> BlockFileWriter? {
        let directory = stagingDirectory(space)
        try ensureDirectory(directory)
        guard streams.take() else { return nil }
        return try BlockFileWriter(directory: directory, stem: stem, budget: streams)
    }

    /// Puts a block written through `begin` in the staging area.
    func finish(_ key: CacheKey, _ file: BlockFileWriter) throws(Errno) {
        guard file.count == key.block.size else { throw .invalidArgument }
        try file.finish(at: stagingPath(key), durable: false)
        lock.withLock {
            if staged.updateValue(Staged(location: nil, verified: true), forKey: key) == nil { fileBytes += Int64(key.block.size) }
            unsynced.insert(key)
        }
    }

    /// Makes every block staged so far durable on local disk: the files, then their
    /// directories (so the renames that put them in place survive a power loss too), then
    /// the logs. Blocks uploaded meanwhile are durable in the object store already.
    public func sync() throws(Errno) {
        let pending = lock.withLock { () -> Set<CacheKey> in
            defer { unsynced.removeAll() }
            return unsynced
        }
        var spaces: Set<CacheSpace> = []
        do {
            for key in pending where try BlockFile.sync(stagingPath(key)) { spaces.insert(key.space) }
            for space in spaces { _ = try BlockFile.sync(FilePath(stagingDirectory(space))) }
            try logs.sync()
        } catch {
            lock.withLock { unsynced.formUnion(pending) }
            throw error
        }
    }

    public func contains(_ key: CacheKey) -> Bool { lock.withLock { staged[key] != nil } }

    /// A staged block's bytes, or bytes `range` of it, verified; `nil` when it is not here.
    public func data(_ key: CacheKey, range: Range<Int>? = nil) -> Data? {
        guard let entry = lock.withLock({ staged[key] }) else { return nil }
        if let location = entry.location, let log = logs.opened(key.space) { return log.read(location, key.block, range: range) }
        if let range, entry.verified {
            let open = { [self] in try? FileDescriptor.open(stagingPath(key), .readOnly) }
            return openFiles.withDescriptor(key, open: open) { BlockFile.read($0, at: Int64(range.lowerBound), count: range.count) }
        }
        guard let whole = BlockFile.read(stagingPath(key), expectedSize: key.block.size) else { return nil }
        lock.withLock { staged[key]?.verified = true }
        return range.map { whole.subdata(in: $0) } ?? whole
    }

    /// Hands an uploaded block over (to the block cache) and forgets it: its record, or its
    /// file, which the taker moves away.
    func release(_ key: CacheKey) -> Place? {
        let entry = lock.withLock { () -> Staged? in
            guard let entry = staged.removeValue(forKey: key) else { return nil }
            if entry.location == nil { fileBytes -= Int64(key.block.size) }
            unsynced.remove(key)
            return entry
        }
        guard let entry else { return nil }
        openFiles.forget(key)
        if let location = entry.location {
            guard let log = logs.opened(key.space) else { return nil }
            return .record(log, location)
        }
        return .file(stagingPath(key))
    }

    /// Removes a staged block that will never be uploaded.
    public func discard(_ key: CacheKey) {
        switch release(key) {
        case .record(let log, let location)?:
            log.mark(location, .discarded)
            log.release(location)
        case .file(let path)?:
            try? FileSystem.unlink(path)
        case nil:
            break
        }
    }

    /// Every staged block of a space, for crash recovery.
    public func blocks(in space: CacheSpace) -> [BlockKey] {
        lock.withLock { staged.keys.filter { $0.space == space }.map(\.block) }.sorted { ($0.sliceID, $0.index) < ($1.sliceID, $1.index) }
    }

    /// Bytes of staged files (staged records are counted with their logs).
    var bytes: Int64 { lock.withLock { fileBytes } }

    // MARK: - Internals

    /// The staged files in a space's directory; half-written temporary files are removed.
    private func stagedFiles(_ space: CacheSpace) -> [BlockKey] {
        let staging = FilePath(stagingDirectory(space))
        return ((try? FileSystem.directoryEntries(staging)) ?? []).compactMap { entry in
            if let block = BlockKey(name: entry.name) { return block }
            try? FileSystem.unlink(staging.appending(entry.name))
            return nil
        }
    }

    private func stagingDirectory(_ space: CacheSpace) -> String { "\(directory.string)/\(space.name)/staging" }

    private func stagingPath(_ key: CacheKey) -> FilePath { FilePath(stagingDirectory(key.space) + "/" + key.block.name) }

    private func ensureDirectory(_ path: String) throws(Errno) {
        if lock.withLock({ madeDirectories.contains(path) }) { return }
        try FileSystem.createDirectories(FilePath(path))
        lock.withLock { _ = madeDirectories.insert(path) }
    }
}
