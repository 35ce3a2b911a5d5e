/// A request that produced no HTTP response: refused or reset connections, timeouts,
/// name resolution. `isTransient` tells the retry policy whether trying again can help.
public struct HTTPTransportError: Error, CustomStringConvertible, Sendable {
    public let code: Int
    public let message: String
    public let isTransient: Bool

    public init(code: Int, message: String, isTransient: Bool) {
        self.code = code
        self.message = message
        self.isTransient = isTransient
    }

    public var description: String { message }
}
