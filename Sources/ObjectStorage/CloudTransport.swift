import Foundation
import HTTP
import SystemBridge
import SystemPackage

/// What the S3, GCS and Azure backends share: send a freshly built (and signed) request
/// per attempt, retry what is transient, and turn HTTP failures into `ObjectStoreError`.
struct CloudTransport: Sendable {
    let client: HTTPClient
    let retry: RetryPolicy
    /// Pulls the provider's error code and message out of a failure body.
    let errorDetail: @Sendable (HTTPResponse) -> (code: String?, message: String?)

    /// `operation` names the call in messages (`"PUT s3://b/p/key"`); it must not contain
    /// credentials. Statuses in `accepting` are returned to the caller instead of thrown.
    func send(
        _ operation: String, accepting: Set<Int> = [], build: () throws(ObjectStoreError) -> HTTPRequest
    ) throws(ObjectStoreError) -> HTTPResponse {
        try retry.run(operation) { () throws(ObjectStoreError) -> HTTPResponse in try attempt(operation, accepting: accepting, build: build) }
    }

    /// A conditional create that knows its outcome even when a response is lost. An attempt
    /// the server acted on may have lost its answer on the way back, and a retry (ours, or the
    /// HTTP library's on a dropped connection) then meets the object it created itself; so
    /// "already exists", or attempts running out, is settled from the object: `data` there is
    /// this call's own create. Callers make `data` unique to the call for this to hold.
    func create(
        _ operation: String, data: Data, readBack: () throws(ObjectStoreError) -> Data, build: () throws(ObjectStoreError) -> HTTPRequest
    ) throws(ObjectStoreError) {
        do throws(ObjectStoreError) {
            _ = try send(operation, build: build)
        } catch where error.kind == .alreadyExists || error.isRetryable {
            let failure = error
            let existing: Data
            do throws(ObjectStoreError) {
                existing = try readBack()
            } catch {
                // Not there: the create did not happen, and its own failure says why.
                throw error.kind == .notFound ? failure : ObjectStoreError(.transient, "\(operation): the outcome is unknown (\(error.message))")
            }
            guard existing == data else {
                throw failure.kind == .alreadyExists ? failure : ObjectStoreError(.alreadyExists, "\(operation): another writer created the object", status: 412)
            }
            retry.events?.resolved(operation)
        }
    }

    private func attempt(_ operation: String, accepting: Set<Int> = [], build: () throws(ObjectStoreError) -> HTTPRequest) throws(ObjectStoreError) -> HTTPResponse {
        let request = try build()
        let response: HTTPResponse
        do throws(HTTPTransportError) {
            response = try client.send(request)
        } catch {
            throw ObjectStoreError(error.isTransient ? .transient : .permanent, "\(operation): \(error.message)")
        }
        if response.isSuccess || accepting.contains(response.status) { return response }
        throw classify(response, operation: operation)
    }

    /// A whole (`range == nil`) or ranged GET: `build` receives the `bytes=a-b` value for
    /// the backend's range header. A range starting at or past the end (416) reads as empty.
    func read(
        _ operation: String, range: Range<Int64>?, build: (_ byteRange: String?) throws(ObjectStoreError) -> HTTPRequest
    ) throws(ObjectStoreError) -> Data {
        guard let range else { return try send(operation) { () throws(ObjectStoreError) in try build(nil) }.body }
        if range.isEmpty { return Data() }
        let response = try send("\(operation) bytes \(range)", accepting: [416]) { () throws(ObjectStoreError) in
            try build("bytes=\(range.lowerBound)-\(range.upperBound - 1)")
        }
        return response.status == 416 ? Data() : response.body
    }

    /// Size and modification time of `key` from the headers of the HEAD request `build` makes.
    func head(_ operation: String, key: String, build: () throws(ObjectStoreError) -> HTTPRequest) throws(ObjectStoreError) -> ObjectInfo {
        Self.objectInfo(key: key, headers: try send(operation, build: build).headers)
    }

    /// Size and modification time from a HEAD response's headers.
    static func objectInfo(key: String, headers: [String: String]) -> ObjectInfo {
        ObjectInfo(
            key: key, size: headers["content-length"].flatMap { Int64($0) } ?? 0,
            modified: headers["last-modified"].flatMap(HTTPDate.parseRFC1123))
    }

    /// A streamed request body for a regular file.
    static func fileBody(_ file: FilePath) throws(ObjectStoreError) -> HTTPBody {
        let status: FileStatus?
        do {
            status = try FileSystem.status(file)
        } catch {
            throw ObjectStoreError(.invalidArgument, "cannot read \(file): \(error)")
        }
        guard let status, status.isRegularFile else { throw ObjectStoreError(.invalidArgument, "cannot read \(file): not a regular file") }
        return .file(path: file.string, length: status.size)
    }

    private func classify(_ response: HTTPResponse, operation: String) -> ObjectStoreError {
        let (code, message) = errorDetail(response)
        let detail = [code, message].compactMap { $0 }.joined(separator: ": ")
        let text = "\(operation): HTTP \(response.status)\(detail.isEmpty ? "" : " \(detail)")"
        let kind: ObjectStoreError.Kind
        switch (response.status, code) {
        case (404, _): kind = .notFound
        case (412, _), (409, "BlobAlreadyExists"): kind = .alreadyExists
        case (401, _), (403, _): kind = .accessDenied
        case (408, _), (429, _), (500..., _), (409, "ConditionalRequestConflict"), (409, "OperationAborted"), (400, "RequestTimeout"):
            kind = .transient
        default: kind = .permanent
        }
        return ObjectStoreError(kind, text, status: response.status)
    }

    /// `<Error><Code>…</Code><Message>…</Message></Error>`, the S3 and Azure error body.
    static func xmlErrorDetail(_ response: HTTPResponse) -> (code: String?, message: String?) {
        guard let tree = try? XMLTree.parse(response.body) else {
            return (nil, response.headers["x-ms-error-code"])
        }
        return (tree.value("Code") ?? response.headers["x-ms-error-code"], tree.value("Message").map { $0.split(separator: "\n").first.map(String.init) ?? $0 })
    }
}
