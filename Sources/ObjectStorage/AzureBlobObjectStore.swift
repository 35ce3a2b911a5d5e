import Cryptography
import Foundation
import HTTP
import StorageFormat
import SystemPackage

/// Azure Blob Storage through the Blob REST API, for both `wasb(s)://` and `abfs(s)://`
/// URIs (an ADLS Gen2 account serves the same containers on its blob endpoint).
public struct AzureBlobObjectStore: ObjectStore, RangedReads {
    public static let apiVersion = "2021-08-06"

    public let uri: StorageURI
    private let credentials: AzureCredentials
    /// `scheme://host[/account]` up to, not including, the container.
    private let endpoint: String
    private let endpointPath: String
    private let transport: CloudTransport

    /// - Parameter endpoint: overrides the blob endpoint (`http://host:port/account` for emulators).
    public init(uri: StorageURI, endpoint: String? = nil, environment: [String: String], retry: RetryPolicy = .standard, client: HTTPClient) throws(ObjectStoreError) {
        precondition(uri.kind == .wasb)
        self.uri = uri
        credentials = try AzureCredentials.resolve(account: uri.account, environment: environment)
        let host = (uri.host ?? "").replacingOccurrences(of: ".dfs.", with: ".blob.")
        let base = endpoint ?? credentials.blobEndpoint ?? "\(uri.usesTLS ? "https" : "http")://\(host)"
        guard let parts = URLComponents(string: base), let scheme = parts.scheme, scheme == "http" || scheme == "https", parts.host != nil else {
            throw ObjectStoreError(.invalidArgument, "invalid Azure blob endpoint \"\(base)\": expected http(s)://host[:port][/path]")
        }
        self.endpoint = base.hasSuffix("/") ? String(base.dropLast()) : base
        endpointPath = parts.percentEncodedPath.hasSuffix("/") ? String(parts.percentEncodedPath.dropLast()) : parts.percentEncodedPath
        transport = CloudTransport(client: client, retry: retry, errorDetail: CloudTransport.xmlErrorDetail)
    }

    public var location: String { uri.description }

    public func put(_ key: String, data: Data) throws(ObjectStoreError) {
        try ObjectKey.validate(key)
        _ = try transport.send("PUT \(location)\(key)") { () throws(ObjectStoreError) -> HTTPRequest in
            request("PUT", key: key, headers: [("x-ms-blob-type", "BlockBlob")], body: .bytes(data))
        }
    }

    public func put(_ key: String, contentsOf file: FilePath, digest: FileDigest?) throws(ObjectStoreError) {
        try ObjectKey.validate(key)
        let body = try CloudTransport.fileBody(file)
        _ = try transport.send("PUT \(location)\(key)") { () throws(ObjectStoreError) -> HTTPRequest in
            request("PUT", key: key, headers: [("x-ms-blob-type", "BlockBlob")], body: body)
        }
    }

    public func create(_ key: String, data: Data) throws(ObjectStoreError) {
        try ObjectKey.validate(key)
        try transport.create("PUT (if absent) \(location)\(key)", data: data, readBack: { () throws(ObjectStoreError) in try get(key) }) {
            () throws(ObjectStoreError) -> HTTPRequest in
            request("PUT", key: key, headers: [("x-ms-blob-type", "BlockBlob"), ("If-None-Match", "*")], body: .bytes(data))
        }
    }

    public func head(_ key: String) throws(ObjectStoreError) -> ObjectInfo {
        try ObjectKey.validate(key)
        return try transport.head("HEAD \(location)\(key)", key: key) { request("HEAD", key: key) }
    }

    /// Azure has no start-after; keys up to `startAfter` are skipped client-side.
    public func list(prefix: String, startAfter: String?, continuation: String?, limit: Int) throws(ObjectStoreError) -> ObjectListPage {
        try ObjectKey.validatePrefix(prefix)
        var query = [("restype", "container"), ("comp", "list"), ("prefix", uri.prefix + prefix), ("maxresults", String(max(1, min(limit, 5000))))]
        if let continuation { query.append(("marker", continuation)) }
        let response = try transport.send("LIST \(location)\(prefix)") { () throws(ObjectStoreError) -> HTTPRequest in
            request("GET", path: containerPath, query: query)
        }
        let tree: XMLTree
        do {
            tree = try XMLTree.parse(response.body)
        } catch {
            throw ObjectStoreError(.transient, "LIST \(location)\(prefix): unreadable List Blobs response (\(error.reason))")
        }
        let objects = (tree.child("Blobs")?.children("Blob") ?? []).compactMap { blob -> ObjectInfo? in
            guard let name = blob.value("Name"), name.hasPrefix(uri.prefix) else { return nil }
            let key = String(name.dropFirst(uri.prefix.count))
            if let startAfter, !startAfter.precedesInBytes(key) { return nil }
            return ObjectInfo(
                key: key, size: blob.value("Properties/Content-Length").flatMap { Int64($0) } ?? 0,
                modified: blob.value("Properties/Last-Modified").flatMap(HTTPDate.parseRFC1123))
        }
        let marker = tree.value("NextMarker") ?? ""
        return ObjectListPage(objects: objects, continuation: marker.isEmpty ? nil : marker)
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
            request("GET", key: key, headers: byteRange.map { [("x-ms-range", $0)] } ?? [])
        }
    }

    private var containerPath: String { "\(endpointPath)/\(PercentEncoding.encode(uri.bucket))" }

    private func request(_ method: String, key: String, headers: [(String, String)] = [], body: HTTPBody = .empty) -> HTTPRequest {
        request(method, path: "\(containerPath)/\(PercentEncoding.encode(uri.prefix + key, keepingSlash: true))", headers: headers, body: body)
    }

    private func request(
        _ method: String, path: String, query: [(String, String)] = [], headers: [(String, String)] = [], body: HTTPBody = .empty
    ) -> HTTPRequest {
        var all = headers.map { (name: $0.0, value: $0.1) }
        all.append((name: "x-ms-date", value: HTTPDate.rfc1123(Date())))
        all.append((name: "x-ms-version", value: Self.apiVersion))
        var queryString = PercentEncoding.query(query)
        switch credentials.authorization {
        case .sharedKey(let key):
            var signed = all
            if method == "PUT" || method == "POST" { signed.append((name: "Content-Length", value: String(body.length))) }
            all.append((
                name: "Authorization",
                value: AzureCredentials.sharedKeySignature(
                    account: credentials.account, key: key, method: method, path: path, query: query, headers: signed)
            ))
        case .sas(let token):
            queryString = queryString.isEmpty ? token : "\(queryString)&\(token)"
        }
        let origin = endpoint.dropLast(endpointPath.count)
        return HTTPRequest(method: method, url: "\(origin)\(path)\(queryString.isEmpty ? "" : "?\(queryString)")", headers: all, body: body)
    }
}
