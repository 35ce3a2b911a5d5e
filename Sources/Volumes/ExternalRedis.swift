import Foundation
import Metadata
import VolumeModel

/// A team's Redis database named by a writable mount's `metadata_url`, checked before anything
/// touches it: `redis://host:port/db`, or `rediss://` for TLS (the server's certificate checked
/// against `VOLUMED_REDIS_CA_FILE`, else the system's roots), with no credentials in a request
/// (the password comes from the daemon's `VOLUMED_REDIS_PASSWORD`), for a Redis volume, on a
/// server the daemon's `allowed_redis` lists. A root daemon must not become a way to write into
/// any host's Redis.
struct ExternalRedis: Sendable {
    static let passwordVariable = "VOLUMED_REDIS_PASSWORD"
    static let caFileVariable = "VOLUMED_REDIS_CA_FILE"

    let address: RedisAddress
    /// The URL as given (it carries no secret), for the record and messages.
    let url: String

    init(url: String, for volume: VolumeDescriptor, options: MountOptions, allowed: [String], environment: [String: String]) throws(VolumeError) {
        func refuse(_ message: String, _ code: VolumeErrorCode = .invalidParams) -> VolumeError {
            VolumeError(code, message, data: ["field": "metadata_url"])
        }
        guard let components = URLComponents(string: url), let scheme = components.scheme, ["redis", "rediss"].contains(scheme), let host = components.host,
            !host.isEmpty
        else {
            throw refuse("metadata_url must be redis://host:port/db (rediss:// for TLS), not \"\(url)\"")
        }
        guard components.user == nil, components.password == nil else {
            throw refuse("metadata_url must not carry credentials: the daemon reads the Redis password from \(Self.passwordVariable) in its environment")
        }
        guard components.query == nil, components.fragment == nil else { throw refuse("metadata_url takes no query or fragment: redis://host:port/db") }
        let databaseText = components.path.drop { $0 == "/" }
        guard let database = databaseText.isEmpty ? 0 : Int(databaseText), (0..<1_000_000).contains(database) else {
            throw refuse("the database of metadata_url must be a number, as in redis://host:6379/3, not \"\(components.path)\"")
        }
        guard volume.metadataStoreType == .redis else {
            throw refuse("\(volume.name) keeps its metadata in \(volume.metadataStoreType.rawValue); only a Redis volume is hosted in an external Redis (volumectl migrate --to redis)")
        }
        guard !options.readOnly else { throw refuse("metadata_url is for writable mounts; a read-only mount reads the index itself") }
        let port = components.port ?? 6379
        let server = "\(scheme)://\(host):\(port)"
        guard allowed.contains(server) else {
            throw VolumeError(
                .permissionDenied, "\(server) is not in this daemon's allowed_redis (\(allowed.isEmpty ? "empty" : allowed.joined(separator: ", "))); an administrator adds it to the config",
                data: ["field": "metadata_url", "setting": "allowed_redis"])
        }
        let password = environment[Self.passwordVariable].flatMap { $0.isEmpty ? nil : $0 }
        let caFile = environment[Self.caFileVariable].flatMap { $0.isEmpty ? nil : $0 }
        address = RedisAddress(
            connection: scheme == "rediss" ? .tls(host: host, port: port, caFile: caFile) : .tcp(host: host, port: port), database: database, password: password)
        self.url = "\(server)/\(database)"
    }
}
