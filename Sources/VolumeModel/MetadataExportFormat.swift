/// What `volume.export_metadata` writes: a juicefs SQLite database (`juicefs mount
/// sqlite3://FILE`), or the JSON of `juicefs dump`, which `juicefs load` puts into any engine
/// (Redis included).
public enum MetadataExportFormat: String, Codable, Sendable, CaseIterable {
    case sqlite
    case dump
}
