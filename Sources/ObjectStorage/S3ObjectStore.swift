import Cryptography
import Foundation
import HTTP
import StorageFormat
import SystemBridge
import SystemPackage

/// Amazon S3 and S3-compatible servers, signed with SigV4.
///
/// With a custom endpoint requests are path-style (`endpoint/bucket/key`), which every
/// S3-compatible server accepts; against AWS proper they are virtual-host style.
public struct S3ObjectStore: ObjectStore, RangedReads {
    public let uri: StorageURI
    public let region: String
    private let scheme: String
    private let host: String
    /// Path up to and including the bucket, without a trailing slash ("" for virtual-host style).
    private let bucketPath: String
    private let signer: SigV4Signer
    private let transport: CloudTransport

    /// - Parameters:
    ///   - endpoint: the volume's endpoint; else `$AWS_ENDPOINT_URL_S3`, `$AWS_ENDPOINT_URL`, else AWS.
    ///   - region: the volume's region; else `$AWS_REGION`, `$AWS_DEFAULT_REGION`, else `us-east-1`.
    public init(
        uri: StorageURI, endpoint: String? = nil, region: String? = nil, environment: [String: String],
        retry: RetryPolicy = .standard, client: HTTPClient
    ) throws(ObjectStoreError) {
        precondition(uri.kind == .s3)
        self.uri = uri
        let region = [region, environment["AWS_REGION"], environment["AWS_DEFAULT_REGION"]]
            .compactMap { $0 }.first { !$0.isEmpty } ?? "us-east-1"
        self.region = region
        let endpoint = [endpoint, environment["AWS_ENDPOINT_URL_S3"], environment["AWS_ENDPOINT_URL"]]
            .compactMap { $0 }.first { !$0.isEmpty }
        if let endpoint {
            guard let parts = URLComponents(string: endpoint), let scheme = parts.scheme?.lowercased(), scheme == "http" || scheme == "https",
                let hostName = parts.host, !hostName.isEmpty, parts.query == nil
            else {
                throw ObjectStoreError(.invalidArgument, "invalid S3 endpoint \"\(endpoint)\": expected http(s)://host[:port][/path]")
            }
            self.scheme = scheme
            host = parts.port.map { "\(hostName):\($0)" } ?? hostName
            let basePath = parts.percentEncodedPath.hasSuffix("/") ? String(parts.percentEncodedPath.dropLast()) : parts.percentEncodedPath
            bucketPath = "\(basePath)/\(uri.bucket)"
        } else if uri.bucket.contains(".") {
            // Dotted bucket names break the TLS wildcard of virtual hosts.
            scheme = "https"
            host = "s3.\(region).amazonaws.com"
            bucketPath = "/\(uri.bucket)"
        } else {
            scheme = "https"
            host = "\(uri.bucket).s3.\(region).amazonaws.com"
            bucketPath = ""
        }
        signer = SigV4Signer(credentials: try AWSCredentials.resolve(environment: environment), region: region)
        transport = CloudTransport(client: client, retry: retry, errorDetail: CloudTransport.xmlErrorDetail)
    }

    public var location: String { uri.description }

    public func put(_ key: String, data: Data) throws(ObjectStoreError) {
        try ObjectKey.validate(key)
        _ = try transport.send("PUT \(location)\(key)") { () throws(ObjectStoreError) -> HTTPRequest in
            request("PUT", key: key, body: .bytes(data), payloadHash: Hex.encode(SHA256.hash(data)))
        }
    }

    public func put(_ key: String, contentsOf file: FilePath, digest: FileDigest?) throws(ObjectStoreError) {
        try ObjectKey.validate(key)
        let payload: FileDigest
        if let digest { payload = digest } else { payload = try Self.digest(of: file) }
        _ = try transport.send("PUT \(location)\(key)") { () throws(ObjectStoreError) -> HTTPRequest in
            request("PUT", key: key, body: .file(path: file.string, length: payload.size), payloadHash: payload.sha256)
        }
    }

    public func create(_ key: String, data: Data) throws(ObjectStoreError) {
        try ObjectKey.validate(key)
        try transport.create("PUT (if absent) \(location)\(key)", data: data, readBack: { () throws(ObjectStoreError) in try get(key) }) {
            () throws(ObjectStoreError) -> HTTPRequest in
            request("PUT", key: key, headers: [("If-None-Match", "*")], body: .bytes(data), payloadHash: Hex.encode(SHA256.hash(data)))
        }
    }

    public func head(_ key: String) throws(ObjectStoreError) -> ObjectInfo {
        try ObjectKey.validate(key)
        return try transport.head("HEAD \(location)\(key)", key: key) { request("HEAD", key: key) }
    }

    public func list(prefix: String, startAfter: String?, continuation: String?, limit: Int) throws(ObjectStoreError) -> ObjectListPage {
        try ObjectKey.validatePrefix(prefix)
        var query = [("list-type", "2"), ("prefix", uri.prefix + prefix), ("max-keys", String(max(1, min(limit, 1000))))]
        if let startAfter { query.append(("start-after", uri.prefix + startAfter)) }
        if let continuation { query.append(("continuation-token", continuation)) }
        let response = try transport.send("LIST \(location)\(prefix)") { () throws(ObjectStoreError) -> HTTPRequest in
            request("GET", path: bucketPath.isEmpty ? "/" : bucketPath, query: query)
        }
        let tree: XMLTree
        do {
            tree = try XMLTree.parse(response.body)
        } catch {
            throw ObjectStoreError(.transient, "LIST \(location)\(prefix): unreadable ListObjectsV2 response (\(error.reason))")
        }
        let objects = tree.children("Contents").compactMap { entry -> ObjectInfo? in
            guard let key = entry.value("Key"), key.hasPrefix(uri.prefix) else { return nil }
            return ObjectInfo(
                key: String(key.dropFirst(uri.prefix.count)), size: entry.value("Size").flatMap { Int64($0) } ?? 0,
                modified: entry.value("LastModified").flatMap(HTTPDate.parseISO8601))
        }
        let truncated = tree.value("IsTruncated") == "true"
        return ObjectListPage(objects: objects, continuation: truncated ? tree.value("NextContinuationToken") : nil)
    }

    public func delete(_ key: String) throws(ObjectStoreError) {
        try ObjectKey.validate(key)
        _ = try transport.send("DELETE \(location)\(key)", accepting: [404]) { () throws(ObjectStoreError) -> HTTPRequest in
            request("DELETE", key: key)
        }
    }

    // MARK: - Requests

    func read(_ key: String, range: Range<Int64>?) throws(ObjectStoreError) -> Data {
        try ObjectKey.validate(key)
        return try transport.read("GET \(location)\(key)", range: range) { byteRange in
            request("GET", key: key, headers: byteRange.map { [("Range", $0)] } ?? [])
        }
    }

    private func request(
        _ method: String, key: String, headers: [(String, String)] = [], body: HTTPBody = .empty,
        payloadHash: String = SigV4Signer.emptyPayloadHash
    ) -> HTTPRequest {
        request(method, path: objectPath(key), headers: headers, body: body, payloadHash: payloadHash)
    }

    private func objectPath(_ key: String) -> String {
        "\(bucketPath)/\(PercentEncoding.encode(uri.prefix + key, keepingSlash: true))"
    }

    /// Where `key` is fetched from: path-style with an endpoint, virtual-host style on AWS.
    func objectURL(_ key: String) -> String {
        "\(scheme)://\(host)\(objectPath(key))"
    }

    private func request(
        _ method: String, path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: HTTPBody = .empty, payloadHash: String = SigV4Signer.emptyPayloadHash
    ) -> HTTPRequest {
        let signed = signer.sign(
            method: method, host: host, path: path, query: query, headers: headers.map { (name: $0.0, value: $0.1) },
            payloadHash: payloadHash)
        let queryString = PercentEncoding.query(query)
        return HTTPRequest(
            method: method, url: "\(scheme)://\(host)\(path)\(queryString.isEmpty ? "" : "?\(queryString)")", headers: signed, body: body)
    }

    /// Length and SHA-256 of a file, so large uploads are signed without UNSIGNED-PAYLOAD.
    private static func digest(of file: FilePath) throws(ObjectStoreError) -> FileDigest {
        do {
            return try FileDigest.of(file)
        } catch {
            throw ObjectStoreError(.invalidArgument, "cannot read \(file): \(error)")
        }
    }
}
