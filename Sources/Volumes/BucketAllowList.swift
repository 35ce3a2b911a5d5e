import StorageFormat
import VolumeModel

/// The buckets a service may touch, as URI prefixes matched at a path boundary: a caller
/// cannot make a daemon that runs as root create, read or write objects wherever it names
/// (a `file://` bucket is a directory the daemon would write into).
public struct BucketAllowList: Sendable, Equatable {
    /// The prefixes as given, for messages.
    public let prefixes: [String]
    private let canonical: [String]
    /// S3 endpoints a descriptor may name: the daemon signs its requests for whatever host a
    /// descriptor names, so an allowed bucket name must not take them elsewhere.
    public let endpoints: [String]

    /// Refuses a prefix that is not a storage URI, naming it.
    public init(_ prefixes: [String], endpoints: [String] = []) throws(StorageURIError) {
        self.prefixes = prefixes
        var canonical: [String] = []
        for prefix in prefixes { canonical.append(Self.canonical(try StorageURI(parsing: prefix))) }
        self.canonical = canonical
        self.endpoints = endpoints.map(Self.trimmed)
    }

    /// Passes no endpoint (the backend's own, or the daemon's `AWS_ENDPOINT_URL`) and the
    /// listed ones.
    func check(endpoint: String?) throws(VolumeError) {
        guard let endpoint, !endpoints.contains(Self.trimmed(endpoint)) else { return }
        throw VolumeError(
            .permissionDenied,
            "endpoint \(endpoint) is not allowed on this daemon; allowed: \(endpoints.isEmpty ? "none besides its own" : endpoints.joined(separator: ", ")) (an administrator adds endpoints to allowed_endpoints in volumed's config)",
            data: ["endpoint": endpoint, "allowed_endpoints": endpoints.joined(separator: " ")])
    }

    private static func trimmed(_ endpoint: String) -> String {
        var text = endpoint.lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    /// Passes a bucket equal to a prefix or under one; anything else is refused with the
    /// list and the key that extends it.
    func check(_ bucket: String) throws(VolumeError) {
        let uri: StorageURI
        do {
            uri = try StorageURI(parsing: bucket)
        } catch {
            throw VolumeError(.invalidParams, "invalid bucket \(bucket): \(error.description)", data: ["field": "bucket"])
        }
        let candidate = Self.canonical(uri)
        guard !canonical.contains(where: { candidate == $0 || candidate.hasPrefix($0 + "/") }) else { return }
        throw VolumeError(
            .permissionDenied,
            "bucket \(bucket) is not allowed on this daemon; allowed: \(prefixes.joined(separator: ", ")) (an administrator adds prefixes to allowed_buckets in volumed's config)",
            data: ["bucket": bucket, "allowed_buckets": prefixes.joined(separator: " ")])
    }

    /// The URI as parsed (scheme lowercased, `.` and `..` refused, the prefix normalized),
    /// without a trailing "/", so that "s3://b" and "s3://b/" are one bucket.
    private static func canonical(_ uri: StorageURI) -> String {
        var text = uri.description
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}
