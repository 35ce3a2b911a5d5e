import Cryptography
import Foundation

/// AWS Signature Version 4 for one service and region.
///
/// Every header handed to `sign` is signed (the backend only passes headers it controls),
/// which always includes `host`, `x-amz-date` and `x-amz-content-sha256`.
public struct SigV4Signer: Sendable {
    public let credentials: AWSCredentials
    public let region: String
    public let service: String

    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public init(credentials: AWSCredentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Returns `headers` plus `x-amz-date`, `x-amz-content-sha256`, the session token
    /// when there is one, and `Authorization`.
    ///
    /// - Parameters:
    ///   - path: the request path exactly as it appears in the URL (already encoded).
    ///   - query: decoded query parameters.
    public func sign(
        method: String, host: String, path: String, query: [(String, String)], headers: [(name: String, value: String)],
        payloadHash: String, date: Date = Date()
    ) -> [(name: String, value: String)] {
        let timestamp = HTTPDate.amzTimestamp(date)
        let day = String(timestamp.prefix(8))
        var all = headers
        all.append((name: "host", value: host))
        all.append((name: "x-amz-date", value: timestamp))
        all.append((name: "x-amz-content-sha256", value: payloadHash))
        if let token = credentials.sessionToken { all.append((name: "x-amz-security-token", value: token)) }

        let canonicalHeaders = all.map { (name: $0.name.lowercased(), value: Self.collapseSpaces($0.value)) }
            .sorted { $0.name < $1.name }
        let signedHeaders = canonicalHeaders.map(\.name).joined(separator: ";")
        let canonicalRequest = [
            method, path.isEmpty ? "/" : path, PercentEncoding.query(query),
            canonicalHeaders.map { "\($0.name):\($0.value)\n" }.joined(), signedHeaders, payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", timestamp, scope, Hex.encode(SHA256.hash(Array(canonicalRequest.utf8)))]
            .joined(separator: "\n")

        var key = HMAC.sha256(key: Array("AWS4\(credentials.secretAccessKey)".utf8), message: day)
        key = HMAC.sha256(key: key, message: region)
        key = HMAC.sha256(key: key, message: service)
        key = HMAC.sha256(key: key, message: "aws4_request")
        let signature = Hex.encode(HMAC.sha256(key: key, message: stringToSign))

        all.removeAll { $0.name == "host" }  // curl derives Host from the URL.
        all.append((
            name: "Authorization",
            value: "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        ))
        return all
    }

    private static func collapseSpaces(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }
}
