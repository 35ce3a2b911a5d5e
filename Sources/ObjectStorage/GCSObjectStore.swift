import Foundation
import HTTP
import SystemBridge
import SystemPackage
import VolumeModel

/// Google Cloud Storage through its JSON API: media uploads, `alt=media` downloads with
/// ranges, paginated listing, and `ifGenerationMatch=0` for create-if-absent.
///
/// `$STORAGE_EMULATOR_HOST` points it at an emulator (no credentials needed there);
/// otherwise `$GOOGLE_APPLICATION_CREDENTIALS` or the gcloud application-default file
/// supplies OAuth2 credentials.
public struct GCSObjectStore: ObjectStore {
    public let uri: StorageURI
    private let baseURL: String
    private let credentials: GoogleCredentials?
    private let retry: RetryPolicy
    private let transport: CloudTransport

    public init(uri: StorageURI, environment: [String: String], retry: RetryPolicy = .standard, client: HTTPClient) throws(ObjectStoreError) {
        precondition(uri.kind == .gs)
        self.uri = uri
        self.retry = retry
        transport = CloudTransport(client: client, retry: retry, errorDetail: Self.jsonErrorDetail)
        let home = environment["HOME"] ?? NSHomeDirectory()
        let credentialsFile = environment["GOOGLE_APPLICATION_CREDENTIALS"].flatMap { $0.isEmpty ? nil : $0 }
        if let emulator = environment["STORAGE_EMULATOR_HOST"], !emulator.isEmpty {
            baseURL = emulator.contains("://") ? String(emulator.trimmingSuffix("/")) : "http://\(emulator)"
            credentials = try credentialsFile.map { file throws(ObjectStoreError) in try GoogleCredentials(file: file, client: client) }
        } else {
            baseURL = "https://storage.googleapis.com"
            let defaultFile = "\(home)/.config/gcloud/application_default_credentials.json"
            guard let file = credentialsFile ?? (FileManager.default.fileExists(atPath: defaultFile) ? defaultFile : nil) else {
                throw ObjectStoreError(
                    .accessDenied,
                    "no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or run `gcloud auth application-default login`")
            }
            credentials = try GoogleCredentials(file: file, client: client)
        }
    }

    public var location: String { uri.description }

    public func put(_ key: String, data: Data) throws(ObjectStoreError) {
        try upload(key, body: .bytes(data), onlyIfAbsent: false)
    }

    public func put(_ key: String, contentsOf file: FilePath) throws(ObjectStoreError) {
        let status: FileStatus?
        do {
            status = try FileSystem.status(file)
        } catch {
            throw ObjectStoreError(.invalidArgument, "cannot read \(file): \(error)")
        }
        guard let status, status.isRegularFile else { throw ObjectStoreError(.invalidArgument, "cannot read \(file): not a regular file") }
        try upload(key, body: .file(path: file.string, length: status.size), onlyIfAbsent: false)
    }

    public func create(_ key: String, data: Data) throws(ObjectStoreError) {
        try upload(key, body: .bytes(data), onlyIfAbsent: true)
    }

    public func get(_ key: String) throws(ObjectStoreError) -> Data {
        try ObjectKey.validate(key)
        return try transport.send("GET \(location)\(key)") { () throws(ObjectStoreError) -> HTTPRequest in
            try request("GET", "\(objectURL(key))?alt=media")
        }.body
    }

    public func get(_ key: String, range: Range<Int64>) throws(ObjectStoreError) -> Data {
        try ObjectKey.validate(key)
        if range.isEmpty { return Data() }
        let response = try transport.send("GET \(location)\(key) bytes \(range)", accepting: [416]) { () throws(ObjectStoreError) -> HTTPRequest in
            try request("GET", "\(objectURL(key))?alt=media", headers: [("Range", "bytes=\(range.lowerBound)-\(range.upperBound - 1)")])
        }
        return response.status == 416 ? Data() : response.body
    }

    public func head(_ key: String) throws(ObjectStoreError) -> ObjectInfo {
        try ObjectKey.validate(key)
        let response = try transport.send("HEAD \(location)\(key)") { () throws(ObjectStoreError) -> HTTPRequest in
            try request("GET", objectURL(key))
        }
        guard let json = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any] else {
            throw ObjectStoreError(.transient, "HEAD \(location)\(key): unreadable object metadata")
        }
        return info(fromMetadata: json, key: key)
    }

    public func list(prefix: String, startAfter: String?, continuation: String?, limit: Int) throws(ObjectStoreError) -> ObjectListPage {
        try ObjectKey.validatePrefix(prefix)
        var query = [("prefix", uri.prefix + prefix), ("maxResults", String(max(1, min(limit, 1000))))]
        // startOffset is inclusive; the key equal to startAfter is dropped below.
        if let startAfter { query.append(("startOffset", uri.prefix + startAfter)) }
        if let continuation { query.append(("pageToken", continuation)) }
        let response = try transport.send("LIST \(location)\(prefix)") { () throws(ObjectStoreError) -> HTTPRequest in
            try request("GET", "\(baseURL)/storage/v1/b/\(PercentEncoding.encode(uri.bucket))/o?\(PercentEncoding.query(query))")
        }
        guard let json = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any] else {
            throw ObjectStoreError(.transient, "LIST \(location)\(prefix): unreadable listing")
        }
        let items = json["items"] as? [[String: Any]] ?? []
        let objects = items.compactMap { item -> ObjectInfo? in
            guard let name = item["name"] as? String, name.hasPrefix(uri.prefix) else { return nil }
            let key = String(name.dropFirst(uri.prefix.count))
            return key == startAfter ? nil : info(fromMetadata: item, key: key)
        }
        return ObjectListPage(objects: objects, continuation: (json["nextPageToken"] as? String).flatMap { $0.isEmpty ? nil : $0 })
    }

    public func delete(_ key: String) throws(ObjectStoreError) {
        try ObjectKey.validate(key)
        _ = try transport.send("DELETE \(location)\(key)", accepting: [404]) { () throws(ObjectStoreError) -> HTTPRequest in
            try request("DELETE", objectURL(key))
        }
    }

    // MARK: - Requests

    private func upload(_ key: String, body: HTTPBody, onlyIfAbsent: Bool) throws(ObjectStoreError) {
        try ObjectKey.validate(key)
        var query = [("uploadType", "media"), ("name", uri.prefix + key)]
        if onlyIfAbsent { query.append(("ifGenerationMatch", "0")) }
        let url = "\(baseURL)/upload/storage/v1/b/\(PercentEncoding.encode(uri.bucket))/o?\(PercentEncoding.query(query))"
        _ = try transport.send("\(onlyIfAbsent ? "PUT (if absent)" : "PUT") \(location)\(key)") { () throws(ObjectStoreError) -> HTTPRequest in
            try request("POST", url, headers: [("Content-Type", "application/octet-stream")], body: body)
        }
    }

    private func objectURL(_ key: String) -> String {
        "\(baseURL)/storage/v1/b/\(PercentEncoding.encode(uri.bucket))/o/\(PercentEncoding.encode(uri.prefix + key))"
    }

    private func request(_ method: String, _ url: String, headers: [(String, String)] = [], body: HTTPBody = .empty) throws(ObjectStoreError) -> HTTPRequest {
        var all = headers.map { (name: $0.0, value: $0.1) }
        if let credentials {
            all.append((name: "Authorization", value: "Bearer \(try credentials.accessToken(retry: retry))"))
        }
        return HTTPRequest(method: method, url: url, headers: all, body: body)
    }

    private func info(fromMetadata json: [String: Any], key: String) -> ObjectInfo {
        let size = (json["size"] as? String).flatMap { Int64($0) } ?? (json["size"] as? NSNumber)?.int64Value ?? 0
        return ObjectInfo(key: key, size: size, modified: (json["updated"] as? String).flatMap(HTTPDate.parseISO8601))
    }

    /// `{"error": {"code": 404, "message": "…", "errors": [{"reason": "notFound"}]}}`
    static func jsonErrorDetail(_ response: HTTPResponse) -> (code: String?, message: String?) {
        guard let json = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any] else {
            let text = String(decoding: response.body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return (nil, text.isEmpty ? nil : text)
        }
        if let error = json["error"] as? [String: Any] {
            let reason = ((error["errors"] as? [[String: Any]])?.first?["reason"] as? String)
            return (reason, error["message"] as? String)
        }
        // OAuth2 token endpoint errors.
        return (json["error"] as? String, json["error_description"] as? String)
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> Substring {
        hasSuffix(suffix) ? dropLast(suffix.count) : Substring(self)
    }
}
