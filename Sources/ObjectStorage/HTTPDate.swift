import Foundation

/// The date formats object stores speak: RFC 1123 in headers, ISO 8601 in listings,
/// and the compact SigV4 stamps.
enum HTTPDate {
    static func rfc1123(_ date: Date) -> String {
        formatter("EEE, dd MMM yyyy HH:mm:ss 'GMT'").string(from: date)
    }

    static func parseRFC1123(_ text: String) -> Date? {
        formatter("EEE, dd MMM yyyy HH:mm:ss zzz").date(from: text)
    }

    /// `20130524T000000Z`
    static func amzTimestamp(_ date: Date) -> String {
        formatter("yyyyMMdd'T'HHmmss'Z'").string(from: date)
    }

    /// ISO 8601 with or without fractional seconds.
    static func parseISO8601(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    private static func formatter(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = format
        return formatter
    }
}
