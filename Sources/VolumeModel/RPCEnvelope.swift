import Foundation

/// The JSON-RPC 2.0 framing of the daemon protocol: one object per line, requests,
/// responses, errors, and `progress` notifications tied to a request id (proto/README.md).
public enum RPCEnvelope {
    /// What every request carries besides its params.
    public struct Header: Decodable, Sendable {
        public let jsonrpc: String?
        public let id: RPCID?
        public let method: String?
    }

    /// The params of a request, decoded as the method's own type.
    public struct Params<Value: Decodable & Sendable>: Decodable, Sendable {
        public let params: Value?
    }

    public struct Request<Value: Encodable & Sendable>: Encodable, Sendable {
        public let jsonrpc = "2.0"
        public let id: RPCID
        public let method: String
        public let params: Value

        public init(id: RPCID, method: String, params: Value) {
            self.id = id
            self.method = method
            self.params = params
        }
    }

    public struct Response<Value: Codable & Sendable>: Codable, Sendable {
        public var jsonrpc = "2.0"
        public let id: RPCID?
        public let result: Value
    }

    public struct ErrorObject: Codable, Sendable, Equatable {
        public let code: Int
        public let message: String
        public let data: [String: String]?
    }

    public struct ErrorResponse: Codable, Sendable {
        public var jsonrpc = "2.0"
        public let id: RPCID?
        public let error: ErrorObject
    }

    public struct Notification<Value: Codable & Sendable>: Codable, Sendable {
        public var jsonrpc = "2.0"
        public let method: String
        public let params: Value
    }

    /// What a `progress` notification says about the request `id`.
    public struct ProgressParams: Codable, Sendable {
        public let id: RPCID
        public let progress: VolumeProgress
    }

    /// An error response for `error`, with its name beside the code.
    public static func errorLine(id: RPCID?, _ error: VolumeError) -> Data {
        var data = error.data
        data["name"] = error.code.name
        return line(ErrorResponse(id: id, error: ErrorObject(code: error.code.rawValue, message: error.message, data: data)))
    }

    public static func resultLine<Value: Codable & Sendable>(id: RPCID?, _ result: Value) -> Data {
        line(Response(id: id, result: result))
    }

    public static func progressLine(id: RPCID, _ progress: VolumeProgress) -> Data {
        line(Notification(method: "progress", params: ProgressParams(id: id, progress: progress)))
    }

    /// Compact JSON and a newline.
    public static func line<Value: Encodable>(_ value: Value) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Wire types hold strings, numbers and nested wire types only: encoding cannot fail.
        var data = try! encoder.encode(value)
        data.append(0x0A)
        return data
    }

    /// Extracts a method's params, naming the field at fault when they do not fit.
    public static func params<Value: Decodable & Sendable>(_ type: Value.Type, from line: Data) throws(VolumeError) -> Value? {
        do {
            return try JSONDecoder().decode(Params<Value>.self, from: line).params
        } catch let error as DecodingError {
            throw VolumeError(.invalidParams, "invalid params: \(describe(error))")
        } catch {
            throw VolumeError(.invalidParams, "invalid params: \(error)")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context, _ extra: [any CodingKey] = []) -> String {
            let keys = (context.codingPath + extra).map(\.stringValue).filter { $0 != "params" }
            return keys.isEmpty ? "params" : keys.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing \(path(context, [key]))"
        case .typeMismatch(let type, let context): return "\(path(context)) should be \(expectation(type))"
        case .valueNotFound(_, let context): return "\(path(context)) must not be null"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    private static func expectation(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type, is UInt64.Type, is Double.Type: "a number"
        case is [Any].Type: "a list"
        default: "an object"
        }
    }
}
