import SystemPackage

/// Where the first record that starts in one piece of a key-ordered RDB is, and its key: a
/// read-only mount finds any key by a binary search of these, then reads from the fence on.
public struct KeyFence: Sendable, Equatable {
    /// The record's offset in the file.
    public let offset: Int64
    public let key: [UInt8]

    public init(offset: Int64, key: [UInt8]) {
        self.offset = offset
        self.key = key
    }

    /// The fence of each piece of the key-ordered RDB at `file`, the pieces starting at
    /// `pieceStarts` (ascending, the first at 0): `nil` for a piece that only continues a
    /// record (a large directory's hash spans many).
    static func fences(of file: FilePath, pieceStarts: [Int64]) throws(MetaError) -> [KeyFence?] {
        var reader = try RDBReader(try MappedFile(file), name: file.string)
        var fences = [KeyFence?](repeating: nil, count: pieceStarts.count)
        var piece = 0
        while let record = try reader.next() {
            while piece + 1 < pieceStarts.count, pieceStarts[piece + 1] <= record.start { piece += 1 }
            if fences[piece] == nil { fences[piece] = KeyFence(offset: record.start, key: record.key) }
        }
        return fences
    }
}
