import ChunkStore
import StorageFormat
import Testing

@Suite struct SliceResolutionTests {
    @Test func laterRecordsWinAndHolesReadAsZeros() {
        let records = [
            SliceRecord(pos: 0, id: 3, size: 6_291_456, off: 0, len: 6_291_456),
            SliceRecord(pos: 3_000_000, id: 4, size: 16, off: 0, len: 16),
            .hole(pos: 5_000_000, len: 2_000_000),
        ]
        let segments = SliceResolution.resolve(records, from: 0, to: 8_000_000)
        #expect(segments.map(\.position) == [0, 3_000_000, 3_000_016, 5_000_000, 7_000_000])
        #expect(segments[0].slice?.id == 3 && segments[1].slice?.id == 4 && segments[2].slice?.offset == 3_000_016)
        #expect(segments[3].slice == nil && segments[4].slice == nil, "the hole and the uncovered tail are zeros")
    }

    @Test func aWindowCutsRecordsAndShiftsTheirSliceOffsets() {
        let records = [SliceRecord(pos: 100, id: 9, size: 1000, off: 200, len: 500)]
        let segments = SliceResolution.resolve(records, from: 300, to: 700)
        #expect(segments.count == 2)
        #expect(segments[0].position == 300 && segments[0].length == 300 && segments[0].slice?.offset == 400)
        #expect(segments[1].position == 600 && segments[1].slice == nil)
    }

    @Test func blockKeysFollowTheFormatSheet() {
        let blocks = BlockKey.blocks(sliceID: 1_234_567, sliceSize: 9 << 20, blockSize: 4 << 20)
        #expect(blocks.map(\.size) == [4 << 20, 4 << 20, 1 << 20])
        #expect(BlockLayout(chunkPrefix: "vol").objectKey(blocks[2]) == "vol/chunks/1/1234/1234567_2_1048576")
        // --hash-prefix: the slice id modulo 256 in two upper-case hex digits, then id / 10^6.
        #expect(BlockLayout(chunkPrefix: "vol", hashPrefix: true).objectKey(blocks[0]) == "vol/chunks/87/1/1234567_0_4194304")
        #expect(BlockLayout(chunkPrefix: "v", hashPrefix: true).objectKey(BlockKey(sliceID: 1, index: 1, size: 151_424)) == "v/chunks/01/0/1_1_151424")
        #expect(BlockLayout(chunkPrefix: "v", hashPrefix: true).objectKey(BlockKey(sliceID: 0xAB, index: 0, size: 1)) == "v/chunks/AB/0/171_0_1")
        #expect(BlockKey(name: "1234567_2_1048576") == blocks[2])
        #expect(BlockKey(name: "1234567_2_0") == nil && BlockKey(name: "x_1_2") == nil)
    }
}
