import Cryptography
import Foundation
import StorageFormat
import SystemBridge
import SystemPackage

/// The small blocks of one cache space, appended to segment files rather than kept a file
/// each.
///
/// A small file's only block would otherwise cost an inode to stage it and a rename to
/// cache it, and creating an inode is where ext4 is slowest (after many deletes it scans
/// for reusable ones). A record is `magic, state, slice id, index,
/// size, bytes, CRC-32C` (the CRC covers all but the magic and the state). Only the state
/// byte ever changes in place (staged → cached when uploaded, → discarded), so a record is
/// whole or torn, never half updated. Segments are appended to by this process only and
/// rotated at `segmentLimit`; reopening replays them all, a torn tail ending its segment.
/// A segment is deleted once no live record remains in it and it is no longer appended to.
final class BlockLog: @unchecked Sendable {
    /// Eight bytes: a segment is rotated at `segmentLimit` (at most 64 MiB), so an offset
    /// fits 32 bits.
    struct Location: Hashable, Sendable {
        let segment: UInt32
        private let storedOffset: UInt32

        var offset: Int64 { Int64(storedOffset) }

        init(segment: UInt32, offset: Int64) {
            self.segment = segment
            storedOffset = UInt32(offset)
        }
    }

    enum State: UInt8 {
        case staged = 1
        case cached = 2
        case discarded = 3
    }

    struct Record {
        let block: BlockKey
        let location: Location
        let state: State
    }

    let directory: FilePath
    private let segmentLimit: Int64
    private let lock = NSLock()
    private var active: (segment: UInt32, descriptor: FileDescriptor, tail: Int64)?
    private var nextSegment: UInt32
    private var sizes: [UInt32: Int64] = [:]
    private var live: [UInt32: Int] = [:]
    /// Written since the last `sync`, with the descriptor to sync them through.
    private var unsynced: [UInt32: FileDescriptor] = [:]
    private var directoryUnsynced = false
    /// What the segments held when the log was opened, in the order written.
    private(set) var recovered: [Record] = []
    /// Segments read from, kept open for the next read.
    private let readers = OpenFiles<UInt32>(capacity: 64)

    private static let magic: UInt32 = 0x564C_4F47
    private static let headerSize = 21
    private static let trailerSize = 4

    /// Opens the log in `directory` (creating it) and replays its segments.
    init(directory: FilePath, segmentLimit: Int64) throws(Errno) {
        self.directory = directory
        self.segmentLimit = segmentLimit
        try FileSystem.createDirectories(directory)
        let segments = try FileSystem.directoryEntries(directory).compactMap { entry in
            entry.name.hasSuffix(".log") ? UInt32(entry.name.dropLast(4)) : nil
        }.sorted()
        nextSegment = (segments.last ?? 0) + 1
        for segment in segments { replay(segment) }
        for segment in segments where live[segment, default: 0] == 0 { removeSegment(segment) }
    }

    deinit {
        try? active?.descriptor.close()
        for (segment, descriptor) in unsynced where segment != active?.segment { try? descriptor.close() }
    }

    /// Bytes the segments take on disk.
    var bytes: Int64 { lock.withLock { sizes.values.reduce(0, +) } }

    /// Appends a block; its record stays live until `release`.
    func append(_ block: BlockKey, _ data: Data, state: State) throws(Errno) -> Location {
        var record = Data(capacity: Self.headerSize + data.count + Self.trailerSize)
        Self.put(Self.magic, into: &record)
        record.append(state.rawValue)
        Self.put(block.sliceID.rawValue, into: &record)
        Self.put(UInt32(block.index), into: &record)
        Self.put(UInt32(block.size), into: &record)
        record.append(data)
        Self.put(CRC32C.checksum(record[5...]), into: &record)
        lock.lock()
        defer { lock.unlock() }
        let segment = try activeSegment()
        try segment.descriptor.writeAll(record, toAbsoluteOffset: segment.tail)
        let location = Location(segment: segment.segment, offset: segment.tail)
        active!.tail += Int64(record.count)
        sizes[segment.segment, default: 0] += Int64(record.count)
        live[segment.segment, default: 0] += 1
        unsynced[segment.segment] = segment.descriptor
        if active!.tail >= segmentLimit { active = nil }
        return location
    }

    /// The block's bytes; verified against its checksum unless `range` asks for part of a
    /// record verified before. `nil` when the record is gone, torn or corrupt.
    func read(_ location: Location, _ block: BlockKey, range: Range<Int>? = nil) -> Data? {
        let open = { [self] in try? FileDescriptor.open(path(location.segment), .readOnly) }
        return readers.withDescriptor(location.segment, open: open) { descriptor in
            if let range {
                return BlockFile.read(descriptor, at: location.offset + Int64(Self.headerSize + range.lowerBound), count: range.count)
            }
            let length = Self.headerSize + block.size + Self.trailerSize
            guard let record = BlockFile.read(descriptor, at: location.offset, count: length), Self.verify(record, block) else { return nil }
            return record.subdata(in: Self.headerSize..<Self.headerSize + block.size)
        }
    }

    /// Records the block's new state in place. Best effort: a state lost to a crash only
    /// means a block uploaded once more, or a discarded one uploaded after all.
    func mark(_ location: Location, _ state: State) {
        let byte = [state.rawValue]
        // The active segment's descriptor is written under the lock: a rotation and a sync
        // may close it meanwhile, and its number could then name another file.
        let written = lock.withLock { () -> Bool in
            guard let active, active.segment == location.segment else { return false }
            try? active.descriptor.writeAll(byte, toAbsoluteOffset: location.offset + 4)
            return true
        }
        guard !written, let other = try? FileDescriptor.open(path(location.segment), .writeOnly) else { return }
        try? other.writeAll(byte, toAbsoluteOffset: location.offset + 4)
        try? other.close()
    }

    /// The record is no longer needed; returns the bytes freed (its segment's, once the
    /// segment holds no live record and is not being appended to).
    @discardableResult
    func release(_ location: Location) -> Int64 {
        lock.withLock {
            guard let count = live[location.segment] else { return 0 }
            live[location.segment] = count - 1
            guard count == 1, active?.segment != location.segment else { return 0 }
            let freed = sizes[location.segment] ?? 0
            removeSegment(location.segment)
            return freed
        }
    }

    /// Makes every record appended so far durable on local disk.
    func sync() throws(Errno) {
        let (pending, syncDirectory) = lock.withLock { () -> ([UInt32: FileDescriptor], Bool) in
            defer {
                unsynced.removeAll()
                directoryUnsynced = false
            }
            return (unsynced, directoryUnsynced)
        }
        do {
            for descriptor in pending.values { try descriptor.sync() }
            if syncDirectory { _ = try BlockFile.sync(directory) }
        } catch {
            lock.withLock {
                unsynced.merge(pending) { current, _ in current }
                directoryUnsynced = directoryUnsynced || syncDirectory
            }
            throw error
        }
        lock.withLock {
            for (segment, descriptor) in pending where active?.segment != segment && unsynced[segment] == nil { try? descriptor.close() }
        }
    }

    // MARK: - Internals

    private func path(_ segment: UInt32) -> FilePath {
        directory.appending(String(format: "%08u.log", segment))
    }

    /// The segment appended to, started on the first append after a rotation. Call with the lock held.
    private func activeSegment() throws(Errno) -> (segment: UInt32, descriptor: FileDescriptor, tail: Int64) {
        if let active { return active }
        let segment = nextSegment
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(path(segment), .readWrite, options: [.create, .exclusiveCreate], permissions: [.ownerReadWrite])
        } catch {
            throw (error as? Errno) ?? .ioError
        }
        nextSegment += 1
        sizes[segment] = 0
        live[segment] = 0
        directoryUnsynced = true
        active = (segment, descriptor, 0)
        return active!
    }

    /// Deletes a segment that holds no live record. Call with the lock held.
    private func removeSegment(_ segment: UInt32) {
        if let descriptor = unsynced.removeValue(forKey: segment) { try? descriptor.close() }
        sizes[segment] = nil
        live[segment] = nil
        readers.forget(segment)
        try? FileSystem.unlink(path(segment))
    }

    /// Reads a segment's records up to its end or the first that is not whole. A staged
    /// record is verified (it is to be uploaded); a cached one when it is first read.
    private func replay(_ segment: UInt32) {
        guard let descriptor = try? FileDescriptor.open(path(segment), .readOnly) else { return }
        defer { try? descriptor.close() }
        let size = (try? descriptor.seek(offset: 0, from: .end)) ?? 0
        sizes[segment] = size
        live[segment] = 0
        var offset: Int64 = 0
        while let header = BlockFile.read(descriptor, at: offset, count: Self.headerSize), Self.value(UInt32.self, header, at: 0) == Self.magic {
            let block = BlockKey(
                sliceID: SliceID(Self.value(UInt64.self, header, at: 5)), index: Int(Self.value(UInt32.self, header, at: 13)),
                size: Int(Self.value(UInt32.self, header, at: 17)))
            let length = Int64(Self.headerSize + block.size + Self.trailerSize)
            guard block.size > 0, let state = State(rawValue: header[4]), offset + length <= size, offset <= Int64(UInt32.max) else { return }
            if state == .staged {
                guard let record = BlockFile.read(descriptor, at: offset, count: Int(length)), Self.verify(record, block) else { return }
            }
            if state != .discarded {
                recovered.append(Record(block: block, location: Location(segment: segment, offset: offset), state: state))
                live[segment, default: 0] += 1
            }
            offset += length
        }
    }

    private static func verify(_ record: Data, _ block: BlockKey) -> Bool {
        let end = headerSize + block.size
        return record.count == end + trailerSize && value(UInt32.self, record, at: 0) == magic
            && value(UInt64.self, record, at: 5) == block.sliceID.rawValue && value(UInt32.self, record, at: 13) == UInt32(block.index)
            && value(UInt32.self, record, at: 17) == UInt32(block.size)
            && CRC32C.checksum(record[5..<end]) == value(UInt32.self, record, at: end)
    }

    private static func put<Integer: FixedWidthInteger>(_ value: Integer, into data: inout Data) {
        for shift in stride(from: Integer.bitWidth - 8, through: 0, by: -8) { data.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    private static func value<Integer: FixedWidthInteger>(_: Integer.Type, _ data: Data, at offset: Int) -> Integer {
        data[(data.startIndex + offset)..<(data.startIndex + offset + MemoryLayout<Integer>.size)].reduce(0) { $0 << 8 | Integer($1) }
    }
}
