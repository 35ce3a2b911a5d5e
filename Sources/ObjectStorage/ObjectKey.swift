/// The rules every key obeys before it becomes part of a URL or a file path.
public enum ObjectKey {
    public static let maxLength = 1024

    /// Refuses keys that could escape the store's prefix or confuse a backend: empty,
    /// absolute, with empty, "." or ".." segments, control characters or backslashes.
    public static func validate(_ key: String) throws(ObjectStoreError) {
        if key.isEmpty { throw ObjectStoreError(.invalidArgument, "invalid object key: empty") }
        try check(key, what: "object key", allowTrailingSlash: false)
    }

    /// A list prefix may also be empty or end with "/".
    public static func validatePrefix(_ prefix: String) throws(ObjectStoreError) {
        if !prefix.isEmpty { try check(prefix, what: "list prefix", allowTrailingSlash: true) }
    }

    private static func check(_ text: String, what: String, allowTrailingSlash: Bool) throws(ObjectStoreError) {
        func refuse(_ reason: String) -> ObjectStoreError {
            ObjectStoreError(.invalidArgument, "invalid \(what) \"\(text.prefix(200))\": \(reason)")
        }
        guard text.utf8.count <= maxLength else { throw refuse("longer than \(maxLength) bytes") }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f || $0 == "\\" }) else {
            throw refuse("control characters and backslashes are not allowed")
        }
        var segments = text.split(separator: "/", omittingEmptySubsequences: false)
        if allowTrailingSlash, segments.count > 1, segments.last == "" { segments.removeLast() }
        for segment in segments {
            if segment.isEmpty { throw refuse("empty path segment") }
            if segment == "." || segment == ".." { throw refuse("'.' and '..' segments are not allowed") }
        }
    }
}
