@testable import ChunkStore
import Foundation
import SystemBridge
import SystemPackage
import TestSupport
import Testing

@Suite struct BlockFileTests {
    @Test func aFlippedByteOrAShortFileIsRejected() throws {
        let path = try Scratch.directory("block-file").appending("1_0_5")
        try BlockFile.write(Data("hello".utf8), to: path, durable: true)
        #expect(BlockFile.read(path, expectedSize: 5) == Data("hello".utf8))
        #expect(BlockFile.read(path, expectedSize: 6) == nil)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path.string))
        bytes[1] ^= 0x20
        try bytes.write(to: URL(fileURLWithPath: path.string))
        #expect(BlockFile.read(path, expectedSize: 5) == nil)
    }

    @Test func aBlockWrittenPastThePageCacheReadsBackWhole() throws {
        let directory = try Scratch.directory("block-file-direct")
        for size in [5, 4096, (1 << 20) + 3] {
            let bytes = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            let path = directory.appending("1_0_\(size)")
            try BlockFile.write(bytes, to: path, durable: false, bypassingPageCache: true)
            #expect(BlockFile.read(path, expectedSize: size) == bytes)
        }
    }

    @Test func onlyWholePagesOfAlignedBytesAtAnAlignedOffsetSkipThePageCache() throws {
        let page = 4096
        let storage = Data((0..<(4 * page)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) })
        let skip = storage.withUnsafeBytes { (page - Int(bitPattern: $0.baseAddress!) % page) % page }
        let aligned = storage[skip..<(skip + 2 * page + 100)]
        let misaligned = aligned.dropFirst()
        let path = try Scratch.directory("direct-write").appending("file")
        let descriptor = try FileDescriptor.open(path, .readWrite, options: [.create, .truncate], permissions: .ownerReadWrite)
        defer { try? descriptor.close() }

        #expect(try descriptor.writeAll(aligned, toAbsoluteOffset: 0, bypassingPageCache: true) == 2 * page, "the tail of 100 bytes goes through the page cache")
        #expect(try descriptor.writeAll(misaligned, toAbsoluteOffset: Int64(aligned.count), bypassingPageCache: true) == 0)
        let unalignedOffset = Int64(aligned.count + misaligned.count)
        #expect(try descriptor.writeAll(aligned, toAbsoluteOffset: unalignedOffset, bypassingPageCache: true) == 0)
        #expect(try descriptor.writeAll(aligned, toAbsoluteOffset: 8 * Int64(page), bypassingPageCache: false) == 0)

        let written = try Data(contentsOf: URL(fileURLWithPath: path.string))
        let gap = Data(count: 8 * page - Int(unalignedOffset) - aligned.count)
        #expect(written == aligned + misaligned + aligned + gap + aligned)
    }
}
