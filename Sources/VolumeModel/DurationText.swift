/// Durations as options spell them (`upload_delay`, cache times): `30s`, `5m`, `1h`,
/// `1h30m`, `250ms`, or a bare number of seconds.
public enum DurationText {
    public struct Invalid: Error, CustomStringConvertible, Sendable, Equatable {
        public let text: String
        public var description: String { "invalid duration \"\(text)\": use a number with a unit such as 250ms, 30s, 5m, 1h or 1h30m" }
    }

    public static func parse(_ text: String) throws(Invalid) -> Duration {
        let trimmed = text.trimmingWhitespace
        if let seconds = Int64(trimmed), seconds >= 0 { return .seconds(seconds) }
        var total = Duration.zero
        var rest = Substring(trimmed)
        guard !rest.isEmpty else { throw Invalid(text: text) }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let value = Int64(digits) else { throw Invalid(text: text) }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            switch unit {
            case "ms": total += .milliseconds(value)
            case "s": total += .seconds(value)
            case "m": total += .seconds(value * 60)
            case "h": total += .seconds(value * 3600)
            case "d": total += .seconds(value * 86400)
            default: throw Invalid(text: text)
            }
        }
        return total
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
