import Foundation

/// A point in time with nanosecond precision, convertible to each store's encoding
/// (SQL microseconds plus remainder, Redis and dump seconds plus nanoseconds).
public struct Timestamp: Sendable, Hashable, Comparable {
    public var seconds: Int64
    public var nanoseconds: UInt32

    public init(seconds: Int64, nanoseconds: UInt32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(seconds: Int64(spec.tv_sec), nanoseconds: UInt32(spec.tv_nsec))
    }

    /// SQL columns: microseconds since the epoch and the sub-microsecond remainder.
    public var sqlMicroseconds: Int64 { seconds * 1_000_000 + Int64(nanoseconds / 1000) }
    public var sqlRemainder: Int64 { Int64(nanoseconds % 1000) }

    public init(sqlMicroseconds micro: Int64, remainder: Int64) {
        var seconds = micro / 1_000_000
        var micros = micro % 1_000_000
        if micros < 0 {
            seconds -= 1
            micros += 1_000_000
        }
        self.init(seconds: seconds, nanoseconds: UInt32(micros * 1000 + min(max(remainder, 0), 999)))
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }
}
