import SQLite
import StorageFormat
import SystemPackage

/// A committed Redis namespace read in place from its key-ordered RDB (`RDBSorter`), as
/// `SQLiteSourceVFS` reads a SQLite index: a key is found through the pieces' key fences, so
/// a read-only mount serves after a few pieces, not after loading the RDB into a server.
final class RDBMetaStore: MetaStore {
    let location: String
    private let source: any ByteSource
    /// Reads every record, its window kept between calls: the source never changes.
    private var reader: RDBReader
    /// The fences that name a key, in key order (and so in file order).
    private let fences: [KeyFence]
    /// The records of the spans between fences read lately, newest last.
    private var spans: [(number: Int, records: [RDBRecord])] = []
    /// Hashes decoded lately, newest last: a lookup in a large directory would otherwise
    /// decode its whole hash again for each name.
    private var hashes: [(start: Int64, bytes: Int64, fields: [[UInt8]: [UInt8]])] = []

    private static let keptSpans = 64
    /// The records' bytes the decoded hashes may come from: a decoded hash takes a few
    /// times its record, and a directory of millions of names would not fit a mount's budget.
    private static let keptHashBytes: Int64 = 16 << 20

    init(readingFrom source: any ByteSource, fences: [KeyFence?], shownAs name: String) throws(MetaError) {
        self.source = source
        location = name
        self.fences = fences.compactMap { $0 }
        reader = try RDBReader(source, name: name)
    }

    /// One page: a listing decodes the directory's whole hash however few entries it keeps.
    var listingPageSize: Int { .max }

    func isEmpty() throws(MetaError) -> Bool { fences.isEmpty }

    func formatJSON() throws(MetaError) -> String? {
        try string(RedisKey.setting).map { String(decoding: $0, as: UTF8.self) }
    }

    func read<Result>(_ body: (any MetaTransaction) throws(MetaError) -> Result) throws(MetaError) -> Result {
        try body(RDBTransaction(store: self))
    }

    func counter(_ name: String) throws(MetaError) -> Int64 {
        guard let text = try string(RedisKey.counter(name)) else { return 0 }
        guard let value = Int64(String(decoding: text, as: UTF8.self)), value < Int64.max else {
            throw MetaError(.ioError, "counter \(name) of \(location) is not a number below 2^63 - 1")
        }
        return RedisKey.storesLastUsed(name) ? value + 1 : value
    }

    var hasUnpersistedWrites: Bool { false }

    func persist() throws(MetaError) {}

    /// Refused: the committed index is its own snapshot, and every caller that needs one as
    /// a file (export, migration) fetches it whole.
    func snapshot(scratchFile: FilePath) throws(MetaError) -> IndexSnapshot {
        throw MetaError(.notSupported, "\(location) is a committed index read in place; fetch it whole for a snapshot")
    }

    // MARK: - Refused writes

    func prepareForLoad() throws(MetaError) { throw readOnly }
    func create(format json: String, nodes: [(Ino, Attr)]) throws(MetaError) { throw readOnly }
    func write<Result>(_ body: (any MetaTransaction) throws(MetaError) -> Result) throws(MetaError) -> Result { throw readOnly }
    func reserve(_ counter: IDCounter, count: UInt64) throws(MetaError) -> Range<UInt64> { throw readOnly }
    func raiseNextChunk(to bound: UInt64) throws(MetaError) { throw readOnly }
    func setCounters(_ values: [String: Int64]) throws(MetaError) { throw readOnly }
    func registerSession() throws(MetaError) -> Int64 { throw readOnly }

    var readOnly: MetaError { MetaError(.readOnlyFileSystem, "\(location) is a committed index, read in place") }

    // MARK: - Keys

    /// The record of `key`, or `nil` when the namespace has no such key.
    func record(_ key: [UInt8]) throws(MetaError) -> RDBRecord? {
        guard let number = spanNumber(holding: key) else { return nil }
        let records = try span(number)
        var low = 0
        var high = records.count
        while low < high {
            let middle = (low + high) / 2
            if records[middle].key.lexicographicallyPrecedes(key) { low = middle + 1 } else { high = middle }
        }
        guard low < records.count, records[low].key == key else { return nil }
        return records[low]
    }

    /// The records whose keys start with `prefix`, in key order.
    func records(withPrefix prefix: [UInt8]) throws(MetaError) -> [RDBRecord] {
        var found: [RDBRecord] = []
        for number in (spanNumber(holding: prefix) ?? 0)..<fences.count {
            for record in try span(number) where !record.key.lexicographicallyPrecedes(prefix) {
                guard record.key.starts(with: prefix) else { return found }
                found.append(record)
            }
        }
        return found
    }

    /// Every record, a span at a time, without keeping the spans.
    func forEachRecord(_ body: (RDBRecord) throws(MetaError) -> Void) throws(MetaError) {
        for number in fences.indices {
            for record in try readSpan(number) { try body(record) }
        }
    }

    func string(_ key: [UInt8]) throws(MetaError) -> [UInt8]? {
        guard let record = try record(key) else { return nil }
        return try reader.string(of: record)
    }

    /// A hash's fields; empty when there is no such key, as Redis answers.
    func hash(_ key: [UInt8]) throws(MetaError) -> [[UInt8]: [UInt8]] {
        guard let record = try record(key) else { return [:] }
        if let found = hashes.lastIndex(where: { $0.start == record.start }) {
            hashes.append(hashes.remove(at: found))
            return hashes[hashes.count - 1].fields
        }
        var fields: [[UInt8]: [UInt8]] = [:]
        for (field, value) in try reader.hash(of: record) { fields[field] = value }
        let bytes = record.end - record.start
        guard bytes <= Self.keptHashBytes else { return fields }
        hashes.append((record.start, bytes, fields))
        while hashes.reduce(0, { $0 + $1.bytes }) > Self.keptHashBytes { hashes.removeFirst() }
        return fields
    }

    func list(of record: RDBRecord) throws(MetaError) -> [[UInt8]] { try reader.list(of: record) }

    /// The span whose first key is the last one not after `key`.
    private func spanNumber(holding key: [UInt8]) -> Int? {
        var low = 0
        var high = fences.count
        while low < high {
            let middle = (low + high) / 2
            if key.lexicographicallyPrecedes(fences[middle].key) { high = middle } else { low = middle + 1 }
        }
        return low == 0 ? nil : low - 1
    }

    private func span(_ number: Int) throws(MetaError) -> [RDBRecord] {
        if let found = spans.lastIndex(where: { $0.number == number }) {
            spans.append(spans.remove(at: found))
            return spans[spans.count - 1].records
        }
        let records = try readSpan(number)
        spans.append((number, records))
        if spans.count > Self.keptSpans { spans.removeFirst() }
        return records
    }

    /// The records from one fence up to the next.
    private func readSpan(_ number: Int) throws(MetaError) -> [RDBRecord] {
        let end = number + 1 < fences.count ? fences[number + 1].offset : source.size
        var records: [RDBRecord] = []
        guard var record = try reader.record(at: fences[number].offset) else { return [] }
        while true {
            records.append(record)
            guard record.end < end, let next = try reader.next() else { return records }
            record = next
        }
    }
}
