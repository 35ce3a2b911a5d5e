/// A slice's id: it names every block of the slice in the bucket. 0 is no slice (a hole);
/// the high 32 bits are the slice domain of the writer that made it.
public struct SliceID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt64) { rawValue = value }

    /// Decimal, as it appears in block keys.
    public var description: String { String(rawValue) }

    public static func < (lhs: SliceID, rhs: SliceID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The id of a hole record.
    public static let hole: SliceID = 0

    /// The slice domain it was allocated in (see the slice-domain claims of the format).
    public var domain: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 32) }
}
