import SQLite

/// Walks the records of a Redis RDB of format 10 or 11 (Redis 7.0–7.2) and decodes the
/// value types a juicefs namespace reads: strings, hashes and lists. Sets and sorted sets
/// (sessions, deferred deletions) are stepped over; streams and modules are refused.
struct RDBReader {
    private var cursor: RDBCursor
    /// The RDB format version the header names.
    let version: Int
    /// Where the first database's keys begin (its SELECTDB): what is before is the header
    /// and the server's auxiliary fields.
    private(set) var firstDatabase: Int64?
    /// Where the end marker starts, once the walk has reached it.
    private(set) var endMarker: Int64?
    private var database = 0

    /// The formats whose hashes and lists are listpacks and quicklists of them (older ones
    /// use ziplists, newer ones types this reader does not know).
    static let supportedVersions = 10...11

    /// Opens the file and reads its header.
    init(_ source: any ByteSource, name: String) throws(MetaError) {
        cursor = RDBCursor(source, name: name)
        let header = try cursor.bytes(9)
        guard header.starts(with: "REDIS".utf8), let version = Int(String(decoding: header.suffix(4), as: UTF8.self)) else {
            throw MetaError(.ioError, "\(name) is not a Redis RDB file")
        }
        guard Self.supportedVersions.contains(version) else {
            throw MetaError(.notSupported, "\(name) is an RDB of format version \(version); volumed reads versions up to \(Self.supportedVersions.upperBound) (Redis 7.2)")
        }
        self.version = version
    }

    /// The next key's record, its value stepped over; `nil` at the end marker.
    mutating func next() throws(MetaError) -> RDBRecord? {
        var start = cursor.offset
        while true {
            let opcode = try cursor.byte()
            switch opcode {
            case Opcode.end:
                endMarker = cursor.offset - 1
                return nil
            case Opcode.selectDatabase:
                if firstDatabase == nil { firstDatabase = start }
                database = Int(truncatingIfNeeded: try cursor.count())
            case Opcode.resizeDatabase:
                _ = try cursor.count()
                _ = try cursor.count()
            case Opcode.auxiliary:
                try cursor.skipString()
                try cursor.skipString()
            case Opcode.function:
                try cursor.skipString()
            case Opcode.expiryMilliseconds:
                try cursor.skip(8)
                continue
            case Opcode.expirySeconds:
                try cursor.skip(4)
                continue
            case Opcode.idle:
                _ = try cursor.count()
                continue
            case Opcode.frequency:
                try cursor.skip(1)
                continue
            case 0xF0...0xFF:
                throw MetaError(.notSupported, "the RDB \(cursor.name) holds opcode \(opcode) (a module or function record), which no namespace has")
            default:
                let key = try cursor.string()
                let valueOffset = cursor.offset
                try skipValue(opcode)
                return RDBRecord(start: start, end: cursor.offset, key: key, database: database, type: opcode, valueOffset: valueOffset)
            }
            start = cursor.offset
        }
    }

    /// The record that starts at `offset`, its value stepped over; `nil` at the end marker.
    mutating func record(at offset: Int64) throws(MetaError) -> RDBRecord? {
        cursor.seek(to: offset)
        return try next()
    }

    // MARK: - Values

    /// A string value.
    mutating func string(of record: RDBRecord) throws(MetaError) -> [UInt8] {
        guard record.type == ValueType.string else { throw wrongType(record, "a string") }
        cursor.seek(to: record.valueOffset)
        return try cursor.string()
    }

    /// A hash's fields and values, in the file's order.
    mutating func hash(of record: RDBRecord) throws(MetaError) -> [(field: [UInt8], value: [UInt8])] {
        cursor.seek(to: record.valueOffset)
        switch record.type {
        case ValueType.hash:
            let count = try cursor.count()
            var pairs: [(field: [UInt8], value: [UInt8])] = []
            for _ in 0..<count { pairs.append((try cursor.string(), try cursor.string())) }
            return pairs
        case ValueType.hashListpack:
            let entries = try listpack()
            guard entries.count % 2 == 0 else { throw cursor.corrupt("the hash \(String(decoding: record.key, as: UTF8.self)) has an odd number of entries") }
            return stride(from: 0, to: entries.count, by: 2).map { (entries[$0], entries[$0 + 1]) }
        default:
            throw wrongType(record, "a hash")
        }
    }

    /// A list's elements, in order.
    mutating func list(of record: RDBRecord) throws(MetaError) -> [[UInt8]] {
        cursor.seek(to: record.valueOffset)
        switch record.type {
        case ValueType.list:
            let count = try cursor.count()
            var elements: [[UInt8]] = []
            for _ in 0..<count { elements.append(try cursor.string()) }
            return elements
        case ValueType.listQuicklist2:
            let nodes = try cursor.count()
            var elements: [[UInt8]] = []
            for _ in 0..<nodes {
                switch try cursor.count() {
                case 1: elements.append(try cursor.string())  // a plain node: one large element
                case 2: elements += try listpack()
                case let container: throw cursor.corrupt("unknown quicklist container \(container)")
                }
            }
            return elements
        default:
            throw wrongType(record, "a list")
        }
    }

    private mutating func listpack() throws(MetaError) -> [[UInt8]] {
        guard let entries = Listpack.entries(try cursor.string()) else { throw cursor.corrupt("a listpack does not parse") }
        return entries
    }

    private mutating func skipValue(_ type: UInt8) throws(MetaError) {
        switch type {
        case ValueType.string, ValueType.hashZipmap, ValueType.listZiplist, ValueType.setIntset, ValueType.sortedSetZiplist, ValueType.hashZiplist,
            ValueType.hashListpack, ValueType.sortedSetListpack, ValueType.setListpack:
            try cursor.skipString()
        case ValueType.list, ValueType.set, ValueType.listQuicklist:
            for _ in 0..<(try cursor.count()) { try cursor.skipString() }
        case ValueType.sortedSet:
            for _ in 0..<(try cursor.count()) {
                try cursor.skipString()
                let score = try cursor.byte()
                if score < 253 { try cursor.skip(Int64(score)) }
            }
        case ValueType.hash:
            for _ in 0..<(try cursor.count()) {
                try cursor.skipString()
                try cursor.skipString()
            }
        case ValueType.sortedSet2:
            for _ in 0..<(try cursor.count()) {
                try cursor.skipString()
                try cursor.skip(8)
            }
        case ValueType.listQuicklist2:
            for _ in 0..<(try cursor.count()) {
                _ = try cursor.count()
                try cursor.skipString()
            }
        default:
            throw MetaError(.notSupported, "the RDB \(cursor.name) holds a value of type \(type) (a stream or module value), which no namespace has")
        }
    }

    private func wrongType(_ record: RDBRecord, _ wanted: String) -> MetaError {
        MetaError(.ioError, "key \(String(decoding: record.key, as: UTF8.self)) of the RDB \(cursor.name) is not \(wanted) (type \(record.type))")
    }

    /// The opcodes that are not a value's type (`rdb.h`).
    enum Opcode {
        static let function: UInt8 = 0xF5
        static let idle: UInt8 = 0xF8
        static let frequency: UInt8 = 0xF9
        static let auxiliary: UInt8 = 0xFA
        static let resizeDatabase: UInt8 = 0xFB
        static let expiryMilliseconds: UInt8 = 0xFC
        static let expirySeconds: UInt8 = 0xFD
        static let selectDatabase: UInt8 = 0xFE
        static let end: UInt8 = 0xFF
    }

    /// The value types of RDB versions up to 11 (`rdb.h`).
    enum ValueType {
        static let string: UInt8 = 0
        static let list: UInt8 = 1
        static let set: UInt8 = 2
        static let sortedSet: UInt8 = 3
        static let hash: UInt8 = 4
        static let sortedSet2: UInt8 = 5
        static let hashZipmap: UInt8 = 9
        static let listZiplist: UInt8 = 10
        static let setIntset: UInt8 = 11
        static let sortedSetZiplist: UInt8 = 12
        static let hashZiplist: UInt8 = 13
        static let listQuicklist: UInt8 = 14
        static let hashListpack: UInt8 = 16
        static let sortedSetListpack: UInt8 = 17
        static let listQuicklist2: UInt8 = 18
        static let setListpack: UInt8 = 20
    }
}
