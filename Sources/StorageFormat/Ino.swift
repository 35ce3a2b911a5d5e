/// An inode number as juicefs stores it: a type of its own, so that an inode cannot be
/// passed where a file handle or a slice id belongs.
public struct Ino: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt64) { rawValue = value }

    /// Decimal, as it appears in Redis keys and dumps.
    public var description: String { String(rawValue) }

    public static func < (lhs: Ino, rhs: Ino) -> Bool { lhs.rawValue < rhs.rawValue }

    public static let root: Ino = 1
    /// The virtual `/.trash` directory; present whenever `TrashDays > 0`.
    public static let trash: Ino = 0x7FFF_FFFF_1000_0000
    /// Inodes at and above this are virtual files juicefs serves in `/`.
    public static let firstVirtual: Ino = 0x7FFF_FFFF_0000_0000
}

extension Ino {
    /// Decodes a decimal inode number (a Redis field, a dump's key).
    public init?(_ text: String) {
        guard let value = UInt64(text) else { return nil }
        self.init(value)
    }
}
