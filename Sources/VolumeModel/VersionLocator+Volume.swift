import StorageFormat

extension VersionLocator {
    /// The index of a version whose metadata lives in `type`.
    public func indexKey(_ type: MetadataStoreType) -> String { indexKey(fileExtension: type.indexExtension) }

    /// A fresh, time-ordered locator in `bucket`.
    public static func new(in bucket: String) throws(VolumeError) -> VersionLocator {
        do {
            return try VersionLocator(bucket: bucket, id: newID())
        } catch {
            throw VolumeError(error)
        }
    }

    /// Parses a locator URI given in a request.
    public static func parse(_ text: String) throws(VolumeError) -> VersionLocator {
        do {
            return try VersionLocator(parsing: text)
        } catch {
            throw VolumeError(error)
        }
    }
}

extension VolumeError {
    /// A value of the wrong shape in a request: `invalid_params`, naming its field.
    public init(_ error: FormatError) {
        self.init(.invalidParams, error.message, data: error.field.map { ["field": $0] } ?? [:])
    }
}
