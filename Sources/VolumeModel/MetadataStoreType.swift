/// Where a volume's namespace lives while mounted; baked into the volume and carried
/// through lineage (change it with migrate).
public enum MetadataStoreType: String, Codable, Sendable, CaseIterable {
    case sqlite
    case redis

    /// The published index's file extension.
    public var indexExtension: String {
        switch self {
        case .sqlite: "db"
        case .redis: "rdb"
        }
    }

    /// `$VOLUME_METADATA_STORE` when set, else SQLite.
    public static func preferred(environment: [String: String], configured: MetadataStoreType? = nil) throws(VolumeError) -> MetadataStoreType {
        guard let text = environment["VOLUME_METADATA_STORE"], !text.isEmpty else { return configured ?? .sqlite }
        guard let type = MetadataStoreType(rawValue: text.lowercased()) else {
            throw VolumeError(.invalidParams, "VOLUME_METADATA_STORE=\(text) is not a metadata store type; use sqlite or redis")
        }
        return type
    }
}
