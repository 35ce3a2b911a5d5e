import Foundation
import Redis

/// A database number on the test services' redis-server that no other test in this process
/// uses (the server is started with 4096 of them and is private to one test run), emptied
/// before it is handed out.
public enum RedisTestDatabase {
    nonisolated(unsafe) private static var next = 1
    private static let lock = NSLock()

    public static func take() throws -> (host: String, port: Int, database: Int) {
        let url = try ServiceEnvironment.value("VOLUMED_TEST_REDIS_URL")
        guard let components = URLComponents(string: url), let host = components.host, let port = components.port else {
            throw ServiceEnvironment.Missing(variable: "VOLUMED_TEST_REDIS_URL (malformed: \(url))")
        }
        let database = lock.withLock {
            defer { next += 1 }
            return next
        }
        precondition(database < 4096, "more than 4095 Redis test databases in one run")
        try RedisConnection(address: .tcp(host: host, port: port), database: database).command("FLUSHDB")
        return (host, port, database)
    }

    /// `redis://host:port/db` for a fresh database.
    public static func url() throws -> String {
        let (host, port, database) = try take()
        return "redis://\(host):\(port)/\(database)"
    }
}
