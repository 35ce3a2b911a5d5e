@testable import ChunkStore
import Foundation
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
}
