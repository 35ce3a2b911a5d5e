import Foundation
import HTTP

/// A `scripts/fault_proxy.py` in front of one of the test object stores: its URL stands in
/// for the store's endpoint, and `inject` aims one fault at the next matching requests.
public struct FaultProxy: Sendable {
    /// What happens to a matching request.
    public enum Action: String, Sendable {
        /// The server acts on the request; its response never arrives (a lost response).
        case cutResponse = "cut_response"
        /// The connection is reset before the request is forwarded.
        case reset
        /// A 503 SlowDown, not forwarded.
        case serviceUnavailable = "503"
    }

    public let url: String

    /// The proxy in front of SeaweedFS S3.
    public static func s3() throws -> FaultProxy { FaultProxy(url: try ServiceEnvironment.value("VOLUMED_TEST_FAULT_PROXY")) }
    /// The proxy in front of fake-gcs-server (use it as `STORAGE_EMULATOR_HOST`).
    public static func gcs() throws -> FaultProxy { FaultProxy(url: try ServiceEnvironment.value("VOLUMED_TEST_GCS_FAULT_PROXY")) }
    /// The proxy in front of the Azure Blob oracle (a blob endpoint, account included).
    public static func azure() throws -> FaultProxy { FaultProxy(url: try ServiceEnvironment.value("VOLUMED_TEST_AZURE_FAULT_PROXY")) }

    /// Applies `action` to the next `times` requests of `method` whose path or body contains
    /// `text` (make it unique to the test: the proxy serves every test of the run), and whose
    /// path contains `path`.
    public func inject(_ action: Action, method: String, containing text: String, path: String = "", times: Int = 1) throws {
        let rule = try JSONSerialization.data(
            withJSONObject: ["action": action.rawValue, "method": method, "contains": text, "path_contains": path, "times": times] as [String: Any])
        let response = try TestStores.client.send(HTTPRequest(method: "POST", url: "\(origin)/__faults", headers: [], body: .bytes(rule)))
        guard response.status == 201 else { throw ProxyRefused(status: response.status, body: String(decoding: response.body, as: UTF8.self)) }
    }

    /// How many faults aimed at requests containing `text` have not happened yet.
    public func pending(containing text: String) throws -> Int {
        let response = try TestStores.client.send(HTTPRequest(method: "GET", url: "\(origin)/__stats", headers: [], body: .empty))
        let stats = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        let rules = stats?["rules"] as? [[String: Any]] ?? []
        return rules.filter { ($0["contains"] as? String) == text }.reduce(0) { $0 + (($1["times"] as? Int) ?? 0) }
    }

    /// How many requests of `method` whose path contains `text` the proxy has seen.
    public func requests(_ method: String, containing text: String) throws -> Int {
        let response = try TestStores.client.send(HTTPRequest(method: "GET", url: "\(origin)/__stats", headers: [], body: .empty))
        let stats = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        let requests = stats?["requests"] as? [String: Int] ?? [:]
        return requests.filter { $0.key.hasPrefix(method + " ") && $0.key.contains(text) }.values.reduce(0, +)
    }

    /// Scheme, host and port: the control endpoints live at the root.
    private var origin: String {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else { return url }
        return "\(scheme)://\(host)\(components.port.map { ":\($0)" } ?? "")"
    }

    public struct ProxyRefused: Error, CustomStringConvertible {
        public let status: Int
        public let body: String
        public var description: String { "the fault proxy refused a rule: HTTP \(status) \(body)" }
    }
}
