/// A failed object-store call, classified so callers can react without parsing text:
/// retry policy, "already claimed", "missing version", "fix your credentials".
public struct ObjectStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        case notFound = "not_found"
        case alreadyExists = "already_exists"
        case accessDenied = "access_denied"
        /// Throttling, server errors, timeouts and broken connections: worth retrying.
        case transient
        case permanent
        case invalidArgument = "invalid_argument"
    }

    public let kind: Kind
    public let message: String
    /// HTTP status of the failed response, when there was one.
    public let status: Int?

    public init(_ kind: Kind, _ message: String, status: Int? = nil) {
        self.kind = kind
        self.message = message
        self.status = status
    }

    public var isRetryable: Bool { kind == .transient }

    public var description: String { message }
}
