import CHiredis
import Glibc

/// One blocking connection to a Redis server, over TCP or a Unix socket.
///
/// Not thread-safe: the owner serialises access. A broken connection is reopened on the
/// next command, so a supervised server that restarted is picked up transparently.
public final class RedisConnection {
    public enum Address: Sendable, Equatable, CustomStringConvertible {
        case tcp(host: String, port: Int)
        /// TCP with TLS, the server verified against the CA certificates in `caFile` (PEM), or
        /// the system's roots when `nil`.
        case tls(host: String, port: Int, caFile: String?)
        case unix(path: String)

        public var description: String {
            switch self {
            case .tcp(let host, let port): "\(host):\(port)"
            case .tls(let host, let port, _): "tls:\(host):\(port)"
            case .unix(let path): "unix:\(path)"
            }
        }
    }

    public let address: Address
    private let database: Int
    private let password: String?
    private let timeoutSeconds: Int
    private var context: UnsafeMutablePointer<redisContext>?

    public init(address: Address, database: Int = 0, password: String? = nil, timeoutSeconds: Int = 10) throws(RedisError) {
        Self.ignoreBrokenPipes
        self.address = address
        self.database = database
        self.password = password
        self.timeoutSeconds = timeoutSeconds
        try connect()
    }

    /// hiredis writes with write(2): a server that went away must surface as EPIPE on the
    /// next command, not kill the whole process with SIGPIPE.
    private static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()

    deinit {
        if let context { redisFree(context) }
    }

    /// Sends one command and waits for its reply; server errors are thrown.
    @discardableResult
    public func command(_ arguments: [[UInt8]]) throws(RedisError) -> RedisReply {
        let reply = try pipeline([arguments])[0]
        if case .error(let message) = reply { throw RedisError(.server, message) }
        return reply
    }

    @discardableResult
    public func command(_ arguments: String...) throws(RedisError) -> RedisReply {
        try command(arguments.map { Array($0.utf8) })
    }

    /// Sends every command before reading any reply: one round trip for the batch. Replies
    /// come back in order, server errors as `.error` values.
    public func pipeline(_ commands: [[[UInt8]]]) throws(RedisError) -> [RedisReply] {
        if context == nil { try connect() }
        guard let context else { throw RedisError(.connection, "not connected to \(address)") }
        for arguments in commands { try append(arguments, to: context) }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw dropConnection(context) }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            replies.append(Self.decode(reply))
            freeReplyObject(raw)
        }
        return replies
    }

    private func append(_ arguments: [[UInt8]], to context: UnsafeMutablePointer<redisContext>) throws(RedisError) {
        let count = arguments.count
        let pointers = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: count)
        let lengths = UnsafeMutablePointer<Int>.allocate(capacity: count)
        var buffers: [UnsafeMutablePointer<CChar>] = []
        defer {
            buffers.forEach { $0.deallocate() }
            pointers.deallocate()
            lengths.deallocate()
        }
        for (index, argument) in arguments.enumerated() {
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: max(argument.count, 1))
            argument.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress { UnsafeMutableRawPointer(buffer).copyMemory(from: base, byteCount: bytes.count) }
            }
            buffers.append(buffer)
            pointers[index] = UnsafePointer(buffer)
            lengths[index] = argument.count
        }
        guard redisAppendCommandArgv(context, Int32(count), pointers, lengths) == REDIS_OK else { throw dropConnection(context) }
    }

    private func connect() throws(RedisError) {
        let timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        let opened: UnsafeMutablePointer<redisContext>? = switch address {
        case .tcp(let host, let port): redisConnectWithTimeout(host, Int32(port), timeout)
        case .tls(let host, let port, let caFile): redisConnectFd(try TLSTunnel.open(host: host, port: port, caFile: caFile, timeoutSeconds: timeoutSeconds))
        case .unix(let path): redisConnectUnixWithTimeout(path, timeout)
        }
        guard let opened else { throw RedisError(.connection, "cannot allocate a connection to \(address)") }
        if opened.pointee.err != 0 {
            let message = Self.errorText(opened)
            redisFree(opened)
            throw RedisError(.connection, "cannot connect to \(address): \(message)")
        }
        redisSetTimeout(opened, timeout)
        context = opened
        if let password { try command("AUTH", password) }
        if database != 0 { try command("SELECT", String(database)) }
    }

    private func dropConnection(_ context: UnsafeMutablePointer<redisContext>) -> RedisError {
        let error = RedisError(.connection, "\(address): \(Self.errorText(context))")
        redisFree(context)
        self.context = nil
        return error
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    private static func decode(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        func text() -> [UInt8] {
            guard let str = value.str, value.len > 0 else { return [] }
            return Array(UnsafeRawBufferPointer(start: str, count: Int(value.len)))
        }
        switch value.type {
        case REDIS_REPLY_STRING: return .string(text())
        case REDIS_REPLY_STATUS: return .status(String(decoding: text(), as: UTF8.self))
        case REDIS_REPLY_ERROR: return .error(String(decoding: text(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(value.integer)
        case REDIS_REPLY_ARRAY:
            guard let elements = value.element else { return .array([]) }
            return .array((0..<Int(value.elements)).compactMap { elements[$0].map(decode) })
        default: return .null
        }
    }
}
