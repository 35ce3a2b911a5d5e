@testable import ChunkStore
import Foundation
import TestSupport
import Testing

@Suite struct BlockFileTests {
    @Test func checksumsMatchTheStandardCRC32() {
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32.checksum($0) } == 0xCBF4_3926)
        #expect([UInt8]().withUnsafeBytes { CRC32.checksum($0) } == 0)
        let long = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var bitwise: UInt32 = 0xFFFF_FFFF
        for byte in long {
            bitwise ^= UInt32(byte)
            for _ in 0..<8 { bitwise = bitwise & 1 == 1 ? 0xEDB8_8320 ^ (bitwise >> 1) : bitwise >> 1 }
        }
        #expect(long.withUnsafeBytes { CRC32.checksum($0) } == bitwise ^ 0xFFFF_FFFF, "slicing-by-8 agrees with the bitwise definition")
    }

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
