import Foundation

/// One HTTP exchange as the object-store backends describe it: the URL is already
/// percent-encoded and every header the signature covers is present.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: HTTPBody

    public init(method: String, url: String, headers: [(name: String, value: String)] = [], body: HTTPBody = .empty) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// Where a request body comes from; a file body streams from disk instead of memory.
public enum HTTPBody: Sendable {
    case empty
    case bytes(Data)
    case file(path: String, length: Int64)

    public var length: Int64 {
        switch self {
        case .empty: 0
        case .bytes(let data): Int64(data.count)
        case .file(_, let length): length
        }
    }
}
