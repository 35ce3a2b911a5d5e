import Foundation
import StorageFormat
import Testing
@testable import ChunkStore

@Suite struct DescriptorBudgetTests {
    /// Writers streaming large blocks hold at most the budget's staged files open; the
    /// blocks of the others gather in memory, and every file reads back whole, from the
    /// cache and from the bucket.
    @Test func writersPastTheBudgetGatherInMemoryAndLoseNothing() throws {
        let fixture = try ChunkFixture(.file, configuration: ChunkStoreConfiguration(chunkPrefix: "vol", idleSeal: .seconds(3600)))
        fixture.chunks.close()
        fixture.cache = try CacheDirectory(directory: fixture.directory.appending("budget-cache"), budget: 4 << 30, memoryBudget: 64 << 20, streams: DescriptorBudget(limit: 3))
        fixture.chunks = ChunkStore(configuration: fixture.configuration, catalog: fixture.catalog, store: fixture.objects, cache: fixture.cache)
        let half = 300 << 10
        var files: [(inode: Ino, writer: FileWriter, data: Data)] = []
        for index in 0..<8 {
            let inode = try fixture.createFile()
            let writer = fixture.chunks.writer(inode: inode)
            let data = pattern(at: 0, count: 2 * half, seed: UInt64(index))
            try writer.write(at: 0, data.subdata(in: 0..<half))
            files.append((inode, writer, data))
        }
        let open = try FileManager.default.subpathsOfDirectory(atPath: fixture.cache.directory.string).filter { $0.contains(".tmp-") }
        #expect(open.count == 3, "three blocks stream into staged files, five wait in memory: \(open)")
        for file in files {
            try file.writer.write(at: UInt64(half), file.data.subdata(in: half..<2 * half))
            try file.writer.flush()
        }
        for file in files { #expect(try fixture.read(file.inode, 0, 2 * half) == file.data) }
        try fixture.chunks.drain()
        try fixture.coldCache()
        for file in files { #expect(try fixture.read(file.inode, 0, 2 * half) == file.data, "from the bucket") }
    }
}
