import Foundation
import StorageFormat

/// The `flyte.volume/v1` descriptor: everything needed to mount, fork or trace one
/// version of a volume, with no other state (docs/FORMAT.md, "The descriptor").
///
/// Decoding is lenient (unknown fields are ignored, `storage`, `chunk_prefix`,
/// `metadata_store_type` and `access` have defaults) but every value that later becomes a
/// key, path or host is validated here. Encoding is deterministic: sorted keys, every
/// field present.
public struct VolumeDescriptor: Codable, Sendable, Equatable {
    public static let kind = "flyte.volume/v1"

    public enum Access: String, Codable, Sendable {
        case rw
        case ro
    }

    public var name: String
    public var bucket: String
    public var storage: StorageKind
    public var region: String?
    public var endpoint: String?
    /// The format name of the volume's first ancestor; blocks live under it.
    public var chunkPrefix: String
    public var index: IndexRef?
    public var metadataStoreType: MetadataStoreType
    public var usedBytes: Int64?
    public var inodeCount: Int64?
    public var indexBytes: Int64?
    public var message: String?
    public var producedBy: ActionRef?
    public var parentProducedBy: ActionRef?
    public var access: Access

    enum CodingKeys: String, CodingKey {
        case kind, name, bucket, storage, region, endpoint, index, message, access
        case chunkPrefix = "chunk_prefix", metadataStoreType = "metadata_store_type", usedBytes = "used_bytes"
        case inodeCount = "inode_count", indexBytes = "index_bytes", producedBy = "produced_by", parentProducedBy = "parent_produced_by"
    }

    /// A never-committed writable volume.
    public init(
        name: String, bucket: String, storage: StorageKind? = nil, region: String? = nil, endpoint: String? = nil,
        metadataStoreType: MetadataStoreType = .sqlite
    ) throws(VolumeError) {
        self.name = name
        self.bucket = bucket
        self.storage = try Self.storage(of: bucket, declared: storage)
        self.region = region
        self.endpoint = endpoint
        chunkPrefix = name
        self.metadataStoreType = metadataStoreType
        access = .rw
        try validate()
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try container.decode(String.self, forKey: .kind)
        guard kind == Self.kind else {
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: "kind must be \"\(Self.kind)\", not \"\(kind)\"")
        }
        name = try container.decode(String.self, forKey: .name)
        bucket = try container.decode(String.self, forKey: .bucket)
        let declared = try container.decodeIfPresent(StorageKind.self, forKey: .storage)
        do {
            storage = try Self.storage(of: bucket, declared: declared)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .bucket, in: container, debugDescription: error.message)
        }
        region = try container.decodeIfPresent(String.self, forKey: .region)
        endpoint = try container.decodeIfPresent(String.self, forKey: .endpoint)
        chunkPrefix = try container.decodeIfPresent(String.self, forKey: .chunkPrefix) ?? name
        index = try container.decodeIfPresent(IndexRef.self, forKey: .index)
        metadataStoreType = try container.decodeIfPresent(MetadataStoreType.self, forKey: .metadataStoreType) ?? .sqlite
        usedBytes = try container.decodeIfPresent(Int64.self, forKey: .usedBytes)
        inodeCount = try container.decodeIfPresent(Int64.self, forKey: .inodeCount)
        indexBytes = try container.decodeIfPresent(Int64.self, forKey: .indexBytes)
        message = try container.decodeIfPresent(String.self, forKey: .message)
        producedBy = try container.decodeIfPresent(ActionRef.self, forKey: .producedBy)
        parentProducedBy = try container.decodeIfPresent(ActionRef.self, forKey: .parentProducedBy)
        access = try container.decodeIfPresent(Access.self, forKey: .access) ?? (index == nil ? .rw : .ro)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.kind, forKey: .kind)
        try container.encode(name, forKey: .name)
        try container.encode(bucket, forKey: .bucket)
        try container.encode(storage, forKey: .storage)
        try container.encode(region, forKey: .region)
        try container.encode(endpoint, forKey: .endpoint)
        try container.encode(chunkPrefix, forKey: .chunkPrefix)
        try container.encode(index, forKey: .index)
        try container.encode(metadataStoreType, forKey: .metadataStoreType)
        try container.encode(usedBytes, forKey: .usedBytes)
        try container.encode(inodeCount, forKey: .inodeCount)
        try container.encode(indexBytes, forKey: .indexBytes)
        try container.encode(message, forKey: .message)
        try container.encode(producedBy, forKey: .producedBy)
        try container.encode(parentProducedBy, forKey: .parentProducedBy)
        try container.encode(access, forKey: .access)
    }

    /// Parses and validates a descriptor from JSON.
    public static func decode(_ json: Data) throws(VolumeError) -> VolumeDescriptor {
        let descriptor: VolumeDescriptor
        do {
            descriptor = try JSONDecoder().decode(VolumeDescriptor.self, from: json)
        } catch let error as DecodingError {
            throw VolumeError(.invalidParams, "not a \(kind) descriptor: \(Self.explain(error))")
        } catch {
            throw VolumeError(.invalidParams, "not a \(kind) descriptor: \(error)")
        }
        try descriptor.validate()
        return descriptor
    }

    /// Sorted keys, every field present, no insignificant whitespace unless `pretty`.
    public func encoded(pretty: Bool = false) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        // Every field is a plain string, number or nested value of the same kind: encoding cannot fail.
        return try! encoder.encode(self)
    }

    /// Checks every field that later names a key, a path or a host.
    public func validate() throws(VolumeError) {
        try VolumeName.validate(name)
        do {
            try VolumeName.validate(chunkPrefix)
        } catch {
            throw VolumeError(.invalidParams, "invalid chunk_prefix \"\(chunkPrefix)\": it is a volume name", data: ["field": "chunk_prefix"])
        }
        _ = try storageURI
        if let endpoint {
            guard let parts = URLComponents(string: endpoint), ["http", "https"].contains(parts.scheme?.lowercased() ?? ""), parts.host?.isEmpty == false,
                parts.query == nil, parts.user == nil, parts.password == nil
            else {
                // Never echo an endpoint that may carry a secret.
                let shown = endpoint.contains("@") ? "(with user info, not shown)" : "\"\(endpoint)\""
                throw VolumeError(.invalidParams, "invalid endpoint \(shown): expected http(s)://host[:port] without credentials", data: ["field": "endpoint"])
            }
        }
        if let region, region.isEmpty || !region.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) {
            throw VolumeError(.invalidParams, "invalid region \"\(region)\": expected something like us-east-1", data: ["field": "region"])
        }
        if access == .ro, index == nil {
            throw VolumeError(.invalidParams, "a read-only volume needs an index: only committed versions are read-only", data: ["field": "index"])
        }
    }

    /// The parsed bucket.
    public var storageURI: StorageURI {
        get throws(VolumeError) {
            do {
                return try StorageURI(parsing: bucket, kind: storage)
            } catch {
                throw VolumeError(.invalidParams, error.description, data: ["field": "bucket"])
            }
        }
    }

    public var isCommitted: Bool { index != nil }

    private static func storage(of bucket: String, declared: StorageKind?) throws(VolumeError) -> StorageKind {
        do {
            return try StorageURI(parsing: bucket, kind: declared).kind
        } catch {
            throw VolumeError(.invalidParams, error.description, data: ["field": "bucket"])
        }
    }

    private static func explain(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing field \((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "wrong type at \(path(context)): \(context.debugDescription)"
        case .dataCorrupted(let context): return context.codingPath.isEmpty ? "malformed JSON" : "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
