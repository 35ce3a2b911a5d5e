import ChunkStore
import Foundation
import ObjectStorage
import StorageFormat
import SystemPackage
import TestSupport

enum Backend: String, CaseIterable, CustomStringConvertible {
    case file, s3
    var description: String { rawValue }
}

/// A catalog in memory, a bucket on `backend`, a block cache and a chunk store.
final class ChunkFixture: @unchecked Sendable {
    let directory: FilePath
    let catalog = MemoryCatalog()
    let objects: any ObjectStore
    var cache: CacheDirectory
    var chunks: ChunkStore
    var configuration: ChunkStoreConfiguration

    init(_ backend: Backend, configuration: ChunkStoreConfiguration = ChunkStoreConfiguration(chunkPrefix: "vol"), cacheBudget: Int64 = 4 << 30, cacheDirectory: FilePath? = nil) throws {
        directory = try Scratch.directory("chunks")
        switch backend {
        case .file: objects = try FileObjectStore(root: directory.appending("bucket"))
        case .s3: objects = try TestStores.s3(prefix: "chunks-\(UUID().uuidString.lowercased())")
        }
        self.configuration = configuration
        cache = try CacheDirectory(directory: cacheDirectory ?? directory.appending("cache"), budget: cacheBudget)
        chunks = ChunkStore(configuration: configuration, catalog: catalog, store: objects, cache: cache)
    }

    deinit { chunks.close() }

    /// Starts over with an empty cache (and a new chunk store), as another machine would.
    func coldCache(budget: Int64 = 4 << 30) throws {
        chunks.close()
        cache = try CacheDirectory(directory: try Scratch.directory("cold-cache"), budget: budget)
        chunks = ChunkStore(configuration: configuration, catalog: catalog, store: objects, cache: cache)
    }

    func createFile() throws -> Ino { catalog.newFile() }

    /// A new file holding `data` from offset 0, committed, and durable when `drain`.
    func writtenFile(_ data: Data, drain: Bool = true) throws -> Ino {
        let inode = try createFile()
        let writer = chunks.writer(inode: inode)
        try writer.write(at: 0, data)
        try writer.flush()
        if drain { try chunks.drain() }
        return inode
    }

    func length(_ inode: Ino) throws -> UInt64 { catalog.length(inode) }

    func read(_ inode: Ino, _ offset: UInt64, _ count: Int, reader: FileReader? = nil) throws -> Data {
        try (reader ?? chunks.reader(inode: inode)).read(at: offset, count: count, fileLength: try length(inode))
    }

    /// Every block key in the bucket with its size.
    func bucketBlocks() throws -> [String: Int64] {
        var blocks: [String: Int64] = [:]
        for object in try objects.listAll(prefix: "\(configuration.chunkPrefix)/chunks/") { blocks[object.key] = object.size }
        return blocks
    }

    /// The blocks the committed records of `inode` prescribe, with their sizes.
    func expectedBlocks(_ inode: Ino) throws -> [String: Int64] {
        var blocks: [String: Int64] = [:]
        let chunkCount = (try length(inode) + ChunkGeometry.chunkSize - 1) / ChunkGeometry.chunkSize
        for chunk in 0..<UInt32(chunkCount) {
            for record in try catalog.records(inode: inode, chunk: chunk) where record.id != 0 {
                for block in BlockKey.blocks(sliceID: record.id, sliceSize: Int(record.size), blockSize: configuration.blockSize) {
                    blocks[configuration.layout.objectKey(block)] = Int64(block.size)
                }
            }
        }
        return blocks
    }
}

/// Deterministic bytes for an offset: a long file can be checked without keeping it.
/// Each 8-byte word is a function of its file position, so misplaced bytes show.
func pattern(at offset: UInt64, count: Int, seed: UInt64 = 0) -> Data {
    let first = offset / 8
    let words = (offset + UInt64(count) + 7) / 8 - first
    var buffer = [UInt64](repeating: 0, count: Int(words))
    for index in 0..<Int(words) { buffer[index] = (first + UInt64(index) &+ seed) &* 0x9E37_79B9_7F4A_7C15 }
    let skip = Int(offset % 8)
    return buffer.withUnsafeBytes { Data($0[skip..<skip + count]) }
}

/// SplitMix64: a seeded generator, so a failing random run can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
