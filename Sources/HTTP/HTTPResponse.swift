import Foundation

public struct HTTPResponse: Sendable {
    public let status: Int
    /// Header names lowercased; a repeated header keeps its last value.
    public let headers: [String: String]
    public let body: Data

    public init(status: Int, headers: [String: String], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var isSuccess: Bool { (200..<300).contains(status) }
}
