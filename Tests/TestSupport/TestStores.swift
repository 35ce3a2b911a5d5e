import HTTP
import ObjectStorage
import StorageFormat

/// Object stores over the real peers started by `scripts/test_services.py`.
public enum TestStores {
    public static let client = HTTPClient()

    public static func s3Environment() throws -> [String: String] {
        [
            "AWS_ACCESS_KEY_ID": try ServiceEnvironment.value("VOLUMED_TEST_S3_ACCESS_KEY"),
            "AWS_SECRET_ACCESS_KEY": try ServiceEnvironment.value("VOLUMED_TEST_S3_SECRET_KEY"),
            "AWS_REGION": "us-east-1",
            "HOME": "/nonexistent",
        ]
    }

    public static func s3(prefix: String, endpoint: String? = nil, environment: [String: String]? = nil, retry: RetryPolicy = .standard) throws -> S3ObjectStore {
        let uri = try StorageURI(parsing: "s3://\(try ServiceEnvironment.value("VOLUMED_TEST_S3_BUCKET"))/\(prefix)")
        return try S3ObjectStore(
            uri: uri, endpoint: endpoint ?? (try ServiceEnvironment.value("VOLUMED_TEST_S3_ENDPOINT")), environment: environment ?? (try s3Environment()),
            retry: retry, client: client)
    }
}
