import Foundation
import SystemBridge
import SystemPackage

/// Rewrites an RDB with its records in the byte order of their keys. Redis loads records in
/// any order; key order lets a mount find a key through the pieces' key fences, and keeps a
/// save's bytes where its keys did not change, whatever order the server held them in.
/// The end marker's checksum is zero, which Redis reads as "not computed": the pieces carry
/// SHA-256.
enum RDBSorter {
    /// Writes the keys of `database` in `source` to `destination` in key order (a shared
    /// server's RDB holds other databases too), returning how many there are.
    @discardableResult
    static func sort(_ source: FilePath, database: Int, into destination: FilePath) throws(MetaError) -> Int {
        let mapped = try MappedFile(source)
        var reader = try RDBReader(mapped, name: source.string)
        var records = Records()
        while let record = try reader.next() {
            if record.database == database { try records.append(record) }
        }
        guard let end = reader.endMarker else { throw MetaError(.ioError, "the RDB \(source) has no end marker") }
        let order = records.keyOrder()

        let output: FileDescriptor
        do {
            output = try FileDescriptor.open(destination, .writeOnly, options: [.create, .truncate, .closeOnExec], permissions: [.ownerReadWrite])
        } catch {
            throw MetaError((error as? Errno) ?? .ioError, "cannot create \(destination): \(error)")
        }
        defer { try? output.close() }
        let data = mapped.data
        var buffer: [UInt8] = []
        buffer.reserveCapacity(Self.writeSize + (1 << 16))
        func flush() throws(MetaError) {
            do {
                try output.writeAll(buffer)
            } catch {
                throw MetaError(error, "cannot write \(destination): \(error)")
            }
            buffer.removeAll(keepingCapacity: true)
        }
        buffer += data[data.startIndex..<data.startIndex + Int(reader.firstDatabase ?? end)]
        if !order.isEmpty { buffer += [RDBReader.Opcode.selectDatabase] + RDBCursor.encodedLength(UInt64(database)) }
        for index in order {
            let start = data.startIndex + Int(records.starts[index])
            buffer += data[start..<start + Int(records.lengths[index])]
            if buffer.count >= Self.writeSize { try flush() }
        }
        buffer += [RDBReader.Opcode.end] + [UInt8](repeating: 0, count: reader.version >= 5 ? 8 : 0)
        try flush()
        return order.count
    }

    private static let writeSize = 4 << 20

    /// Where each record is and what its key is, packed: a million-file namespace has
    /// millions of keys, and this is what the sort holds for each.
    private struct Records {
        var starts: [Int64] = []
        var lengths: [UInt32] = []
        /// A key's first eight bytes, big-endian and zero-padded: most comparisons end there.
        var prefixes: [UInt64] = []
        /// Where each key ends in `keys`; it starts where the one before ends.
        var keyEnds: [Int] = []
        var keys: [UInt8] = []

        mutating func append(_ record: RDBRecord) throws(MetaError) {
            guard let length = UInt32(exactly: record.end - record.start) else {
                throw MetaError(.notSupported, "the record of key \(String(decoding: record.key, as: UTF8.self)) is larger than 4 GiB")
            }
            starts.append(record.start)
            lengths.append(length)
            prefixes.append(record.key.prefix(8).enumerated().reduce(0) { $0 | UInt64($1.element) << (56 - 8 * $1.offset) })
            keys += record.key
            keyEnds.append(keys.count)
        }

        func keyOrder() -> [Int] {
            let prefixes = prefixes
            let keyEnds = keyEnds
            let keys = keys
            return Array(starts.indices).sorted { (left, right) in
                if prefixes[left] != prefixes[right] { return prefixes[left] < prefixes[right] }
                let leftKey = keys[(left == 0 ? 0 : keyEnds[left - 1])..<keyEnds[left]]
                let rightKey = keys[(right == 0 ? 0 : keyEnds[right - 1])..<keyEnds[right]]
                return leftKey.lexicographicallyPrecedes(rightKey)
            }
        }
    }
}
