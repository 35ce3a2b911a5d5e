/// The entries of a Redis listpack (`listpack.c`), the encoding of small hashes and of list
/// nodes: a 6-byte header, entries of an encoding byte, data and a back-length, then 0xFF.
/// Integers come back in decimal, as Redis returns them (it stores only canonical ones so).
enum Listpack {
    static func entries(_ blob: [UInt8]) -> [[UInt8]]? {
        guard blob.count >= 7 else { return nil }
        var entries: [[UInt8]] = []
        var at = 6
        while true {
            guard at < blob.count else { return nil }
            let encoding = blob[at]
            if encoding == 0xFF { return at == blob.count - 1 ? entries : nil }
            let header: Int
            let length: Int
            var integer: Int64?
            func little(_ count: Int) -> UInt64? {
                guard at + 1 + count <= blob.count else { return nil }
                return blob[at + 1...at + count].reversed().reduce(0) { $0 << 8 | UInt64($1) }
            }
            switch encoding {
            case 0x00...0x7F:
                (header, length, integer) = (1, 0, Int64(encoding))
            case 0x80...0xBF:
                (header, length) = (1, Int(encoding & 0x3F))
            case 0xC0...0xDF:
                guard let low = little(1) else { return nil }
                let value = Int64(encoding & 0x1F) << 8 | Int64(low)
                (header, length, integer) = (2, 0, value >= 1 << 12 ? value - (1 << 13) : value)
            case 0xE0...0xEF:
                guard let low = little(1) else { return nil }
                (header, length) = (2, Int(encoding & 0x0F) << 8 | Int(low))
            case 0xF0:
                guard let count = little(4) else { return nil }
                (header, length) = (5, Int(count))
            case 0xF1:
                guard let value = little(2) else { return nil }
                (header, length, integer) = (3, 0, Int64(Int16(truncatingIfNeeded: value)))
            case 0xF2:
                guard let value = little(3) else { return nil }
                (header, length, integer) = (4, 0, Int64(Int32(truncatingIfNeeded: value << 8) >> 8))
            case 0xF3:
                guard let value = little(4) else { return nil }
                (header, length, integer) = (5, 0, Int64(Int32(truncatingIfNeeded: value)))
            case 0xF4:
                guard let value = little(8) else { return nil }
                (header, length, integer) = (9, 0, Int64(bitPattern: value))
            default:
                return nil
            }
            let size = header + length
            guard length <= blob.count, at + size <= blob.count else { return nil }
            entries.append(integer.map { Array(String($0).utf8) } ?? Array(blob[at + header..<at + size]))
            at += size + backLengthSize(size)
        }
    }

    /// The bytes an entry's back-length takes, with the bounds of `lpEncodeBacklen`.
    private static func backLengthSize(_ size: Int) -> Int {
        switch size {
        case ...127: 1
        case ..<16383: 2
        case ..<2_097_151: 3
        case ..<268_435_455: 4
        default: 5
        }
    }
}
