/// The answer to `volume.export_metadata`: what was written into the caller's file.
public struct MetadataExport: Codable, Sendable, Equatable {
    public var format: MetadataExportFormat
    public var bytes: Int64

    public init(format: MetadataExportFormat, bytes: Int64) {
        self.format = format
        self.bytes = bytes
    }
}
