import StorageFormat
import Testing
@testable import ChunkStore

/// The cache's index: an entry keeps its tick, its verified mark and its place (a log record
/// or a file) through the packing, per space, and lists least recently used first.
@Suite struct CacheIndexTests {
    private func key(_ id: UInt64, space: String = "bucket") -> CacheKey {
        CacheKey(space: CacheSpace(location: space), block: BlockKey(sliceID: SliceID(id), index: 0, size: 1024))
    }

    @Test func anEntryKeepsWhatItWasGiven() {
        let record = BlockLog.Location(segment: 7, offset: 4_000_000_000)
        var entry = CacheIndex.Entry(tick: (1 << 62) + 5, location: record, verified: false)
        #expect(entry.tick == (1 << 62) + 5)
        #expect(!entry.verified)
        #expect(entry.location == record)
        entry.verified = true
        #expect(entry.verified && entry.tick == (1 << 62) + 5, "the mark and the tick share a word without touching each other")
        entry.tick = 9
        #expect(entry.verified && entry.tick == 9)
        #expect(CacheIndex.Entry(tick: 1, location: nil, verified: true).location == nil, "a file has no record")
        #expect(MemoryLayout<CacheIndex.Entry>.stride == 16)
    }

    @Test func entriesAreKeptPerSpaceAndListedByAge() {
        var index = CacheIndex()
        index[key(1)] = CacheIndex.Entry(tick: 3, location: nil, verified: true)
        index[key(1, space: "other")] = CacheIndex.Entry(tick: 1, location: BlockLog.Location(segment: 0, offset: 64), verified: false)
        #expect(index.updateValue(CacheIndex.Entry(tick: 2, location: nil, verified: false), forKey: key(2)) == nil)
        #expect(index[key(1)]?.tick == 3 && index[key(1, space: "other")]?.tick == 1, "the same block in two spaces is two entries")
        #expect(index.byAge().map(\.key) == [key(1, space: "other"), key(2), key(1)])

        #expect(index.updateValue(CacheIndex.Entry(tick: 4, location: nil, verified: true), forKey: key(2))?.tick == 2)
        #expect(index.removeValue(forKey: key(1))?.tick == 3)
        index[key(1, space: "other")] = nil
        #expect(index[key(1)] == nil && index[key(1, space: "other")] == nil)
        #expect(index.byAge().map(\.key) == [key(2)])
    }
}
