import Metadata
import Redis
import Testing

@Suite struct MetaLocationTests {
    @Test func parsesTheURLsJuicefsAccepts() throws {
        #expect(try MetaLocation(url: "sqlite3:///var/lib/volumed/v/meta.db") == .sqlite("/var/lib/volumed/v/meta.db"))
        #expect(try MetaLocation(url: "redis://127.0.0.1:6380/3") == .redis(RedisAddress(connection: .tcp(host: "127.0.0.1", port: 6380), database: 3)))
        #expect(try MetaLocation(url: "redis://cache.internal") == .redis(RedisAddress(connection: .tcp(host: "cache.internal", port: 6379))))
        let tls = try MetaLocation(url: "rediss://cache.internal:6380/2?tls-cacert-file=/etc/ssl/team-ca.pem")
        #expect(tls == .redis(RedisAddress(connection: .tls(host: "cache.internal", port: 6380, caFile: "/etc/ssl/team-ca.pem"), database: 2)))
        #expect(tls.description == "rediss://cache.internal:6380/2")
        #expect(
            try MetaLocation(url: "unix:///run/v/redis.sock?db=2") == .redis(RedisAddress(connection: .unix(path: "/run/v/redis.sock"), database: 2)))
    }

    @Test func passwordsAreKeptButNeverDescribed() throws {
        let location = try MetaLocation(url: "redis://:s3cr%40t@10.0.0.5:6379/1")
        guard case .redis(let address) = location else {
            Issue.record("expected a Redis location")
            return
        }
        #expect(address.password == "s3cr@t")
        #expect(!location.description.contains("s3cr"))
        #expect(address.url.contains("s3cr%40t"), "the juicefs URL keeps the password, escaped")
    }

    @Test(arguments: ["sqlite3://relative.db", "redis:///0", "redis://host/minus", "mysql://h/db", "no scheme at all", "unix://relative.sock"])
    func malformedURLsNameTheAcceptedForms(url: String) throws {
        let error = #expect(throws: MetaError.self) { _ = try MetaLocation(url: url) }
        #expect(error?.errno == .invalidArgument)
        #expect(error?.detail.contains("sqlite3:///abs/path.db") == true)
    }
}
