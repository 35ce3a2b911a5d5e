import CCurl
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Blocking HTTP/1.1 over libcurl. Easy handles are pooled so that keep-alive connections
/// (and TLS sessions) are reused across requests; any number of threads may call `send`.
public final class HTTPClient: Sendable {
    public struct Timeouts: Sendable {
        /// Time allowed to establish a connection.
        public var connect: Duration
        /// A transfer slower than 1 KiB/s for this long is abandoned as stalled.
        public var stall: Duration

        public init(connect: Duration = .seconds(10), stall: Duration = .seconds(30)) {
            self.connect = connect
            self.stall = stall
        }
    }

    private let timeouts: Timeouts
    private let idleHandles = Mutex<[EasyHandle]>([])
    private let maxIdleHandles: Int

    public init(timeouts: Timeouts = Timeouts(), maxIdleConnections: Int = 64) {
        _ = Self.globalInitialisation
        self.timeouts = timeouts
        self.maxIdleHandles = maxIdleConnections
    }

    deinit {
        for handle in idleHandles.withLock({ $0 }) { curl_easy_cleanup(handle.pointer) }
    }

    private static let globalInitialisation: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public func send(_ request: HTTPRequest) throws(HTTPTransportError) -> HTTPResponse {
        let handle = idleHandles.withLock { $0.popLast() } ?? EasyHandle(pointer: curl_easy_init()!)
        defer {
            let kept = idleHandles.withLock { handles in
                guard handles.count < maxIdleHandles else { return false }
                handles.append(handle)
                return true
            }
            if !kept { curl_easy_cleanup(handle.pointer) }
        }
        return try perform(request, on: handle.pointer)
    }

    private func perform(_ request: HTTPRequest, on curl: UnsafeMutableRawPointer) throws(HTTPTransportError) -> HTTPResponse {
        // Reset clears options but keeps the handle's live connections.
        curl_easy_reset(curl)
        let exchange = try Exchange(body: request.body)
        defer { exchange.close() }
        let context = Unmanaged.passUnretained(exchange).toOpaque()

        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        // curl would otherwise add "Expect: 100-continue" to large uploads and a form content type to POSTs.
        var lines = request.headers.map { $0.value.isEmpty ? "\($0.name);" : "\($0.name): \($0.value)" }
        lines.append("Expect:")
        if !request.headers.contains(where: { $0.name.lowercased() == "content-type" }) { lines.append("Content-Type:") }
        for line in lines { headerList = curl_slist_append(headerList, line) }

        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer in
            ccurl_setopt_long(curl, CURLOPT_NOSIGNAL, 1)
            ccurl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, errorPointer.baseAddress)
            ccurl_setopt_string(curl, CURLOPT_URL, request.url)
            ccurl_setopt_long(curl, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1))
            ccurl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, timeouts.connect.milliseconds)
            ccurl_setopt_long(curl, CURLOPT_LOW_SPEED_LIMIT, 1024)
            ccurl_setopt_long(curl, CURLOPT_LOW_SPEED_TIME, max(1, timeouts.stall.milliseconds / 1000))
            ccurl_setopt_long(curl, CURLOPT_TCP_KEEPALIVE, 1)
            ccurl_setopt_slist(curl, CURLOPT_HTTPHEADER, headerList)
            ccurl_setopt_data_callback(curl, CURLOPT_WRITEFUNCTION, Exchange.receiveBody)
            ccurl_setopt_pointer(curl, CURLOPT_WRITEDATA, context)
            ccurl_setopt_data_callback(curl, CURLOPT_HEADERFUNCTION, Exchange.receiveHeader)
            ccurl_setopt_pointer(curl, CURLOPT_HEADERDATA, context)
            switch request.method {
            case "GET":
                break
            case "HEAD":
                ccurl_setopt_long(curl, CURLOPT_NOBODY, 1)
            case "POST":
                ccurl_setopt_long(curl, CURLOPT_POST, 1)
                ccurl_setopt_offset(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.length))
                Self.streamBody(on: curl, from: context)
            case "PUT":
                ccurl_setopt_long(curl, CURLOPT_UPLOAD, 1)
                ccurl_setopt_offset(curl, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.body.length))
                Self.streamBody(on: curl, from: context)
            default:
                ccurl_setopt_string(curl, CURLOPT_CUSTOMREQUEST, request.method)
            }
            return curl_easy_perform(curl)
        }
        guard code == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map(UInt8.init(bitPattern:)), as: UTF8.self)
            let summary = String(cString: curl_easy_strerror(code))
            throw HTTPTransportError(
                code: Int(code.rawValue),
                message: detail.isEmpty ? summary : "\(summary): \(detail)",
                isTransient: Self.transientCodes.contains(code))
        }
        var status = 0
        ccurl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: exchange.responseHeaders, body: exchange.takeResponseBody())
    }

    /// The body is pulled from the exchange, and rewound when curl resends it.
    private static func streamBody(on curl: UnsafeMutableRawPointer, from context: UnsafeMutableRawPointer) {
        ccurl_setopt_data_callback(curl, CURLOPT_READFUNCTION, Exchange.sendBody)
        ccurl_setopt_pointer(curl, CURLOPT_READDATA, context)
        ccurl_setopt_seek_callback(curl, Exchange.rewindBody)
        ccurl_setopt_pointer(curl, CURLOPT_SEEKDATA, context)
    }

    private static let transientCodes: Set<CURLcode> = [
        CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_PARTIAL_FILE, CURLE_OPERATION_TIMEDOUT,
        CURLE_SSL_CONNECT_ERROR, CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_HTTP2,
        CURLE_HTTP2_STREAM, CURLE_SEND_FAIL_REWIND,
    ]
}

/// A pooled easy handle. Only one thread uses it at a time: it is either in the pool or
/// checked out by exactly one `send`.
private struct EasyHandle: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
}

extension CURLcode: @retroactive Hashable {}

extension Duration {
    fileprivate var milliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
