/// The object-store families a volume's bucket can live in (the descriptor's `storage`).
public enum StorageKind: String, Codable, Sendable, CaseIterable {
    case s3
    case gs
    case wasb
    case file

    /// The kind a URI scheme implies; `abfs(s)` and `wasb(s)` both use the Blob REST API.
    public init?(scheme: String) {
        switch scheme.lowercased() {
        case "s3": self = .s3
        case "gs": self = .gs
        case "wasb", "wasbs", "abfs", "abfss": self = .wasb
        case "file": self = .file
        default: return nil
        }
    }
}
