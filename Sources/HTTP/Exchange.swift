import CCurl
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The state of one transfer that libcurl's C callbacks reach through their userdata
/// pointer: the body being sent, and the status headers and body being received.
final class Exchange {
    private(set) var responseHeaders: [String: String] = [:]
    private var receivedBody = Data()
    /// A large body is received into a pooled buffer instead (see `BodyBufferPool`).
    private var pooled: (pointer: UnsafeMutableRawPointer, capacity: Int, count: Int)?
    private let upload: Data?
    private var uploadOffset = 0
    private var uploadFile: Int32 = -1

    init(body: HTTPBody) throws(HTTPTransportError) {
        switch body {
        case .empty:
            upload = nil
        case .bytes(let data):
            upload = data
        case .file(let path, _):
            upload = nil
            uploadFile = open(path, O_RDONLY | O_CLOEXEC)
            if uploadFile < 0 {
                throw HTTPTransportError(
                    code: Int(errno), message: "cannot open \(path) for upload: \(String(cString: strerror(errno)))",
                    isTransient: false)
            }
        }
    }

    deinit {
        if let pooled { BodyBufferPool.shared.give(pooled.pointer, capacity: pooled.capacity) }
    }

    func close() {
        if uploadFile >= 0 { Glibc.close(uploadFile) }
        uploadFile = -1
    }

    /// The body received; call once, after the transfer.
    func takeResponseBody() -> Data {
        guard let buffer = pooled else { return receivedBody }
        pooled = nil
        return BodyBufferPool.shared.data(buffer.pointer, count: buffer.count, capacity: buffer.capacity)
    }

    private func append(_ bytes: UnsafeRawPointer, count: Int) {
        if var buffer = pooled {
            if buffer.count + count <= buffer.capacity {
                (buffer.pointer + buffer.count).copyMemory(from: bytes, byteCount: count)
                buffer.count += count
                pooled = buffer
                return
            }
            // More than Content-Length announced: carry on in an ordinary buffer.
            receivedBody = Data(bytes: buffer.pointer, count: buffer.count)
            BodyBufferPool.shared.give(buffer.pointer, capacity: buffer.capacity)
            pooled = nil
        }
        receivedBody.append(bytes.assumingMemoryBound(to: UInt8.self), count: count)
    }

    static let receiveBody: ccurl_data_callback = { buffer, size, count, context in
        let exchange = Unmanaged<Exchange>.fromOpaque(context!).takeUnretainedValue()
        let length = size * count
        if let buffer, length > 0 { exchange.append(buffer, count: length) }
        return length
    }

    static let receiveHeader: ccurl_data_callback = { buffer, size, count, context in
        let exchange = Unmanaged<Exchange>.fromOpaque(context!).takeUnretainedValue()
        let length = size * count
        guard let buffer else { return length }
        let line = String(decoding: UnsafeRawBufferPointer(start: buffer, count: length), as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            // A new status line (after 100 Continue, say) starts a new header block.
            exchange.responseHeaders = [:]
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            exchange.responseHeaders[name] = value
            // Room for the whole body up front: a 4 MiB block is then copied once, not
            // again each time a growing buffer moves.
            if name == "content-length", let expected = Int(value), expected <= 64 << 20, exchange.pooled == nil, exchange.receivedBody.isEmpty {
                if expected >= BodyBufferPool.minimumSize {
                    let capacity = BodyBufferPool.capacity(for: expected)
                    exchange.pooled = (BodyBufferPool.shared.take(capacity: capacity), capacity, 0)
                } else {
                    exchange.receivedBody.reserveCapacity(expected)
                }
            }
        }
        return length
    }

    /// Lets curl resend the body, as it does when a reused connection turns out to be dead.
    static let rewindBody: ccurl_seek_callback = { context, offset, origin in
        let exchange = Unmanaged<Exchange>.fromOpaque(context!).takeUnretainedValue()
        guard origin == SEEK_SET, offset >= 0 else { return CURL_SEEKFUNC_CANTSEEK }
        if exchange.uploadFile >= 0 {
            return lseek(exchange.uploadFile, off_t(offset), SEEK_SET) < 0 ? CURL_SEEKFUNC_FAIL : CURL_SEEKFUNC_OK
        }
        guard offset <= (exchange.upload?.count ?? 0) else { return CURL_SEEKFUNC_FAIL }
        exchange.uploadOffset = Int(offset)
        return CURL_SEEKFUNC_OK
    }

    static let sendBody: ccurl_data_callback = { buffer, size, count, context in
        let exchange = Unmanaged<Exchange>.fromOpaque(context!).takeUnretainedValue()
        let capacity = size * count
        guard let buffer, capacity > 0 else { return 0 }
        if exchange.uploadFile >= 0 {
            let result = read(exchange.uploadFile, buffer, capacity)
            return result < 0 ? Int(CURL_READFUNC_ABORT) : result
        }
        guard let upload = exchange.upload else { return 0 }
        let chunk = min(capacity, upload.count - exchange.uploadOffset)
        guard chunk > 0 else { return 0 }
        upload.withUnsafeBytes { raw in
            let start = raw.baseAddress!.advanced(by: exchange.uploadOffset)
            UnsafeMutableRawPointer(buffer).copyMemory(from: start, byteCount: chunk)
        }
        exchange.uploadOffset += chunk
        return chunk
    }
}
