import ChunkStore
import Foundation
import ObjectStorage
import StorageFormat
import SystemPackage
import TestSupport
import Testing

@Suite struct ChunkStoreTests {
    /// An fsx-style mix of writes, overwrites, truncates and reads against a reference file,
    /// with small blocks so that block and chunk boundaries are crossed often: blocks small
    /// enough to gather in memory, and 1 MiB ones that move to their staged files mid-block.
    @Test(arguments: [(Backend.file, 64 << 10), (.s3, 64 << 10), (.file, 1 << 20)])
    func randomOperationsMatchAReferenceFile(backend: Backend, blockSize: Int) throws {
        let fixture = try ChunkFixture(backend, configuration: ChunkStoreConfiguration(chunkPrefix: "vol", blockSize: blockSize))
        let inode = try fixture.createFile()
        let writer = fixture.chunks.writer(inode: inode)
        let reader = fixture.chunks.reader(inode: inode)
        var reference = Data()
        var random = SeededGenerator(state: 0x5EED_0001)
        let chunk = Int(ChunkGeometry.chunkSize)
        func offsetNearABoundary() -> Int {
            switch Int.random(in: 0..<4, using: &random) {
            case 0: chunk + Int.random(in: -300_000..<300_000, using: &random)
            case 1: 2 * chunk + Int.random(in: -200_000..<100_000, using: &random)
            case 2: Int.random(in: 0..<40, using: &random) * (64 << 10) + Int.random(in: -3..<3, using: &random)
            default: Int.random(in: 0..<(2 * chunk + 100_000), using: &random)
            }
        }
        for step in 0..<1500 {
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<60:
                let offset = max(0, offsetNearABoundary())
                let count = Int.random(in: 1..<(200 << 10), using: &random)
                let data = pattern(at: UInt64(offset), count: count, seed: UInt64(step))
                try writer.write(at: UInt64(offset), data)
                if reference.count < offset + count { reference.append(Data(count: offset + count - reference.count)) }
                reference.replaceSubrange(offset..<offset + count, with: data)
            case 60..<68:
                let size = max(0, offsetNearABoundary() + Int.random(in: -50_000..<50_000, using: &random))
                try writer.flush()
                fixture.catalog.truncate(inode, to: UInt64(size))
                if reference.count < size { reference.append(Data(count: size - reference.count)) } else { reference.removeSubrange(size...) }
            case 68..<95:
                try writer.flush()
                let offset = max(0, offsetNearABoundary())
                let count = Int.random(in: 1..<(300 << 10), using: &random)
                let expected = offset >= reference.count ? Data() : reference.subdata(in: offset..<min(reference.count, offset + count))
                let actual = try fixture.read(inode, UInt64(offset), count, reader: reader)
                guard actual == expected else {
                    Issue.record("step \(step): read of \(count) at \(offset) differs from the reference (file \(reference.count) bytes)")
                    return
                }
            default:
                try writer.flush()
            }
        }
        try writer.flush()
        #expect(try fixture.length(inode) == UInt64(reference.count))
        for start in stride(from: 0, to: reference.count, by: 8 << 20) {
            let expected = reference.subdata(in: start..<min(reference.count, start + (8 << 20)))
            #expect(try fixture.read(inode, UInt64(start), 8 << 20, reader: reader) == expected, "whole-file pass at \(start)")
        }
        try fixture.chunks.drain()
        try fixture.coldCache()
        let cold = fixture.chunks.reader(inode: inode)
        for start in stride(from: 0, to: reference.count, by: 8 << 20) {
            let expected = reference.subdata(in: start..<min(reference.count, start + (8 << 20)))
            #expect(try fixture.read(inode, UInt64(start), 8 << 20, reader: cold) == expected, "from the bucket at \(start)")
        }
    }

    @Test(arguments: Backend.allCases)
    func aLargeSequentialFileRoundTripsWithExactlyThePrescribedBlocks(backend: Backend) throws {
        let fixture = try ChunkFixture(backend)
        let inode = try fixture.createFile()
        let writer = fixture.chunks.writer(inode: inode)
        let size = 200 << 20
        for offset in stride(from: 0, to: size, by: 1 << 20) {
            try writer.write(at: UInt64(offset), pattern(at: UInt64(offset), count: 1 << 20))
        }
        try writer.flush()
        var reported: [(Int, Int64)] = []
        try fixture.chunks.drain { reported.append(($0, $1)) }
        #expect(reported.last.map { $0 == 0 && $1 == 0 } == true, "drain ends reporting nothing pending")
        #expect(try fixture.length(inode) == UInt64(size))
        #expect(try fixture.catalog.records(inode: inode, chunk: 0).count == 1, "one 64 MiB slice per full chunk")
        #expect(try fixture.bucketBlocks() == (try fixture.expectedBlocks(inode)))

        try fixture.coldCache()
        let reader = fixture.chunks.reader(inode: inode)
        for offset in stride(from: 0, to: size, by: 128 << 10) {
            guard try fixture.read(inode, UInt64(offset), 128 << 10, reader: reader) == pattern(at: UInt64(offset), count: 128 << 10) else {
                Issue.record("sequential read differs at \(offset)")
                return
            }
        }
        #expect(fixture.chunks.statistics.objectGets == 50, "each 4 MiB block fetched once: read-ahead and reads share fetches")
    }

    @Test func sparseFilesReadZerosAndStoreOnlyWrittenBlocks() throws {
        let fixture = try ChunkFixture(.file)
        let inode = try fixture.createFile()
        let writer = fixture.chunks.writer(inode: inode)
        try writer.write(at: 0, Data("head".utf8))
        try writer.write(at: 130 << 20, Data("tail".utf8))
        try writer.flush()
        try fixture.chunks.drain()
        #expect(try fixture.length(inode) == (130 << 20) + 4)
        #expect(try fixture.read(inode, (64 << 20) - 2, 8) == Data(count: 8))
        #expect(try fixture.read(inode, (130 << 20) - 2, 6) == Data([0, 0] + Array("tail".utf8)))
        #expect(try fixture.bucketBlocks().values.sorted() == [4, 4])
    }

    @Test func readAheadFetchesBlocksBeforeTheyAreRead() throws {
        let fixture = try ChunkFixture(.file, configuration: ChunkStoreConfiguration(chunkPrefix: "vol", blockSize: 64 << 10))
        let inode = try fixture.writtenFile(pattern(at: 0, count: 32 * (64 << 10)))
        try fixture.coldCache()
        let reader = fixture.chunks.reader(inode: inode)
        for offset in stride(from: 0, to: 4 * (64 << 10), by: 16 << 10) {
            _ = try fixture.read(inode, UInt64(offset), 16 << 10, reader: reader)
        }
        let deadline = Date().addingTimeInterval(5)
        while fixture.chunks.statistics.objectGets < 8, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(fixture.chunks.statistics.objectGets >= 8, "a streak over four blocks fetched blocks beyond them")
        var before = fixture.chunks.statistics.objectGets
        let settleDeadline = Date().addingTimeInterval(10)
        repeat {
            Thread.sleep(forTimeInterval: 0.2)
            let now = fixture.chunks.statistics.objectGets
            if now == before { break }
            before = now
        } while Date() < settleDeadline
        // A fresh reader has no streak, so it starts no read-ahead of its own.
        _ = try fixture.read(inode, UInt64(4 * (64 << 10)), 64 << 10)
        #expect(fixture.chunks.statistics.objectGets == before, "the next block was already cached")
    }

    @Test func concurrentReadersOfOneBlockCauseOneGET() throws {
        let fixture = try ChunkFixture(.file)
        let data = pattern(at: 0, count: 4 << 20)
        let inode = try fixture.writtenFile(data)
        try fixture.coldCache()
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            do {
                if try fixture.read(inode, 0, 4 << 20) != data { failures.add("wrong bytes") }
            } catch {
                failures.add("\(error)")
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        #expect(fixture.chunks.statistics.objectGets == 1)
    }

    /// A block missing from the bucket fails the read, and counts as a download error.
    @Test func aBlockMissingFromTheBucketFailsTheReadAndCounts() throws {
        let fixture = try ChunkFixture(.file)
        let inode = try fixture.writtenFile(pattern(at: 0, count: 1 << 20))
        for object in try fixture.objects.list(prefix: "vol/chunks/", startAfter: nil, continuation: nil, limit: 1000).objects {
            try fixture.objects.delete(object.key)
        }
        try fixture.coldCache()
        #expect(throws: (any Error).self) { try fixture.read(inode, 0, 1 << 20) }
        #expect(fixture.chunks.statistics.downloadErrors == 1 && fixture.chunks.statistics.cacheMisses >= 1)
    }

    @Test func aTornCacheFileIsDroppedAndRefetched() throws {
        let fixture = try ChunkFixture(.file)
        let data = pattern(at: 0, count: 1 << 20)
        let inode = try fixture.writtenFile(data)
        let cacheDirectory = fixture.cache.directory
        let cached = try #require(FileManager.default.enumerator(atPath: cacheDirectory.string)?.compactMap { $0 as? String }.first { $0.contains("/raw/") && $0.hasSuffix("_1048576") })
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: cacheDirectory.appending(cached).string))
        try handle.truncate(atOffset: 1000)
        try handle.close()
        // A fresh cache over the same directory: no memory tier hides the torn file.
        fixture.chunks.close()
        fixture.cache = try CacheDirectory(directory: cacheDirectory)
        fixture.chunks = ChunkStore(configuration: fixture.configuration, catalog: fixture.catalog, store: fixture.objects, cache: fixture.cache)
        #expect(try fixture.read(inode, 0, 1 << 20) == data)
        #expect(fixture.chunks.statistics.objectGets == 1, "refetched from the bucket")
        fixture.cache.blocks.finishWrites()
        let repaired = try FileManager.default.attributesOfItem(atPath: cacheDirectory.appending(cached).string)[.size] as? Int
        #expect(repaired == (1 << 20) + 4, "the cache holds the whole block again")
    }

    @Test func uploadDelaySkipsBlocksOfForgottenSlices() throws {
        let fixture = try ChunkFixture(.file, configuration: ChunkStoreConfiguration(chunkPrefix: "vol", uploadDelay: .seconds(2)))
        let inode = try fixture.createFile()
        let writer = fixture.chunks.writer(inode: inode)
        try writer.write(at: 0, pattern(at: 0, count: 9 << 20))
        try writer.flush()
        let slices = Set(try fixture.catalog.records(inode: inode, chunk: 0).map(\.id))
        fixture.catalog.remove(inode)
        fixture.chunks.forget(sliceIDs: slices)
        Thread.sleep(forTimeInterval: 3)
        try fixture.chunks.drain()
        #expect(try fixture.bucketBlocks().isEmpty)
        #expect(fixture.chunks.statistics.stagedBlocks == 0)
        #expect(fixture.cache.blocks.usedBytes == 0, "staged files removed")
    }

    @Test func drainUploadsEveryStagedBlockDespiteTheDelay() throws {
        let fixture = try ChunkFixture(.file, configuration: ChunkStoreConfiguration(chunkPrefix: "vol", uploadDelay: .seconds(3600)))
        let inode = try fixture.createFile()
        let writer = fixture.chunks.writer(inode: inode)
        try writer.write(at: 0, pattern(at: 0, count: 10 << 20))
        try writer.flush()
        Thread.sleep(forTimeInterval: 0.3)
        #expect(try fixture.bucketBlocks().isEmpty, "nothing uploads before the delay")
        #expect(fixture.chunks.statistics.stagedBlocks == 3)
        var progress: [Int] = []
        try fixture.chunks.drain { blocks, _ in progress.append(blocks) }
        #expect(progress.first == 3 && progress.last == 0)
        #expect(try fixture.bucketBlocks() == (try fixture.expectedBlocks(inode)))
        let statistics = fixture.chunks.statistics
        #expect(statistics.stagedBlocks == 0 && statistics.uploadedBlocks == 3 && statistics.uploadedBytes == 10 << 20)
        #expect(statistics.cacheBytes == 10 << 20, "uploaded blocks stay cached")
    }

    /// A run that stops with blocks staged (its chunk store abandoned, as if the process
    /// had been killed) leaves them on disk; the next run uploads them, and a half-written
    /// staging file is never uploaded.
    @Test func stagedBlocksSurviveACrashAndAreUploadedOnRecovery() throws {
        let fixture = try ChunkFixture(.file, configuration: ChunkStoreConfiguration(chunkPrefix: "vol", uploadDelay: .seconds(3600)))
        let inode = try fixture.createFile()
        let writer = fixture.chunks.writer(inode: inode)
        let data = pattern(at: 0, count: 6 << 20)
        try writer.write(at: 0, data)
        try writer.flush()
        fixture.chunks.close()
        let staging = try #require(FileManager.default.enumerator(atPath: fixture.cache.directory.string)?.compactMap { $0 as? String }.first { $0.hasSuffix("/staging") })
        let stagingPath = fixture.cache.directory.appending(staging)
        try Data("half".utf8).write(to: URL(fileURLWithPath: stagingPath.appending("99_0_4194304.tmp-1").string))

        let restarted = try CacheDirectory(directory: fixture.cache.directory)
        let recovered = ChunkStore(configuration: fixture.configuration, catalog: fixture.catalog, store: fixture.objects, cache: restarted)
        defer { recovered.close() }
        #expect(recovered.recoverStagedBlocks() == 2)
        try recovered.drain(deadline: .seconds(60))
        #expect(try fixture.bucketBlocks() == (try fixture.expectedBlocks(inode)))
        #expect(try FileManager.default.contentsOfDirectory(atPath: stagingPath.string).isEmpty, "staging emptied, the torn file removed")
        try fixture.coldCache()
        #expect(try fixture.read(inode, 0, 6 << 20) == data)
    }

    /// Uploads wait while a writer keeps staging (they would take its CPU), and start on
    /// their own once it pauses, without a drain.
    @Test func stagedUploadsWaitForTheWriterToPause() throws {
        let fixture = try ChunkFixture(.file, configuration: ChunkStoreConfiguration(chunkPrefix: "vol"))
        for index in 0..<40 {
            let writer = fixture.chunks.writer(inode: try fixture.createFile())
            try writer.write(at: 0, pattern(at: UInt64(index), count: 4096))
            try writer.flush()
            Thread.sleep(forTimeInterval: 0.01)
        }
        let uploadedWhileWriting = try fixture.bucketBlocks().count
        #expect(uploadedWhileWriting < 40, "uploads held back while the writer kept staging (\(uploadedWhileWriting) of 40 went)")
        let deadline = Date().addingTimeInterval(30)
        while try fixture.bucketBlocks().count < 40, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(try fixture.bucketBlocks().count == 40)
    }

    /// Small files' blocks are records of the cache's log: after a crash they are recovered
    /// and uploaded from there just the same, and read back after the cache is dropped.
    @Test func stagedSmallBlocksSurviveACrashInTheLog() throws {
        let fixture = try ChunkFixture(.file, configuration: ChunkStoreConfiguration(chunkPrefix: "vol", uploadDelay: .seconds(3600)))
        var files: [(Ino, Data)] = []
        for index in 0..<20 {
            let inode = try fixture.createFile()
            let writer = fixture.chunks.writer(inode: inode)
            let data = pattern(at: UInt64(index), count: 100 + index * 1000)
            try writer.write(at: 0, data)
            try writer.flush()
            files.append((inode, data))
        }
        fixture.chunks.close()

        let restarted = try CacheDirectory(directory: fixture.cache.directory)
        let recovered = ChunkStore(configuration: fixture.configuration, catalog: fixture.catalog, store: fixture.objects, cache: restarted)
        defer { recovered.close() }
        #expect(recovered.recoverStagedBlocks() == 20)
        try recovered.drain(deadline: .seconds(60))
        #expect(try fixture.bucketBlocks().count == 20)
        try fixture.coldCache()
        for (inode, data) in files { #expect(try fixture.read(inode, 0, data.count) == data) }
    }

    /// A block streamed into its staged file that finds the disk full fails the write with
    /// ENOSPC and loses its slice, as a local file system loses pages it cannot write back:
    /// nothing of it is committed, and no staged or half-written file is left behind.
    @Test func aFullStagingDiskFailsTheWriteAndLeavesNothingStaged() throws {
        let small = try Scratch.directory("full-cache")
        try Command.check(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", small.string])
        defer { _ = try? Command.run(["umount", "-l", small.string]) }
        let fixture = try ChunkFixture(.file, cacheDirectory: small)
        let inode = try fixture.createFile()
        let writer = fixture.chunks.writer(inode: inode)
        var failure: ChunkStoreError?
        for offset in stride(from: 0, to: 16 << 20, by: 1 << 20) where failure == nil {
            do throws(ChunkStoreError) {
                try writer.write(at: UInt64(offset), pattern(at: UInt64(offset), count: 1 << 20))
            } catch {
                failure = error
            }
        }
        #expect(failure?.errno == .noSpace, "\(String(describing: failure))")
        try writer.flush()
        #expect(try fixture.length(inode) == 0, "the lost slice was not committed")
        #expect(try fixture.catalog.records(inode: inode, chunk: 0).isEmpty)
        let left = FileManager.default.enumerator(atPath: small.string)?.compactMap { $0 as? String }.filter { $0.contains("/staging/") }
        #expect(left == [], "staged blocks and the half-written one removed")
        #expect(fixture.chunks.statistics.stagedBlocks == 0 && fixture.cache.blocks.usedBytes == 0)
        try writer.write(at: 0, Data("after".utf8))
        try writer.flush()
        #expect(try fixture.read(inode, 0, 5) == Data("after".utf8), "the file takes writes again once there is room")
    }

    @Test func withoutWritebackAFlushedSliceIsAlreadyInTheBucket() throws {
        let fixture = try ChunkFixture(.file, configuration: ChunkStoreConfiguration(chunkPrefix: "vol", writeback: false))
        let inode = try fixture.createFile()
        let writer = fixture.chunks.writer(inode: inode)
        try writer.write(at: 0, pattern(at: 0, count: 5 << 20))
        try writer.flush()
        #expect(try fixture.bucketBlocks() == (try fixture.expectedBlocks(inode)))
        #expect(fixture.cache.blocks.usedBytes == 5 << 20, "uploaded blocks are cached, nothing stays staged")
    }

    @Test func idleSlicesAreSealedWithoutAFlush() throws {
        let fixture = try ChunkFixture(.file, configuration: ChunkStoreConfiguration(chunkPrefix: "vol", idleSeal: .milliseconds(200)))
        let inode = try fixture.createFile()
        let writer = fixture.chunks.writer(inode: inode)
        try writer.write(at: 0, Data("idle".utf8))
        let deadline = Date().addingTimeInterval(5)
        while try fixture.length(inode) == 0, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(try fixture.length(inode) == 4)
        #expect(!writer.hasPendingData)
    }

    @Test(arguments: Backend.allCases)
    func compactionRewritesACrowdedChunkWithoutChangingItsBytes(backend: Backend) throws {
        let fixture = try ChunkFixture(backend, configuration: ChunkStoreConfiguration(chunkPrefix: "vol", blockSize: 64 << 10))
        let inode = try fixture.createFile()
        let writer = fixture.chunks.writer(inode: inode)
        var reference = Data(count: 300 << 10)
        var random = SeededGenerator(state: 42)
        for step in 0..<60 {
            let offset = Int.random(in: 0..<(290 << 10), using: &random)
            let data = pattern(at: UInt64(offset), count: 10 << 10, seed: UInt64(step))
            try writer.write(at: UInt64(offset), data)
            try writer.flush()
            reference.replaceSubrange(offset..<offset + data.count, with: data)
        }
        try writer.write(at: 0, Data(count: 0))
        fixture.catalog.truncate(inode, to: 300 << 10)
        #expect(try fixture.catalog.records(inode: inode, chunk: 0).count > 50)
        #expect(try fixture.chunks.compact(inode: inode, chunk: 0))
        #expect(try fixture.catalog.records(inode: inode, chunk: 0).count == 1)
        #expect(try fixture.read(inode, 0, 300 << 10) == reference)
        try fixture.chunks.drain()
        try fixture.coldCache()
        #expect(try fixture.read(inode, 0, 300 << 10) == reference)
    }
}
