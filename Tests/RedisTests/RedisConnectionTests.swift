import Redis
import TestSupport
import Testing

@Suite struct RedisConnectionTests {
    private func connect() throws -> RedisConnection {
        let (host, port, database) = try RedisTestDatabase.take()
        return try RedisConnection(address: .tcp(host: host, port: port), database: database)
    }

    @Test func valuesAreBinarySafe() throws {
        let redis = try connect()
        let value: [UInt8] = [0, 1, 0xff, 0x0a, 0]
        try redis.command([Array("SET".utf8), [0x6b, 0], value])
        #expect(try redis.command([Array("GET".utf8), [0x6b, 0]]) == .string(value))
        #expect(try redis.command("GET", "missing") == .null)
    }

    @Test func pipelinedRepliesComeBackInOrderWithErrorsInPlace() throws {
        let redis = try connect()
        let replies = try redis.pipeline([
            [Array("INCRBY".utf8), Array("n".utf8), Array("5".utf8)],
            [Array("HSET".utf8), Array("n".utf8), Array("f".utf8), Array("v".utf8)],
            [Array("RPUSH".utf8), Array("l".utf8), Array("a".utf8), Array("b".utf8)],
            [Array("LRANGE".utf8), Array("l".utf8), Array("0".utf8), Array("-1".utf8)],
        ])
        #expect(replies[0] == .integer(5))
        if case .error(let message) = replies[1] { #expect(message.hasPrefix("WRONGTYPE")) } else { Issue.record("expected WRONGTYPE, got \(replies[1])") }
        #expect(replies[2].integer == 2)
        #expect(replies[3] == .array([.string(Array("a".utf8)), .string(Array("b".utf8))]))
    }

    @Test func serverErrorsAreThrown() throws {
        let redis = try connect()
        let error = #expect(throws: RedisError.self) { try redis.command("NOSUCHCOMMAND") }
        #expect(error?.kind == .server)
    }

    @Test func aKilledConnectionIsReopenedOnTheNextCommand() throws {
        let redis = try connect()
        try redis.command("SET", "k", "v")
        let id = try #require(try redis.command("CLIENT", "ID").integer)
        let killer = try connect()
        try killer.command("CLIENT", "KILL", "ID", String(id))
        #expect(throws: RedisError.self) { try redis.command("GET", "k") }
        #expect(try redis.command("GET", "k") == .string(Array("v".utf8)), "the reconnect selects the same database")
    }

    @Test func anUnreachableServerIsAConnectionError() throws {
        let error = #expect(throws: RedisError.self) {
            _ = try RedisConnection(address: .unix(path: "/nonexistent/redis.sock"), timeoutSeconds: 1)
        }
        #expect(error?.kind == .connection)
        #expect(error?.message.contains("/nonexistent/redis.sock") == true)
    }
}
