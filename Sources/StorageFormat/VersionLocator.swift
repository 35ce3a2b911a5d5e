import Foundation

/// Where a published version lives: `<bucket>/versions/<id>/volume.json` beside its
/// `index.<db|rdb>`. The descriptor's URI is the version's locator.
public struct VersionLocator: Sendable, Hashable, CustomStringConvertible {
    /// The bucket URI as the descriptor spells it, without a trailing slash.
    public let bucket: String
    public let id: String

    public init(bucket: String, id: String) throws(FormatError) {
        guard Self.isValidID(id) else { throw FormatError("invalid version id \"\(id)\"") }
        self.bucket = bucket.hasSuffix("/") ? String(bucket.dropLast()) : bucket
        self.id = id
    }

    /// Parses a locator URI such as `s3://b/p/versions/20261125T101500Z-0a1b2c3d4e5f/volume.json`.
    public init(parsing uri: String) throws(FormatError) {
        let shape = "expected <bucket>/versions/<id>/volume.json"
        guard uri.hasSuffix("/volume.json"), let marker = uri.range(of: "/versions/", options: .backwards) else {
            throw FormatError(field: "locator", "\"\(uri)\" is not a version locator: \(shape)")
        }
        let id = uri[marker.upperBound...].dropLast("/volume.json".count)
        do {
            _ = try StorageURI(parsing: String(uri[..<marker.lowerBound]))
        } catch {
            throw FormatError(field: "locator", "\"\(uri)\" is not a version locator: \(error.description)")
        }
        try self.init(bucket: String(uri[..<marker.lowerBound]), id: String(id))
    }

    /// A new, time-ordered id: the UTC millisecond and 12 random hex digits, so that a
    /// listing sorted by id lists versions in the order they were published.
    public static func newID(now: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmssSSS'Z'"
        return formatter.string(from: now) + "-" + (0..<12).map { _ in String(UInt8.random(in: 0..<16), radix: 16) }.joined()
    }

    /// Keys relative to the bucket.
    public var directoryKey: String { "versions/\(id)" }
    public var descriptorKey: String { "\(directoryKey)/volume.json" }
    /// The one-file index of a version published before index pieces: `index.db` (SQLite)
    /// or `index.rdb` (Redis).
    public func indexKey(fileExtension: String) -> String { "\(directoryKey)/index.\(fileExtension)" }
    /// The manifest listing the pieces of the version's index.
    public var manifestKey: String { "\(directoryKey)/index.manifest" }

    public var description: String { uri(ofKey: descriptorKey) }

    /// The URI of a key inside this locator's bucket.
    public func uri(ofKey key: String) -> String { "\(bucket)/\(key)" }

    private static func isValidID(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D }
    }
}
