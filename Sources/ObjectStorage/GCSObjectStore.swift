import Cryptography
import Foundation
import HTTP
import StorageFormat
import SystemBridge
import SystemPackage

/// Google Cloud Storage through its JSON API: media uploads, `alt=media` downloads with
/// ranges, paginated listing, and `ifGenerationMatch=0` for create-if-absent.
///
/// `$STORAGE_EMULATOR_HOST` points it at an emulator (no credentials needed there);
/// otherwise `$GOOGLE_APPLICATION_CREDENTIALS` or the gcloud application-default file
/// supplies OAuth2 credentials.
public struct GCSObjectStore: ObjectStore, RangedReads {
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
            guard let file = credentialsFile ?? (FileSystem.exists(FilePath(defaultFile)) ? defaultFile : nil) else {
                throw ObjectStoreError(
                    .accessDenied,
                    "no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or run `gcloud auth application-default login`")
            }
            credentials = try GoogleCredentials(file: file, client: client)
        }
    }

    public var location: String { uri.description }

    public func put(_ key: String, data: Data) throws(ObjectStoreError) {
        try upload(key, body: .bytes(data))
    }

    public func put(_ key: String, contentsOf file: FilePath, digest: FileDigest?) throws(ObjectStoreError) {
        try upload(key, body: try CloudTransport.fileBody(file))
    }

    /// A multipart upload with `ifGenerationMatch=0`: GCS honours the precondition on
    /// media and multipart uploads alike, fake-gcs-server only on multipart, so this one
    /// form is right everywhere.
    public func create(_ key: String, data: Data) throws(ObjectStoreError) {
        try ObjectKey.validate(key)
        let boundary = "volumed-\(UInt64.random(in: 0...UInt64.max))"
        var body = Data("--\(boundary)\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".utf8)
        body += (try? JSONSerialization.data(withJSONObject: ["name": uri.prefix + key])) ?? Data()
        body += Data("\r\n--\(boundary)\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
        body += data
        body += Data("\r\n--\(boundary)--\r\n".utf8)
        let url = "\(uploadURL)?\(PercentEncoding.query([("uploadType", "multipart"), ("ifGenerationMatch", "0")]))"
        try transport.create("PUT (if absent) \(location)\(key)", data: data, readBack: { () throws(ObjectStoreError) in try get(key) }) {
            () throws(ObjectStoreError) -> HTTPRequest in
            try request("POST", url, headers: [("Content-Type", "multipart/related; boundary=\(boundary)")], body: .bytes(body))
        }
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

    func read(_ key: String, range: Range<Int64>?) throws(ObjectStoreError) -> Data {
        try ObjectKey.validate(key)
        return try transport.read("GET \(location)\(key)", range: range) { byteRange throws(ObjectStoreError) in
            try request("GET", "\(objectURL(key))?alt=media", headers: byteRange.map { [("Range", $0)] } ?? [])
        }
    }

    private var uploadURL: String { "\(baseURL)/upload/storage/v1/b/\(PercentEncoding.encode(uri.bucket))/o" }

    private func upload(_ key: String, body: HTTPBody) throws(ObjectStoreError) {
        try ObjectKey.validate(key)
        let url = "\(uploadURL)?\(PercentEncoding.query([("uploadType", "media"), ("name", uri.prefix + key)]))"
        _ = try transport.send("PUT \(location)\(key)") { () throws(ObjectStoreError) -> HTTPRequest in
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
