/// A failed Redis exchange: the connection broke, or the server answered with an error.
public struct RedisError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable {
        /// Connecting, sending or receiving failed; the connection is unusable.
        case connection
        /// The server refused the command (`-ERR …`).
        case server
        /// A reply had an unexpected shape.
        case protocolViolation
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "Redis \(kind): \(message)" }
}
