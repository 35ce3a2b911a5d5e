import Cryptography
import Foundation

/// How requests to an Azure storage account are authorised, and where it is reached.
///
/// Resolved from `$AZURE_STORAGE_CONNECTION_STRING` (including `UseDevelopmentStorage`
/// and custom `BlobEndpoint`s), else `$AZURE_STORAGE_ACCOUNT` with `$AZURE_STORAGE_KEY`
/// (SharedKey) or `$AZURE_STORAGE_SAS_TOKEN`.
public struct AzureCredentials: Sendable, CustomStringConvertible {
    public enum Authorization: Sendable {
        case sharedKey(Data)
        /// A SAS query string (without the leading "?"), appended to every request.
        case sas(String)
    }

    public let account: String
    public let authorization: Authorization
    /// A blob endpoint from the connection string (`http://127.0.0.1:10000/devstoreaccount1`), if any.
    public let blobEndpoint: String?

    public var description: String {
        switch authorization {
        case .sharedKey: "AzureCredentials(\(account), shared key redacted)"
        case .sas: "AzureCredentials(\(account), SAS redacted)"
        }
    }

    static let developmentAccount = "devstoreaccount1"
    static let developmentKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

    public static func resolve(account uriAccount: String?, environment: [String: String]) throws(ObjectStoreError) -> AzureCredentials {
        if let connection = environment["AZURE_STORAGE_CONNECTION_STRING"], !connection.isEmpty {
            return try parse(connectionString: connection)
        }
        guard let account = environment["AZURE_STORAGE_ACCOUNT"].flatMap({ $0.isEmpty ? nil : $0 }) ?? uriAccount else {
            throw ObjectStoreError(.accessDenied, "no Azure account: set AZURE_STORAGE_ACCOUNT or AZURE_STORAGE_CONNECTION_STRING")
        }
        if let key = environment["AZURE_STORAGE_KEY"], !key.isEmpty {
            return AzureCredentials(account: account, authorization: .sharedKey(try decodeKey(key)), blobEndpoint: nil)
        }
        if let sas = environment["AZURE_STORAGE_SAS_TOKEN"], !sas.isEmpty {
            return AzureCredentials(account: account, authorization: .sas(String(sas.drop { $0 == "?" })), blobEndpoint: nil)
        }
        throw ObjectStoreError(
            .accessDenied,
            "no Azure credentials: set AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN (with AZURE_STORAGE_ACCOUNT), or AZURE_STORAGE_CONNECTION_STRING")
    }

    static func parse(connectionString: String) throws(ObjectStoreError) -> AzureCredentials {
        var fields: [String: String] = [:]
        for part in connectionString.split(separator: ";") {
            guard let equals = part.firstIndex(of: "=") else { continue }
            fields[part[..<equals].trimmingCharacters(in: .whitespaces).lowercased()] = String(part[part.index(after: equals)...])
        }
        if fields["usedevelopmentstorage"]?.lowercased() == "true" {
            let proxy = fields["developmentstorageproxyuri"] ?? "http://127.0.0.1:10000"
            return AzureCredentials(
                account: developmentAccount, authorization: .sharedKey(try decodeKey(developmentKey)),
                blobEndpoint: "\(proxy.trimmingCharacters(in: CharacterSet(charactersIn: "/")))/\(developmentAccount)")
        }
        guard let account = fields["accountname"] else {
            throw ObjectStoreError(.accessDenied, "AZURE_STORAGE_CONNECTION_STRING has no AccountName")
        }
        let endpoint = fields["blobendpoint"] ?? fields["endpointsuffix"].map {
            "\(fields["defaultendpointsprotocol"] ?? "https")://\(account).blob.\($0)"
        }
        if let key = fields["accountkey"] {
            return AzureCredentials(account: account, authorization: .sharedKey(try decodeKey(key)), blobEndpoint: endpoint)
        }
        if let sas = fields["sharedaccesssignature"] {
            return AzureCredentials(account: account, authorization: .sas(String(sas.drop { $0 == "?" })), blobEndpoint: endpoint)
        }
        throw ObjectStoreError(.accessDenied, "AZURE_STORAGE_CONNECTION_STRING has neither AccountKey nor SharedAccessSignature")
    }

    private static func decodeKey(_ key: String) throws(ObjectStoreError) -> Data {
        guard let data = Data(base64Encoded: key) else { throw ObjectStoreError(.accessDenied, "the Azure account key is not valid base64") }
        return data
    }

    /// The SharedKey `Authorization` value for a request (Blob service, version 2015-02-21 and later).
    ///
    /// - Parameters:
    ///   - path: the URL path exactly as sent (percent-encoded).
    ///   - query: decoded query parameters.
    ///   - headers: every header that will be sent, names in any case.
    static func sharedKeySignature(
        account: String, key: Data, method: String, path: String, query: [(String, String)], headers: [(name: String, value: String)]
    ) -> String {
        var lowered: [String: String] = [:]
        for header in headers { lowered[header.name.lowercased()] = header.value }
        if lowered["content-length"] == "0" { lowered["content-length"] = nil }
        let standard = [
            "content-encoding", "content-language", "content-length", "content-md5", "content-type", "date",
            "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range",
        ].map { lowered[$0] ?? "" }
        let canonicalHeaders = lowered.filter { $0.key.hasPrefix("x-ms-") }.sorted { $0.key < $1.key }
            .map { "\($0.key):\($0.value)\n" }.joined()
        var resource = "/\(account)\(path)"
        for (name, values) in Dictionary(grouping: query, by: { $0.0.lowercased() }).sorted(by: { $0.key < $1.key }) {
            resource += "\n\(name):\(values.map(\.1).sorted().joined(separator: ","))"
        }
        let stringToSign = ([method] + standard).joined(separator: "\n") + "\n" + canonicalHeaders + resource
        return "SharedKey \(account):\(Data(HMAC.sha256(key: key, message: stringToSign)).base64EncodedString())"
    }
}
