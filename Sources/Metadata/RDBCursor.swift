import Foundation
import SQLite

/// A reader over the bytes of an RDB with its length and string encodings (Redis's `rdb.c`),
/// through a window of its own so that a small record costs no call into the source. Every
/// length is checked against what is left of the file first: a hostile one costs an error.
struct RDBCursor {
    private let source: any ByteSource
    /// Where the next byte is read from.
    private(set) var offset: Int64
    private var window: [UInt8] = []
    private var windowStart: Int64 = 0
    private let windowSize: Int
    /// Names the file in errors.
    let name: String

    /// `window`: small, so that a record near a piece's end does not fetch the next piece.
    init(_ source: any ByteSource, at offset: Int64 = 0, window: Int = 4 << 10, name: String) {
        self.source = source
        self.offset = offset
        windowSize = window
        self.name = name
    }

    mutating func seek(to offset: Int64) { self.offset = offset }

    mutating func byte() throws(MetaError) -> UInt8 {
        if offset < windowStart || offset >= windowStart + Int64(window.count) { try fill(at: offset, atLeast: 1) }
        defer { offset += 1 }
        return window[Int(offset - windowStart)]
    }

    /// `count` bytes; a count beyond the file's end fails before anything is read.
    mutating func bytes(_ count: Int) throws(MetaError) -> [UInt8] {
        try require(Int64(count))
        guard count > 0 else { return [] }
        if count > windowSize {
            let data = try read(at: offset, count: count)
            offset += Int64(count)
            return [UInt8](data)
        }
        if offset < windowStart || offset + Int64(count) > windowStart + Int64(window.count) { try fill(at: offset, atLeast: count) }
        let start = Int(offset - windowStart)
        offset += Int64(count)
        return Array(window[start..<start + count])
    }

    mutating func skip(_ count: Int64) throws(MetaError) {
        try require(count)
        offset += count
    }

    /// A big-endian or little-endian integer of `count` bytes, as RDB lengths and
    /// timestamps store them.
    mutating func integer(_ count: Int, bigEndian: Bool) throws(MetaError) -> UInt64 {
        let raw = try bytes(count)
        return (bigEndian ? raw : raw.reversed()).reduce(0) { $0 << 8 | UInt64($1) }
    }

    // MARK: - Lengths and strings

    /// A length (`count`), or the special encoding of a string that follows (`encoding`:
    /// 0–2 an 8-, 16- or 32-bit integer, 3 LZF-compressed bytes).
    enum Length {
        case count(UInt64)
        case encoding(UInt8)
    }

    mutating func length() throws(MetaError) -> Length {
        let first = try byte()
        switch first >> 6 {
        case 0: return .count(UInt64(first & 0x3F))
        case 1: return .count(UInt64(first & 0x3F) << 8 | UInt64(try byte()))
        case 2:
            switch first {
            case 0x80: return .count(try integer(4, bigEndian: true))
            case 0x81: return .count(try integer(8, bigEndian: true))
            default: throw corrupt("unknown length prefix \(first)")
            }
        default: return .encoding(first & 0x3F)
        }
    }

    /// The encoding of a plain length, as `length` reads it.
    static func encodedLength(_ count: UInt64) -> [UInt8] {
        switch count {
        case ..<64: [UInt8(count)]
        case ..<16384: [0x40 | UInt8(count >> 8), UInt8(count & 0xFF)]
        case ...UInt64(UInt32.max): [0x80] + (0..<4).map { UInt8(truncatingIfNeeded: count >> (24 - 8 * $0)) }
        default: [0x81] + (0..<8).map { UInt8(truncatingIfNeeded: count >> (56 - 8 * $0)) }
        }
    }

    /// A plain length, where the format allows no string encoding.
    mutating func count() throws(MetaError) -> UInt64 {
        guard case .count(let count) = try length() else { throw corrupt("an encoded string where a length belongs") }
        return count
    }

    /// A string in any of its encodings; integers come back in decimal, as Redis returns them.
    mutating func string() throws(MetaError) -> [UInt8] {
        switch try length() {
        case .count(let count):
            return try bytes(try checked(count))
        case .encoding(let encoding):
            switch encoding {
            case 0: return Array(String(Int8(truncatingIfNeeded: try integer(1, bigEndian: false))).utf8)
            case 1: return Array(String(Int16(truncatingIfNeeded: try integer(2, bigEndian: false))).utf8)
            case 2: return Array(String(Int32(truncatingIfNeeded: try integer(4, bigEndian: false))).utf8)
            case 3:
                let compressed = try checked(try count())
                let length = try count()
                guard length <= UInt64(compressed) * LZF.largestExpansion else { throw corrupt("an LZF string claims \(length) bytes from \(compressed)") }
                guard let bytes = LZF.decompress(try bytes(compressed), length: Int(length)) else { throw corrupt("an LZF string does not decompress") }
                return bytes
            default: throw corrupt("unknown string encoding \(encoding)")
            }
        }
    }

    mutating func skipString() throws(MetaError) {
        switch try length() {
        case .count(let count): try skip(Int64(try checked(count)))
        case .encoding(let encoding):
            switch encoding {
            case 0: try skip(1)
            case 1: try skip(2)
            case 2: try skip(4)
            case 3:
                let compressed = try checked(try count())
                _ = try count()
                try skip(Int64(compressed))
            default: throw corrupt("unknown string encoding \(encoding)")
            }
        }
    }

    // MARK: - Errors

    func corrupt(_ what: String) -> MetaError {
        MetaError(.ioError, "the RDB \(name) is corrupt at byte \(offset): \(what)")
    }

    /// A length that fits in what is left of the file.
    private func checked(_ count: UInt64) throws(MetaError) -> Int {
        guard count <= UInt64(max(0, source.size - offset)) else { throw corrupt("a length of \(count) bytes runs past the end (\(source.size) bytes)") }
        return Int(count)
    }

    private func require(_ count: Int64) throws(MetaError) {
        guard count >= 0, count <= source.size - offset else { throw corrupt("\(count) bytes wanted, the file ends at \(source.size)") }
    }

    private mutating func fill(at start: Int64, atLeast count: Int) throws(MetaError) {
        try require(Int64(count))
        let data = try read(at: start, count: Int(min(Int64(windowSize), source.size - start)))
        guard data.count >= count else { throw corrupt("the source gave \(data.count) bytes of \(count)") }
        window = [UInt8](data)
        windowStart = start
    }

    private func read(at start: Int64, count: Int) throws(MetaError) -> Data {
        do {
            return try source.bytes(at: start, count: count)
        } catch let error as MetaError {
            throw error
        } catch {
            throw MetaError(.ioError, "cannot read the RDB \(name) at byte \(start): \(error)")
        }
    }
}
