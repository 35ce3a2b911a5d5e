import Foundation
import StorageFormat
import SystemPackage
import TestSupport
import Testing
@testable import ChunkStore

@Suite struct BlockLogTests {
    private func block(_ id: Int, size: Int = 4096) -> BlockKey {
        BlockKey(sliceID: SliceID(UInt64(id)), index: 0, size: size)
    }

    private func bytes(_ id: Int, size: Int = 4096) -> Data {
        Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ id) })
    }

    private func segments(_ directory: FilePath) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.string).sorted()
    }

    @Test func recordsReadBackWholeOrInPart() throws {
        let log = try BlockLog(directory: try Scratch.directory("log"), segmentLimit: 1 << 20)
        let first = try log.append(block(1), bytes(1), state: .staged)
        let second = try log.append(block(2, size: 100), bytes(2, size: 100), state: .cached)
        #expect(log.read(first, block(1)) == bytes(1))
        #expect(log.read(second, block(2, size: 100)) == bytes(2, size: 100))
        #expect(log.read(first, block(1), range: 1000..<1100) == bytes(1).subdata(in: 1000..<1100))
        #expect(log.read(second, block(1)) == nil, "a record answers only for its own block")
    }

    @Test func reopeningReplaysEveryStateAndDropsDiscardedRecords() throws {
        let directory = try Scratch.directory("log")
        var log: BlockLog? = try BlockLog(directory: directory, segmentLimit: 1 << 20)
        let staged = try log!.append(block(1), bytes(1), state: .staged)
        let uploaded = try log!.append(block(2), bytes(2), state: .staged)
        let discarded = try log!.append(block(3), bytes(3), state: .staged)
        _ = try log!.append(block(4), bytes(4), state: .cached)
        log!.mark(uploaded, .cached)
        log!.mark(discarded, .discarded)
        log = nil
        let reopened = try BlockLog(directory: directory, segmentLimit: 1 << 20)
        #expect(reopened.recovered.map(\.block) == [block(1), block(2), block(4)])
        #expect(reopened.recovered.map(\.state) == [.staged, .cached, .cached])
        #expect(reopened.read(staged, block(1)) == bytes(1))
        #expect(reopened.read(reopened.recovered[2].location, block(4)) == bytes(4))
    }

    @Test func aTornTailEndsItsSegmentAndEarlierRecordsSurvive() throws {
        let directory = try Scratch.directory("log")
        var log: BlockLog? = try BlockLog(directory: directory, segmentLimit: 1 << 20)
        _ = try log!.append(block(1), bytes(1), state: .staged)
        _ = try log!.append(block(2), bytes(2), state: .staged)
        log = nil
        let file = directory.appending(try segments(directory)[0])
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file.string))
        let size = try handle.seekToEnd()
        try handle.truncate(atOffset: size - 100)
        try handle.close()
        let reopened = try BlockLog(directory: directory, segmentLimit: 1 << 20)
        #expect(reopened.recovered.map(\.block) == [block(1)])
    }

    @Test func aCorruptStagedRecordIsNeverRecovered() throws {
        let directory = try Scratch.directory("log")
        var log: BlockLog? = try BlockLog(directory: directory, segmentLimit: 1 << 20)
        let location = try log!.append(block(1), bytes(1), state: .staged)
        log = nil
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: directory.appending(try segments(directory)[0]).string))
        try handle.seek(toOffset: UInt64(location.offset) + 2000)
        try handle.write(contentsOf: Data([0xFF ^ bytes(1)[2000 - 21]]))
        try handle.close()
        let reopened = try BlockLog(directory: directory, segmentLimit: 1 << 20)
        #expect(reopened.recovered.isEmpty)
        #expect(reopened.read(location, block(1)) == nil, "nor served")
    }

    @Test func aSegmentGoesWithItsLastLiveRecordOnceRotated() throws {
        let directory = try Scratch.directory("log")
        let log = try BlockLog(directory: directory, segmentLimit: 8000)
        let first = try log.append(block(1), bytes(1), state: .cached)
        let second = try log.append(block(2), bytes(2), state: .cached)
        let third = try log.append(block(3), bytes(3), state: .cached)
        #expect(try segments(directory).count == 2, "the first segment filled at its second record")
        #expect(log.release(first) == 0, "its other record is still live")
        #expect(log.release(second) > 8192)
        #expect(try segments(directory).count == 1)
        #expect(log.release(third) == 0, "the segment being appended to stays")
        #expect(log.read(third, block(3)) == bytes(3))
    }

    @Test func syncedRecordsSurviveAndAnEmptyLogLeavesNoSegment() throws {
        let directory = try Scratch.directory("log")
        var log: BlockLog? = try BlockLog(directory: directory, segmentLimit: 1 << 20)
        #expect(try segments(directory).isEmpty)
        _ = try log!.append(block(1), bytes(1), state: .staged)
        try log!.sync()
        try log!.sync()
        log = nil
        #expect(try BlockLog(directory: directory, segmentLimit: 1 << 20).recovered.map(\.block) == [block(1)])
    }
}
