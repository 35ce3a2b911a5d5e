import Foundation
import Redis
import SystemPackage

/// Where a metadata engine keeps its store, parsed from the meta URLs juicefs accepts.
public enum MetaLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(FilePath)
    case redis(RedisAddress)

    /// `sqlite3:///abs/path.db`, `redis://[:password@]host[:port][/db]` (`rediss://` for TLS,
    /// `?tls-cacert-file=` naming the CA certificates) or
    /// `unix://[:password@]/abs/redis.sock[?db=N]`.
    public init(url: String) throws(MetaError) {
        let accepted = "expected sqlite3:///abs/path.db, redis[s]://[:password@]host[:port][/db] or unix:///abs/redis.sock[?db=N]"
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            throw MetaError(.invalidArgument, "malformed metadata URL: \(accepted)")
        }
        let password = components.password.flatMap { $0.removingPercentEncoding ?? $0 }
        switch scheme {
        case "sqlite3":
            let path = components.path
            guard path.hasPrefix("/"), components.host?.isEmpty ?? true else { throw MetaError(.invalidArgument, "sqlite3 URLs need an absolute path: \(accepted)") }
            self = .sqlite(FilePath(path))
        case "redis", "rediss":
            guard let host = components.host, !host.isEmpty else { throw MetaError(.invalidArgument, "redis URL without a host: \(accepted)") }
            let databaseText = components.path.drop { $0 == "/" }
            guard let database = databaseText.isEmpty ? 0 : Int(databaseText), database >= 0 else {
                throw MetaError(.invalidArgument, "redis database must be a non-negative number: \(accepted)")
            }
            let port = components.port ?? 6379
            let caFile = components.queryItems?.first { $0.name == "tls-cacert-file" }?.value
            self = .redis(
                RedisAddress(connection: scheme == "rediss" ? .tls(host: host, port: port, caFile: caFile) : .tcp(host: host, port: port), database: database, password: password))
        case "unix":
            guard components.path.hasPrefix("/") else { throw MetaError(.invalidArgument, "unix URLs need an absolute socket path: \(accepted)") }
            let databaseText = components.queryItems?.first { $0.name == "db" }?.value ?? "0"
            guard let database = Int(databaseText), database >= 0 else { throw MetaError(.invalidArgument, "db must be a non-negative number: \(accepted)") }
            self = .redis(RedisAddress(connection: .unix(path: components.path), database: database, password: password))
        default:
            throw MetaError(.invalidArgument, "unsupported metadata scheme \(scheme): \(accepted)")
        }
    }

    /// The URL without credentials.
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite3://\(path)"
        case .redis(let address): address.description
        }
    }
}

/// A Redis database and how to reach it.
public struct RedisAddress: Sendable, Equatable, CustomStringConvertible {
    public var connection: RedisConnection.Address
    public var database: Int
    public var password: String?

    public init(connection: RedisConnection.Address, database: Int = 0, password: String? = nil) {
        self.connection = connection
        self.database = database
        self.password = password
    }

    /// A meta URL juicefs accepts, with the password (for handing to a juicefs client, never for logs).
    public var url: String {
        let credentials = password.map { ":\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)@" } ?? ""
        switch connection {
        case .tcp(let host, let port): return "redis://\(credentials)\(host):\(port)/\(database)"
        case .tls(let host, let port, let caFile):
            let query = caFile.map { "?tls-cacert-file=\($0.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? $0)" } ?? ""
            return "rediss://\(credentials)\(host):\(port)/\(database)\(query)"
        case .unix(let path): return "unix://\(credentials)\(path)?db=\(database)"
        }
    }

    /// The URL with the password elided.
    public var description: String {
        switch connection {
        case .tcp(let host, let port): "redis://\(host):\(port)/\(database)"
        case .tls(let host, let port, _): "rediss://\(host):\(port)/\(database)"
        case .unix(let path): "unix://\(path)?db=\(database)"
        }
    }
}
