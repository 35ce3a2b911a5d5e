import Foundation
import HTTP
import StorageFormat
import SystemPackage

/// Opens the backend a bucket URI names. One factory (and so one connection pool) is
/// meant to serve every store of a process.
public struct ObjectStoreFactory: Sendable {
    public var environment: [String: String]
    public var retry: RetryPolicy
    private let client: HTTPClient

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, retry: RetryPolicy = .standard, client: HTTPClient = HTTPClient()) {
        self.environment = environment
        self.retry = retry
        self.client = client
    }

    /// - Parameters:
    ///   - endpoint: S3-compatible endpoint or Azure blob endpoint pinned on the volume.
    ///   - region: S3 region pinned on the volume.
    ///   - events: where this store's retries and settled outcomes are counted, instead of
    ///     the factory policy's.
    public func open(_ uri: StorageURI, endpoint: String? = nil, region: String? = nil, events: StorageEvents? = nil) throws(ObjectStoreError) -> any ObjectStore {
        let retry = events.map { self.retry.reporting(to: $0) } ?? self.retry
        return switch uri.kind {
        case .file: try FileObjectStore(root: FilePath(uri.bucket))
        case .s3: try S3ObjectStore(uri: uri, endpoint: endpoint, region: region, environment: environment, retry: retry, client: client)
        case .gs: try GCSObjectStore(uri: uri, environment: environment, retry: retry, client: client)
        case .wasb: try AzureBlobObjectStore(uri: uri, endpoint: endpoint, environment: environment, retry: retry, client: client)
        }
    }

    /// Parses `text` first; a malformed URI is an `.invalidArgument` naming the accepted forms.
    public func open(_ text: String, storage: StorageKind? = nil, endpoint: String? = nil, region: String? = nil) throws(ObjectStoreError) -> any ObjectStore {
        let uri: StorageURI
        do {
            uri = try StorageURI(parsing: text, kind: storage)
        } catch {
            throw ObjectStoreError(.invalidArgument, error.description)
        }
        return try open(uri, endpoint: endpoint, region: region)
    }
}
