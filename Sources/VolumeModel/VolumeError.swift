/// A failed volume operation: a stable code, a message a person can act on, and
/// structured details (field names, paths, counts). Never carries credentials.
public struct VolumeError: Error, CustomStringConvertible, Sendable, Equatable {
    public let code: VolumeErrorCode
    public let message: String
    public let data: [String: String]

    public init(_ code: VolumeErrorCode, _ message: String, data: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.data = data
    }

    public var description: String { "\(code.name): \(message)" }
}
