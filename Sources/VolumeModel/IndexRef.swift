/// A published metadata snapshot: the object's URI and what it must hash to, so that a
/// mount verifies what it downloaded before trusting it.
public struct IndexRef: Codable, Sendable, Hashable {
    public var path: String
    public var size: Int64
    /// Lowercase hex SHA-256 of the whole object.
    public var sha256: String

    public init(path: String, size: Int64, sha256: String) {
        self.path = path
        self.size = size
        self.sha256 = sha256
    }
}
