/// One record of a chunk: chunk bytes `[pos, pos+len)` are slice `id`'s bytes
/// `[off, off+len)`; `size` is the slice's full length (it names every block). Id 0 is a hole.
public struct SliceRecord: Sendable, Hashable {
    public static let encodedSize = 24

    public var pos: UInt32
    public var id: SliceID
    public var size: UInt32
    public var off: UInt32
    public var len: UInt32

    public init(pos: UInt32, id: SliceID, size: UInt32, off: UInt32, len: UInt32) {
        self.pos = pos
        self.id = id
        self.size = size
        self.off = off
        self.len = len
    }

    /// A hole of zeros over `[pos, pos+len)`.
    public static func hole(pos: UInt32, len: UInt32) -> SliceRecord {
        SliceRecord(pos: pos, id: .hole, size: 0, off: 0, len: len)
    }

    /// The 24-byte big-endian encoding shared by SQL, Redis and TKV stores.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.encodedSize)
        bytes.appendBigEndian(pos)
        bytes.appendBigEndian(id.rawValue)
        bytes.appendBigEndian(size)
        bytes.appendBigEndian(off)
        bytes.appendBigEndian(len)
        return bytes
    }

    /// Decodes concatenated records; `nil` when the length is not a multiple of 24.
    public static func decodeAll(_ bytes: [UInt8]) -> [SliceRecord]? {
        guard bytes.count % encodedSize == 0 else { return nil }
        return stride(from: 0, to: bytes.count, by: encodedSize).map { start in
            var reader = BigEndianReader(bytes: bytes, offset: start)
            return SliceRecord(pos: reader.read(), id: SliceID(reader.read()), size: reader.read(), off: reader.read(), len: reader.read())
        }
    }
}

extension Array where Element == UInt8 {
    package mutating func appendBigEndian<Value: FixedWidthInteger>(_ value: Value) {
        for shift in stride(from: Value.bitWidth - 8, through: 0, by: -8) {
            append(UInt8(truncatingIfNeeded: value >> shift))
        }
    }
}

/// Reads big-endian integers from a byte array, advancing an offset.
package struct BigEndianReader {
    package let bytes: [UInt8]
    package var offset: Int

    package init(bytes: [UInt8], offset: Int) {
        self.bytes = bytes
        self.offset = offset
    }

    package var remaining: Int { bytes.count - offset }

    package mutating func read<Value: FixedWidthInteger>(_: Value.Type = Value.self) -> Value {
        var value: Value = 0
        for _ in 0..<MemoryLayout<Value>.size {
            value = value << 8 | Value(bytes[offset])
            offset += 1
        }
        return value
    }
}
