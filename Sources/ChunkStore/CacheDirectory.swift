import Foundation
import SystemBridge
import SystemPackage

/// The daemon's cache directory: the staging area of blocks written and not yet uploaded,
/// and the read cache of blocks fetched or uploaded, under one byte budget and one block log
/// per space (`<directory>/<space>/{staging,raw,log}`). Every mount of the daemon shares it.
public final class CacheDirectory: Sendable {
    public let directory: FilePath
    public let staging: StagingArea
    public let blocks: BlockCache

    /// Opens (creating) the directory; `budget` nil sizes it from free space: half of what
    /// the file system has free, at least 1 GiB.
    public convenience init(directory: FilePath, budget: Int64? = nil, memoryBudget: Int64 = 64 << 20) throws(Errno) {
        try self.init(directory: directory, budget: budget, memoryBudget: memoryBudget, streams: .streaming)
    }

    /// `streams` bounds the staged files streaming writers hold open (the daemon-wide budget
    /// unless a test gives its own); `unwrittenLimit` the bytes of fetched blocks waiting for
    /// the disk (see `BlockCache.insert`).
    init(directory: FilePath, budget: Int64?, memoryBudget: Int64, streams: DescriptorBudget, unwrittenLimit: Int64 = 32 << 20) throws(Errno) {
        self.directory = directory
        try FileSystem.createDirectories(directory)
        let budget = budget ?? max(1 << 30, ((try? FileSystem.freeSpace(directory)) ?? 0) / 2)
        let logs = BlockLogs(directory: directory, segmentLimit: min(64 << 20, max(1 << 20, budget / 16)))
        staging = try StagingArea(directory: directory, logs: logs, streams: streams)
        blocks = try BlockCache(
            directory: directory, budget: budget, memoryBudget: memoryBudget, logs: logs, staging: staging, unwrittenLimit: unwrittenLimit)
    }

    public var budget: Int64 { blocks.budget }
}
