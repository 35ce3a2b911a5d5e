/// A bucket URI that cannot be used, with a message that says which forms are accepted.
public struct StorageURIError: Error, CustomStringConvertible, Sendable, Equatable {
    public let uri: String
    public let reason: String

    public init(uri: String, reason: String) {
        self.uri = uri
        self.reason = reason
    }

    public static let acceptedForms =
        "s3://bucket[/prefix], gs://bucket[/prefix], abfs[s]://container@account.dfs.core.windows.net[/prefix], wasb[s]://container@account.blob.core.windows.net[/prefix], file:///absolute/dir"

    public var description: String {
        "invalid bucket URI \"\(uri)\": \(reason) (accepted forms: \(Self.acceptedForms))"
    }
}
