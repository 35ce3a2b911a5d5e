import CCrypto

/// A libcrypto failure, carrying the library's own reason string.
public struct OpenSSLError: Error, CustomStringConvertible, Sendable {
    public let message: String

    public init(message: String) { self.message = message }

    public var description: String { message }

    /// Drains libcrypto's thread-local error queue into one message.
    static func last(context: String? = nil) -> OpenSSLError {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map(UInt8.init(bitPattern:)), as: UTF8.self))
        }
        let reason = reasons.isEmpty ? "unknown libcrypto error" : reasons.joined(separator: "; ")
        return OpenSSLError(message: context.map { "\($0): \(reason)" } ?? reason)
    }
}
