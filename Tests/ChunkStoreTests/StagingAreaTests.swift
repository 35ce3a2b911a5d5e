import Foundation
import StorageFormat
import SystemBridge
import TestSupport
import Testing
@testable import ChunkStore

/// The staging area: blocks stay until uploaded, whatever the budget; they survive a restart
/// (small ones as log records, not files); once uploaded the block cache takes them over.
@Suite struct StagingAreaTests {
    private static let space = CacheSpace(location: "bucket")

    private func key(_ id: Int, size: Int = 256 << 10) -> CacheKey {
        CacheKey(space: Self.space, block: BlockKey(sliceID: SliceID(UInt64(id)), index: 0, size: size))
    }

    @Test func stagedBlocksAreNeverEvicted() throws {
        let directory = try CacheDirectory(directory: try Scratch.directory("cache"), budget: 512 << 10, memoryBudget: 0)
        for id in 1...4 { try directory.staging.stage(key(id), Data(repeating: UInt8(id), count: 256 << 10)) }
        directory.blocks.insert(key(9), Data(repeating: 9, count: 256 << 10))
        directory.blocks.finishWrites()
        for id in 1...4 { #expect(directory.staging.data(key(id)) == Data(repeating: UInt8(id), count: 256 << 10)) }
        #expect(directory.blocks.lookup(key(9)) == nil, "the cached block made way; the staged ones could not")
    }

    @Test func syncMakesStagedBlocksDurableAndSkipsUploadedOnes() throws {
        let directory = try CacheDirectory(directory: try Scratch.directory("cache"), budget: 1 << 30)
        for id in 1...3 { try directory.staging.stage(key(id), Data(repeating: UInt8(id), count: 256 << 10)) }
        directory.blocks.adopt(key(2), from: directory.staging)
        try directory.staging.sync()
        try directory.staging.sync()
        #expect(directory.staging.data(key(1)) == Data(repeating: 1, count: 256 << 10))
        #expect(directory.staging.data(key(2)) == nil && directory.blocks.lookup(key(2)) == Data(repeating: 2, count: 256 << 10))
        #expect(directory.staging.data(key(3), range: 100..<200) == Data(repeating: 3, count: 100))
    }

    @Test func smallBlocksLiveInTheLogAcrossARestart() throws {
        let path = try Scratch.directory("cache")
        let small = { (id: Int) in key(id, size: 4096) }
        let first = try CacheDirectory(directory: path, budget: 1 << 30, memoryBudget: 0)
        first.blocks.insert(small(1), Data(repeating: 1, count: 4096))
        for id in 2...4 { try first.staging.stage(small(id), Data(repeating: UInt8(id), count: 4096)) }
        first.blocks.adopt(small(3), from: first.staging)
        first.staging.discard(small(4))
        try first.staging.sync()
        #expect(first.staging.blocks(in: Self.space) == [small(2).block])
        #expect(!FileSystem.isDirectory(path.appending(Self.space.name).appending("staging")), "no file per small block")
        let second = try CacheDirectory(directory: path, budget: 1 << 30, memoryBudget: 0)
        #expect(second.staging.blocks(in: Self.space) == [small(2).block])
        #expect(second.staging.data(small(2)) == Data(repeating: 2, count: 4096))
        #expect(second.blocks.lookup(small(1)) == Data(repeating: 1, count: 4096))
        #expect(second.blocks.lookup(small(3), range: 10..<20) == Data(repeating: 3, count: 10))
        #expect(second.blocks.lookup(small(4)) == nil && second.staging.data(small(4)) == nil, "a discarded block stays gone")
    }

    @Test func aStagedFileSurvivesARestartAndIsVerifiedBeforeItIsRead() throws {
        let path = try Scratch.directory("cache")
        let bytes = Data((0..<(256 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let first = try CacheDirectory(directory: path, budget: 1 << 30, memoryBudget: 0)
        try first.staging.stage(key(5), bytes)
        #expect(first.blocks.usedBytes == 256 << 10, "staged bytes count against the budget")
        let second = try CacheDirectory(directory: path, budget: 1 << 30, memoryBudget: 0)
        #expect(second.staging.blocks(in: Self.space) == [key(5).block] && second.blocks.usedBytes == 256 << 10)
        #expect(second.staging.data(key(5), range: 1000..<2000) == bytes.subdata(in: 1000..<2000))
        second.blocks.adopt(key(5), from: second.staging)
        #expect(second.staging.blocks(in: Self.space).isEmpty && second.blocks.lookup(key(5)) == bytes)
        #expect(second.blocks.usedBytes == 256 << 10, "adopted, not copied")
    }
}
