/// A value that does not have the shape the storage format requires (a version id, a
/// locator), naming the request field it came from so the layer above can say which.
public struct FormatError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The field of a request or descriptor that held the value, when one did.
    public let field: String?
    public let message: String

    public init(field: String? = nil, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { message }
}
