import Foundation
import SystemBridge
import SystemPackage

/// The block log of each space of a cache directory, opened (and replayed) on first use and
/// shared by the staging area, which appends staged records, and the block cache, which
/// appends cached ones and takes over the staged ones once uploaded.
final class BlockLogs: @unchecked Sendable {
    private let directory: FilePath
    private let segmentLimit: Int64
    private let lock = NSLock()
    private var logs: [CacheSpace: BlockLog] = [:]

    init(directory: FilePath, segmentLimit: Int64) {
        self.directory = directory
        self.segmentLimit = segmentLimit
    }

    /// The space's log, opened on first use.
    func log(_ space: CacheSpace) throws(Errno) -> BlockLog {
        lock.lock()
        defer { lock.unlock() }
        if let log = logs[space] { return log }
        let log = try BlockLog(directory: directory.appending(space.name).appending("log"), segmentLimit: segmentLimit)
        logs[space] = log
        return log
    }

    /// The space's log if it is open.
    func opened(_ space: CacheSpace) -> BlockLog? { lock.withLock { logs[space] } }

    /// What the space's log held when it was opened; opens it if a previous run left one.
    func recovered(_ space: CacheSpace) throws(Errno) -> [BlockLog.Record] {
        guard FileSystem.isDirectory(directory.appending(space.name).appending("log")) else { return [] }
        return try log(space).recovered
    }

    /// Bytes every open log takes on disk.
    var bytes: Int64 { lock.withLock { logs.values.reduce(0) { $0 + $1.bytes } } }

    /// Makes every record appended so far durable.
    func sync() throws(Errno) {
        for log in lock.withLock({ Array(logs.values) }) { try log.sync() }
    }
}
